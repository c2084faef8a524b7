import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { archiveStamp } from "../plan/down.js";
import type { NodeObservation } from "../plan/observed.js";
import { historySteps, recordableNodes, type HistoryEvent } from "../plan/history.js";
import { pauseMarker, planPause, planResume, type PauseChangePlan } from "../plan/pause.js";
import type { Planned } from "../plan/refusal.js";
import { StateError, UsageError } from "../runtime/errors.js";
import { actorHere, historyEvent, recordHistory } from "../runtime/history.js";
import type { Hosts } from "../runtime/hosts.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { stringOption, type ChangeCommand, type Intent } from "./command.js";

export interface PauseInput {
  reason?: string;
}

interface PreparedPause {
  plan: PauseChangePlan;
  /** The event to record once the steps ran (its time is then the time it happened). */
  event: HistoryEvent;
  recordOn: NodeSpec[];
}

export interface PauseResult {
  /** Whether the pair is paused now, on the nodes that could be reached. */
  paused: boolean;
  /** The marker written or lifted. */
  marker: string | null;
  changed: string[];
  unchanged: PauseChangePlan["unchanged"];
  unreachable: PauseChangePlan["unreachable"];
  steps: StepRecord[];
}

const MAX_REASON = 300;

/** --reason: one line of printable text (it is shown by status and kept in the history). */
export function reasonOf(options: Readonly<Record<string, unknown>>): string | undefined {
  const reason = stringOption(options, "reason")?.trim();
  if (reason === undefined || reason === "") return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(reason))
    throw new UsageError("--reason must be one line of text, without control characters or line breaks");
  if (reason.length > MAX_REASON) throw new UsageError(`--reason takes at most ${MAX_REASON} characters`);
  return reason;
}

const list = (names: readonly string[]) => names.join(" and ");

/** Both commands look at both hosts first: a node paused already, or unreachable, is said so. */
async function prepareWith(
  hosts: Hosts,
  plan: (pair: PairSpec, observations: readonly NodeObservation[]) => Planned<PauseChangePlan>,
  event: (plan: PauseChangePlan) => HistoryEvent,
): Promise<PreparedPause> {
  const observations = await observePair(hosts);
  const planned = plan(hosts.pair, observations);
  if (!planned.ok) throw new StateError(planned.refusal.message, planned.refusal.hint);
  return { plan: planned.plan, event: event(planned.plan), recordOn: recordableNodes(hosts.pair.nodes, observations) };
}

function intentOf(prepared: PreparedPause, summary: string[], idle: string): Intent {
  const { plan, event, recordOn } = prepared;
  const record = plan.steps.length > 0 ? historySteps(recordOn, event) : [];
  return {
    summary: [
      ...summary,
      ...(record.length > 0
        ? [`Then it is recorded in the pair's history on ${list(recordOn.map((n) => n.name))} (at the time it ran).`]
        : []),
    ].join("\n"),
    steps: [...plan.steps, ...record],
    idle,
  };
}

/** Runs the marker steps, then records the event on every node reached, with the time it happened. */
async function runWith(hosts: Hosts, prepared: PreparedPause, reporter: Parameters<typeof recordHistory>[3]) {
  const steps = await runSteps(prepared.plan.steps, hosts, reporter);
  if (steps.length === 0) return steps;
  const event = { ...prepared.event, at: new Date().toISOString() };
  return [...steps, ...(await recordHistory(hosts, prepared.recordOn, event, reporter))];
}

function resultOf(prepared: PreparedPause, steps: StepRecord[], paused: boolean): PauseResult {
  const { plan } = prepared;
  return {
    paused,
    marker: plan.marker ?? null,
    changed: plan.changes,
    unchanged: plan.unchanged,
    unreachable: plan.unreachable,
    steps,
  };
}

