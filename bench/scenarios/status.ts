import type { Figure } from "../figures.js";
import type { BenchHosts } from "../pairs.js";
import { summarize } from "../stats.js";
import { runOk, type Progress } from "./common.js";

/** P5: `etcd-pair status` as an operator runs it, from spawn to exit, on a healthy pair. */
export async function benchStatus(hosts: BenchHosts, reps: number, progress: Progress): Promise<Figure[]> {
  const pair = await hosts.create();
  try {
    const figures: Figure[] = [];
    for (const args of [["status"], ["status", "--json"], ["check"]]) {
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const started = performance.now();
        await runOk(pair, args);
        times.push(performance.now() - started);
      }
      const summary = summarize(times);
      progress(`P5 ${args.join(" ")}: median ${Math.round(summary.median)} ms`);
      figures.push({
        id: "P5",
        name: `etcd-pair ${args.join(" ")}, spawn to exit`,
        unit: "ms",
        tool: summary,
        target: "≤ 300 ms",
      });
    }
    return figures;
  } finally {
    await pair.cleanup();
  }
}
