import { mkdir, mkdtemp, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from "vitest";
import { demoConfig } from "../../src/commands/demo.js";
import { cli, type CliResult } from "../helpers/cli.js";
import { ETCD_BUILDS, requireBuild } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { freePorts } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";
import { until } from "../helpers/until.js";
import type { Case } from "./corpus/case.js";
import { closeListeners, commandCases } from "./corpus/commandCases.js";
import { configCases } from "./corpus/configCases.js";
import { pathAndAddressCases } from "./corpus/pathAndAddressCases.js";
import { targetCases } from "./corpus/targetCases.js";

const build = ETCD_BUILDS[0];

/**
 * The bad-input corpus: config fields, flags, hosts, binaries and data that must each stop etcd-pair with a
 * message naming what is wrong and where, the right exit code, and no change on any host (every file under the
 * case's dir, both node dirs and the controller's certificates included, is fingerprinted before and after).
 * Most cases need no running etcd; the refusals of a running and of a stopped pair share one pair at the end.
 */
const PORTS = await freePorts(4);
const BIN_DIR = build?.binDir ?? "/usr/bin";
const CASES: Case[] = [
  ...configCases(PORTS, BIN_DIR),
  ...pathAndAddressCases(),
  ...commandCases(PORTS, BIN_DIR),
  ...targetCases(BIN_DIR),
];

/** A stack trace line, as Node prints them: never shown without --debug. */
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

function expectMessage(expect: ExpectStatic, result: CliResult, message: RegExp | string): void {
  const output = result.stderr + result.stdout;
  if (typeof message === "string") expect(output).toContain(message);
  else expect(output).toMatch(message);
  expect(output).not.toMatch(STACK_LINE);
}

describe("bad-input corpus: a clear message, the right exit code, nothing changed", () => {
  let dir: string;
  const fakeBins: Record<string, string> = {};

  beforeAll(async () => {
    if (!build) throw new Error("no etcd build");
    requireBuild(build);
    dir = await scratchDir("corpus");
    for (const [name, script] of [
      ["BIN3420", `if [ "$1" = --version ]; then echo "etcd Version: 3.4.20"; exit 0; fi; exec ${BIN_DIR}/etcd "$@"`],
      ["BINGARBLED", `echo "something else"`],
    ] as const) {
      const bin = path.join(dir, name.toLowerCase());
      await mkdir(bin);
      await writeFile(path.join(bin, "etcd"), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      await writeFile(path.join(bin, "etcdctl"), `#!/bin/sh\nexec ${BIN_DIR}/etcdctl "$@"\n`, { mode: 0o755 });
      fakeBins[name] = bin;
    }
  });
  afterAll(closeListeners);

  /** One case in a dir of its own (its node dirs and lock files are its own too, so cases may run side by side). */
  async function runCase(c: Case, expect: ExpectStatic): Promise<void> {
    const work = await mkdtemp(path.join(dir, "case-"));
    // The demo's own config: two local nodes on free ports.
    const good = demoConfig(BIN_DIR, PORTS);
    let text = c.config ? c.config(good, work) : good;
    for (const [name, bin] of Object.entries(fakeBins)) text = text.replace(`binDir: ${name}`, `binDir: ${bin}`);
    const config = path.join(work, "etcd-pair.yaml");
    await writeFile(config, text);
    const cleanup = await c.setup?.(work);
    const before = await fingerprint(work);
    const args = c.args.map((arg) => arg.replaceAll("{work}", work));
    const result = await cli(args[0] === "-c" ? args : ["-c", config, ...args], {
      cwd: work,
      timeoutMs: 60_000,
      ...(c.env ? { env: c.env } : {}),
    }).finally(async () => cleanup?.());
    expectMessage(expect, result, c.message);
    expect(result.code).toBe(c.code);
    expect(await fingerprint(work)).toEqual(before);
  }

  it("has at least 100 cases, each named once", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  // Each case is one CLI start (mostly CPU): two cores run two at a time. Cases that listen on the pair's ports
  // run one by one, after.
  const named = (list: Case[]) => list.map((c) => [c.name, c] as const);
  it.concurrent.for(named(CASES.filter((c) => !c.setup)))("%s", async ([, c], { expect }) => runCase(c, expect));
  it.for(named(CASES.filter((c) => c.setup)))("%s", async ([, c], { expect }) => runCase(c, expect));
});

/** Refusals of a pair's state (README: exit 2, "nothing was changed"): one pair, running, then stopped. */
describe("refusals of a running and of a stopped pair: exit 2, nothing changed", () => {
  let work: string;
  let config: string;
  const LOGS = ["alpha/etcd.log", "beta/etcd.log"];

  beforeAll(async () => {
    if (!build) throw new Error("no etcd build");
    requireBuild(build);
    work = await scratchDir("corpus-pair");
    config = path.join(work, "etcd-pair.yaml");
    await writeFile(config, demoConfig(BIN_DIR, await freePorts(4)));
    await writeFile(path.join(work, "precious.txt"), "not a snapshot\n");
    const up = await cli(["-c", config, "up"]);
    expect(up.code, up.stderr).toBe(0);
    baseline = await settled();
  });
  afterAll(async () => {
    await cli(["-c", config, "down"]);
  });

  /** Every file of both nodes (and of the controller) as the refusals must leave them; etcd's logs by name. */
  let baseline: string[] = [];

  /** Sizes and mtimes of every file under dir: cheap (no hashing), enough to see etcd still writing. */
  const sizesAndTimes = async (dir: string): Promise<string> => {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile() && e.name !== "etcd.log")
      .map((e) => path.join(e.parentPath, e.name));
    const stats = await Promise.all(
      files.map(async (file) => {
        const info = await stat(file);
        return `${file} ${info.size} ${info.mtimeMs}`;
      }),
    );
    return stats.sort().join("\n");
  };

  /** etcd writes its db in batches (every 100 ms) for a while after up's last write: compare from when it is still. */
  const settled = async () => {
    let last = "";
    const still = async () => {
      const now = await sizesAndTimes(work);
      const same = now === last;
      last = now;
      return same;
    };
    await until("the pair's files still for 300 ms", still, { timeoutMs: 15_000, intervalMs: 300 });
    return fingerprint(work, LOGS);
  };

  // One fingerprint per refusal, against the baseline: hashing the 64 MiB WAL files is most of a case's time.
  const refused = async (args: string[], message: RegExp | string) => {
    const result = await cli(["-c", config, ...args.map((a) => a.replaceAll("{work}", work))]);
    expectMessage(expect, result, message);
    expect(result.stderr).toContain("nothing was changed");
    expect(result.code).toBe(2);
    expect(await fingerprint(work, LOGS)).toEqual(baseline);
  };

  it.each<[string, string[], RegExp | string]>([
    ["failover while the main leads", ["failover", "--yes"], "alpha is running and leads its cluster"],
    ["rejoin of the current main", ["rejoin", "alpha", "--yes"], "cannot rejoin alpha: alpha is the main"],
    [
      "snapshot save onto an existing file",
      ["snapshot", "save", "{work}/precious.txt"],
      /precious\.txt exists already on alpha/,
    ],
    [
      "snapshot save under /proc",
      ["snapshot", "save", "/proc/etcd-pair/s.db"],
      "cannot write /proc/etcd-pair/s.db on alpha: nothing can be written in /proc",
    ],
    [
      "snapshot save under a file",
      ["snapshot", "save", "{work}/etcd-pair.yaml/s.db"],
      /etcd-pair\.yaml is not a directory/,
    ],
  ])("running pair: %s", async (_name, args, message) => refused(args, message));

  describe("once stopped", () => {
    beforeAll(async () => {
      const down = await cli(["-c", config, "down"]);
      expect(down.code, down.stderr).toBe(0);
      baseline = await fingerprint(work, LOGS);
    });

    it.each<[string, string[], RegExp | string]>([
      ["switchover", ["switchover", "--yes"], "no node leads a cluster"],
      ["snapshot save", ["snapshot", "save"], "no node leads a cluster: nothing to snapshot"],
      ["certs renew", ["certs", "renew", "--yes"], "certificates are renewed on a running pair only"],
      ["rejoin", ["rejoin", "beta", "--yes"], "cannot rejoin beta: no node leads a cluster"],
    ])("stopped pair: %s", async (_name, args, message) => refused(args, message));
  });
});
