import type { CliResult } from "./cli.js";
import type { TestPair } from "./pair.js";

/**
 * Runs a command and SIGKILLs it as soon as its k-th step has reported ok. `killedAfter` is that step's line,
 * or "" when the command ended before reaching k steps (then every boundary before it has been tried).
 */
export async function runKilledAfterStep(
  pair: TestPair,
  args: readonly string[],
  k: number,
): Promise<{ result: CliResult; killedAfter: string }> {
  let killedAfter = "";
  const result = await pair.run(args, {
    onStderr: (text, kill) => {
      const done = text.split("\n").filter((line) => line.startsWith("  ok "));
      if (done.length >= k && !killedAfter) {
        killedAfter = (done[k - 1] ?? "").trim();
        kill();
      }
    },
  });
  return { result, killedAfter };
}
