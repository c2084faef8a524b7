import { parseSnapshotStatus } from "../etcd/snapshot.js";
import { jsonLine, parseEndpointStatus } from "../etcd/status.js";
import { archiveStamp } from "../plan/down.js";
import { failoverToolBlockers, planFailover, type FailoverPlan } from "../plan/failover.js";
import { restoredStatusLine } from "../plan/failoverSteps.js";
import { fenceSummary, type FenceMethod } from "../plan/fence.js";
import { pairView } from "../plan/pairView.js";
import { PreflightError, StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { newCanaryValue, newClusterToken } from "../runtime/tokens.js";
import type { NodeSpec } from "../config/resolve.js";
import { historySteps, recordableNodes, type HistoryEvent } from "../plan/history.js";
import { historyEvent, recordHistory } from "../runtime/history.js";
import { show } from "./text.js";
import { stringOption, type ChangeCommand } from "./command.js";

export interface FailoverReport {
  newMain: string;
  oldMain: string;
  token: string;
  fence: FenceMethod;
  steps: StepRecord[];
  /** From the start of the command to its end, less the wait for a confirmation. */
  durationMs: number;
  /** From the start of the command (less the wait for confirmation) to the new main's first acknowledged write. */
  writableAfterMs: number | null;
  /** The learner's applied index and revision when the failover found it running. */
  learnerBefore: { appliedIndex: number; revision: number } | null;
  /** Revision of the db the new main was restored from: every write up to it is kept. */
  restoredRevision: number | null;
  /** The old main's last committed revision, read from a copy of its data; null when it could not be read. */
  oldMainRevision: number | null;
  /** Revisions the old main had committed that the new main lacks; null when unknown (never guessed). */
  lostRevisions: number | null;
  loss: string;
  rejoinCommand: string;
}

export interface FailoverInput {
  /** --fence-command; the config's failover.fenceCommand otherwise. */
  fenceCommand?: string;
  /** Who fails over, for the history (not a flag: `watch` names itself); default: user@host of this machine. */
  actor?: string;
  /** A failover `watch` decided on its own (not a flag); recorded in the history. */
  automatic?: boolean;
}

interface PreparedFailover {
  plan: FailoverPlan;
  /** How long looking and planning took: part of the time to the first write. */
  preparedMs: number;
  /** The nodes that answered the look: the history is recorded on them once the failover is done. */
  recordOn: NodeSpec[];
  /** The history event as planned; its time and loss are filled in once the steps ran. */
  event: HistoryEvent;
}

function summarize(plan: FailoverPlan): string {
  return [
    `failover: ${plan.newMain} becomes the main of a new one-member cluster (generation ${plan.token}).`,
    `  1. ${fenceSummary(plan.fence, plan.oldMain)}`,
    `  2. stop ${plan.newMain} cleanly, restore its own db with a new cluster token, archive its old data dir`,
    `  3. start ${plan.newMain} as the main and verify a write`,
    `Writes the old main acknowledged that ${plan.newMain} had not applied are lost; the report counts them.`,
    `Last it is recorded in the pair's history on each node that answered (the time and the loss as measured).`,
  ].join("\n");
}

/** The failover as the pair's history keeps it; one id per generation, so a re-run records the same event. */
function failoverEvent(plan: FailoverPlan, input: FailoverInput): HistoryEvent {
  return historyEvent("failover", {
    id: `failover-${plan.token}`,
    ...(input.actor ? { actor: input.actor } : {}),
    automatic: input.automatic ?? false,
    from: plan.oldMain,
    to: plan.newMain,
    generation: plan.token,
    lostRevisions: null,
    loss: "measured by the failover's steps",
    note: `fence: ${plan.fence}`,
  });
}

/** What was lost, from the restored revision and the old main's own last revision, each when known. */
function lossOf(plan: FailoverPlan, steps: readonly StepRecord[]) {
  const output = (id: StepRecord["id"]) => steps.find((s) => s.id === id && s.status === "ok")?.output;
  const restoreOutput = output("newmain.restore");
  const statusLine = restoreOutput ? restoredStatusLine(restoreOutput) : undefined;
  const restoredRevision = statusLine ? parseSnapshotStatus(statusLine).revision : null;
  const assessed = output("assess.loss");
  const oldMainRevision =
    assessed && restoredRevision !== null ? parseEndpointStatus(jsonLine(assessed, "[")).revision : null;
  const lostRevisions =
    oldMainRevision !== null && restoredRevision !== null ? Math.max(0, oldMainRevision - restoredRevision) : null;
  let loss: string;
  if (lostRevisions !== null) {
    loss =
      `${lostRevisions} revision(s) lost: the old main had committed up to ${oldMainRevision}, ` +
      `${plan.newMain} was restored at ${restoredRevision} (writes in flight at the crash count too)`;
  } else if (restoredRevision !== null) {
    loss =
      `unknown: ${plan.oldMain}'s data could not be read. Every write up to revision ${restoredRevision} is kept; ` +
      `writes the old main acknowledged after it are lost ('etcd-pair rejoin ${plan.oldMain}' measures them)`;
  } else {
    loss = "not measured: the failover had already restored the data in an earlier run";
  }
  return { restoredRevision, oldMainRevision, lostRevisions, loss };
}

const ms = (value: number | null) => (value === null ? "-" : `${value} ms`);

export function formatFailover(report: FailoverReport): string {
  return [
    `failover: ${report.newMain} is the main of generation ${report.token} (${report.durationMs} ms in all)`,
    `  writable after:    ${ms(report.writableAfterMs)}`,
    `  fence:             ${report.fence}`,
    `  learner before:    ${report.learnerBefore ? `applied index ${report.learnerBefore.appliedIndex}, revision ${report.learnerBefore.revision}` : "not running"}`,
    `  restored revision: ${show(report.restoredRevision)}`,
    `  old main revision: ${show(report.oldMainRevision)}`,
    `  lost:              ${report.loss}`,
    `  next:              ${report.rejoinCommand}   (brings ${report.oldMain} back as the learner)`,
    "",
  ].join("\n");
}

export const failover: ChangeCommand<FailoverInput, PreparedFailover, FailoverReport> = {
  path: ["failover"],
  description:
    "the main is dead: fence it, restore the learner's own db as a new one-member cluster, verify a write,\n" +
    "report what was lost. Refuses while the main leads (use switchover). --yes is also the operator's word\n" +
    "that an unreachable main is down when no fence command is set.",
  options: [
    {
      flags: "--fence-command <cmd>",
      description: "run on this machine when the old main cannot be reached (gets $ETCD_PAIR_FENCE_NODE); must exit 0",
    },
  ],
  changesHosts: true,
  steps: [
    "fence.main",
    "fence.command",
    "failover.begin",
    "learner.stop",
    "learner.replay",
    "newmain.restore",
    "newmain.swap",
    "newmain.files",
    "newmain.start",
    "newmain.ready",
    "newmain.smoke",
    "failover.finish",
    "assess.loss",
    "failover.history",
  ],
  input: (_args, options) => {
    const fenceCommand = stringOption(options, "fenceCommand");
    return fenceCommand ? { fenceCommand } : {};
  },
  prepare: async (ctx, input) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
    const now = new Date();
    const fenceCommand = input.fenceCommand ?? hosts.pair.fenceCommand;
    const observations = await observePair(hosts);
    const planned = planFailover({
      pair: hosts.pair,
      observations,
      service: (node) => hosts.service(node),
      ...(fenceCommand ? { fenceCommand } : {}),
      freshToken: newClusterToken(hosts.pair.cluster),
      canaryValue: newCanaryValue(),
      stamp: archiveStamp(now),
      now: now.toISOString(),
    });
    if (!planned.ok) throw new StateError(planned.refusal.message, planned.refusal.hint);
    const blockers = failoverToolBlockers(pairView(hosts.pair, observations), planned.plan);
    if (blockers.length > 0) throw new PreflightError(blockers);
    return {
      plan: planned.plan,
      preparedMs: performance.now() - started,
      recordOn: recordableNodes(hosts.pair.nodes, observations),
      event: failoverEvent(planned.plan, input),
    };
  },
  intent: ({ plan, recordOn, event }) => ({
    summary: summarize(plan),
    steps: [...plan.steps, ...historySteps(recordOn, event)],
    question: plan.needsOperatorWord
      ? "The old main cannot be reached and nothing can fence it: confirm it is powered off or cut off."
      : "Fail over now?",
  }),
  run: async (ctx, _input, { plan, preparedMs, recordOn, event }) => {
    const hosts = await ctx.hosts();
    const ran = await runSteps(plan.steps, hosts, ctx.reporter);
    const loss = lossOf(plan, ran);
    const recorded = { ...event, at: new Date().toISOString(), lostRevisions: loss.lostRevisions, loss: loss.loss };
    const steps = [...ran, ...(await recordHistory(hosts, recordOn, recorded, ctx.reporter))];
    const smoke = steps.findIndex((s) => s.id === "newmain.smoke");
    const elapsed = (records: readonly StepRecord[]) => records.reduce((sum, s) => sum + s.durationMs, 0);
    return {
      newMain: plan.newMain,
      oldMain: plan.oldMain,
      token: plan.token,
      fence: plan.fence,
      steps,
      durationMs: Math.round(preparedMs + elapsed(steps)),
      writableAfterMs: smoke < 0 ? null : Math.round(preparedMs + elapsed(steps.slice(0, smoke + 1))),
      learnerBefore: plan.learnerBefore ?? null,
      ...loss,
      rejoinCommand: `etcd-pair rejoin ${plan.oldMain}`,
    };
  },
  report: (report) => ({ json: report, stdout: formatFailover(report) }),
};
