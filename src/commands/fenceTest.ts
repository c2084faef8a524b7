import { UsageError } from "../runtime/errors.js";
import { FENCE_CHECK_HINT, runFenceCheck, type FenceCheckResult } from "../runtime/fenceCheck.js";
import { EXIT, type LookCommand } from "./command.js";
import { nodeNamed } from "./nodeNamed.js";
import { formatMs } from "./text.js";

export interface FenceTestInput {
  node: string;
}

interface PreparedFenceTest {
  command: string;
}

export function formatFenceCheck(result: FenceCheckResult): string {
  const verdict = result.ok ? "ok" : "FAILED";
  const timedOut = result.exitCode === 124 ? ", timed out" : "";
  const head = `fence check for ${result.node}: ${verdict} (exit ${result.exitCode}${timedOut}, ${formatMs(result.durationMs)})`;
  if (!result.output) return `${head}; it printed nothing\n`;
  return `${head}\n${result.output
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n")}\n`;
}

export const fenceTest: LookCommand<FenceTestInput, PreparedFenceTest, FenceCheckResult> = {
  path: ["fence", "test"],
  description:
    "run failover.fenceCheckCommand for NODE on this machine, with the fence command's environment, to prove the " +
    "fence path without using it (e.g. a BMC's power status); print its output; exit 3 when it fails",
  arguments: [{ name: "<node>", description: "the node whose fence path to check" }],
  changesHosts: false,
  input: ([node]) => ({ node: node ?? "" }),
  prepare: async (ctx, input) => {
    const pair = await ctx.pair();
    nodeNamed(pair, input.node);
    if (!pair.fenceCheckCommand) {
      throw new UsageError("no fence check command is configured (failover.fenceCheckCommand)", FENCE_CHECK_HINT);
    }
    return { command: pair.fenceCheckCommand };
  },
  run: async (ctx, input, { command }) => {
    const hosts = await ctx.hosts();
    return runFenceCheck(hosts, command, hosts.node(input.node));
  },
  report: (result) => ({
    json: result,
    stdout: formatFenceCheck(result),
    exitCode: result.ok ? EXIT.ok : EXIT.unhealthy,
  }),
};
