import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS, type EtcdBuild } from "../helpers/etcdBinaries.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { LoopDisk, requirePowerLossTools } from "../helpers/loopDisk.js";
import { freePorts, TestPair } from "../helpers/pair.js";
import { removeDir, scratchDir } from "../helpers/scratch.js";
import { until } from "../helpers/until.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

/**
 * Power loss that loses the page cache. Killing a process (or an e2e host's init) leaves what it wrote in the
 * kernel's page cache, which reaches the disk anyway: no durability claim is tested by that. Here each node's
 * dir is an ext4 file system on a loop device of its own, and a power loss is: SIGKILL the node's etcd, then at
 * once FS_IOC_SHUTDOWN without flushing the log (fstests' godown), unmount, mount again (LoopDisk). The first
 * test proves that this really drops unsynced data on this kernel; the others show that every write etcd
 * acknowledged survives it (etcd fsyncs before it acknowledges), and, with --unsafe-no-fsync, that it does not:
 * the same check fails when etcd does not sync.
 */

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** The writes in `acked` that `data` lacks, as key@revision. */
const missingOf = (acked: readonly AckedWrite[], data: ReadonlyMap<string, string>) =>
  acked.filter((w) => data.get(w.key) !== w.value).map((w) => `${w.key}@${w.revision}`);

const maxRevision = (writes: readonly AckedWrite[]) => writes.reduce((max, w) => Math.max(max, w.revision), 0);

/**
 * Every key under `prefix` in a member's data dir, read the way the failover's loss assessment reads an old
 * main: a throwaway etcd on a copy of it (--force-new-cluster: it was the only voter) on free loopback ports,
 * stopped by the pid this started. undefined when etcd cannot serve that data at all (its log says why).
 */
async function keysOnDisk(
  build: EtcdBuild,
  dataDir: string,
  prefix: string,
): Promise<{ keys: Map<string, string> } | { unreadable: string }> {
  const work = await scratchDir("powerloss-read");
  const copy = path.join(work, "data");
  const cp = spawnSync("cp", ["-a", dataDir, copy], { encoding: "utf8" });
  if (cp.status !== 0) throw new Error(`cp -a ${dataDir}: ${cp.stderr}`);
  const [client = 0, peer = 0] = await freePorts(2);
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    path.join(build.binDir, "etcd"),
    [
      "--name=inspect",
      `--data-dir=${copy}`,
      "--force-new-cluster",
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
    ],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  let exited = false;
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const gone = new Promise<void>((resolve) =>
    child.on("close", () => {
      exited = true;
      resolve();
    }),
  );
  try {
    const served = await until(
      "the throwaway etcd serving the copy, or exiting",
      async () => (exited ? ("exited" as const) : await readAll(clientUrl, prefix).catch(() => undefined)),
      { timeoutMs: 30_000, intervalMs: 100, seen: () => log.split("\n").slice(-3).join(" | ") },
    );
    if (served === "exited") return { unreadable: log.trim().split("\n").slice(-5).join("\n") };
    return { keys: served };
  } finally {
    if (!exited) child.kill("SIGKILL");
    await gone;
    await removeDir(work);
  }
}

describe("power loss drops what was not synced (the mechanism, proven first)", () => {
  let disk: LoopDisk | undefined;
  afterEach(async () => {
    await disk?.release();
    disk = undefined;
  });

  it("after FS_IOC_SHUTDOWN, unmount and mount: a file written with fsync is intact, one written without is gone, an append not synced is lost", async () => {
    requirePowerLossTools();
    const dir = await scratchDir("powerloss-proof");
    // ext4 commits its journal every 5 s by default (and with it, in data=ordered mode, the data of the files it
    // names): a commit between the writes and the power loss would sync them. 600 s rules that out here; the
    // pairs' disks below keep the default, as a real host would.
    disk = await LoopDisk.create(path.join(dir, "disk.img"), path.join(dir, "mnt"), 64, ["commit=600"]);
    const file = (name: string) => path.join(dir, "mnt", name);
    const synced = Buffer.alloc(1 << 20, "s");
    const fd = openSync(file("synced"), "w");
    writeSync(fd, synced);
    fsyncSync(fd);
    closeSync(fd);
    const dirFd = openSync(path.join(dir, "mnt"), "r");
    fsyncSync(dirFd); // its directory entry too
    closeSync(dirFd);
    // Written after the last sync, and never synced.
    const appended = openSync(file("synced"), "a");
    writeSync(appended, Buffer.alloc(4096, "a"));
    closeSync(appended);
    const unsynced = openSync(file("unsynced"), "w");
    writeSync(unsynced, Buffer.alloc(1 << 20, "u"));
    closeSync(unsynced);
    expect((await stat(file("unsynced"))).size).toBe(1 << 20); // there, in the page cache
    disk.cutPower();
    disk.powerOn();
    expect(sha256(readFileSync(file("synced")))).toBe(sha256(synced));
    // Its directory entry never reached the disk.
    expect(await stat(file("unsynced")).catch(() => "gone")).toBe("gone");
  });
});

