import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VersionsReport } from "../../src/commands/versions.js";
import { KNOWN_ISSUES } from "../../src/etcd/versionTable.js";
import { cli } from "../helpers/cli.js";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { TestPair } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";

/** What the table says of each tested build: its verdict and the entries that apply (checked by hand). */
const EXPECTED: Record<string, { verdict: string; issues: string[] }> = {
  "3.4.23": { verdict: "warn", issues: ["promote-unstarted-learner", "member-update-learner", "end-of-life-3.4"] },
  "3.5.16": {
    verdict: "warn",
    issues: ["promotion-not-persisted", "promotion-propagated", "zombie-members", "member-update-learner"],
  },
  "3.5.30": { verdict: "warn", issues: ["member-update-learner"] },
  "3.6.14": { verdict: "warn", issues: ["learner-removes-itself"] },
  "3.7.1": { verdict: "ok", issues: [] },
};

/** A binDir whose etcd only says it is `version` (versions asks nothing else); no etcd at all when undefined. */
async function fakeBinDir(version: string | undefined): Promise<string> {
  const dir = path.join(await scratchDir("fake-etcd"), "bin");
  await mkdir(dir);
  if (version) {
    const script = `#!/bin/sh\nprintf 'etcd Version: ${version}\\nGit SHA: fake\\nGo Version: go1.22.0\\nGo OS/Arch: linux/amd64\\n'\n`;
    await writeFile(path.join(dir, "etcd"), script);
    await chmod(path.join(dir, "etcd"), 0o755);
  }
  return dir;
}

const parse = (stdout: string) => JSON.parse(stdout) as VersionsReport;

describe("etcd-pair versions", () => {
  it("--offline prints the whole table with no config and no host touched", async () => {
    const empty = await scratchDir("versions-offline");
    const text = await cli(["versions", "--offline"], { cwd: empty });
    expect(text.code).toBe(0);
    for (const issue of [14370, 15097, 19557, 20793, 20967, 20340, 21694, 21610, 20893, 21178]) {
      expect(text.stdout).toContain(`#${issue}`);
    }
    expect(text.stdout).toMatch(/#14370\s+3\.4\.0-3\.4\.20, 3\.5\.0-3\.5\.4\s+3\.4\.21, 3\.5\.5\s+refuse\s/);
    expect(text.stdout).toMatch(/#20967\s+3\.5\.0-3\.5\.25\s+3\.5\.26\s+refuse upgrade-to-3\.6\s/);
    expect(text.stdout).not.toContain("VERDICT");
    const json = parse((await cli(["versions", "--offline", "--json"], { cwd: empty })).stdout);
    expect(json.table.map((i) => i.id)).toEqual(KNOWN_ISSUES.map((i) => i.id));
    expect(json.recommended).toEqual(["3.5.31", "3.6.12", "3.7.0"]);
    expect(json.nodes).toBeUndefined();
    expect(await fingerprint(empty)).toEqual([]);
  });

  it.each([
    ["3.4.20", "3.4.21", "#14370"],
    ["3.6.2", "3.6.4", "#20340"],
  ])(
    "a pair on a refused etcd (%s): exit 3, the refusal and the version to install, nothing changed",
    async (v, install, issue) => {
      const pair = await TestPair.create(await fakeBinDir(v));
      try {
        const before = await fingerprint(pair.dir);
        const result = await pair.run(["versions", "--json"]);
        expect(result.code).toBe(3);
        const nodes = parse(result.stdout).nodes ?? [];
        expect(nodes.map((n) => [n.node, n.version, n.verdict, n.install])).toEqual([
          ["alpha", v, "refused", install],
          ["beta", v, "refused", install],
        ]);
        expect(nodes[0]?.refusal).toContain(issue);
        const text = await pair.run(["versions"]);
        expect(text.code).toBe(3);
        expect(text.stdout).toMatch(new RegExp(`alpha\\s+${v.replace(/\./g, "\\.")}\\s+refused\\s+REFUSED: etcd ${v}`));
        expect(await fingerprint(pair.dir)).toEqual(before);
      } finally {
        await pair.cleanup();
      }
    },
  );

  it("a node whose version cannot be read is unknown (exit 0: only a refused version fails)", async () => {
    const pair = await TestPair.create(await fakeBinDir(undefined));
    try {
      const result = await pair.run(["versions", "--json"]);
      expect(result.code).toBe(0);
      const nodes = parse(result.stdout).nodes ?? [];
      expect(nodes.map((n) => [n.version, n.verdict, n.error])).toEqual([
        [null, "unknown", "no etcd binary in its binDir"],
        [null, "unknown", "no etcd binary in its binDir"],
      ]);
    } finally {
      await pair.cleanup();
    }
  });
});

describe.each(TEST_BUILDS)("etcd-pair versions on a running pair, etcd $series", (build) => {
  let pair: TestPair;
  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("judges both nodes' etcd by the table, exit 0", async () => {
    const expected = EXPECTED[build.series];
    if (!expected) throw new Error(`no expected verdict for etcd ${build.series} in this test`);
    const result = await pair.run(["versions", "--json"]);
    expect(result.code).toBe(0);
    const nodes = parse(result.stdout).nodes ?? [];
    expect(nodes.map((n) => [n.node, n.version, n.verdict, n.issues])).toEqual([
      ["alpha", build.series, expected.verdict, expected.issues],
      ["beta", build.series, expected.verdict, expected.issues],
    ]);
    const text = await pair.run(["versions"]);
    expect(text.stdout).toMatch(new RegExp(`beta\\s+${build.series.replace(/\./g, "\\.")}\\s+${expected.verdict}\\s`));
    // Read-only: the pair is as up left it.
    expect((await pair.run(["status"])).code).toBe(0);
  });

  it("audit reads the running etcd's version: a warning on end-of-life 3.4, which does not fail the audit", async () => {
    const audit = await pair.run(["audit", "--json"]);
    expect(audit.code).toBe(0);
    const report = JSON.parse(audit.stdout) as {
      nodes: { checks: { id: string; result: string; detail: string }[] }[];
    };
    const rows = report.nodes.map((n) => n.checks.find((c) => c.id === "version"));
    const eol = build.series.startsWith("3.4.");
    for (const row of rows) {
      expect(row?.result).toBe(eol ? "warn" : "pass");
      expect(row?.detail).toContain(eol ? `etcd ${build.series} is end of life` : `etcd ${build.series}`);
    }
    if (eol) expect((await pair.run(["audit"])).stdout).toMatch(/alpha\s+version\s+WARN\s+/);
  });
});
