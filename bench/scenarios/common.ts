import { memberStatus } from "../load.js";
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
