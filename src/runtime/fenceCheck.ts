import type { NodeSpec } from "../config/resolve.js";
import { CONTROLLER, fenceCommandFor } from "../plan/fence.js";
import type { Hosts } from "./hosts.js";

/** What `failover.fenceCheckCommand` said about one node's fence path. */
export interface FenceCheckResult {
  node: string;
  ok: boolean;
  exitCode: number;
  durationMs: number;
  /** The last lines of what it printed (stdout, then stderr); raw: a person's view makes it printable. */
  output: string;
}

const FENCE_CHECK_TIMEOUT_MS = 60_000;
const OUTPUT_LINES = 20;

/** Where to set the fence check, for a message that says it is missing. */
export const FENCE_CHECK_HINT =
  "set failover.fenceCheckCommand in the config: a command that proves the fence path without using it, e.g.\n" +
  "    failover:\n" +
  '      fenceCheckCommand: ipmitool -H "$ETCD_PAIR_FENCE_NODE-bmc" -U admin -E chassis power status';

/**
 * Runs the fence check command on this machine for `node`, with the fence command's environment
 * (ETCD_PAIR_FENCE_NODE, ETCD_PAIR_FENCE_ADDRESS). Only its output is kept: the command line, with whatever
 * the config put in it, is never printed.
 */
export async function runFenceCheck(hosts: Hosts, command: string, node: NodeSpec): Promise<FenceCheckResult> {
  const started = performance.now();
  const outcome = await hosts
    .transport(CONTROLLER)
    .exec(fenceCommandFor(command, node), { timeoutMs: FENCE_CHECK_TIMEOUT_MS });
  const text = [outcome.stdout.trimEnd(), outcome.stderr.trimEnd()].filter(Boolean).join("\n");
  return {
    node: node.name,
    ok: outcome.code === 0,
    exitCode: outcome.code,
    durationMs: Math.round(performance.now() - started),
    output: text.split("\n").slice(-OUTPUT_LINES).join("\n"),
  };
}
