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
import type { NodeSpec } from "../config/resolve.js";
import { historySteps, recordableNodes, type HistoryEvent } from "../plan/history.js";
import { historyEvent, recordHistory } from "../runtime/history.js";

/** A rejoin that only verifies (the node is the main's learner already) changes nothing: nothing to record. */
const changes = (plan: RejoinPlan) => plan.steps.some((s) => s.kind === "change");

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
  /** The nodes that answered the look: the history is recorded on them once the rejoin is done. */
  recordOn: NodeSpec[];
  /** The history event; its time and any loss measured are filled in once the steps ran. */
  event: HistoryEvent;
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
  steps: [
    "rejoin.stop",
    "assess.loss",
    "rejoin.remove",
    "rejoin.archive",
    ...LEARNER_JOIN_STEPS,
    ...PAIR_TEST_STEPS,
    "rejoin.history",
  ],
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
    const view = pairView(hosts.pair, observations);
    const blockers = rejoinToolBlockers(view, node);
    if (blockers.length > 0) throw new PreflightError(blockers);
    const generation = view.of(planned.plan.main).generation;
    const event = historyEvent("rejoin", {
      node: node.name,
      to: planned.plan.main,
      ...(generation ? { generation } : {}),
    });
    return { plan: planned.plan, started, recordOn: recordableNodes(hosts.pair.nodes, observations), event };
  },
  intent: ({ plan, recordOn, event }, input) => ({
    summary:
      `rejoin: ${input.node} becomes the learner of ${plan.main}` +
      (changes(plan)
        ? "\nLast it is recorded in the pair's history on each node that answered (with any loss measured)."
        : ""),
    steps: changes(plan) ? [...plan.steps, ...historySteps(recordOn, event)] : plan.steps,
  }),
  run: async (ctx, input, { plan, started, recordOn, event }) => {
    const hosts = await ctx.hosts();
    const ran = await runSteps(plan.steps, hosts, ctx.reporter);
    const loss = lossOf(plan, ran);
    const result = { node: input.node, main: plan.main, steps: ran, durationMs: 0, loss };
    const measured = loss ? { lostRevisions: loss.lostRevisions, loss: formatRejoinLoss(result)?.trim() ?? "" } : {};
    const recorded = { ...event, at: new Date().toISOString(), ...measured };
    const steps = changes(plan) ? [...ran, ...(await recordHistory(hosts, recordOn, recorded, ctx.reporter))] : ran;
    return { ...result, steps, durationMs: Math.round(performance.now() - started) };
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
