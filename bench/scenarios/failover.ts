import { summarize } from "../stats.js";
import type { Figure, Trace } from "../figures.js";
import { fill, memberStatus, RateWriter, type WriteSample } from "../load.js";
import type { BenchHosts } from "../pairs.js";
import { electionWaitMs } from "../etcdLog.js";
import { runOk, untilConverged, type Progress } from "./common.js";

export interface Run {
  rtoMs: number;
  /** etcd's own election on the new main (null where its log did not show one). */
  electionMs: number | null;
  dbSize: number;
  trace: Trace;
  steps?: { id: string; durationMs: number }[];
  lost?: number | null;
}

/**
 * P1: from kill -9 (power loss on e2e) of the main to the first write acknowledged by the new main, with the
 * writer pointed at it from the instant of the crash. `tool`: `etcd-pair failover --yes` started at once;
 * `by hand`: stop the learner, restore its db, start etcd (pairs.ts byHandFailover).
 */
export async function failoverOnce(
  hosts: BenchHosts,
  dbBytes: number,
  mode: "tool" | "by hand",
  progress: Progress,
): Promise<Run> {
  const pair = await hosts.create();
  try {
    if (dbBytes > 0) await fill(pair.url("alpha"), pair.tls, "/bench/fill/", dbBytes);
    await untilConverged(pair);
    // The db size is what the last backend commit wrote (every 100 ms).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const dbSize = (await memberStatus(pair.url("beta"), pair.tls)).dbSize;
    const writer = new RateWriter({
      endpoints: [pair.url("alpha")],
      tls: pair.tls,
      perSecond: 500,
      prefix: "/bench/w/",
      timeoutMs: 1000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const crashedAt = await pair.crash("alpha");
    writer.retarget([pair.url("beta")]);
    let steps: Run["steps"];
    let lost: Run["lost"];
    let commandEnd: number;
    if (mode === "tool") {
      const result = await runOk(pair, ["failover", "--yes", "--json"]);
      commandEnd = performance.now();
      const report = JSON.parse(result.stdout) as {
        steps: { id: string; durationMs: number }[];
        lostRevisions: number | null;
      };
      steps = report.steps.map(({ id, durationMs }) => ({ id, durationMs }));
      lost = report.lostRevisions;
    } else {
      await pair.byHandFailover("beta");
      commandEnd = performance.now();
    }
    const first = await firstAckAfter(writer, pair.url("beta"), crashedAt, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const samples = await writer.stop();
    const rtoMs = first - crashedAt;
    const electionMs = electionWaitMs(await pair.etcdLog("beta", mode === "by hand"));
    progress(
      `P1 ${mode} ${(dbSize / 1e6).toFixed(1)} MB: ${Math.round(rtoMs)} ms (etcd's election: ${electionMs ?? "?"} ms)`,
    );
    return {
      rtoMs,
      electionMs,
      dbSize,
      trace: trace(
        `crash of the main, then ${mode === "tool" ? "etcd-pair failover" : "the by-hand failover"}`,
        samples,
        crashedAt,
        commandEnd,
      ),
      ...(steps ? { steps } : {}),
      ...(lost !== undefined ? { lost } : {}),
    };
  } finally {
    await pair.cleanup();
  }
}

export async function firstAckAfter(
  writer: RateWriter,
  endpoint: string,
  after: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const acks = writer.samples.filter((s) => s.ok && s.endpoint === endpoint && s.sentAt >= after);
    if (acks.length) return Math.min(...acks.map((s) => s.doneAt));
    if (performance.now() > deadline) throw new Error(`no write acknowledged by ${endpoint} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function trace(title: string, samples: readonly WriteSample[], at: number, commandEnd: number): Trace {
  return {
    title,
    acked: samples.filter((s) => s.ok).map((s) => [s.sentAt - at, s.doneAt - s.sentAt]),
    failed: samples.filter((s) => !s.ok).map((s) => s.sentAt - at),
    events: [
      { at: 0, label: "crash / command start" },
      { at: commandEnd - at, label: "command done" },
    ],
  };
}

/** Tool and by-hand runs interleaved, so drift in the machine's load hits both alike. */
export async function benchFailover(
  hosts: BenchHosts,
  dbBytes: number,
  reps: number,
  progress: Progress,
): Promise<{ figures: Figure[]; trace: Trace }> {
  const tool: Run[] = [];
  const byHand: Run[] = [];
  for (let i = 0; i < reps; i++) {
    tool.push(await failoverOnce(hosts, dbBytes, "tool", progress));
    byHand.push(await failoverOnce(hosts, dbBytes, "by hand", progress));
  }
  const t = summarize(tool.map((r) => r.rtoMs));
  const b = summarize(byHand.map((r) => r.rtoMs));
  const stepIds = tool[0]?.steps?.map((s) => s.id) ?? [];
  const stepMedians = Object.fromEntries(
    stepIds.map((id) => [id, summarize(tool.map((r) => r.steps?.find((s) => s.id === id)?.durationMs ?? 0)).median]),
  );
  const size = summarize(tool.map((r) => r.dbSize)).median;
  const sizeText = `db ${(size / 1e6).toFixed(1)} MB`;
  const figures: Figure[] = [
    {
      id: "P1",
      name: `crash-failover RTO, ${sizeText}`,
      unit: "ms",
      tool: t,
      baseline: { ...b, name: "by hand: stop learner, restore, start, first write" },
      ratio: t.median / b.median,
      target: dbBytes >= 50e6 ? "≤ 1.2× baseline and ≤ 3000 ms" : "≤ 1.2× baseline",
      details: {
        dbSizeBytes: size,
        failoverStepMedianMs: stepMedians,
        lostRevisions: tool.map((r) => r.lost ?? null),
        electionMs: { tool: tool.map((r) => r.electionMs), byHand: byHand.map((r) => r.electionMs) },
      },
    },
  ];
  // etcd's randomized election (0.1-1 s) is the same lottery for both: without it, what each adds is compared.
  const known = (runs: Run[]) => runs.filter((r) => r.electionMs !== null).map((r) => r.rtoMs - (r.electionMs ?? 0));
  if (known(tool).length && known(byHand).length) {
    const te = summarize(known(tool));
    const be = summarize(known(byHand));
    figures.push({
      id: "P1",
      name: `crash-failover RTO less etcd's election wait, ${sizeText}`,
      unit: "ms",
      tool: te,
      baseline: { ...be, name: "the same by hand" },
      ratio: te.median / be.median,
    });
  }
  return { figures, trace: tool[0]?.trace ?? { title: "", acked: [], failed: [], events: [] } };
}
