import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUARD_WAIT_STATUS } from "../../src/render/startScript.js";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { postJson, type ClientTls } from "../helpers/etcdHttp.js";
import { checkCrashHistory, inFlightAt } from "../helpers/history.js";
import { readLearner } from "../helpers/learnerRead.js";
import { processesMentioning } from "../helpers/processes.js";
import { until } from "../helpers/until.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

interface StatusJson {
  healthy: boolean;
  leader: string | null;
  nodes: { name: string; role: string }[];
}

/** The loss assessment's throwaway etcd on a node: its pids, and its listening sockets as `ss` shows them. */
interface ThrowawaySeen {
  pids: number[];
  tcp: string[];
  unix: string[];
}

/** Watches for the throwaway etcd of the loss assessment in `nodeDir` while `during` runs. */
async function watchThrowaway<T>(binDir: string, nodeDir: string, during: Promise<T>): Promise<[T, ThrowawaySeen]> {
  const seen: ThrowawaySeen = { pids: [], tcp: [], unix: [] };
  let done = false;
  const finished = during.finally(() => (done = true));
  const listening = (flags: string, pid: number) =>
    spawnSync("ss", [flags, "-H", "-p"], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((line) => line.includes(`pid=${pid},`));
  while (!done) {
    for (const p of await processesMentioning(`--data-dir=${nodeDir}/data.inspect/data`)) {
      if (!p.cmdline.startsWith(`${binDir}/etcd `)) continue;
      if (!seen.pids.includes(p.pid)) seen.pids.push(p.pid);
      seen.tcp.push(...listening("-ltnu", p.pid));
      seen.unix.push(...listening("-lx", p.pid));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [await finished, seen];
}

describe.each(TEST_BUILDS)("failover, rejoin, switchover and snapshots on etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  const url = (node: "alpha" | "beta") => pair.url(node);
  const roles = async () => {
    const result = await pair.run(["status", "--json"]);
    const state = JSON.parse(result.stdout) as StatusJson;
    return {
      code: result.code,
      healthy: state.healthy,
      roles: Object.fromEntries(state.nodes.map((n) => [n.name, n.role])),
    };
  };
  const expectAllPresent = async (node: "alpha" | "beta", prefix: string, writes: readonly AckedWrite[]) => {
    const data = await readAll(url(node), prefix, tls);
    const missing = writes.filter((w) => data.get(w.key) !== w.value);
    expect(missing.map((w) => `${w.key}@${w.revision}`)).toEqual([]);
  };

  /** Starts a node's start script in the background as systemd would at boot (its pid recorded as the supervisor does). */
  const bootDetached = (node: "alpha" | "beta") =>
    spawnSync("/bin/sh", [
      "-c",
      `cd ${pair.nodeDir(node)} && setsid ./etcd-start.sh >>etcd.log 2>&1 </dev/null & echo $! >${pair.nodeDir(node)}/etcd.pid`,
    ]);

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    tls = await pair.clientTls();
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it.each([
    ["beta", "alpha", "/switch-1/"],
    ["alpha", "beta", "/switch-2/"],
  ] as const)("switchover to %s under continuous writes loses no acknowledged write", async (to, from, prefix) => {
    const writer = new Writer([url(from), url(to)], prefix, 2, tls);
    await writer.waitFor(100);
    const result = await pair.run(["switchover", "--yes", "--to", to, "--json"]);
    expect(result.stderr).toContain(`promote ${to} to a voter`);
    expect(result.code).toBe(0);
    const before = writer.acked.length;
    await writer.waitFor(before + 50);
    const acked = await writer.stop();
    await expectAllPresent(to, prefix, acked);
    expect(await roles()).toEqual({ code: 0, healthy: true, roles: { [to]: "leader", [from]: "learner" } });
    const report = JSON.parse(result.stdout) as { twoVoterWindowMs: number; leaderChangeToFirstWriteMs: number };
    // The report carries the measured window (its length is the benchmark's business, not a test's).
    expect(report.twoVoterWindowMs).toEqual(expect.any(Number));
    expect(report.twoVoterWindowMs).toBeGreaterThanOrEqual(0);
    console.log(
      `etcd ${build.series} switchover to ${to}: ${acked.length} writes acknowledged, 0 lost, longest gap ` +
        `${writer.longestGapMs()} ms, two voters for ${report.twoVoterWindowMs} ms`,
    );
  });

  it("switchover --dry-run prints the steps and changes nothing", async () => {
    const dryRun = await pair.run(["switchover", "--dry-run", "--to", "beta"]);
    expect(dryRun.code).toBe(0);
    for (const command of ["member promote", "move-leader", "member remove", "member add alpha --learner"]) {
      expect(dryRun.stdout).toContain(command);
    }
    expect((await roles()).roles).toEqual({ alpha: "leader", beta: "learner" });
  });

  it("a second switchover to the same node has nothing to do", async () => {
    const result = await pair.run(["switchover", "--yes", "--to", "alpha", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ changed: false, steps: [] });
  });

  it("failover refuses while the main leads: exit 2, nothing changed", async () => {
    const result = await pair.run(["failover", "--yes"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("alpha is running and leads its cluster: this is not a crash");
    expect(result.stderr).toContain("nothing was changed");
    expect(result.stderr).toContain("etcd-pair switchover");
  });

  let lostWrites: AckedWrite[] = [];
  let failoverLoss: number | null = null;
  let keptWrites: AckedWrite[] = [];

  it("failover after kill -9 of the main under writes keeps every write the learner had, and reports the loss it measured", async () => {
    const writer = new Writer([url("alpha")], "/crash/", 0, tls);
    await writer.waitFor(300);
    await pair.kill("alpha", "SIGKILL");
    const crashedAt = performance.now();
    const acked = await writer.stop();
    const dryRun = await pair.run(["failover", "--dry-run"]);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain("snapshot restore");
    expect(dryRun.stdout).toContain("[beta] $ if [ -d");
    expect((await roles()).roles).toEqual({ alpha: "down", beta: "learner" });
    // What beta had, measured here before the failover touches it: the failover's own figures are under test.
    const learner = await readLearner(url("beta"), "/crash/", tls);
    const alphaDir = pair.nodeDir("alpha");
    const [result, throwaway] = await watchThrowaway(build.binDir, alphaDir, pair.run(["failover", "--yes", "--json"]));
    expect(result.code).toBe(0);
    // The loss assessment's throwaway etcd listened on its unix sockets only, and nothing of it is left.
    expect(throwaway.pids).toHaveLength(1);
    expect(throwaway.unix.join("\n")).toContain("client.sock:0");
    expect(throwaway.tcp).toEqual([]);
    expect(await processesMentioning(`${alphaDir}/data.inspect`)).toEqual([]);
    expect(existsSync(path.join(alphaDir, "data.inspect"))).toBe(false);
    const report = JSON.parse(result.stdout) as {
      newMain: string;
      fence: string;
      restoredRevision: number;
      oldMainRevision: number;
      lostRevisions: number | null;
      learnerBefore: { revision: number } | null;
      writableAfterMs: number;
      rejoinCommand: string;
    };
    expect(report).toMatchObject({
      newMain: "beta",
      fence: "stopped-on-host",
      rejoinCommand: "etcd-pair rejoin alpha",
    });
    expect(report.restoredRevision).toBeGreaterThanOrEqual(report.learnerBefore?.revision ?? 0);
    const data = await readAll(url("beta"), "/crash/", tls);
    const inFlight = inFlightAt(writer.unacked, url("alpha"), crashedAt);
    const verdict = checkCrashHistory({ acked, inFlight, learner, report, onNewMain: data, loss: "measured" });
    ({ kept: keptWrites, lost: lostWrites } = verdict);
    failoverLoss = report.lostRevisions;
    console.log(
      `etcd ${build.series} failover: ${acked.length} writes acknowledged, the learner had revision ` +
        `${learner.revision} (${keptWrites.length} of them), restored ${report.restoredRevision}; ` +
        `${lostWrites.length} lost, measured loss ${verdict.measuredLoss} revision(s), reported ` +
        `${report.lostRevisions} (${inFlight} request(s) in flight); writable after ${report.writableAfterMs} ms`,
    );
    const state = await roles();
    expect(state.roles).toEqual({ alpha: "down", beta: "leader" });
  });

  it("a restart of the new main while the old one is down starts at once: it is the only member of its cluster", async () => {
    const betaDir = pair.nodeDir("beta");
    const token = (await readFile(path.join(betaDir, "state", "generation"), "utf8")).trim();
    expect(await readFile(path.join(betaDir, "state", "sole-member"), "utf8")).toBe(`${token}\n`);
    await pair.kill("beta", "SIGTERM");
    expect((await pair.run(["up"])).code).toBe(2); // preflight: alpha is fenced, up says to rejoin it
    // As systemd would start it after a reboot (README: Boot guard, case e): no failover away from beta can have
    // happened (it has no learner), so it starts without asking alpha.
    expect(bootDetached("beta").status).toBe(0);
    await until("beta leads again", async () => (await roles()).roles.beta === "leader", { timeoutMs: 30_000 });
    expect(await readFile(path.join(betaDir, "etcd.log"), "utf8")).toContain(
      `etcd-pair: beta starts: it is the only member of its cluster (generation ${token}): no failover away from it can have happened`,
    );
    await expectAllPresent("beta", "/crash/", keptWrites);
  });

  it("boot guard: the old main refuses to start, fenced or not, and acknowledges no write", async () => {
    const alphaDir = pair.nodeDir("alpha");
    const runStart = () =>
      spawnSync("/bin/sh", [path.join(alphaDir, "etcd-start.sh")], { encoding: "utf8", timeout: 15_000 });
    const fenced = runStart();
    expect(fenced.status).toBe(78);
    expect(fenced.stderr).toContain("refusing to start alpha: the pair failed over away from it");
    // As if the fence marker could not be written (host unreachable during the failover).
    await rename(path.join(alphaDir, "state", "fenced"), path.join(alphaDir, "fenced.test-aside"));
    const unmarked = runStart();
    await rename(path.join(alphaDir, "fenced.test-aside"), path.join(alphaDir, "state", "fenced"));
    expect(unmarked.status).toBe(78);
    expect(unmarked.stderr).toContain("its peer beta serves a newer cluster generation");
    await expect(postJson(`${url("alpha")}/v3/kv/put`, {}, tls, 2000)).rejects.toThrow();
  });

  it("rejoin brings the old main back as the learner with every kept write, measuring the loss again first", async () => {
    const dryRun = await pair.run(["rejoin", "alpha", "--dry-run", "--json"]);
    expect(dryRun.code).toBe(0);
    const planned = JSON.parse(dryRun.stdout) as { steps: { id: string }[] };
    expect(planned.steps.map((s) => s.id).slice(0, 3)).toEqual(["assess.loss", "rejoin.archive", "learner.add"]);
    // As if an earlier rejoin had been interrupted during its loss assessment: its throwaway etcd still runs.
    const inspect = path.join(pair.nodeDir("alpha"), "data.inspect");
    await mkdir(inspect, { mode: 0o700 });
    await cp(path.join(pair.nodeDir("alpha"), "data"), path.join(inspect, "data"), { recursive: true });
    const sockets = ["--listen-client-urls", "--advertise-client-urls", "--listen-peer-urls"].map(
      (flag) => `${flag}=unix://${flag.includes("peer") ? "peer" : "client"}.sock:0`,
    );
    const leftover = spawn(
      `${build.binDir}/etcd`,
      ["--name=inspect", `--data-dir=${inspect}/data`, "--force-new-cluster", ...sockets],
      { cwd: inspect, stdio: "ignore" },
    );
    const leftoverExit = new Promise((resolve) => leftover.once("exit", resolve));
    try {
      await writeFile(path.join(inspect, "etcd.pid"), `${leftover.pid}\n`);
      const result = await pair.run(["rejoin", "alpha", "--json"]);
      expect(result.code).toBe(0);
      await leftoverExit;
      expect(existsSync(inspect)).toBe(false);
      // The old main's data, read before it is archived, shows the same loss the failover measured.
      const rejoined = JSON.parse(result.stdout) as { loss: { lostRevisions: number | null } | null };
      expect(rejoined.loss?.lostRevisions).toBe(failoverLoss);
    } finally {
      if (leftover.exitCode === null && leftover.signalCode === null) leftover.kill("SIGKILL");
    }
    expect(await roles()).toEqual({ code: 0, healthy: true, roles: { alpha: "learner", beta: "leader" } });
    await expectAllPresent("alpha", "/crash/", keptWrites);
    const archived = await readdir(path.join(pair.nodeDir("alpha"), "archive"));
    expect(archived.some((name) => name.startsWith("data-"))).toBe(true);
    expect(archived.some((name) => name.startsWith("fenced-"))).toBe(true);
    expect((await pair.run(["check"])).code).toBe(0);
  });

  it("once alpha rejoined, beta restarted while alpha is down waits (inert); start-alone starts it on its own data", async () => {
    const betaDir = pair.nodeDir("beta");
    // The rejoin's member add removed the marker: beta has a learner now, the pair could fail over to it.
    expect(existsSync(path.join(betaDir, "state", "sole-member"))).toBe(false);
    await pair.kill("alpha", "SIGTERM");
    await pair.kill("beta", "SIGTERM");
    // As systemd would start it after a reboot: beta was the main and cannot see alpha, so it cannot know that no
    // newer generation exists: it waits, and exits to be started again.
    const boot = spawnSync("/bin/sh", ["-c", `${betaDir}/etcd-start.sh >>${betaDir}/etcd.log 2>&1`], {
      env: { ...process.env, ETCD_PAIR_GUARD_WAIT_S: "2" },
      timeout: 30_000,
    });
    expect(boot.status).toBe(GUARD_WAIT_STATUS);
    const inert = await pair.run(["status"]);
    expect(inert.stdout).toMatch(/^beta +INERT /m);
    expect(inert.stdout).toMatch(/^next: nothing, or 'etcd-pair start-alone beta': beta is inert, it waits for alpha/m);
    const alone = await pair.run(["start-alone", "beta", "--yes"]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(await readFile(path.join(betaDir, "state", "started-alone"), "utf8")).toMatch(
      /started alone by \S+@\S+: alpha reachable, not running, no newer generation\n$/,
    );
    // The approval it wrote was for that start only.
    expect(existsSync(path.join(betaDir, "state", "start-approved"))).toBe(false);
    expect((await roles()).roles.beta).toBe("leader");
    await expectAllPresent("beta", "/crash/", keptWrites);
    expect((await pair.run(["up"])).code).toBe(0);
    expect(await roles()).toEqual({ code: 0, healthy: true, roles: { alpha: "learner", beta: "leader" } });
  });

  it("a switchover back restores the original roles", async () => {
    const result = await pair.run(["switchover", "--yes"]);
    expect(result.code).toBe(0);
    expect(await roles()).toEqual({ code: 0, healthy: true, roles: { alpha: "leader", beta: "learner" } });
  });

  it("snapshot save, then restore builds a new pair from it", async () => {
    const before = new Writer([url("alpha")], "/snap/", 0, tls);
    await before.waitFor(50);
    const inSnapshot = await before.stop();
    const saved = await pair.run(["snapshot", "save", "--json"]);
    expect(saved.code).toBe(0);
    const snapshot = JSON.parse(saved.stdout) as { file: string; node: string; revision: number; totalKeys: number };
    expect(snapshot.node).toBe("alpha");
    expect(existsSync(snapshot.file)).toBe(true);
    expect(snapshot.totalKeys).toBeGreaterThanOrEqual(50);
    const after = new Writer([url("alpha")], "/snap-after/", 0, tls);
    await after.waitFor(10);
    await after.stop();
    expect((await pair.run(["snapshot", "restore", snapshot.file])).code).toBe(2);
    const restored = await pair.run(["snapshot", "restore", snapshot.file, "--yes"]);
    expect(restored.code).toBe(0);
    expect(await roles()).toEqual({ code: 0, healthy: true, roles: { alpha: "leader", beta: "learner" } });
    await expectAllPresent("beta", "/snap/", inSnapshot);
    expect((await readAll(url("alpha"), "/snap-after/", tls)).size).toBe(0);
  });
});
