import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { scratchDir } from "../helpers/scratch.js";

const COMMANDS = [
  "init",
  "config",
  "config schema",
  "config validate",
  "up",
  "status",
  "check",
  "audit",
  "plan",
  "down",
  "failover",
  "rejoin",
  "switchover",
  "upgrade",
  "start-alone",
  "watch",
  "versions",
  "history",
  "pause",
  "resume",
  "fence",
  "fence test",
  "certs",
  "certs renew",
  "snapshot",
  "snapshot save",
  "snapshot restore",
  "demo",
];

describe("CLI surface", () => {
  it.each(COMMANDS)("`%s --help` explains itself and exits 0", async (command) => {
    const result = await cli([...command.split(" "), "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: etcd-pair ${command}`);
  });

  it.each([
    [["up", "--bogus"], "unknown option '--bogus'"],
    [["fly"], "unknown command 'fly'"],
    [["plan", "--write-files"], "argument missing"],
    [["up", "--write-files", "/tmp/x"], "--write-files writes the files of a dry run"],
  ])("bad usage %j exits 2", async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("an unexpected error is one line and exit 1; --debug adds its stack trace", async () => {
    const env = { TMPDIR: "/nonexistent-etcd-pair-tmp" };
    const plain = await cli(["demo", "--bin-dir", "/usr/bin"], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: ENOENT: no such file or directory, mkdtemp [^\n]+--debug[^\n]+\n$/);
    const debug = await cli(["--debug", "demo", "--bin-dir", "/usr/bin"], { env });
    expect(debug.code).toBe(1);
    expect(debug.stderr.split("\n")[0]).toMatch(/^error: ENOENT: no such file or directory, mkdtemp/);
    expect(debug.stderr).toMatch(/^ {4}at .+:\d+:\d+\)?$/m);
  });

  it("--help states the exit codes, refusals included, and --debug", async () => {
    const result = await cli(["--help"]);
    expect(result.stdout).toContain("2 usage, config error or refusal (nothing\ntouched)");
    expect(result.stdout).toContain("--debug");
  });

  it("says where it looked when there is no config", async () => {
    const dir = await scratchDir("cli");
    const result = await cli(["status"], { cwd: dir, env: { ETCD_PAIR_CONFIG: "" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no config at ${path.join(dir, "etcd-pair.yaml")}`);
    expect(result.stderr).toContain("etcd-pair init");
  });

  it("finds the config through ETCD_PAIR_CONFIG", async () => {
    const dir = await scratchDir("cli");
    await cli(["init", path.join(dir, "pair.yaml")]);
    const result = await cli(["config", "validate"], { env: { ETCD_PAIR_CONFIG: path.join(dir, "pair.yaml") } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ cluster: "demo", nodes: [{ name: "alpha" }, { name: "beta" }] });
  });

  it("init writes a valid, commented starter and will not overwrite it", async () => {
    const dir = await scratchDir("cli");
    expect((await cli(["init"], { cwd: dir })).code).toBe(0);
    const text = await readFile(path.join(dir, "etcd-pair.yaml"), "utf8");
    expect(text).toMatch(/^# etcd-pair configuration/);
    expect((await cli(["config", "validate"], { cwd: dir })).code).toBe(0);
    const again = await cli(["init"], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("exists already");
    expect((await cli(["init", "--force"], { cwd: dir })).code).toBe(0);
  });

  it("plan --offline plans the whole bring-up for fresh hosts, probing none and writing nothing", async () => {
    const dir = await scratchDir("cli");
    const file = path.join(dir, "pair.yaml");
    await cli(["init", file]);
    const result = await cli(["-c", file, "plan", "--offline"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("[offline: hosts assumed fresh]");
    const ids = [...result.stdout.matchAll(/\[(?:change|verify): ([a-z.-]+)\]/g)].map((m) => m[1]);
    expect(ids.slice(0, 4)).toEqual(["main.certificates", "learner.certificates", "main.files", "main.approve"]);
    expect(ids).toContain("learner.add");
    expect(existsSync(path.join(dir, "pki"))).toBe(false);
    const up = await cli(["-c", file, "up", "--offline"], { cwd: dir });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain("--offline only plans");
  });

  it("prints a JSON Schema editors can use", async () => {
    const result = await cli(["config", "schema"]);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as {
      $schema: string;
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.$schema).toContain("json-schema.org");
    expect(schema.required).toEqual(["cluster", "nodes"]);
    expect(Object.keys(schema.properties)).toEqual(["cluster", "etcd", "tls", "failover", "nodes"]);
  });

  it("rejects a bad config with line:column, exit 2, and touches nothing", async () => {
    const dir = await scratchDir("cli");
    const file = path.join(dir, "etcd-pair.yaml");
    await cli(["init", file]);
    await writeFile(file, (await readFile(file, "utf8")).replace("clientPort: 23792", "clientPort: 70000"));
    for (const command of ["up", "status", "check", "plan", "down"]) {
      const result = await cli(["-c", file, command]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/etcd-pair\.yaml:\d+:\d+: nodes\[1\]\.clientPort: must be at most 65535/);
      expect(result.stderr).toContain("nothing was changed");
    }
    expect(existsSync(path.join(dir, ".etcd-pair"))).toBe(false);
  });
});
