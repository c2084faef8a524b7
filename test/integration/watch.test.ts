import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { postJson } from "../helpers/etcdHttp.js";
import { TestPair } from "../helpers/pair.js";
import { RunningWatch } from "../helpers/watching.js";

const DETECT_AFTER_S = 2;

/**
 * `etcd-pair watch` on local pairs with real etcd (README: Automatic failover): the witness and the learner's host
 * are the same machine here, so both lose the main together; what only one of them loses is proven on the
 * systemd hosts (test/e2e/watch.test.ts).
 */
describe.each(PRIMARY_TEST_BUILDS)("watch on etcd $series", (build) => {
  let pair: TestPair;
  let watch: RunningWatch | undefined;
  const roles = async () => {
    const status = await pair.run(["status", "--json"]);
    return Object.fromEntries(
      (JSON.parse(status.stdout) as { nodes: { name: string; role: string }[] }).nodes.map((n) => [n.name, n.role]),
    );
  };
  beforeAll(async () => {
    requireBuild(build);
    // A fence command is required; the main's host is this machine, so failover fences there and never runs it.
    pair = await TestPair.create(build.binDir, {
      failover: `  fenceCommand: "echo fenced $ETCD_PAIR_FENCE_NODE"\n  detectAfter: ${DETECT_AFTER_S}s\n  minInterval: 10m`,
    });
    expect((await pair.run(["up"])).code).toBe(0);
  });
  afterAll(async () => {
    await watch?.stop();
    await pair?.cleanup();
  });

  it("refuses to run without a fence command: exit 2, nothing watched", async () => {
    const bare = await TestPair.create(build.binDir);
    try {
      const result = await bare.run(["watch"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("watch refuses to run without a fence");
      expect(result.stderr).toContain("failover.fenceCommand");
    } finally {
      await bare.cleanup();
    }
  });

  it("the main's etcd killed: watch fails over after detectAfter, the new main takes writes, no second failover", async () => {
    watch = new RunningWatch(["-c", pair.configFile]);
    await watch.waitFor((e) => e.message.startsWith("alpha serves"), 15_000);
    const killedAt = Date.now();
    await pair.kill("alpha", "SIGKILL");
    const started = await watch.waitFor((e) => e.kind === "failover", 30_000);
    const detectedMs = Date.parse(started.at) - killedAt;
    expect(detectedMs).toBeGreaterThanOrEqual(DETECT_AFTER_S * 1000);
    await watch.waitFor((e) => e.kind === "failover" && e.message.startsWith("beta is the main"), 60_000);
    // The first acknowledged write on the new main, timed from the kill.
    const tls = await pair.clientTls();
    let firstWriteMs: number | undefined;
    while (firstWriteMs === undefined && Date.now() - killedAt < 60_000) {
      const put = await postJson(
        `${pair.url("beta")}/v3/kv/put`,
        { key: Buffer.from("/watch/after").toString("base64"), value: Buffer.from("1").toString("base64") },
        tls,
        2000,
      ).catch(() => undefined);
      if (put?.status === 200) firstWriteMs = Date.now() - killedAt;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(firstWriteMs).toBeDefined();
    const done = watch.events.find((e) => e.message.startsWith("beta is the main"));
    expect(done?.details).toMatchObject({ oldMain: "alpha", fence: "stopped-on-host", lostRevisions: 0 });
    expect(await roles()).toMatchObject({ alpha: "down", beta: "leader" });
    // beta has no learner: watch must not act again, whatever it sees.
    const after = watch.events.length;
    await new Promise((resolve) => setTimeout(resolve, (DETECT_AFTER_S + 2) * 1000));
    expect(watch.events.slice(after).filter((e) => e.kind === "failover")).toEqual([]);
    console.log(
      `etcd ${build.series} watch: main killed, failover began after ${detectedMs} ms (detectAfter ${DETECT_AFTER_S} s), ` +
        `first acknowledged write on the new main ${firstWriteMs} ms after the kill`,
    );
  });

  it("after a rejoin the pair has a learner again and watch watches the new main; SIGTERM ends it with exit 0", async () => {
    const from = watch?.events.length ?? 0;
    expect((await pair.run(["rejoin", "alpha"])).code).toBe(0);
    await watch?.waitFor((e) => e.message.startsWith("the pair has a learner again (alpha)"), 30_000, from);
    expect((await watch?.stop())?.code).toBe(0);
    expect(watch?.events.at(-1)?.kind).toBe("stopped");
  });

  it("paused, then within minInterval (also after a restart of watch): the lost main is not failed over; the history says why", async () => {
    watch = new RunningWatch(["-c", pair.configFile]);
    await watch.waitFor((e) => e.message.startsWith("beta serves"), 15_000);
    expect((await pair.run(["pause", "--reason", "disk swap"])).code).toBe(0);
    await pair.kill("beta", "SIGKILL");
    await watch.waitFor((e) => e.kind === "refused" && e.message.includes("the pair is paused"), 20_000);
    expect((await pair.run(["resume"])).code).toBe(0);
    await watch.waitFor((e) => e.kind === "refused" && e.message.includes("less than failover.minInterval"), 20_000);
    await watch.stop();
    // A new watch knows the last automatic failover from the pair's history, not from its own memory.
    watch = new RunningWatch(["-c", pair.configFile]);
    await watch.waitFor((e) => e.kind === "refused" && e.message.includes("less than failover.minInterval"), 20_000);
    expect(watch.events.filter((e) => e.kind === "failover")).toEqual([]);
    const history = JSON.parse((await pair.run(["history", "--json"])).stdout) as {
      events: { kind: string; automatic?: boolean; actor: string; from?: string; to?: string; note?: string }[];
    };
    const kinds = history.events.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["failover", "rejoin", "pause", "resume", "watch"]));
    expect(history.events.find((e) => e.kind === "failover")).toMatchObject({
      automatic: true,
      actor: expect.stringMatching(/^etcd-pair watch on /) as unknown,
      from: "alpha",
      to: "beta",
    });
    expect(history.events.filter((e) => e.kind === "watch").map((e) => e.note)).toEqual(
      expect.arrayContaining([expect.stringContaining("the pair is paused (") as unknown]),
    );
  });
});

describe.each(PRIMARY_TEST_BUILDS)("watch killed in the middle of its failover, on etcd $series", (build) => {
  let pair: TestPair;
  const watches: RunningWatch[] = [];
  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir, {
      failover: `  fenceCommand: "true"\n  detectAfter: ${DETECT_AFTER_S}s`,
    });
    expect((await pair.run(["up"])).code).toBe(0);
  });
  afterAll(async () => {
    for (const w of watches) await w.stop();
    await pair?.cleanup();
  });

  it("the next watch finishes the failover it began, as a re-run of the command would; a failed step is said in full", async () => {
    const first = new RunningWatch(["-c", pair.configFile]);
    watches.push(first);
    await first.waitFor((e) => e.message.startsWith("alpha serves"), 15_000);
    await pair.kill("alpha", "SIGKILL");
    // Killed right after the failover recorded its generation on beta, before beta was restored.
    for (let i = 0; i < 300 && !/record on beta that a failover to generation \S+ began/.test(first.stderr()); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(first.stderr()).toMatch(/record on beta that a failover to generation \S+ began/);
    await first.kill();
    const cutShort = await pair.run(["status"]);
    expect(cutShort.stdout).not.toMatch(/^beta +leader/m);
    expect(cutShort.stdout).toMatch(/failover/);
    // beta's archive made a file: the failover's swap cannot archive beta's data dir, and watch says so in full.
    const archive = path.join(pair.nodeDir("beta"), "archive");
    await rm(archive, { recursive: true });
    await writeFile(archive, "");
    const failing = new RunningWatch(["-c", pair.configFile]);
    watches.push(failing);
    const failed = await failing.waitFor((e) => e.kind === "failover-failed", 60_000);
    expect(failed.message).toMatch(/step newmain\.swap on beta \(local\): exit code 1; stderr: .*File exists/);
    expect(failed.details).toMatchObject({ host: "beta (local)", step: "newmain.swap", exitCode: 1 });
    await failing.stop();
    await rm(archive);
    await mkdir(archive);
    const second = new RunningWatch(["-c", pair.configFile]);
    watches.push(second);
    await second.waitFor((e) => e.message.startsWith("a failover from alpha to beta was cut short"), 20_000);
    const done = await second.waitFor((e) => e.message.startsWith("beta is the main"), 90_000);
    expect(done.details).toMatchObject({ oldMain: "alpha", newMain: "beta" });
    const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as {
      nodes: { name: string; role: string }[];
    };
    expect(status.nodes.find((n) => n.name === "beta")?.role).toBe("leader");
  }, 150_000);
});
