import { archiveStamp } from "../plan/down.js";
import { planSwitchover, type SwitchoverPlan } from "../plan/switchover.js";
import type { StepId } from "../plan/step.js";
import { StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { newCanaryValue } from "../runtime/tokens.js";
import { stringOption, type ChangeCommand } from "./command.js";
import { nodeNamed } from "./nodeNamed.js";
import { LEARNER_JOIN_STEPS, PAIR_TEST_STEPS } from "../plan/stepIds.js";
import { UsageError } from "../runtime/errors.js";
import type { NodeSpec } from "../config/resolve.js";
import { historySteps, recordableNodes, type HistoryEvent } from "../plan/history.js";
import { statusLeads } from "../plan/pairView.js";
import { historyEvent, recordHistory } from "../runtime/history.js";

export interface SwitchoverResult {
  newMain: string;
  oldMain: string;
  changed: boolean;
  steps: StepRecord[];
  /** Looking, planning and running, less the wait for a confirmation. */
  durationMs: number;
  /** From promote to the old main's removal: the cluster had two voters (quorum 2). */
  twoVoterWindowMs: number | null;
  /** From the start of move-leader to the first write acknowledged by the new main. */
  leaderChangeToFirstWriteMs: number | null;
}

export interface SwitchoverInput {
  /** The node that should end up main; default: the current learner. */
  to?: string;
  catchUpTimeoutMs: number;
}

interface PreparedSwitchover {
  plan: SwitchoverPlan;
  /** How long looking and planning took: with the run, the duration (the wait for a confirmation is not). */
  preparedMs: number;
  /** The nodes that answered the look: the history is recorded on them once the switchover is done. */
  recordOn: NodeSpec[];
  /** The history event; its time is filled in once the steps ran. */
  event: HistoryEvent;
}

/** Milliseconds from the start of step `from` to the end of step `to`, when both ran. */
function span(steps: readonly StepRecord[], from: StepId, to: StepId): number | null {
  const start = steps.findIndex((s) => s.id === from);
  const end = steps.findIndex((s) => s.id === to);
  if (start < 0 || end < start) return null;
  return steps.slice(start, end + 1).reduce((sum, s) => sum + s.durationMs, 0);
}

const ms = (value: number | null) => (value === null ? "-" : `${value} ms`);

export function formatSwitchover(result: SwitchoverResult): string {
  if (!result.changed)
    return `switchover: nothing to do, ${result.newMain} is main and ${result.oldMain} its learner\n`;
  return [
    `switchover: ${result.newMain} is main, ${result.oldMain} its learner (${result.durationMs} ms in all)`,
    `  two voters for:                      ${ms(result.twoVoterWindowMs)}`,
    `  leader change to first write:        ${ms(result.leaderChangeToFirstWriteMs)}`,
    "",
  ].join("\n");
}

export const switchover: ChangeCommand<SwitchoverInput, PreparedSwitchover, SwitchoverResult> = {
  path: ["switchover"],
  description:
    "planned role swap with no loss: promote the learner, move the leadership, re-add the old main as learner",
  options: [
    {
      flags: "--to <node>",
      description: "the node that should end up main (default: the current learner); re-runs converge",
    },
    {
      flags: "--catch-up-timeout <seconds>",
      description: "refuse when the learner has not caught up within this long",
      default: "30",
    },
  ],
  changesHosts: true,
  steps: [
    "switch.caught-up",
    "switch.promote",
    "switch.move-leader",
    "switch.remove",
    "newmain.smoke",
    "switch.record",
    "newmain.files",
    "oldmain.stop",
    "oldmain.archive",
    ...LEARNER_JOIN_STEPS,
    ...PAIR_TEST_STEPS,
    "switch.history",
  ],
  input: (_args, options) => {
    const seconds = Number(stringOption(options, "catchUpTimeout"));
    // A day at most: beyond that a learner is not catching up (and timers overflow at 24.8 days).
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
      throw new UsageError(
        `--catch-up-timeout takes a number of seconds above 0 and at most 86400, not ${stringOption(options, "catchUpTimeout")}`,
      );
    }
    const to = stringOption(options, "to");
    return { ...(to ? { to } : {}), catchUpTimeoutMs: seconds * 1000 };
  },
  prepare: async (ctx, input) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
    const target = input.to === undefined ? undefined : nodeNamed(hosts.pair, input.to);
    const observations = await observePair(hosts);
    const planned = planSwitchover({
      pair: hosts.pair,
      observations,
      ...(target ? { target } : {}),
      service: (n) => hosts.service(n),
      stamp: archiveStamp(new Date()),
      canaryValue: newCanaryValue(),
      catchUpTimeoutMs: input.catchUpTimeoutMs,
    });
    if (!planned.ok) throw new StateError(planned.refusal.message, planned.refusal.hint);
    planned.plan.warnings.forEach((w) => ctx.reporter.warn(w));
    // A switchover keeps the cluster, and so the generation, the leader serves.
    const generation = observations.find((o) => statusLeads(o.status))?.generation;
    const { newMain, oldMain } = planned.plan;
    return {
      plan: planned.plan,
      preparedMs: performance.now() - started,
      recordOn: recordableNodes(hosts.pair.nodes, observations),
      event: historyEvent("switchover", { from: oldMain, to: newMain, ...(generation ? { generation } : {}) }),
    };
  },
  intent: ({ plan, recordOn, event }) => ({
    summary:
      `switchover: ${plan.newMain} becomes main, ${plan.oldMain} its learner (no acknowledged write is lost; ` +
      `writes pause while the leadership moves).\nLast it is recorded in the pair's history on each node that ` +
      `answered (at the time it ran).`,
    steps: plan.steps.length > 0 ? [...plan.steps, ...historySteps(recordOn, event)] : [],
    idle: `nothing to do: ${plan.newMain} is main and ${plan.oldMain} its learner`,
    ...(plan.steps.length > 0 ? { question: "Switch over now?" } : {}),
  }),
  run: async (ctx, _input, { plan, preparedMs, recordOn, event }) => {
    const started = performance.now();
    if (plan.steps.length === 0) {
      ctx.reporter.info(`nothing to do: ${plan.newMain} is main and ${plan.oldMain} its learner`);
    }
    const hosts = await ctx.hosts();
    const ran = await runSteps(plan.steps, hosts, ctx.reporter);
    const recorded = { ...event, at: new Date().toISOString() };
    const steps = ran.length > 0 ? [...ran, ...(await recordHistory(hosts, recordOn, recorded, ctx.reporter))] : ran;
    return {
      newMain: plan.newMain,
      oldMain: plan.oldMain,
      changed: steps.length > 0,
      steps,
      durationMs: Math.round(preparedMs + performance.now() - started),
      twoVoterWindowMs: span(steps, "switch.promote", "switch.remove"),
      leaderChangeToFirstWriteMs: span(steps, "switch.move-leader", "newmain.smoke"),
    };
  },
  report: (result) => ({ json: result, stdout: formatSwitchover(result) }),
};
