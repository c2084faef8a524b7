import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { ETCD_BUILDS, requireBuild } from "../helpers/etcdBinaries.js";

async function running(pidFile: string): Promise<boolean> {
  try {
    const pid = (await readFile(pidFile, "utf8")).trim();
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).includes("etcd");
  } catch {
    return false;
  }
}

describe.each(ETCD_BUILDS)("demo on etcd $series", (build) => {
  it("runs the whole lifecycle to a healthy pair with the original roles, and --cleanup leaves nothing running", async () => {
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
    for (const node of ["alpha", "beta"]) expect(await running(path.join(demo.dir, node, "etcd.pid"))).toBe(false);
  });
});
