import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, PRIMARY_TEST_BUILDS, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { postJson, type ClientTls } from "../helpers/etcdHttp.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { TestPair } from "../helpers/pair.js";
import { descendants, processesMentioning, startCli, stillRunning, type RunningCli } from "../helpers/processes.js";
import { until } from "../helpers/until.js";
import { readAll, Writer } from "../helpers/writer.js";

/**
 * Promises the README makes, each tested for exactly what it says: exit 130 on SIGINT with nothing of the CLI's
 * left running; `snapshot save FILE` never overwrites a file; the old data dirs archived intact (switchover,
 * snapshot restore), checksum for checksum; a resumed failover never restores again; a loss that cannot be read
 * is reported unknown, never 0; a main whose disk is full stops acknowledging writes and loses none it
 * acknowledged.
 */

const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

const stepLine = (text: string, title: RegExp) =>
  text.split("\n").some((line) => /^ {2}ok {3}/.test(line) && title.test(line));

describe.each(PRIMARY_TEST_BUILDS)("the CLI's promises on etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  const clis: RunningCli[] = [];
  /** The pids this file froze with SIGSTOP: thawed after each test, pass or fail. */
  const frozen = new Set<number>();
  const freeze = (pid: number) => {
    frozen.add(pid);
    process.kill(pid, "SIGSTOP");
  };
  const thaw = (pid: number) => {
    process.kill(pid, "SIGCONT");
    frozen.delete(pid);
  };
  const start = (args: readonly string[], onStderr?: (text: string) => void) => {
    const running = startCli(["-c", pair.configFile, ...args], onStderr);
    clis.push(running);
    return running;
  };
  const roles = async () => {
    const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as {
      nodes: { name: string; role: string }[];
    };
    return Object.fromEntries(status.nodes.map((n) => [n.name, n.role]));
  };
  const archives = async (node: string) =>
    (await readdir(path.join(pair.nodeDir(node), "archive")).catch(() => [])).filter((n) => n.startsWith("data-"));

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    tls = await pair.clientTls();
  });
  afterEach(async () => {
    for (const pid of frozen) thaw(pid);
    // A CLI a failed test left running is ended by the pid this file started it with.
    for (const running of clis.splice(0)) {
      try {
        process.kill(running.pid, "SIGKILL");
      } catch {
        // Ended already.
      }
      await running.done;
    }
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("SIGINT: exit 130, says how to resume, leaves no process of its own running and the pair unchanged", async () => {
    // A switchover waits for the learner to catch up; a frozen learner never answers, so it waits for as long as
    // --catch-up-timeout allows. The learner is frozen only once the switchover has looked at the pair (its
    // summary is printed after that), so it is planned as a normal switchover.
    let summarized = false;
    const betaPid = await pair.etcdPid("beta");
    expect(betaPid).toBeDefined();
    const running = start(["switchover", "--yes", "--to", "beta", "--catch-up-timeout", "600"], (text) => {
      if (!summarized && text.includes("switchover: beta becomes main")) {
        summarized = true;
        freeze(betaPid ?? 0);
      }
    });
    await until("the switchover frozen in its catch-up wait", () => summarized, { timeoutMs: 30_000 });
    // While it waits it runs etcdctl probes as child processes; one asking the frozen learner waits for its
    // timeouts (seconds): interrupt the CLI while such a probe is in flight.
    const learnerEndpoint = `127.0.0.1:${pair.ports.beta[0]}`;
    const children = await until("a probe of the frozen learner running", async () => {
      const found = await descendants(running.pid);
      return found.some((p) => p.cmdline.includes(learnerEndpoint)) && found;
    });
    process.kill(running.pid, "SIGINT");
    const result = await running.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("interrupted: re-run the same command to resume");
    expect(result.stderr).not.toContain("ok "); // it was still in its first step
    // What it started must end with it (a probe left alone would run on for seconds): the processes it had, and
    // any process naming this pair's dir (etcd itself is started as a bare `etcd`, with its settings in its env).
    let left: string[] = [];
    const leftNow = async () => {
      left = [];
      for (const child of children) if (await stillRunning(child)) left.push(`${child.pid} ${child.cmdline}`);
      for (const p of await processesMentioning(pair.dir)) left.push(`${p.pid} ${p.cmdline}`);
      return left;
    };
    await until("the interrupted CLI's own processes gone", async () => (await leftNow()).length === 0, {
      timeoutMs: 1000,
      intervalMs: 20,
      seen: () => left.join("; "),
    });
    thaw(betaPid ?? 0);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
  });

  it("snapshot save FILE never overwrites an existing file: a refusal (exit 2), the file unchanged", async () => {
    const file = path.join(pair.dir, "snapshot.db");
    const saved = await pair.run(["snapshot", "save", file, "--json"]);
    expect(saved.code, saved.stderr).toBe(0);
    const first = await sha256(file);
    const writer = new Writer([pair.url("alpha")], "/after-save/", 0, tls);
    await writer.waitFor(20);
    await writer.stop();
    const again = await pair.run(["snapshot", "save", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${file} exists already`);
    expect(again.stderr).toContain("nothing was changed");
    expect(await sha256(file)).toBe(first);
    // Any file, not only a snapshot.
    const other = path.join(pair.dir, "precious.txt");
    await writeFile(other, "not a snapshot\n");
    const overOther = await pair.run(["snapshot", "save", other]);
    expect(overOther.code).toBe(2);
    expect(await readFile(other, "utf8")).toBe("not a snapshot\n");
  });

  it("snapshot restore archives both data dirs exactly as they were when it stopped each node", async () => {
    // snapshot restore stops beta (the config's second node), archives its data dir, stops alpha, archives its
    // data dir. The node about to be stopped is frozen (SIGSTOP), so its stop step waits for it (a SIGTERM stays
    // pending); then the CLI is frozen too and the node let go: once its etcd has exited the test checksums its
    // data dir before the CLI can archive it. Each archive must hold exactly those files. beta is frozen as soon
    // as the restore has looked at the pair (its summary is printed then): frozen earlier, the look would wait
    // seconds for it. Its stop step cannot have ended by then: etcd takes hundreds of ms to stop, and a frozen
    // etcd does not stop at all.
    const writer = new Writer([pair.url("alpha")], "/before-restore/", 0, tls);
    await writer.waitFor(20);
    const inSnapshot = await writer.stop();
    const file = path.join(pair.dir, "restore-from.db");
    expect((await pair.run(["snapshot", "save", file])).code).toBe(0);
    const before = { alpha: await archives("alpha"), beta: await archives("beta") };
    const pids = { alpha: await pair.etcdPid("alpha"), beta: await pair.etcdPid("beta") };
    let summarized = false;
    const running = start(["snapshot", "restore", file, "--yes"], (text) => {
      if (!summarized && text.includes("snapshot restore: stop both nodes")) {
        summarized = true;
        freeze(pids.beta ?? 0);
      }
    });
    await until("snapshot restore done looking", () => summarized);
    expect(await pair.etcdPid("beta"), "beta still there when frozen").toBe(pids.beta);
    const atStop: Record<string, string[]> = {};
    for (const node of ["beta", "alpha"] as const) {
      const pidFile = path.join(pair.nodeDir(node), "etcd.pid");
      await until(`snapshot restore stopping ${node}`, async () =>
        (await descendants(running.pid)).some((p) => p.cmdline.includes("kill -TERM") && p.cmdline.includes(pidFile)),
      );
      freeze(running.pid);
      thaw(pids[node] ?? 0);
      await until(`${node}'s etcd gone`, async () => (await pair.etcdPid(node)) === undefined);
      atStop[node] = await fingerprint(path.join(pair.nodeDir(node), "data"));
      expect(atStop[node]?.some((entry) => entry.startsWith("member/snap/db "))).toBe(true);
      if (node === "beta") freeze(pids.alpha ?? 0);
      thaw(running.pid);
    }
    const result = await running.done;
    expect(result.code, result.stderr).toBe(0);
    for (const node of ["alpha", "beta"] as const) {
      const added = (await archives(node)).filter((name) => !before[node].includes(name));
      expect(added, node).toHaveLength(1);
      expect(await fingerprint(path.join(pair.nodeDir(node), "archive", added[0] ?? ""))).toEqual(atStop[node]);
    }
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    const restored = await readAll(pair.url("beta"), "/before-restore/", tls);
    expect(inSnapshot.filter((w) => restored.get(w.key) !== w.value)).toEqual([]);
  });

  it("switchover archives the old main's data dir exactly as it was when the switchover stopped it", async () => {
    // The old main's etcd writes into its data dir until it is gone, so a checksum taken before the switchover
    // cannot match (the promote, the removal and the clean stop all write to it). The switchover's steps are
    // (src/plan/switchover.ts) ... remove alpha, smoke write on beta, beta's files, stop alpha, archive alpha's
    // data dir, ...: the removed alpha exits by itself after "remove", and nothing may touch its data dir from
    // then on. So the CLI is frozen (SIGSTOP) as soon as it reports the removal, the test waits until alpha's
    // etcd is gone, checksums every file of alpha's data dir, and lets the CLI go on: the archive it makes must
    // hold exactly those files, bytes and modes.
    const before = await archives("alpha");
    const writer = new Writer([pair.url("alpha"), pair.url("beta")], "/switch/", 2, tls);
    await writer.waitFor(50);
    let frozenAt = "";
    const running = start(["switchover", "--yes", "--to", "beta"], (text) => {
      if (!frozenAt && stepLine(text, /\] remove alpha /)) {
        freeze(running.pid);
        frozenAt = text;
      }
    });
    await until("the switchover frozen after removing alpha", () => frozenAt !== "", { timeoutMs: 60_000 });
    const dataDir = path.join(pair.nodeDir("alpha"), "data");
    await until("alpha's etcd gone after its removal", async () => (await pair.etcdPid("alpha")) === undefined);
    const atStop = await fingerprint(dataDir);
    // Frozen in time: the archive step had not run (else the data dir would be gone).
    expect(atStop.some((entry) => entry.startsWith("member/snap/db "))).toBe(true);
    expect(await archives("alpha")).toEqual(before);
    thaw(running.pid);
    const result = await running.done;
    expect(result.code, result.stderr).toBe(0);
    await writer.stop();
    const added = (await archives("alpha")).filter((name) => !before.includes(name));
    expect(added).toHaveLength(1);
    expect(await fingerprint(path.join(pair.nodeDir("alpha"), "archive", added[0] ?? ""))).toEqual(atStop);
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
  });
});

