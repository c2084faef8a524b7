import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { holdLockCommand, lockFiles } from "../../src/plan/lock.js";
import type { Step } from "../../src/plan/step.js";
import { loadPair } from "../../src/runtime/configFile.js";
import { PreflightError } from "../../src/runtime/errors.js";
import { Hosts } from "../../src/runtime/hosts.js";
import { runSteps, StepFailure, type Reporter } from "../../src/runtime/runner.js";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { TestPair } from "../helpers/pair.js";
import { startCli } from "../helpers/processes.js";
import { until } from "../helpers/until.js";

const quiet: Reporter = { stepStarted: () => {}, stepFinished: () => {}, info: () => {}, warn: () => {} };

/** The pid of the shell that holds `node`'s lock on its host, from the holder record it wrote. */
async function holderShellPid(hosts: Hosts, node: string): Promise<number> {
  const spec = hosts.node(node);
  const record = await readFile(lockFiles(spec, nodeLayout(spec)).holderFile, "utf8");
  return Number(record.split(" ")[0]);
}

/**
 * The pair lock (README "One command at a time"): held on the hosts themselves, naming its holder; a second
 * command refused with exit 2 and nothing changed; a holder that dies frees it; read-only commands never wait.
 */
describe.each(PRIMARY_TEST_BUILDS)("the pair lock on etcd $series", (build) => {
  let pair: TestPair;
  let hosts: Hosts;
  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    hosts = new Hosts((await loadPair(pair.configFile)).pair);
  });
  afterAll(async () => {
    await hosts?.close();
    await pair?.cleanup();
  });
  // Every file of both nodes; under data/ by path only: the running members commit their own db on their own.
  const nodeFiles = async () =>
    [
      ...(await fingerprint(pair.nodeDir("alpha"), ["etcd.log"])),
      ...(await fingerprint(pair.nodeDir("beta"), ["etcd.log"])),
    ].map((entry) => (entry.startsWith("data/") ? entry.split(" ")[0] : entry));

  it("a command that finds the lock held exits 2 naming the holder and changes nothing; status does not wait", async () => {
    const other = new Hosts(hosts.pair);
    await other.lock("etcd-pair switchover --yes (the test)");
    try {
      const before = await nodeFiles();
      const down = await pair.run(["down", "--yes"]);
      expect(down.code, down.stderr).toBe(2);
      expect(down.stderr).toMatch(
        /another command is changing this pair: `etcd-pair switchover --yes \(the test\)` \(pid \d+ on /,
      );
      expect(down.stderr).toContain("nothing was changed");
      expect(await nodeFiles()).toEqual(before);
      const status = await pair.run(["status"]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/^lock on alpha: held by `etcd-pair switchover --yes \(the test\)`/m);
      expect(status.stdout).toMatch(/^next: wait: `etcd-pair switchover --yes \(the test\)` .* is changing the pair/m);
    } finally {
      await other.close();
    }
    const status = await pair.run(["status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ locks: {}, next: [] });
  });

  it("a holder that dies is detected: its command changes that node no more, and the next one takes the lock over", async () => {
    const dying = new Hosts(hosts.pair);
    await dying.lock("etcd-pair rejoin beta (the test)");
    try {
      process.kill(await holderShellPid(dying, "alpha"), "SIGKILL");
      await until("the lost lock noticed", () => dying.lockLost("alpha"));
      const step: Step = {
        id: "main.files",
        title: "a step on alpha",
        node: "alpha",
        kind: "change",
        actions: [{ kind: "exec", node: "alpha", command: "true" }],
      };
      const failure = await runSteps([step], dying, quiet).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StepFailure);
      expect((failure as StepFailure).reason).toMatch(/lost the pair lock on alpha/);
    } finally {
      await dying.close();
    }
    const status = await pair.run(["status"]);
    expect(status.stdout).toMatch(/^lock on alpha: STALE, left by `etcd-pair rejoin beta \(the test\)`/m);
    const next = new Hosts(hosts.pair);
    try {
      const notices = await next.lock("etcd-pair up");
      expect(notices).toEqual([
        {
          node: "alpha",
          message: expect.stringMatching(/took over the lock left by `etcd-pair rejoin beta \(the test\)`/),
        },
      ]);
    } finally {
      await next.close();
    }
  });

  it("a CLI killed mid-command frees the lock at once; a failover started during a switchover is refused", async () => {
    const killed = startCli(["-c", pair.configFile, "switchover", "--yes", "--to", "beta"]);
    await until("the switchover's first step", () => /^ {2}ok /m.test(killed.stderr()), { timeoutMs: 20_000 });
    process.kill(killed.pid, "SIGKILL");
    await killed.done;
    // Resumed, and paused after its first step: it holds the lock while the failover tries (SIGCONT ends the pause).
    const resumed = startCli(["-c", pair.configFile, "switchover", "--yes", "--to", "beta"]);
    await until("the resumed switchover's first step", () => /^ {2}ok /m.test(resumed.stderr()), { timeoutMs: 20_000 });
    process.kill(resumed.pid, "SIGSTOP");
    let failover;
    try {
      expect(resumed.stderr()).not.toMatch(/lock/);
      failover = await pair.run(["failover", "--yes"]);
    } finally {
      process.kill(resumed.pid, "SIGCONT");
    }
    const done = await resumed.done;
    expect(done.code, done.stderr).toBe(0);
    expect(failover.code, failover.stderr).toBe(2);
    expect(failover.stderr).toMatch(
      /another command is changing this pair: `etcd-pair -c \S+ switchover --yes --to beta`/,
    );
    expect((await pair.run(["check"])).code).toBe(0);
    const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as { lastRoleChange: unknown };
    expect(status.lastRoleChange).toEqual({ kind: "switchover", at: expect.stringMatching(/^20\d\d-/), from: "alpha" });
  });

  it("a lock whose CLI on this machine is gone is waited for while its shell lets go, not refused", async () => {
    // A holder record naming a CLI that has exited, and a holding shell that reads its input 1.5 s longer, as a
    // SIGKILLed CLI's shell may on a loaded machine before it sees the end of its input.
    const gone = spawn("true");
    await new Promise((resolve) => gone.once("exit", resolve));
    const spec = hosts.node("alpha");
    const holder = { command: "etcd-pair up (the test)", controller: os.hostname(), pid: gone.pid ?? 0, since: "now" };
    const shell = spawn("bash", ["-c", holdLockCommand(lockFiles(spec, nodeLayout(spec)), holder)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      await until("the orphaned shell holds the lock", async () => {
        const pid = await holderShellPid(hosts, "alpha").catch(() => undefined);
        return pid === shell.pid;
      });
      const letGo = setTimeout(() => shell.stdin.end(), 1_500);
      const started = performance.now();
      const up = await pair.run(["up"]);
      clearTimeout(letGo);
      expect(up.code, up.stderr).toBe(0);
      expect(performance.now() - started).toBeGreaterThan(1_000);
    } finally {
      shell.stdin.end();
      if (shell.exitCode === null) await new Promise((resolve) => shell.once("exit", resolve));
    }
  });

  it("a second holder cannot take a held lock, in the same process or not", async () => {
    const first = new Hosts(hosts.pair);
    const second = new Hosts(hosts.pair);
    try {
      await first.lock("first");
      const refused = await second.lock("second").catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(PreflightError);
      expect((refused as PreflightError).blockers.map((b) => b.node)).toEqual(["alpha", "beta"]);
      await first.close();
      expect(await second.lock("second")).toEqual([]);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
