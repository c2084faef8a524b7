import { postJson } from "../../test/helpers/etcdHttp.js";
import type { Figure } from "../figures.js";
import type { BenchHosts, BenchPair, Node } from "../pairs.js";
import { percentile, summarize } from "../stats.js";
import { sleep, untilConverged, type Progress } from "./common.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** `count` sequential puts by one client (after 100 unmeasured ones): each latency in ms. */
async function sequentialPuts(pair: BenchPair, prefix: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = -100; i < count; i++) {
    const started = performance.now();
    const response = await postJson(
      `${pair.url("alpha")}/v3/kv/put`,
      { key: b64(`${prefix}${i}`), value: b64("v") },
      pair.tls,
      5000,
    );
    if (response.status !== 200) throw new Error(`put answered ${response.status}`);
    if (i >= 0) latencies.push(performance.now() - started);
  }
  return latencies;
}

/** Removes `node` from the cluster through the main (it exits by itself once it learns it). */
async function removeMember(pair: BenchPair, node: Node): Promise<void> {
  const list = await postJson(`${pair.url("alpha")}/v3/cluster/member/list`, {}, pair.tls, 5000);
  const members = (list.body as { members?: { ID: string; name: string }[] }).members ?? [];
  const member = members.find((m) => m.name === node);
  if (!member) throw new Error(`${node} is not a member`);
  const removed = await postJson(`${pair.url("alpha")}/v3/cluster/member/remove`, { ID: member.ID }, pair.tls, 5000);
  if (removed.status !== 200)
    throw new Error(`member remove answered ${removed.status}: ${JSON.stringify(removed.body)}`);
}

/**
 * P7: one client's sequential put latency on the main with its learner attached, then on the same main once
 * the learner is removed from the cluster. A fresh pair per repetition.
 */
export async function benchPutLatency(
  hosts: BenchHosts,
  reps: number,
  count: number,
  progress: Progress,
): Promise<Figure[]> {
  const withLearner: number[][] = [];
  const alone: number[][] = [];
  for (let i = 0; i < reps; i++) {
    const pair = await hosts.create();
    try {
      await untilConverged(pair);
      withLearner.push(await sequentialPuts(pair, `/bench/p7with${i}/`, count));
      await removeMember(pair, "beta");
      await sleep(500);
      alone.push(await sequentialPuts(pair, `/bench/p7alone${i}/`, count));
      const median = (xs: number[]) => percentile(xs, 50).toFixed(2);
      progress(
        `P7 put p50 with learner ${median(withLearner.at(-1) ?? [])} ms, alone ${median(alone.at(-1) ?? [])} ms`,
      );
    } finally {
      await pair.cleanup();
    }
  }
  const figures: Figure[] = [];
  for (const p of [50, 99]) {
    const tool = summarize(withLearner.map((xs) => percentile(xs, p)));
    const baseline = summarize(alone.map((xs) => percentile(xs, p)));
    figures.push({
      id: "P7",
      name: `put latency p${p}, one client, learner attached`,
      unit: "ms",
      tool,
      baseline: { ...baseline, name: "same main, learner removed" },
      ratio: tool.median / baseline.median,
      ...(p === 50 ? { target: "≤ 1.10× baseline" } : {}),
      details: { putsPerRepetition: count },
    });
  }
  return figures;
}
