import { jsonLine, parseEndpointStatus } from "../etcd/status.js";
import { archiveStamp } from "../plan/down.js";
import { pairView } from "../plan/pairView.js";
import { planRejoin, rejoinToolBlockers, type RejoinPlan } from "../plan/rejoin.js";
import { PreflightError, StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { newCanaryValue } from "../runtime/tokens.js";
import { formatMs } from "./text.js";
import type { ChangeCommand } from "./command.js";
import { nodeNamed } from "./nodeNamed.js";
import { LEARNER_JOIN_STEPS, PAIR_TEST_STEPS } from "../plan/stepIds.js";

/** What the rejoined node's old data held past the revision the failover restored: the failover's loss. */
export interface RejoinLoss {
  restoredRevision: number;
  /** null when the copy of its data could not be read. */
  nodeRevision: number | null;
  lostRevisions: number | null;
}

export interface RejoinResult {
  node: string;
  main: string;
  steps: StepRecord[];
  durationMs: number;
  /** Measured when the node's data predates the main's failover (a powered-off old main's loss), else null. */
  loss: RejoinLoss | null;
}

export interface RejoinInput {
  node: string;
}

interface PreparedRejoin {
  plan: RejoinPlan;
  started: number;
}

/** The loss the failover could not measure, from the assess.loss step when the plan had one. */
function lossOf(plan: RejoinPlan, steps: readonly StepRecord[]): RejoinLoss | null {
  if (plan.restoredRevision === undefined) return null;
  const assessed = steps.find((s) => s.id === "assess.loss" && s.status === "ok")?.output;
  const nodeRevision = assessed ? parseEndpointStatus(jsonLine(assessed, "[")).revision : null;
  const lostRevisions = nodeRevision === null ? null : Math.max(0, nodeRevision - plan.restoredRevision);
  return { restoredRevision: plan.restoredRevision, nodeRevision, lostRevisions };
}

/** The failover's loss as the rejoined node's old data shows it (only when that data predates the failover). */
export function formatRejoinLoss(result: RejoinResult): string | undefined {
  const loss = result.loss;
  if (!loss) return undefined;
  if (loss.lostRevisions === null)
    return `lost at the failover: unknown (${result.node}'s old data could not be read; it is archived)\n`;
  return (
    `lost at the failover: ${loss.lostRevisions} revision(s): ${result.node}'s old data held revisions up to ` +
    `${loss.nodeRevision}, ${result.main} was restored at ${loss.restoredRevision} (now archived on ${result.node})\n`
  );
}

export const rejoin: ChangeCommand<RejoinInput, PreparedRejoin, RejoinResult> = {
  path: ["rejoin"],
  description: "bring NODE back as the learner of the current main: its old data archived, started empty",
  arguments: [{ name: "<node>", description: "the node to bring back (usually the old main after a failover)" }],
  changesHosts: true,
  steps: ["rejoin.stop", "assess.loss", "rejoin.remove", "rejoin.archive", ...LEARNER_JOIN_STEPS, ...PAIR_TEST_STEPS],
  input: ([node]) => ({ node: node ?? "" }),
  prepare: async (ctx, input) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
    const node = nodeNamed(hosts.pair, input.node);
    const observations = await observePair(hosts);
    const planned = planRejoin({
      pair: hosts.pair,
      observations,
      node,
      service: (n) => hosts.service(n),
      stamp: archiveStamp(new Date()),
      canaryValue: newCanaryValue(),
    });
    if (!planned.ok) throw new StateError(planned.refusal.message, planned.refusal.hint);
    const blockers = rejoinToolBlockers(pairView(hosts.pair, observations), node);
    if (blockers.length > 0) throw new PreflightError(blockers);
    return { plan: planned.plan, started };
  },
  intent: ({ plan }, input) => ({
    summary: `rejoin: ${input.node} becomes the learner of ${plan.main}`,
    steps: plan.steps,
  }),
  run: async (ctx, input, { plan, started }) => {
    const steps = await runSteps(plan.steps, await ctx.hosts(), ctx.reporter);
    const durationMs = Math.round(performance.now() - started);
    return { node: input.node, main: plan.main, steps, durationMs, loss: lossOf(plan, steps) };
  },
  report: (result) => {
    const loss = formatRejoinLoss(result);
    return {
      json: result,
      stderr: `rejoin: ${result.node} is the learner of ${result.main} (${formatMs(result.durationMs)})`,
      ...(loss ? { stdout: loss } : {}),
    };
  },
};
