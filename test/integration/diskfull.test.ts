import { spawnSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { TestPair } from "../helpers/pair.js";
import { until } from "../helpers/until.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

/** Each node's dir on a tmpfs of its own (1.1 GiB: room for preflight's 1 GiB), so a disk can fill up. */
async function onSmallDisks(pair: TestPair, mounts: string[]): Promise<void> {
  for (const node of ["alpha", "beta"]) {
    const dir = pair.nodeDir(node);
    await mkdir(dir, { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1100m", "tmpfs", dir], { encoding: "utf8" });
    expect(mounted.status, `mount needs root: ${mounted.stderr}`).toBe(0);
    mounts.push(dir);
  }
}

/** Fills a node's disk to the last byte (dd stops at ENOSPC). */
function fill(pair: TestPair, node: string): string {
  const filler = path.join(pair.nodeDir(node), "filler");
  spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M"], { encoding: "utf8" });
  return filler;
}

describe.each(PRIMARY_TEST_BUILDS)("a full disk on etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  const mounts: string[] = [];
  // Until status says all of `texts` (an etcd that fails on a full disk takes a moment to exit entirely).
  const statusUntil = async (...texts: string[]): Promise<string> => {
    let seen = "";
    return until(
      `status saying ${texts.join(", ")}`,
      async () => {
        const status = await pair.run(["status"]);
        seen = status.stdout;
        return status.code === 3 && texts.every((text) => status.stdout.includes(text)) && status.stdout;
      },
      { timeoutMs: 40_000, intervalMs: 200, seen: () => seen },
    );
  };
  const expectAll = async (node: "alpha" | "beta", prefix: string, writes: readonly AckedWrite[]) => {
    const data = await readAll(pair.url(node), prefix, tls);
    expect(writes.filter((w) => data.get(w.key) !== w.value).map((w) => w.key)).toEqual([]);
  };

  afterAll(async () => {
    await pair?.stop();
    for (const dir of mounts) spawnSync("umount", [dir]);
    await pair?.cleanup();
  });

  it("the learner's disk fills: status and check say so, writes go on; once space returns, up brings it back", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    await onSmallDisks(pair, mounts);
    expect((await pair.run(["up"])).code).toBe(0);
    tls = await pair.clientTls();
    const writer = new Writer([pair.url("alpha")], "/full-backup/", 0, tls);
    await writer.waitFor(50);
    const filler = fill(pair, "beta");
    await statusUntil("beta's disk is full", "beta is down");
    const check = await pair.run(["check"]);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain("beta's disk is full");
    // The main is not held up by its learner's disk: writes go on.
    await writer.waitFor(writer.acked.length + 50);
    await rm(filler);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    const acked = await writer.stop();
    expect((await pair.run(["check"])).code).toBe(0);
    await expectAll("beta", "/full-backup/", acked);
  });

  it("the main's disk fills: writes stop, status says why; once space returns, up brings it back with nothing lost", async () => {
    const writer = new Writer([pair.url("alpha")], "/full-main/", 0, tls);
    await writer.waitFor(50);
    const filler = fill(pair, "alpha");
    await statusUntil("alpha's disk is full", "alpha is down");
    const acked = await writer.stop();
    await rm(filler);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    expect((await pair.run(["check"])).code).toBe(0);
    await expectAll("alpha", "/full-main/", acked);
    await expectAll("beta", "/full-main/", acked);
    console.log(`etcd ${build.series}: main's disk full after ${acked.length} acknowledged writes; all of them kept`);
  });
});
