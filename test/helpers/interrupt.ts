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

/**
 * The ids of the steps a command run with `--json` reports it ran. A sweep compares the number of boundaries it
 * killed at with this, so a sweep whose step lines stop matching fails instead of killing nothing and passing.
 */
export function reportedSteps(result: CliResult): string[] {
  let report: unknown;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(`expected a --json report on stdout (exit ${result.code}):
${result.stdout}
${result.stderr}`);
  }
  const steps = (report as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps))
    throw new Error(`the --json report has no steps list:
${result.stdout}`);
  return steps.map((step) => String((step as { id?: unknown }).id));
}
