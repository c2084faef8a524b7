import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS, type EtcdBuild } from "../helpers/etcdBinaries.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { LoopDisk, requirePowerLossTools } from "../helpers/loopDisk.js";
import { TestPair } from "../helpers/pair.js";
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
 * Run in a network namespace of its own (only its loopback): a throwaway etcd restarted plainly on the copy of a
 * member's data in dir $1 (etcd and etcdctl in $2), as the failover's loss assessment restarts an old main, and a
 * linearizable read of prefix $3 (served once the restarted voter committed its whole log). No --force-new-cluster:
 * on 3.6 it drops acknowledged writes past the WAL's saved commit index. The namespace keeps it from reaching
 * the learner its member list names, which may still be running in this same cluster.
 */
const READ_COPY = `ip link set lo up && cd "$1" || exit 1
"$2/etcd" --name=inspect --data-dir=data --listen-client-urls=http://127.0.0.1:2379 \\
  --advertise-client-urls=http://127.0.0.1:2379 --listen-peer-urls=http://127.0.0.1:2380 >etcd.log 2>&1 &
pid=$!; end=$(($(date +%s) + 20))
until out=$(ETCDCTL_API=3 "$2/etcdctl" --endpoints=127.0.0.1:2379 --dial-timeout=1s --command-timeout=2s get \\
  --prefix "$3" -w json 2>/dev/null); do kill -0 $pid && [ "$(date +%s)" -lt $end ] || break; sleep 0.1; done
kill -KILL $pid; wait $pid 2>/dev/null; [ -n "$out" ] && printf '%s' "$out" || { tail -n 5 etcd.log; exit 1; }`;

/** Every key under `prefix` in a member's data dir, or why etcd cannot serve that data at all (its log's tail). */
async function keysOnDisk(
  build: EtcdBuild,
  dataDir: string,
  prefix: string,
): Promise<{ keys: Map<string, string> } | { unreadable: string }> {
  const work = await scratchDir("powerloss-read");
  try {
    const cp = spawnSync("cp", ["-a", dataDir, path.join(work, "data")], { encoding: "utf8" });
    // A disk that lost unsynced data may not even read back (EIO): that data is unreadable too.
    if (cp.status !== 0) return { unreadable: `cp -a ${dataDir}: ${cp.stderr.trim()}` };
    const read = spawnSync("unshare", ["--net", "sh", "-c", READ_COPY, "sh", work, build.binDir, prefix], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      timeout: 60_000,
    });
    if (read.status !== 0) return { unreadable: `${read.stdout}${read.stderr}`.trim() };
    const kvs = (JSON.parse(read.stdout) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
    const decode = (text: string) => Buffer.from(text, "base64").toString();
    return { keys: new Map(kvs.map((kv) => [decode(kv.key), decode(kv.value)])) };
  } finally {
    await removeDir(work);
  }
}

/**
 * Whether every thread of `pid` has ended (etcd's first thread can be a zombie before the others end; a zombie
 * holds no file). Asked of /proc, not of the node's pid file: that file is on the disk whose power was cut, and
 * reading it fails at once, while the killed etcd may still hold its files there.
 */
async function threadsGone(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const states = await Promise.all(
    tasks.map((t) =>
      readFile(`/proc/${pid}/task/${t}/stat`, "utf8").then(
        (st) => st.replace(/^.*\) /s, "")[0],
        () => "X",
      ),
    ),
  );
  return states.every((state) => state === "Z" || state === "X");
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
  for (const [i, pid] of pids.entries()) {
    await until(`etcd on ${nodes[i]} (pid ${pid}) gone`, () => threadsGone(pid ?? 0), { intervalMs: 20 });
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
