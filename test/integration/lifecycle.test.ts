import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { etcdctl } from "../helpers/etcdctl.js";
import { TestPair } from "../helpers/pair.js";
import { until } from "../helpers/until.js";

interface StatusJson {
  cluster: string;
  healthy: boolean;
  leader: string | null;
  nodes: {
    name: string;
    role: string;
    running: boolean;
    memberId: string | null;
    version: string | null;
    lagEntries: number | null;
  }[];
}

describe.each(TEST_BUILDS)("lifecycle on etcd $series", (build) => {
  let pair: TestPair;

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  const status = async () => {
    const result = await pair.run(["status", "--json"]);
    return { code: result.code, state: JSON.parse(result.stdout) as StatusJson };
  };

  it("plan shows member add before the learner starts, and touches nothing", async () => {
    const result = await pair.run(["plan"]);
    expect(result.code).toBe(0);
    const add = result.stdout.indexOf("member add beta --learner");
    const backupStart = result.stdout.indexOf("## ", result.stdout.indexOf("start etcd on beta") - 10);
    expect(add).toBeGreaterThan(0);
    expect(backupStart).toBeGreaterThan(add);
    expect(result.stdout).toContain("ETCD_INITIAL_CLUSTER_STATE=existing");
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
    expect(existsSync(pair.nodeDir("beta"))).toBe(false);
  });

  it("up brings up main + learner and tests the learner explicitly", async () => {
    const result = await pair.run(["up", "--json"]);
    expect(result.stderr).toContain("canary written on alpha is read on beta");
    expect(result.code).toBe(0);
    const up = JSON.parse(result.stdout) as {
      changed: boolean;
      main: string;
      learner: string;
      steps: { id: string }[];
    };
    expect(up).toMatchObject({ changed: true, main: "alpha", learner: "beta" });
    const ids = up.steps.map((s) => s.id);
    expect(ids.indexOf("learner.add")).toBeLessThan(ids.indexOf("learner.start"));
    expect(ids.indexOf("main.smoke")).toBeLessThan(ids.indexOf("learner.add"));
    expect(ids).toContain("pair.canary");
    expect(ids).toContain("pair.converged");
  });

  it("status reports leader and learner with lossless member IDs", async () => {
    const { code, state } = await status();
    expect(code).toBe(0);
    expect(state).toMatchObject({ cluster: "test", healthy: true, leader: "alpha" });
    expect(state.nodes.map((n) => [n.name, n.role])).toEqual([
      ["alpha", "leader"],
      ["beta", "learner"],
    ]);
    for (const node of state.nodes) {
      expect(node.memberId).toMatch(/^[0-9a-f]{16}$/);
      expect(node.version?.startsWith(build.series)).toBe(true);
    }
    const table = await pair.run(["status"]);
    expect(table.stdout).toMatch(/alpha\s+LEADER/);
    expect(table.stdout).toMatch(/beta\s+LEARNER/);
  });

  it("a second up finds nothing to do", async () => {
    const result = await pair.run(["up", "--json"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("nothing to do");
    expect(JSON.parse(result.stdout)).toMatchObject({ changed: false, steps: [] });
  });

  it("check passes on a healthy pair", async () => {
    const result = await pair.run(["check", "--json"]);
    expect(result.code).toBe(0);
    const check = JSON.parse(result.stdout) as {
      healthy: boolean;
      checks: { id: string; ok: boolean; skipped?: boolean; detail?: string }[];
    };
    expect(check.healthy).toBe(true);
    expect(check.checks.map((c) => c.id)).toEqual([
      "pair.roles",
      // etcd's /livez and /readyz, which 3.4.23 does not serve (from 3.4.29, 3.5.11, 3.6).
      ...(build.series === "3.4.23" ? [] : ["health.alpha", "health.beta"]),
      "pair.members",
      "pair.alarms",
      "pair.canary",
      "pair.converged",
      "fence",
    ]);
    // No failover.fenceCheckCommand in this pair's config: the row says so and passes.
    expect(check.checks.at(-1)).toMatchObject({ id: "fence", ok: true, skipped: true, detail: "not configured" });
  });

  it("a killed learner makes status and check exit 3, and up brings it back", async () => {
    await etcdctl(build.binDir, pair.dir, pair.ports.alpha[0], ["put", "/app/before-kill", "kept"]);
    await pair.kill("beta", "SIGKILL");
    const { code, state } = await status();
    expect(code).toBe(3);
    expect(state.healthy).toBe(false);
    expect(state.nodes.find((n) => n.name === "beta")?.role).toBe("down");
    const check = await pair.run(["check"]);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain("FAIL  one leader and one learner: beta is down");

    const up = await pair.run(["up"]);
    expect(up.code).toBe(0);
    expect(up.stderr).not.toContain("member add");
    expect((await status()).state.healthy).toBe(true);
    const onLearner = await etcdctl(build.binDir, pair.dir, pair.ports.beta[0], [
      "get",
      "/app/before-kill",
      "--consistency=s",
      "--print-value-only",
    ]);
    expect(onLearner.trim()).toBe("kept");
  });

  it("status says what to do next: a stopped learner (up), a hung one (its pid)", async () => {
    await pair.kill("beta", "SIGKILL");
    const stopped = await pair.run(["status"]);
    expect(stopped.stdout).toMatch(/^next: etcd-pair up: starts beta again as alpha's learner/m);
    expect((await pair.run(["up"])).code).toBe(0);
    const pid = await pair.etcdPid("beta");
    if (!pid) throw new Error("beta's etcd is not running after up");
    process.kill(pid, "SIGSTOP");
    try {
      const hung = await pair.run(["status"]);
      expect(hung.code).toBe(3);
      expect(hung.stdout).toMatch(
        new RegExp(`^next: etcd on beta \\(pid ${pid}\\) runs but does not answer \\(hung\\?\\)`, "m"),
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect((await status()).state.healthy).toBe(true);
  });

  it("both killed at once and started again as systemd would, main first: the main waits for its learner, then starts", async () => {
    await pair.kill("alpha", "SIGKILL");
    await pair.kill("beta", "SIGKILL");
    // The approval up wrote was for its own start only (up removes it once the main is ready): only beta can
    // let alpha start now.
    expect(existsSync(path.join(pair.nodeDir("alpha"), "state", "start-approved"))).toBe(false);
    // Main first: its boot guard waits until beta lists it (README: Boot guard, case b); the learner starts at once.
    const boot = (node: string) =>
      spawnSync("/bin/sh", [
        "-c",
        `cd ${pair.nodeDir(node)} && setsid ./etcd-start.sh >>etcd.log 2>&1 </dev/null & echo $! >${pair.nodeDir(node)}/etcd.pid`,
      ]);
    expect(boot("alpha").status).toBe(0);
    expect(boot("beta").status).toBe(0);
    await until("the pair healthy again", async () => (await status()).state.healthy, { timeoutMs: 40_000 });
    expect(await readFile(path.join(pair.nodeDir("alpha"), "etcd.log"), "utf8")).toContain(
      "etcd-pair: alpha starts: its peer beta lists it as a member of its cluster",
    );
  });

  it("down stops both; up starts them again with their data", async () => {
    const down = await pair.run(["down"]);
    expect(down.code).toBe(0);
    expect(await pair.etcdPid("alpha")).toBeUndefined();
    expect(await pair.etcdPid("beta")).toBeUndefined();
    const { code, state } = await status();
    expect(code).toBe(3);
    expect(state.nodes.map((n) => n.role)).toEqual(["down", "down"]);

    const up = await pair.run(["up"]);
    expect(up.code).toBe(0);
    const value = await etcdctl(build.binDir, pair.dir, pair.ports.alpha[0], [
      "get",
      "/app/before-kill",
      "--print-value-only",
    ]);
    expect(value.trim()).toBe("kept");
  });

  it("down --purge archives both data dirs and the next up starts a new cluster", async () => {
    const tokenBefore = await readFile(path.join(pair.nodeDir("alpha"), "state", "generation"), "utf8");
    expect((await pair.run(["down", "--purge"])).code).toBe(2);
    const purge = await pair.run(["down", "--purge", "--yes"]);
    expect(purge.code).toBe(0);
    for (const node of ["alpha", "beta"]) {
      expect(existsSync(path.join(pair.nodeDir(node), "data"))).toBe(false);
      const archived = await readdir(path.join(pair.nodeDir(node), "archive"));
      expect(archived.some((name) => name.startsWith("data-"))).toBe(true);
      const dataArchive = archived.find((name) => name.startsWith("data-")) ?? "";
      expect(existsSync(path.join(pair.nodeDir(node), "archive", dataArchive, "member"))).toBe(true);
    }
    const up = await pair.run(["up"]);
    expect(up.code).toBe(0);
    const tokenAfter = await readFile(path.join(pair.nodeDir("alpha"), "state", "generation"), "utf8");
    expect(tokenAfter).not.toBe(tokenBefore);
    const value = await etcdctl(build.binDir, pair.dir, pair.ports.alpha[0], [
      "get",
      "/app/before-kill",
      "--print-value-only",
    ]);
    expect(value.trim()).toBe("");
  });
});
