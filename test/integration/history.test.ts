import { appendFile, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/plan/history.js";
import { cli } from "../helpers/cli.js";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { TestPair } from "../helpers/pair.js";

interface HistoryJson {
  events: (HistoryEvent & { on: string[] })[];
  nodes: { name: string; read: boolean; error?: string; events: number; malformed: number }[];
}

interface CheckJson {
  healthy: boolean;
  checks: { id: string; ok: boolean; skipped?: boolean; detail?: string }[];
}

interface StatusJson {
  healthy: boolean;
  paused: string | null;
  pausedOn: string[];
  next: string[];
  nodes: { name: string; role: string }[];
}

/** The check command `fence test` and `check` run here: it passes for alpha's fence path and fails for beta's. */
const FENCE_CHECK = `echo "power is on: $ETCD_PAIR_FENCE_NODE at $ETCD_PAIR_FENCE_ADDRESS"; test "$ETCD_PAIR_FENCE_NODE" = alpha`;

/**
 * The pair's history, pause and the fence check on a local pair with real etcd (README "History", "Pause and
 * resume", "Fence test"): every failover, rejoin, switchover, pause and resume is kept on both hosts and read back
 * in order, with who did it, from which node to which, the generation and the failover's loss as its report gave it.
 */
describe.each(PRIMARY_TEST_BUILDS)("history, pause and fence test on etcd $series", (build) => {
  let pair: TestPair;
  /** The same pair without a fence check command. */
  let plainConfig: string;
  /** The same pair with beta behind an SSH port nothing listens on: a node that cannot be reached. */
  let cutConfig: string;
  const actor = `${os.userInfo().username}@${os.hostname()}`;
  const json = async <T>(args: string[], config?: string): Promise<T> => {
    const result = await (config ? cli(["-c", config, ...args]) : pair.run(args));
    expect(result.code, `${args.join(" ")}:\n${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const stateDirs = async () => [
    ...(await fingerprint(path.join(pair.nodeDir("alpha"), "state"))),
    ...(await fingerprint(path.join(pair.nodeDir("beta"), "state"))),
  ];
  const failover = { token: "", lostRevisions: null as number | null, loss: "" };

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    const yaml = await readFile(pair.configFile, "utf8");
    plainConfig = path.join(pair.dir, "plain.yaml");
    await writeFile(plainConfig, yaml);
    cutConfig = path.join(pair.dir, "cut.yaml");
    const ssh = `ssh: { port: 1, knownHostsFile: ${path.join(pair.dir, "known_hosts")} }`;
    await writeFile(cutConfig, yaml.replace("local: { dir: beta }", ssh));
    const fence = `failover:\n  fenceCheckCommand: '${FENCE_CHECK.replace(/'/g, "''")}'\nnodes:`;
    await writeFile(pair.configFile, yaml.replace("nodes:", fence));
    expect((await pair.run(["up"])).code).toBe(0);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("fence test runs the check command with the fence command's environment: exit 0 when it passes, 3 when not", async () => {
    const alpha = await pair.run(["fence", "test", "alpha"]);
    expect(alpha.code, alpha.stderr).toBe(0);
    expect(alpha.stdout).toContain("fence check for alpha: ok (exit 0");
    expect(alpha.stdout).toContain("power is on: alpha at 127.0.0.1");
    const beta = await pair.run(["fence", "test", "beta", "--json"]);
    expect(beta.code).toBe(3);
    expect(JSON.parse(beta.stdout)).toMatchObject({ node: "beta", ok: false, exitCode: 1 });
    expect(JSON.parse(beta.stdout)).toMatchObject({ output: "power is on: beta at 127.0.0.1" });
    expect((await pair.run(["fence", "test", "beta"])).stdout).toContain("fence check for beta: FAILED (exit 1");
    // Its output is printed, never the command line with whatever the config put in it.
    expect(beta.stdout + beta.stderr).not.toContain('test "$ETCD_PAIR_FENCE_NODE"');
    const unknown = await pair.run(["fence", "test", "gamma"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no node named gamma");
  });

  it("check runs the main's fence check as a row of its own", async () => {
    const report = await json<CheckJson>(["check", "--json"]);
    expect(report.checks.find((c) => c.id === "fence")).toMatchObject({
      ok: true,
      detail: "exit 0: power is on: alpha at 127.0.0.1",
    });
    expect((await pair.run(["check"])).stdout).toMatch(/^PASS {2}fence path of alpha \(failover\.fenceCheckCommand\)/m);
  });

  it("without a fence check command: fence test exits 2 naming the config key; check says so and passes", async () => {
    const test = await cli(["-c", plainConfig, "fence", "test", "alpha"]);
    expect(test.code).toBe(2);
    expect(test.stderr).toContain("no fence check command is configured (failover.fenceCheckCommand)");
    expect(test.stderr).toContain("fenceCheckCommand: ipmitool");
    expect(test.stderr).not.toMatch(/^\s+at /m);
    const fence = (await json<CheckJson>(["check", "--json"], plainConfig)).checks.find((c) => c.id === "fence");
    expect(fence).toMatchObject({ ok: true, skipped: true, detail: "not configured" });
    expect((await cli(["-c", plainConfig, "check"])).stdout).toMatch(/^SKIP {2}fence path .*: not configured$/m);
  });

  it("a failover is recorded on both hosts with its loss; --dry-run lists the record", async () => {
    await pair.kill("alpha", "SIGKILL");
    const dry = await pair.run(["failover", "--yes", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("[change: failover.history]");
    expect(dry.stdout).toContain("record the failover in beta's history");
    const report = await json<{ token: string; lostRevisions: number | null; loss: string; steps: { id: string }[] }>([
      "failover",
      "--yes",
      "--json",
    ]);
    Object.assign(failover, { token: report.token, lostRevisions: report.lostRevisions, loss: report.loss });
    expect(report.steps.filter((s) => s.id === "failover.history")).toHaveLength(2);
    const [event] = (await json<HistoryJson>(["history", "--json"])).events;
    expect(event).toMatchObject({
      id: `failover-${report.token}`,
      kind: "failover",
      actor,
      automatic: false,
      from: "alpha",
      to: "beta",
      generation: report.token,
      lostRevisions: report.lostRevisions,
      loss: report.loss,
      on: ["alpha", "beta"],
    });
    // The old main answered, so its loss was measured (a number, never a guess).
    expect(report.lostRevisions).toEqual(expect.any(Number));
  });

  it("rejoin and switchover are recorded after it; a switchover with nothing to do records nothing", async () => {
    expect((await pair.run(["rejoin", "alpha"])).code).toBe(0);
    expect((await pair.run(["switchover", "--yes", "--to", "alpha"])).code).toBe(0);
    expect((await pair.run(["switchover", "--yes", "--to", "alpha"])).code).toBe(0);
    const { events } = await json<HistoryJson>(["history", "--json"]);
    expect(events.map((e) => e.kind)).toEqual(["failover", "rejoin", "switchover"]);
    expect(events[1]).toMatchObject({
      actor,
      node: "alpha",
      to: "beta",
      generation: failover.token,
      on: ["alpha", "beta"],
    });
    expect(events[2]).toMatchObject({
      actor,
      from: "beta",
      to: "alpha",
      generation: failover.token,
      on: ["alpha", "beta"],
    });
  });

  it("pause marks both hosts (status shows who, when, why), is idempotent, and resume lifts it", async () => {
    const before = await stateDirs();
    const dry = await pair.run(["pause", "--reason", "kernel upgrade", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("[change: pause.mark]");
    expect(dry.stdout).toContain("[change: pause.history]");
    expect(await stateDirs()).toEqual(before);

    const paused = await pair.run(["pause", "--reason", "kernel upgrade"]);
    expect(paused.code, paused.stderr).toBe(0);
    const status = await json<StatusJson>(["status", "--json"]);
    expect(status.paused).toMatch(
      new RegExp(`^by ${actor} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ: kernel upgrade$`),
    );
    expect(status.pausedOn).toEqual(["alpha", "beta"]);
    expect(status.next).toContain("etcd-pair resume when maintenance is done (the pair is paused)");
    expect(status.healthy).toBe(true);
    const text = await pair.run(["status"]);
    expect(text.stdout).toContain(`paused: ${status.paused}\n`);
    expect(text.stdout).toContain("next: etcd-pair resume when maintenance is done");

    const again = await pair.run(["pause", "--reason", "something else"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to do: the pair is paused already");
    expect((await json<StatusJson>(["status", "--json"])).paused).toBe(status.paused);

    expect((await pair.run(["resume"])).code).toBe(0);
    const resumed = await json<StatusJson>(["status", "--json"]);
    expect(resumed.paused).toBeNull();
    expect(resumed.next).toEqual([]);
    const idle = await pair.run(["resume"]);
    expect(idle.stderr).toContain("nothing to do: the pair is not paused");

    const { events } = await json<HistoryJson>(["history", "--json"]);
    expect(events.map((e) => e.kind)).toEqual(["failover", "rejoin", "switchover", "pause", "resume"]);
    expect(events[3]).toMatchObject({ actor, note: "kernel upgrade", on: ["alpha", "beta"] });
    expect(events[4]).toMatchObject({ actor, note: `lifted the pause ${status.paused}` });
    const table = await pair.run(["history"]);
    expect(table.stdout).toMatch(/^TIME +EVENT +BY +NODES +GENERATION +LOSS \/ NOTE$/m);
    expect(table.stdout).toMatch(new RegExp(`failover +${actor} +alpha → beta +${failover.token}`));
  });

  it("with a node that cannot be reached: each command does what it can and says so", async () => {
    const read = await cli(["-c", cutConfig, "history", "--json"]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr).toMatch(/beta's history could not be read: .*ECONNREFUSED/);
    expect(read.stderr).toContain("the history shown is alpha's alone");
    const report = JSON.parse(read.stdout) as HistoryJson;
    expect(report.events.map((e) => e.kind)).toEqual(["failover", "rejoin", "switchover", "pause", "resume"]);
    expect(report.nodes.map((n) => [n.name, n.read])).toEqual([
      ["alpha", true],
      ["beta", false],
    ]);

    const paused = await cli(["-c", cutConfig, "pause", "--reason", "cut"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stderr).toContain("beta cannot be reached");
    expect(paused.stderr).toContain("it is not marked paused");
    const status = await json<StatusJson>(["status", "--json"]);
    expect(status.pausedOn).toEqual(["alpha"]);
    expect((await pair.run(["status"])).stdout).toContain("(marked on alpha only)");

    const resumed = await cli(["-c", cutConfig, "resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("beta cannot be reached");
    expect(resumed.stderr).toContain("its pause marker, if it has one, stays");
    expect((await json<StatusJson>(["status", "--json"])).paused).toBeNull();
    const { events } = await json<HistoryJson>(["history", "--json"]);
    expect(events.slice(-2).map((e) => [e.kind, e.on])).toEqual([
      ["pause", ["alpha"]],
      ["resume", ["alpha"]],
    ]);
  });

  it("history skips lines that are not events and says so; a marker's text cannot pose as a probe section", async () => {
    const file = path.join(pair.nodeDir("beta"), "state", "history.jsonl");
    await appendFile(file, 'not an event\n{"id":"x"}\n');
    const read = await pair.run(["history"]);
    expect(read.code).toBe(0);
    expect(read.stderr).toContain("beta: 2 line(s) of its history file are not events and were skipped");

    await writeFile(path.join(pair.nodeDir("beta"), "state", "paused"), "by hand\n@@etcd-pair:fenced\nyes\n");
    const status = await json<StatusJson>(["status", "--json"]);
    expect(status.paused).toBe("by hand @@etcd-pair:fenced yes");
    expect(status.healthy).toBe(true);
    expect(status.nodes.map((n) => n.role)).toEqual(["leader", "learner"]);
    expect(status.next.join("\n")).not.toContain("rejoin");
    expect((await pair.run(["resume"])).code).toBe(0);
  });
});
