import { execFileSync, spawn } from "node:child_process";
import { readFile, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { etcdProcessAlive } from "../../src/service/local.js";
import { scratchDir } from "../helpers/scratch.js";
import { until } from "../helpers/until.js";

/** Runs the supervisor's liveness test for `pid` in sh, as the steps do. */
function alive(pid: number): boolean {
  try {
    execFileSync("sh", ["-c", etcdProcessAlive(String(pid))], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Waits until /proc says `pid` (its first thread) is a zombie; fails the test if it is not within 20 s. */
async function untilZombie(pid: number): Promise<void> {
  let stat = "";
  await until(
    `process ${pid} a zombie`,
    async () => (stat = await readFile(`/proc/${pid}/stat`, "utf8")).includes(") Z "),
    { timeoutMs: 20_000, intervalMs: 10, seen: () => stat },
  );
}

describe("the local supervisor's liveness test", () => {
  it("holds while an etcd runs, and not once it is a zombie, gone, or another program", async () => {
    // A program whose argv[0] names etcd (sleep, under that name), started by a parent that never reaps it.
    const dir = await scratchDir("alive");
    const fake = path.join(dir, "etcd");
    await symlink(execFileSync("sh", ["-c", "command -v sleep"], { encoding: "utf8" }).trim(), fake);
    const parent = spawn("sh", ["-c", `${fake} 30 & echo $!; exec sleep 30`], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(d.toString()))),
      );
      expect(alive(pid)).toBe(true);
      process.kill(pid, "SIGKILL");
      // Dead but not reaped: a zombie, which holds no ports any more.
      await untilZombie(pid);
      expect(alive(pid)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
    expect(alive(process.pid)).toBe(false); // node: another program
    expect(alive(2 ** 22 + 1)).toBe(false); // no such process
  });

  it("holds while any thread runs, though the first thread is already a zombie (as an exiting etcd's is)", async () => {
    // The main thread ends with pthread_exit while a second thread goes on: /proc/PID/stat says Z.
    const dir = await scratchDir("alive");
    const source = path.join(dir, "threads.c");
    await writeFile(
      source,
      `#include <pthread.h>\n#include <unistd.h>\nstatic void *nap(void *a) { (void)a; sleep(30); return 0; }\n` +
        `int main(void) { pthread_t t; pthread_create(&t, 0, nap, 0); pthread_exit(0); }\n`,
    );
    const fake = path.join(dir, "etcd");
    execFileSync("cc", ["-pthread", "-o", fake, source]);
    const child = spawn(fake, [], { stdio: "ignore" });
    const pid = child.pid ?? 0;
    try {
      await untilZombie(pid);
      expect(alive(pid)).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
