import { existsSync } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";

/** Processes whose working dir is in dir (the local supervisor starts etcd in its node's dir). */
async function processesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => "");
    if (cwd.startsWith(dir)) found.push(`${pid} (${cwd})`);
  }
  return found;
}

describe.each(PRIMARY_TEST_BUILDS)("demo on etcd $series", (build) => {
  it("runs the whole lifecycle to a healthy pair with the original roles, and --cleanup leaves nothing running and no files", async () => {
    requireBuild(build);
    const result = await cli(["demo", "--bin-dir", build.binDir, "--cleanup", "--json"]);
    expect(result.code).toBe(0);
    const demo = JSON.parse(result.stdout) as {
      dir: string;
      timeline: { phase: string; durationMs: number }[];
      check: { healthy: boolean };
      failover: { newMain: string; lostRevisions: number | null };
      switchover: { newMain: string; changed: boolean };
      status: { healthy: boolean; nodes: { role: string; version: string }[] };
    };
    expect(demo.check.healthy).toBe(true);
    expect(demo.status.healthy).toBe(true);
    expect(demo.status.nodes.map((n) => n.role)).toEqual(["leader", "learner"]);
    expect(demo.status.nodes[0]?.version.startsWith(build.series)).toBe(true);
    expect(demo.failover).toMatchObject({ newMain: "beta", lostRevisions: 0 });
    expect(demo.switchover).toMatchObject({ newMain: "alpha", changed: true });
    expect(demo.timeline.map((t) => t.phase)).toEqual([
      "up",
      "check",
      "kill -9 alpha",
      "failover",
      "rejoin alpha",
      "switchover to alpha",
      "check",
      "status",
      "down",
    ]);
    expect(result.stderr).toMatch(/timeline:\n {2}up +\d/);
    expect(existsSync(demo.dir)).toBe(false);
    expect(await processesIn(demo.dir)).toEqual([]);
  });
});
