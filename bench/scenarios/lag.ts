import type { Figure } from "../figures.js";
import { memberStatus, RateWriter } from "../load.js";
import type { BenchHosts } from "../pairs.js";
import { percentile, summarize } from "../stats.js";
import { sleep, untilConverged, type Progress } from "./common.js";

interface Sample {
  at: number;
  revision: number;
}

/**
 * How far the learner is behind at one instant: revisions the main had acknowledged that the learner had not
 * applied, and the age of the oldest of them (0 when it has them all). `acks` are the main's acknowledgements
 * as [time, revision], sorted by time.
 */
export function lagAt(sample: Sample, acks: readonly [number, number][]): { entries: number; ms: number } {
  let newest = 0;
  let oldestMissing: number | undefined;
  for (const [time, revision] of acks) {
    if (time > sample.at) break;
    newest = Math.max(newest, revision);
    if (revision > sample.revision && oldestMissing === undefined) oldestMissing = time;
  }
  return {
    entries: Math.max(0, newest - sample.revision),
    ms: oldestMissing === undefined ? 0 : sample.at - oldestMissing,
  };
}

/**
 * P3: the main takes 1000 writes/s for `seconds`; the learner's applied revision is read from its status
 * endpoint every 5 ms meanwhile (a read's answer time is the sample's time: lag is never under-counted).
 */
export async function benchLag(
  hosts: BenchHosts,
  reps: number,
  seconds: number,
  progress: Progress,
): Promise<Figure[]> {
  const pair = await hosts.create();
  try {
    const p50s = { entries: [] as number[], ms: [] as number[] };
    const p99s = { entries: [] as number[], ms: [] as number[] };
    let rates: number[] = [];
    for (let i = 0; i < reps; i++) {
      await untilConverged(pair);
      const writer = new RateWriter({
        endpoints: [pair.url("alpha")],
        tls: pair.tls,
        perSecond: 1000,
        prefix: `/bench/lag${i}/`,
        maxInFlight: 256,
      });
      await sleep(500);
      const samples: Sample[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const status = await memberStatus(pair.url("beta"), pair.tls).catch(() => undefined);
        if (status) samples.push({ at: performance.now(), revision: status.revision });
        await sleep(5);
      }
      const written = await writer.stop();
      const acks = written
        .filter((s) => s.ok)
        .map((s): [number, number] => [s.doneAt, s.revision ?? 0])
        .sort((a, b) => a[0] - b[0]);
      const lags = samples.map((s) => lagAt(s, acks));
      const rate = acks.length / (seconds + 0.5);
      rates.push(rate);
      for (const key of ["entries", "ms"] as const) {
        p50s[key].push(
          percentile(
            lags.map((l) => l[key]),
            50,
          ),
        );
        p99s[key].push(
          percentile(
            lags.map((l) => l[key]),
            99,
          ),
        );
      }
      progress(
        `P3 lag at ${Math.round(rate)} acknowledged writes/s (${written.length - acks.length} failed, ${writer.skipped} skipped), ${samples.length} samples: ` +
          `p50 ${p50s.entries.at(-1)} entries / ${Math.round(p50s.ms.at(-1) ?? 0)} ms, p99 ${p99s.entries.at(-1)} entries / ${Math.round(p99s.ms.at(-1) ?? 0)} ms`,
      );
    }
    rates = rates.map(Math.round);
    const details = { ackedWritesPerSecond: rates };
    return [
      {
        id: "P3",
        name: "learner lag p50 at 1000 writes/s",
        unit: "ms",
        tool: summarize(p50s.ms),
        details: { ...details, entries: summarize(p50s.entries) },
      },
      {
        id: "P3",
        name: "learner lag p99 at 1000 writes/s",
        unit: "ms",
        tool: summarize(p99s.ms),
        target: "≤ 50 ms",
        details: { entries: summarize(p99s.entries) },
      },
    ];
  } finally {
    await pair.cleanup();
  }
}
