import { readAll } from "../../test/helpers/writer.js";
import { memberStatus, RateWriter, type WriteSample } from "../load.js";
import { longestGap } from "../stats.js";
import type { CliResult } from "../../test/helpers/cli.js";
import type { BenchPair, Node } from "../pairs.js";

/** Where a scenario reports what it just measured (stderr). */
export type Progress = (line: string) => void;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `learner` has applied the main's revision (both asked over their status endpoints). */
export async function untilConverged(
  pair: BenchPair,
  main: Node = "alpha",
  learner: Node = "beta",
  timeoutMs = 300_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [m, l] = await Promise.all([
      memberStatus(pair.url(main), pair.tls).catch(() => undefined),
      memberStatus(pair.url(learner), pair.tls).catch(() => undefined),
    ]);
    if (m && l && l.revision >= m.revision) return;
    if (performance.now() > deadline)
      throw new Error(`${learner} did not reach ${main}'s revision within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Runs an etcd-pair command on the pair; a non-zero exit stops the benchmark with the command's stderr. */
export async function runOk(pair: BenchPair, args: readonly string[], timeoutMs?: number): Promise<CliResult> {
  const result = await pair.run(args, timeoutMs);
  if (result.code !== 0) throw new Error(`etcd-pair ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
  return result;
}

/** The node that leads now, from `status --json`. */
export async function mainOf(pair: BenchPair): Promise<Node> {
  const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as { leader?: string };
  if (status.leader !== "alpha" && status.leader !== "beta") throw new Error(`no leader: ${JSON.stringify(status)}`);
  return status.leader;
}

/** A command run under the benchmarks' steady load, and what the writer saw. */
export interface UnderWrites {
  started: number;
  ended: number;
  samples: WriteSample[];
  acked: WriteSample[];
  /** The longest gap between acknowledged writes from the command's start to 1 s after its end. */
  gap: number;
  /** Acknowledged writes missing afterwards on `readFrom`. */
  missing: number;
}

/**
 * Runs `args` under an open-loop writer at 500 puts/s that knows both endpoints (`endpoints`, the main first),
 * from 1 s before to 1 s after it; then counts the acknowledged writes `readFrom` lacks.
 */
export async function underWrites(
  pair: BenchPair,
  endpoints: [Node, Node],
  prefix: string,
  args: readonly string[],
  readFrom: Node,
): Promise<UnderWrites> {
  const writer = new RateWriter({
    endpoints: endpoints.map((node) => pair.url(node)),
    tls: pair.tls,
    perSecond: 500,
    prefix,
    timeoutMs: 2000,
  });
  await sleep(1000);
  const started = performance.now();
  await runOk(pair, args);
  const ended = performance.now();
  await sleep(1000);
  const samples = await writer.stop();
  const acked = samples.filter((s) => s.ok);
  const during = acked.filter((s) => s.doneAt >= started - 50 && s.doneAt <= ended + 1000).map((s) => s.doneAt);
  const kept = await readAll(pair.url(readFrom), prefix, pair.tls);
  const missing = acked.filter((s) => !kept.has(s.key)).length;
  return { started, ended, samples, acked, gap: longestGap(during).gap, missing };
}