export const pause: ChangeCommand<PauseInput, PreparedPause, PauseResult> = {
  path: ["pause"],
  description:
    "maintenance mode: mark the pair paused on both hosts (who, when, why); watch acts on nothing until resume",
  options: [{ flags: "--reason <text>", description: "why, for status and the history (one line)" }],
  changesHosts: true,
  steps: ["pause.mark", "pause.history"],
  input: (_args, options) => {
    const reason = reasonOf(options);
    return reason ? { reason } : {};
  },
  prepare: async (ctx, input) => {
    const actor = actorHere();
    const marker = pauseMarker(actor, new Date().toISOString().replace(/\.\d+Z$/, "Z"), input.reason);
    return prepareWith(
      await ctx.hosts(),
      (pair, observations) => planPause(pair, observations, marker),
      (plan) => {
        const completes = plan.marker !== marker ? `marks ${list(plan.changes)} too: paused ${plan.marker}` : "";
        const note = completes || input.reason;
        return historyEvent("pause", { actor, ...(note ? { note } : {}) });
      },
    );
  },
  intent: (prepared) => {
    const { plan } = prepared;
    return intentOf(
      prepared,
      [
        `pause: the pair is in maintenance mode until 'etcd-pair resume' (paused ${plan.marker ?? ""}).`,
        ...plan.unreachable.map((u) => `${u.node} cannot be reached (${u.error}): it is not marked paused.`),
      ],
      `nothing to do: the pair is paused already (${plan.marker ?? ""})`,
    );
  },
  run: async (ctx, _input, prepared) => {
    const { plan } = prepared;
    for (const u of plan.unreachable)
      ctx.reporter.warn(
        `${u.node} cannot be reached (${u.error}): it is not marked paused; run 'etcd-pair pause' again once it is back`,
      );
    if (plan.steps.length === 0) ctx.reporter.info(`nothing to do: the pair is paused already (${plan.marker ?? ""})`);
    return resultOf(prepared, await runWith(await ctx.hosts(), prepared, ctx.reporter), true);
  },
  report: (result) => ({
    json: result,
    stderr: `paused ${result.marker ?? ""} (marked on ${list([...result.changed, ...result.unchanged.map((u) => u.node)])}); 'etcd-pair resume' ends it`,
  }),
};

export const resume: ChangeCommand<object, PreparedPause, PauseResult> = {
  path: ["resume"],
  description: "end maintenance mode: lift the pause marker on both hosts (archived, never deleted)",
  changesHosts: true,
  steps: ["resume.clear", "resume.history"],
  input: () => ({}),
  prepare: async (ctx) => {
    const now = new Date();
    return prepareWith(
      await ctx.hosts(),
      (pair, observations) => planResume(pair, observations, archiveStamp(now)),
      (plan) => historyEvent("resume", plan.marker ? { note: `lifted the pause ${plan.marker}` } : {}),
    );
  },
  intent: (prepared) =>
    intentOf(
      prepared,
      [
        `resume: the pair leaves maintenance mode${prepared.plan.marker ? ` (paused ${prepared.plan.marker})` : ""}.`,
        ...prepared.plan.unreachable.map(
          (u) => `${u.node} cannot be reached (${u.error}): its pause marker, if it has one, stays.`,
        ),
      ],
      "nothing to do: the pair is not paused",
    ),
  run: async (ctx, _input, prepared) => {
    const { plan } = prepared;
    for (const u of plan.unreachable)
      ctx.reporter.warn(
        `${u.node} cannot be reached (${u.error}): its pause marker, if it has one, stays (the pair counts as ` +
          `paused while it does); run 'etcd-pair resume' again once it is back`,
      );
    if (plan.steps.length === 0) ctx.reporter.info("nothing to do: the pair is not paused");
    return resultOf(prepared, await runWith(await ctx.hosts(), prepared, ctx.reporter), false);
  },
  report: (result) => ({
    json: result,
    stderr:
      result.unreachable.length > 0
        ? `resumed on ${list([...result.changed, ...result.unchanged.map((u) => u.node)])}; ${list(result.unreachable.map((u) => u.node))} could not be reached`
        : "resumed: the pair is not paused",
  }),
};
