import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RunningWatch } from "../../test/helpers/watching.js";
import type { Figure } from "../figures.js";
import { RateWriter } from "../load.js";
import type { BenchHosts, BenchPair } from "../pairs.js";
import { summarize } from "../stats.js";
import { untilConverged, type Progress } from "./common.js";
import { failoverOnce, firstAckAfter } from "./failover.js";

const HOSTS_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/e2e/hosts.sh");

/** watch's settings for the run: detectAfter as given; a fence command where the config has none. */
async function configureWatch(pair: BenchPair, kind: string, detectAfterS: number): Promise<void> {
  const yaml = await readFile(pair.configFile, "utf8");
  const detect = `  detectAfter: ${detectAfterS}s\n`;
  // Local nodes' hosts are this machine: failover fences on the host and never runs the command.
  const fence = kind === "e2e" ? `${HOSTS_SCRIPT} poweroff "$ETCD_PAIR_FENCE_NODE"` : "true";
  const updated = yaml.includes("failover:\n")
    ? yaml.replace("failover:\n", `failover:\n${detect}`)
    : `${yaml}failover:\n  fenceCommand: ${JSON.stringify(fence)}\n${detect}`;
  await writeFile(pair.configFile, updated);
}

/** One crash of the main under `etcd-pair watch`: crash → first write the new main acknowledges, and → detection. */
async function watchedOnce(hosts: BenchHosts, detectAfterS: number, progress: Progress) {
  const pair = await hosts.create();
  const watch = await (async () => {
    await configureWatch(pair, hosts.kind, detectAfterS);
    return new RunningWatch(["-c", pair.configFile]);
  })();
  try {
    await untilConverged(pair);
    await watch.waitFor((e) => e.message.startsWith("alpha serves"), 30_000);
    const writer = new RateWriter({
      endpoints: [pair.url("alpha")],
      tls: pair.tls,
      perSecond: 500,
      prefix: "/bench/watch/",
      timeoutMs: 1000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const crashedAt = await pair.crash("alpha");
    const crashedWall = Date.now() - (performance.now() - crashedAt);
    writer.retarget([pair.url("beta")]);
    const first = await firstAckAfter(writer, pair.url("beta"), crashedAt, 120_000);
    await writer.stop();
    const began = await watch.waitFor((e) => e.kind === "failover", 1000);
    const rtoMs = first - crashedAt;
    const detectedMs = Math.round(Date.parse(began.at) - crashedWall);
    progress(`P8 watch, detectAfter ${detectAfterS} s: ${Math.round(rtoMs)} ms (failover began at ${detectedMs} ms)`);
    return { rtoMs, detectedMs };
  } finally {
    await watch.stop();
    await pair.cleanup();
  }
}

/**
 * P8: automatic failover. From the main's crash to the first write the new main acknowledges, with `etcd-pair
 * watch` deciding alone; next to its floor, detectAfter plus the by-hand failover of the same run (P1's
 * baseline: a person who starts the by-hand steps exactly when watch may).
 */
export async function benchWatch(
  hosts: BenchHosts,
  reps: number,
  detectAfterS: number,
  progress: Progress,
): Promise<Figure[]> {
  const watched: { rtoMs: number; detectedMs: number }[] = [];
  const byHand: number[] = [];
  for (let i = 0; i < reps; i++) {
    watched.push(await watchedOnce(hosts, detectAfterS, progress));
    byHand.push(detectAfterS * 1000 + (await failoverOnce(hosts, 0, "by hand", progress)).rtoMs);
  }
  const tool = summarize(watched.map((w) => w.rtoMs));
  const floor = summarize(byHand);
  return [
    {
      id: "P8",
      name: `automatic failover (watch): crash → first write, detectAfter ${detectAfterS} s`,
      unit: "ms",
      tool,
      baseline: { ...floor, name: "detectAfter + the by-hand failover" },
      ratio: tool.median / floor.median,
      details: { detectAfterMs: detectAfterS * 1000, failoverBeganMs: watched.map((w) => w.detectedMs) },
    },
  ];
}
