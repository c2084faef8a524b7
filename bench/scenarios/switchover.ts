import type { Figure, Trace } from "../figures.js";
import type { BenchHosts } from "../pairs.js";
import { summarize } from "../stats.js";
import { mainOf, underWrites, untilConverged, type Progress } from "./common.js";

/**
 * P2: `etcd-pair switchover --yes` under a steady 500 writes/s (the writer knows both endpoints): the longest
 * gap between acknowledged writes from the command's start to its end, and acknowledged writes missing from
 * the new main afterwards. The switchovers go back and forth on one pair.
 */
export async function benchSwitchover(
  hosts: BenchHosts,
  reps: number,
  progress: Progress,
): Promise<{ figures: Figure[]; trace: Trace }> {
  const pair = await hosts.create();
  try {
    const pauses: number[] = [];
    const lost: number[] = [];
    const durations: number[] = [];
    let first: Trace | undefined;
    for (let i = 0; i < reps; i++) {
      const main = await mainOf(pair);
      const learner = main === "alpha" ? "beta" : "alpha";
      await untilConverged(pair, main, learner);
      const prefix = `/bench/switch${i}/`;
      const { started, ended, samples, acked, gap, missing } = await underWrites(
        pair,
        [main, learner],
        prefix,
        ["switchover", "--yes", "--json"],
        learner,
      );
      pauses.push(gap);
      lost.push(missing);
      durations.push(ended - started);
      progress(
        `P2 switchover ${main}→${learner}: longest gap ${Math.round(gap)} ms, ${missing} of ${acked.length} acknowledged writes missing`,
      );
      first ??= {
        title: "etcd-pair switchover under 500 writes/s",
        acked: acked.map((s) => [s.sentAt - started, s.doneAt - s.sentAt]),
        failed: samples.filter((s) => !s.ok).map((s) => s.sentAt - started),
        events: [
          { at: 0, label: "switchover start" },
          { at: ended - started, label: "switchover done" },
        ],
      };
    }
    return {
      figures: [
        {
          id: "P2",
          name: "switchover write pause at 500 writes/s",
          unit: "ms",
          tool: summarize(pauses),
          target: "≤ 1000 ms",
          details: { switchoverWallMs: summarize(durations) },
        },
        { id: "P2", name: "switchover acknowledged writes lost", unit: "writes", tool: summarize(lost), target: "0" },
      ],
      trace: first ?? { title: "", acked: [], failed: [], events: [] },
    };
  } finally {
    await pair.cleanup();
  }
}
