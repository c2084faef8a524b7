import { archiveStamp } from "../plan/down.js";
import { needsInstall } from "../plan/install.js";
import type { NodeObservation } from "../plan/observed.js";
import { statusLeads } from "../plan/pairView.js";
import type { StepId } from "../plan/step.js";
import { planUpgrade, type UpgradePlan } from "../plan/upgrade.js";
import { placeholderId } from "../plan/upgradeProjection.js";
import { CommandFailure, StateError, UsageError } from "../runtime/errors.js";
import { historyEvent } from "../runtime/history.js";
import type { Hosts } from "../runtime/hosts.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { controllerTarball } from "../runtime/tarball.js";
import { newCanaryValue } from "../runtime/tokens.js";
import { stringOption, type ChangeCommand, type CommandContext } from "./command.js";
import { switchover } from "./switchover.js";
import { formatMs } from "./text.js";

export interface UpgradeInput {
  keepRoles: boolean;
  catchUpTimeoutMs: number;
}

/** One role swap the upgrade made, with the figures switchover reports for it. */
export interface UpgradeSwap {
  from: string;
  to: string;
  /** From promote to the old main's removal: the cluster had two voters (quorum 2). */
  twoVoterWindowMs: number | null;
  /** From the start of move-leader to the first write acknowledged by the new main: the write pause. */
  leaderChangeToFirstWriteMs: number | null;
}

export interface UpgradeResult {
  target: string;
  /** Each node's running etcd before (null: not running). */
  before: Record<string, string | null>;
  /** Each node's running etcd after, as looked at once the steps ran. */
  after: Record<string, string | null>;
  /** The cluster version the main reports after. */
  clusterVersion: string | null;
  main: string | null;
  changed: boolean;
  swaps: UpgradeSwap[];
  /** The longest write pause of the swaps (move-leader to the first write on the new main). */
  longestPauseMs: number | null;
  steps: StepRecord[];
  /** Looking, planning and running, less the wait for a confirmation. */
  durationMs: number;
}

interface PreparedUpgrade {
  plan: UpgradePlan;
  preparedMs: number;
}

/** Rounds of look, plan, run: the first plan, and the switch back of --keep-roles planned once the old main rejoined. */
const MAX_ROUNDS = 3;

/** Every step the upgrade may run, in order, once each (for --help and the golden plans). */
const UPGRADE_STEPS: readonly StepId[] = [
  ...new Set<StepId>([
    "upgrade.begin",
    "upgrade.seal",
    "learner.install.apt",
    "learner.install.tarball",
    "learner.install.version",
    "learner.files",
    "learner.stop",
    "learner.start",
    "learner.ready",
    "upgrade.settle",
    // The old main's host gets the new binaries just before it rejoins, within the switchover.
    "main.install.apt",
    "main.install.tarball",
    "main.install.version",
    ...(switchover.steps ?? []),
    "upgrade.cluster-version",
    "upgrade.finish",
  ]),
];

/** Looks at both nodes and plans the upgrade from what it finds (the controller's tarball only when a host needs it). */
async function planNow(ctx: CommandContext, hosts: Hosts, input: UpgradeInput, observations: NodeObservation[]) {
  const pair = hosts.pair;
  const generation = observations.find((o) => statusLeads(o.status))?.generation;
  const tarball = observations.some((o) => needsInstall(pair, o))
    ? await controllerTarball(pair.install, { fetch: !ctx.dryRun })
    : undefined;
  return planUpgrade({
    pair,
    observations,
    service: (node) => hosts.service(node),
    stamp: archiveStamp(new Date()),
    canaryValue: newCanaryValue(),
    catchUpTimeoutMs: input.catchUpTimeoutMs,
    keepRoles: input.keepRoles,
    ...(tarball ? { tarball } : {}),
    swapEvent: (from, to) => historyEvent("switchover", { from, to, ...(generation ? { generation } : {}) }),
  });
}

/** The figures of each swap: the k-th promote, move-leader, remove and first write on the new main. */
export function swapFigures(
  swaps: readonly { from: string; to: string }[],
  steps: readonly StepRecord[],
): UpgradeSwap[] {
  const spans = (from: StepId, to: StepId): (number | null)[] => {
    const found: (number | null)[] = [];
    steps.forEach((step, start) => {
      if (step.id !== from) return;
      const end = steps.findIndex((s, i) => i >= start && s.id === to);
      found.push(end < 0 ? null : steps.slice(start, end + 1).reduce((sum, s) => sum + s.durationMs, 0));
    });
    return found;
  };
  const twoVoters = spans("switch.promote", "switch.remove");
  const pauses = spans("switch.move-leader", "newmain.smoke");
  // A swap resumed after its promote (or its move-leader) has no figure for what ran before: counted from the end.
  const at = <T>(list: readonly T[], i: number) => list[list.length - swaps.length + i] ?? null;
  return swaps.map((swap, i) => ({
    ...swap,
    twoVoterWindowMs: at(twoVoters, i),
    leaderChangeToFirstWriteMs: at(pauses, i),
  }));
}

const versionsOf = (observations: readonly NodeObservation[]) =>
  Object.fromEntries(observations.map((o) => [o.node, o.status?.version ?? null]));