interface FailoverJson {
  steps: { id: string }[];
  restoredRevision: number | null;
  oldMainRevision: number | null;
  lostRevisions: number | null;
  loss: string;
}

describe.each(TEST_BUILDS)("failover's promises on etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  /** Writes on the main, then waits until the learner has them all (check reads the canary back on it). */
  const writeAndSettle = async (main: "alpha" | "beta", prefix: string) => {
    const writer = new Writer([pair.url(main)], prefix, 0, tls);
    await writer.waitFor(50);
    const acked = await writer.stop();
    expect((await pair.run(["check"])).code).toBe(0);
    return acked;
  };

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    tls = await pair.clientTls();
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("a loss that cannot be read is reported as unknown (null), never as 0", async () => {
    await writeAndSettle("alpha", "/unknown-loss/");
    await pair.kill("alpha", "SIGKILL");
    // The old main's host answers, but its data is not there to be read (a lost disk, a wrong mount).
    await rename(path.join(pair.nodeDir("alpha"), "data"), path.join(pair.nodeDir("alpha"), "data.moved-by-test"));
    const result = await pair.run(["failover", "--yes", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as FailoverJson;
    expect(report.restoredRevision).toEqual(expect.any(Number));
    expect(report.oldMainRevision).toBeNull();
    expect(report.lostRevisions).toBeNull();
    expect(report.loss).toMatch(/^unknown: alpha's data could not be read/);
    expect(report.loss).not.toMatch(/\b0 revision/);
    // Nothing read it: the step is planned only where the old main's data dir holds member data.
    expect(report.steps.map((s) => s.id)).not.toContain("assess.loss");
  });

  it("a failover interrupted after swapping the restored data in never restores again when re-run", async () => {
    // Back to a pair (beta main, alpha its learner), then the main crashes.
    expect((await pair.run(["rejoin", "alpha"])).code).toBe(0);
    const acked = await writeAndSettle("beta", "/resumed/");
    await pair.kill("beta", "SIGKILL");
    const swapLine = /\] archive alpha's data dir, swap the restored one in/;
    const first = await pair.run(["failover", "--yes"], {
      onStderr: (text, kill) => {
        if (stepLine(text, swapLine)) kill();
      },
    });
    expect(first.code).toBe(137);
    expect(first.stderr).toMatch(swapLine);
    // The restored data dir as the interrupted run left it: a marker file in it, its inodes.
    const dataDir = path.join(pair.nodeDir("alpha"), "data");
    await writeFile(path.join(dataDir, "marker-of-the-test"), "restored once\n");
    const inodes = async () => [(await stat(dataDir)).ino, (await stat(path.join(dataDir, "member/snap/db"))).ino];
    const before = await inodes();
    const again = await pair.run(["failover", "--yes", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as FailoverJson;
    expect(report.steps.map((s) => s.id)).not.toContain("newmain.restore");
    expect(report.steps.map((s) => s.id)).not.toContain("newmain.swap");
    expect(await inodes()).toEqual(before);
    expect(await readFile(path.join(dataDir, "marker-of-the-test"), "utf8")).toBe("restored once\n");
    // It did not restore, so it cannot say what was lost: not measured, never 0.
    expect(report.restoredRevision).toBeNull();
    expect(report.lostRevisions).toBeNull();
    expect(report.loss).toMatch(/^not measured/);
    const data = await readAll(pair.url("alpha"), "/resumed/", tls);
    expect(acked.filter((w) => data.get(w.key) !== w.value)).toEqual([]);
  });
});

describe.each(PRIMARY_TEST_BUILDS)("a full disk on the main stops writes, on etcd $series", (build) => {
  let pair: TestPair | undefined;
  let mounted: string | undefined;
  afterAll(async () => {
    await pair?.stop();
    if (mounted) {
      const umount = spawnSync("umount", [mounted], { encoding: "utf8" });
      expect(umount.status, umount.stderr).toBe(0);
    }
    await pair?.cleanup();
  });

  it("the main's disk fills: it acknowledges nothing more (a write is refused or times out), and every write it acknowledged is kept", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    // The main's dir on a tmpfs of its own (1.1 GiB: room for preflight's 1 GiB), as in diskfull.test.ts.
    const dir = pair.nodeDir("alpha");
    await mkdir(dir, { recursive: true });
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1100m", "tmpfs", dir], { encoding: "utf8" });
    expect(mount.status, `mount needs root: ${mount.stderr}`).toBe(0);
    mounted = dir;
    expect((await pair.run(["up"])).code).toBe(0);
    const tls = await pair.clientTls();
    const writer = new Writer([pair.url("alpha")], "/full/", 0, tls);
    await writer.waitFor(50);
    const filler = path.join(dir, "filler");
    spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M"], { encoding: "utf8" });
    const filledAt = performance.now();
    const ackedBeforeFull = writer.acked.length;
    // etcd fails on its next write that needs a new block and exits: status says so.
    let seen = "";
    await until(
      "status saying alpha's disk is full and alpha is down",
      async () => {
        const status = await pair?.run(["status"]);
        seen = status?.stdout ?? "";
        return status?.code === 3 && seen.includes("alpha's disk is full") && seen.includes("alpha is down");
      },
      { timeoutMs: 40_000, intervalMs: 200, seen: () => seen },
    );
    const downAt = performance.now();
    // The writer keeps trying for a while; a write of our own is refused or times out.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await expect(
      postJson(`${pair.url("alpha")}/v3/kv/put`, { key: btoa("/full/after"), value: btoa("x") }, tls, 2000).then(
        (response) => {
          if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          return response;
        },
      ),
    ).rejects.toThrow();
    const acked = await writer.stop();
    const afterFull = acked.filter((w) => w.ackedAt > filledAt);
    expect(acked.filter((w) => w.ackedAt > downAt)).toEqual([]);
    console.log(
      `etcd ${build.series}: ${ackedBeforeFull} writes acknowledged before the disk was full, ` +
        `${afterFull.length} after dd filled it and before etcd stopped, none once it was down`,
    );
    // Whatever it acknowledged (also after the fill) is kept: once space returns, up brings it back.
    await rm(filler);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    const data = await readAll(pair.url("alpha"), "/full/", tls);
    expect(acked.filter((w) => data.get(w.key) !== w.value).map((w) => w.key)).toEqual([]);
  });
});