/** A pair whose two node dirs are loop-mounted ext4 disks. */
async function pairOnOwnDisks(
  build: EtcdBuild,
  disks: LoopDisk[],
): Promise<{ pair: TestPair; disk: Record<string, LoopDisk> }> {
  requirePowerLossTools();
  requireBuild(build);
  const pair = await TestPair.create(build.binDir);
  const images = await scratchDir("powerloss-images");
  const disk: Record<string, LoopDisk> = {};
  for (const node of ["alpha", "beta"]) {
    // 1.3 GiB (sparse): room for preflight's 1 GiB free for a new member.
    disk[node] = await LoopDisk.create(path.join(images, `${node}.img`), pair.nodeDir(node), 1300);
    disks.push(disk[node]);
  }
  return { pair, disk };
}

/** The power goes on `nodes` at once: SIGKILL their etcd, then shut their file systems down without a flush. */
async function powerLoss(pair: TestPair, disk: Record<string, LoopDisk>, nodes: readonly string[]): Promise<void> {
  const pids = await Promise.all(nodes.map((node) => pair.etcdPid(node)));
  for (const pid of pids) {
    expect(pid).toBeDefined();
    process.kill(pid ?? 0, "SIGKILL");
  }
  for (const node of nodes) disk[node]?.cutPower();
  for (const node of nodes) {
    await until(`etcd on ${node} gone`, async () => (await pair.etcdPid(node)) === undefined, { intervalMs: 20 });
  }
  for (const node of nodes) disk[node]?.powerOn();
}