export function formatUpgrade(result: UpgradeResult): string {
  const running = (versions: Record<string, string | null>) =>
    Object.entries(versions)
      .map(([node, v]) => `${node} ${v ?? "not running"}`)
      .join(", ");
  if (!result.changed) {
    return `upgrade: nothing to do, ${running(result.after)} (cluster version ${result.clusterVersion ?? "unknown"})\n`;
  }
  const ms = (value: number | null) => (value === null ? "-" : `${value} ms`);
  return [
    `upgrade: etcd ${result.target} on both nodes, ${result.main ?? "?"} is main (${formatMs(result.durationMs)} in all)`,
    `  before:                               ${running(result.before)}`,
    `  after:                                ${running(result.after)}, cluster version ${result.clusterVersion ?? "unknown"}`,
    ...result.swaps.flatMap((s) => [
      `  switchover ${s.from} -> ${s.to}: two voters for ${ms(s.twoVoterWindowMs)}, leader change to first write ${ms(s.leaderChangeToFirstWriteMs)}`,
    ]),
    `  longest write pause (leader change to first write): ${ms(result.longestPauseMs)}`,
    "",
  ].join("\n");
}

function summary(plan: UpgradePlan, input: UpgradeInput): string {
  const running = Object.entries(plan.running)
    .map(([node, v]) => `${node} runs ${v ?? "no etcd now"}`)
    .join(", ");
  return [
    `upgrade to etcd ${plan.target} (${plan.targetSource}): ${running}; cluster version ${plan.clusterVersion ?? "unknown"}.`,
    `The learner is restarted on the new binaries, then the pair switches over to it (no acknowledged write is ` +
      `lost; writes pause while the leadership moves) and the old main rejoins as its learner on them` +
      (input.keepRoles ? `; then it switches back so ${plan.originalMain} is main again.` : "."),
    ...(plan.more
      ? [
          `The switch back is planned again once ${plan.originalMain} has rejoined: its new member ID shows as ` +
            `${placeholderId(plan.originalMain)} below.`,
        ]
      : []),
    ...plan.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

export const upgrade: ChangeCommand<UpgradeInput, PreparedUpgrade, UpgradeResult> = {
  path: ["upgrade"],
  description:
    "roll the pair onto the etcd the config names (etcd.binDir, etcd.install): learner first, then a " +
    "switchover, no acknowledged write lost. Refuses (exit 2, nothing changed) what etcd does not support; " +
    "re-runs resume.",
  options: [
    { flags: "--keep-roles", description: "switch back at the end, so the main is the node that was main before" },
    {
      flags: "--catch-up-timeout <seconds>",
      description: "refuse the switchover when the restarted learner has not caught up within this long",
      default: "30",
    },
  ],
  changesHosts: true,
  steps: UPGRADE_STEPS,
  input: (_args, options) => {
    const seconds = Number(stringOption(options, "catchUpTimeout"));
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
      throw new UsageError(
        `--catch-up-timeout takes a number of seconds above 0 and at most 86400, not ${stringOption(options, "catchUpTimeout")}`,
      );
    }
    return { keepRoles: options.keepRoles === true, catchUpTimeoutMs: seconds * 1000 };
  },
  prepare: async (ctx, input) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
    const planned = await planNow(ctx, hosts, input, await observePair(hosts));
    if (!planned.ok) throw new StateError(planned.refusal.message, planned.refusal.hint);
    planned.plan.warnings.forEach((w) => ctx.reporter.warn(w));
    return { plan: planned.plan, preparedMs: performance.now() - started };
  },
  intent: ({ plan }, input) => ({
    summary: summary(plan, input),
    steps: plan.more ? [...plan.steps, ...plan.preview] : plan.steps,
    idle: `nothing to do: both nodes run etcd ${plan.target} (cluster version ${plan.clusterVersion ?? "unknown"})`,
    ...(plan.steps.length > 0 ? { question: "Upgrade now?" } : {}),
    details: {
      target: plan.target,
      running: plan.running,
      clusterVersion: plan.clusterVersion,
      originalMain: plan.originalMain,
      swaps: plan.swaps,
      replannedAfter: plan.more ? plan.steps.length : null,
    },
  }),
  run: async (ctx, input, { plan: first, preparedMs }) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
    if (first.steps.length === 0) {
      ctx.reporter.info(`nothing to do: both nodes run etcd ${first.target}`);
    }
    const steps: StepRecord[] = [];
    const swaps: { from: string; to: string }[] = [];
    let plan = first;
    for (let round = 1; ; round++) {
      steps.push(...(await runSteps(plan.steps, hosts, ctx.reporter)));
      swaps.push(...plan.swaps);
      if (!plan.more) break;
      if (round >= MAX_ROUNDS) {
        throw new CommandFailure(
          `the upgrade did not settle after ${round} rounds`,
          "run 'etcd-pair status', then 'etcd-pair upgrade' again: it resumes from what it finds",
        );
      }
      ctx.reporter.info("looking at the pair again to plan the switch back");
      const planned = await planNow(ctx, hosts, input, await observePair(hosts));
      if (!planned.ok) throw new CommandFailure(planned.refusal.message, planned.refusal.hint);
      plan = planned.plan;
    }
    const after = await observePair(hosts);
    const leader = after.find((o) => statusLeads(o.status));
    const figures = swapFigures(swaps, steps);
    const pauses = figures.flatMap((s) =>
      s.leaderChangeToFirstWriteMs === null ? [] : [s.leaderChangeToFirstWriteMs],
    );
    return {
      target: first.target,
      before: first.running,
      after: versionsOf(after),
      clusterVersion: leader?.versions?.cluster ?? null,
      main: leader?.node ?? null,
      changed: steps.some((s) => s.kind === "change"),
      swaps: figures,
      longestPauseMs: pauses.length > 0 ? Math.max(...pauses) : null,
      steps,
      durationMs: Math.round(preparedMs + performance.now() - started),
    };
  },
  report: (result) => ({ json: result, stdout: formatUpgrade(result) }),
};
