import type { Figure } from "../figures.js";
import { fill, memberStatus } from "../load.js";
import type { BenchHosts } from "../pairs.js";
import { summarize } from "../stats.js";
import { mainOf, runOk, untilConverged, type Progress } from "./common.js";

/**
 * P6: a learner that starts empty catches up with a db of `dbBytes`. Each switchover re-adds the old main as
 * a new, empty learner; its catch-up is the time from starting it to the pair's final "applied index
 * converged" check (the CLI's own step timings). Baseline: cp + sync of the same db file on the same disk.
 */
export async function benchCatchUp(
  hosts: BenchHosts,
  dbBytes: number,
  reps: number,
  progress: Progress,
): Promise<Figure[]> {
  const pair = await hosts.create();
  try {
    const filled = performance.now();
    await fill(pair.url("alpha"), pair.tls, "/bench/fill/", dbBytes, 1024 * 1024, 4);
    await untilConverged(pair);
    progress(`P6 filled ${(dbBytes / 1e9).toFixed(2)} GB in ${Math.round((performance.now() - filled) / 1000)} s`);
    const catchUp: number[] = [];
    const copies: number[] = [];
    const sizes: number[] = [];
    const servingAfter: number[] = [];
    for (let i = 0; i < reps; i++) {
      const main = await mainOf(pair);
      const dbSize = (await memberStatus(pair.url(main), pair.tls)).dbSize;
      const result = await runOk(pair, ["switchover", "--yes", "--json"], 900_000);
      const steps = (JSON.parse(result.stdout) as { steps: { id: string; node: string; durationMs: number }[] }).steps;
      // The new learner (the old main) from its start to converged: its start, ready, generation, the pair checks.
      const start = steps.findIndex((s) => s.node === main && s.id.endsWith(".start"));
      if (start < 0)
        throw new Error(`switchover's steps have no start of ${main}: ${steps.map((s) => s.id).join(", ")}`);
      const ms = steps.slice(start).reduce((sum, s) => sum + s.durationMs, 0);
      const ready = steps.slice(start).findIndex((s) => s.id.endsWith(".ready"));
      servingAfter.push(steps.slice(start, start + ready + 1).reduce((sum, s) => sum + s.durationMs, 0));
      const copy = await pair.rawCopy(main === "alpha" ? "beta" : "alpha");
      catchUp.push(dbSize / 1e6 / (ms / 1000));
      copies.push(copy.bytes / 1e6 / (copy.ms / 1000));
      sizes.push(dbSize);
      progress(
        `P6 new learner ${main}: ${(dbSize / 1e6).toFixed(0)} MB in ${Math.round(ms)} ms; raw copy ${(copy.bytes / 1e6).toFixed(0)} MB in ${Math.round(copy.ms)} ms`,
      );
    }
    const tool = summarize(catchUp);
    const baseline = summarize(copies);
    return [
      {
        id: "P6",
        name: `new-learner catch-up, db ${(summarize(sizes).median / 1e9).toFixed(2)} GB`,
        unit: "MB/s",
        tool,
        baseline: { ...baseline, name: "cp + sync of the db file, same disk" },
        ratio: tool.median / baseline.median,
        details: { dbSizeBytes: sizes, untilLearnerServesMs: summarize(servingAfter) },
      },
    ];
  } finally {
    await pair.cleanup();
  }
}