describe.each(TEST_BUILDS)("power loss on etcd $series keeps every acknowledged write", (build) => {
  let pair: TestPair | undefined;
  const disks: LoopDisk[] = [];
  afterEach(async () => {
    // etcd first (it holds files on the disks), then the disks, by the devices they recorded.
    await pair?.stop();
    for (const disk of disks.splice(0)) await disk.release();
    if (pair) await removeDir(pair.dir);
    pair = undefined;
  });

  it("the main loses power under writes: its disk still holds every write it acknowledged; failover keeps those the learner had and counts the rest", async () => {
    const setup = await pairOnOwnDisks(build, disks);
    pair = setup.pair;
    expect((await pair.run(["up"])).code).toBe(0);
    const tls: ClientTls = await pair.clientTls();
    const writer = new Writer([pair.url("alpha")], "/power/", 0, tls, 4);
    await writer.waitFor(300);
    await powerLoss(pair, setup.disk, ["alpha"]);
    const acked = await writer.stop();
    const onDisk = await keysOnDisk(build, path.join(pair.nodeDir("alpha"), "data"), "/power/");
    expect("keys" in onDisk ? missingOf(acked, onDisk.keys) : onDisk.unreadable).toEqual([]);

    const result = await pair.run(["failover", "--yes", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      restoredRevision: number;
      oldMainRevision: number | null;
      lostRevisions: number | null;
    };
    const onNewMain = await readAll(pair.url("beta"), "/power/", tls);
    expect(
      missingOf(
        acked.filter((w) => w.revision <= report.restoredRevision),
        onNewMain,
      ),
    ).toEqual([]);
    // The loss is read from the old main's power-lost disk: it must count every acknowledged write past the
    // restored revision (it counts in revisions; writes in flight at the crash may add to it).
    expect(report.oldMainRevision).toBeGreaterThanOrEqual(maxRevision(acked));
    const lost = acked.filter((w) => w.revision > report.restoredRevision);
    expect(report.lostRevisions).toBeGreaterThanOrEqual(lost.length);
    console.log(
      `etcd ${build.series}, main's power lost: ${acked.length} writes acknowledged, all on its disk; ` +
        `failover kept ${acked.length - lost.length}, lost ${lost.length} (reported ${report.lostRevisions})`,
    );
  });

  it("both nodes lose power at once under writes: up brings the pair back with every acknowledged write", async () => {
    const setup = await pairOnOwnDisks(build, disks);
    pair = setup.pair;
    expect((await pair.run(["up"])).code).toBe(0);
    const tls = await pair.clientTls();
    const writer = new Writer([pair.url("alpha")], "/both/", 0, tls, 4);
    await writer.waitFor(300);
    await powerLoss(pair, setup.disk, ["alpha", "beta"]);
    const acked = await writer.stop();
    // The main is back with its disk: no failover, nothing is lost. up starts both again.
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(missingOf(acked, await readAll(pair.url("alpha"), "/both/", tls))).toEqual([]);
    expect((await pair.run(["check"])).code).toBe(0);
    expect(missingOf(acked, await readAll(pair.url("beta"), "/both/", tls))).toEqual([]);
    console.log(`etcd ${build.series}, both nodes' power lost: ${acked.length} writes acknowledged, all kept`);
  });
});

// --unsafe-no-fsync exists from etcd 3.5 on.
const NO_FSYNC_BUILDS = TEST_BUILDS.filter((b) => !b.series.startsWith("3.4"));

describe.each(NO_FSYNC_BUILDS)("the same check fails when etcd does not sync (etcd $series)", (build) => {
  let pair: TestPair | undefined;
  const disks: LoopDisk[] = [];
  afterEach(async () => {
    await pair?.stop();
    for (const disk of disks.splice(0)) await disk.release();
    if (pair) await removeDir(pair.dir);
    pair = undefined;
  });

  it("with --unsafe-no-fsync, kill -9 of the main loses nothing (the page cache is kept), its power loss loses writes it acknowledged", async () => {
    const setup = await pairOnOwnDisks(build, disks);
    pair = setup.pair;
    const help = spawnSync(path.join(build.binDir, "etcd"), ["--help"], { encoding: "utf8" });
    expect(`${help.stdout}${help.stderr}`).toContain("--unsafe-no-fsync");
    // etcd reads its flags from ETCD_* variables too; the local supervisor passes the CLI's environment on.
    const up = await pair.run(["up"], { env: { ETCD_UNSAFE_NO_FSYNC: "true" } });
    expect(up.code, up.stderr).toBe(0);
    expect(await readFile(path.join(pair.nodeDir("alpha"), "etcd.log"), "utf8")).toMatch(
      /"recognized and used environment variable".*"ETCD_UNSAFE_NO_FSYNC".*"true"/,
    );
    const tls = await pair.clientTls();
    // First a kill -9 alone, which leaves the page cache to the kernel (what the e2e hosts' "power loss" does):
    // nothing is lost, though nothing was synced. That crash cannot tell a syncing etcd from one that does not.
    const killed = new Writer([pair.url("alpha")], "/killed/", 0, tls, 4);
    await killed.waitFor(300);
    await pair.kill("alpha", "SIGKILL");
    const ackedBeforeKill = await killed.stop();
    const afterKill = await keysOnDisk(build, path.join(pair.nodeDir("alpha"), "data"), "/killed/");
    expect("keys" in afterKill ? missingOf(ackedBeforeKill, afterKill.keys) : afterKill.unreadable).toEqual([]);
    expect((await pair.run(["up"], { env: { ETCD_UNSAFE_NO_FSYNC: "true" } })).code).toBe(0);
    // Then a real power loss.
    const writer = new Writer([pair.url("alpha")], "/nofsync/", 0, tls, 4);
    await writer.waitFor(300);
    await powerLoss(pair, setup.disk, ["alpha"]);
    const acked = await writer.stop();
    const onDisk = await keysOnDisk(build, path.join(pair.nodeDir("alpha"), "data"), "/nofsync/");
    const missing = "keys" in onDisk ? missingOf(acked, onDisk.keys) : acked.map((w) => `${w.key}@${w.revision}`);
    expect(missing.length).toBeGreaterThan(0);
    console.log(
      `etcd ${build.series} --unsafe-no-fsync, main's power lost: ${acked.length} writes acknowledged, ` +
        ("keys" in onDisk
          ? `${missing.length} missing from its disk`
          : `its data cannot be served at all (${onDisk.unreadable.split("\n").at(-1) ?? ""})`),
    );
  });
});
