import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { historySteps, recordableNodes, type HistoryEvent } from "./history.js";
import { installSteps, needsInstall, type LocalTarball } from "./install.js";
import type { NodeObservation } from "./observed.js";
import { pairView, type PairView } from "./pairView.js";
import { firstRefusal, refuse, type Planned, type Refusal } from "./refusal.js";
import type { Step } from "./step.js";
import { planSwitchover } from "./switchover.js";
import {
  clusterVersionRefusal,
  markerFor,
  mixedVersionsRefusal,
  pairHealthRefusal,
  runningVersion,
  sameVersion,
  targetRefusal,
  upgradeTarget,
  versionStepRefusal,
  type UpgradeTarget,
} from "./upgradeRules.js";
import { replaced, restartedLearner, swapped } from "./upgradeProjection.js";
import { sealIndex, sealStep } from "./upgradeSeal.js";
import { beginStep, closingSteps, learnerRestartSteps, settleStep } from "./upgradeSteps.js";

export interface UpgradeInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  stamp: string;
  canaryValue: string;
  /** How long the restarted learner may take to catch up before the switchover is refused. */
  catchUpTimeoutMs: number;
  /** End with the node that was main when the upgrade began. */
  keepRoles: boolean;
  /** The controller's checked copy of the release tarball (install: tarball), when a host still needs it. */
  tarball?: LocalTarball;
  /** The history event of one role swap (its id and time come from the caller: the plan stays deterministic). */
  swapEvent: (from: string, to: string) => HistoryEvent;
}

export interface UpgradePlan {
  /** The version the config names. */
  target: string;
  /** Where the config names it. */
  targetSource: string;
  /** Each node's running etcd as observed (null: not running or not answering). */
  running: Record<string, string | null>;
  /** The cluster version the main reported, if it answered. */
  clusterVersion: string | null;
  /** The main when the upgrade began (from its marker on a re-run). */
  originalMain: string;
  /** The main once these steps ran. */
  main: string;
  steps: Step[];
  /** The role swaps these steps make, in order. */
  swaps: { from: string; to: string }[];
  /**
   * After these steps, look at the pair again and plan the rest: the switch back of --keep-roles promotes the
   * rejoined old main, whose new member ID is known only once it rejoined.
   */
  more: boolean;
  /** With `more`: the rest as planned from the pair these steps should leave (member IDs not yet known). */
  preview: Step[];
  warnings: string[];
}

/** Planning state: the pair as it will be after the steps planned so far. */
interface Progress {
  observations: NodeObservation[];
  main: NodeSpec;
  steps: Step[];
  swaps: { from: string; to: string }[];
  warnings: string[];
}

/**
 * A switchover's steps with the joining node's install put in before it joins (install: tarball or apt): the
 * old main is archived and added back as a learner, and must start on the target's binaries.
 */
function withInstallBeforeJoin(
  steps: readonly Step[],
  inputs: UpgradeInputs,
  joining: NodeSpec,
  observation: NodeObservation,
): Step[] {
  if (!needsInstall(inputs.pair, observation)) return [...steps];
  const install = installSteps(inputs.pair, joining, "main", observation, inputs.tarball);
  const at = steps.findIndex((s) => s.id === "learner.add" || s.id === "learner.files");
  const cut = at < 0 ? steps.length : at;
  return [...steps.slice(0, cut), ...install, ...steps.slice(cut)];
}

/** Switches over to `to` from the pair as `progress` projects it; the swap is recorded in the history. */
function switchTo(inputs: UpgradeInputs, progress: Progress, to: NodeSpec, target: EtcdVersion): Refusal | undefined {
  const view = pairView(inputs.pair, progress.observations);
  const from = view.peer(to);
  const planned = planSwitchover({
    pair: inputs.pair,
    observations: progress.observations,
    target: to,
    service: inputs.service,
    stamp: inputs.stamp,
    canaryValue: inputs.canaryValue,
    catchUpTimeoutMs: inputs.catchUpTimeoutMs,
  });
  if (!planned.ok) return planned.refusal;
  if (planned.plan.steps.length === 0) return undefined;
  const swapSteps = withInstallBeforeJoin(planned.plan.steps, inputs, from, view.of(from));
  const first = swapSteps.findIndex((s) => s.id === "switch.caught-up" || s.id === "switch.promote");
  if (first >= 0) swapSteps.splice(first, 0, settleStep(to, from, inputs.service));
  progress.steps.push(
    ...swapSteps,
    ...historySteps(recordableNodes(inputs.pair.nodes, inputs.observations), inputs.swapEvent(from.name, to.name)),
  );
  progress.warnings.push(...planned.plan.warnings);
  progress.swaps.push({ from: from.name, to: to.name });
  progress.observations = swapped(view, to, from, target);
  progress.main = to;
  return undefined;
}

/** The restart of `learner` on the target, as a learner of `leader`; the projection has it running it. */
function restartLearner(inputs: UpgradeInputs, progress: Progress, learner: NodeSpec, target: EtcdVersion): void {
  const view = pairView(inputs.pair, progress.observations);
  const leader = progress.main;
  const token = view.of(leader).generation ?? view.of(leader).envToken ?? view.of(learner).envToken ?? "";
  const service = inputs.service(learner);
  let observation = view.of(learner);
  const index = sealIndex(observation, view.of(leader), target, markerFor(inputs.observations, target));
  const running = runningVersion(observation)?.text;
  if (index !== undefined && running) {
    progress.steps.push(sealStep({ pair: inputs.pair, learner, main: leader, token, service, running, index }));
    // The seal wrote the env file: the restart writes the usual one back, whatever the probe saw.
    const envFile = nodeLayout(learner).envFile;
    observation = { ...observation, fileHashes: { ...observation.fileHashes, [envFile]: "sealed" } };
  }
  progress.steps.push(
    ...learnerRestartSteps({
      pair: inputs.pair,
      learner,
      main: leader,
      token,
      observation,
      service,
      target,
      tarball: inputs.tarball,
    }),
  );
  progress.observations = replaced(progress.observations, restartedLearner(view, learner, leader, target));
}

/**
 * Both nodes onto the target, the main last: restart the learner on it, then switch over to it (the old main
 * rejoins as its learner, on the target's binaries). From a state an interrupted upgrade left, only what is left:
 * a node that runs the target is not restarted, a swap already made is not made again.
 */
function rollSteps(inputs: UpgradeInputs, progress: Progress, target: EtcdVersion): Refusal | undefined {
  const view = pairView(inputs.pair, progress.observations);
  const leader = progress.main;
  const other = view.peer(leader);
  const entry = view.memberEntry(leader, other);
  const otherObs = view.of(other);
  const otherOnTarget = sameVersion(runningVersion(otherObs), target);
  if (!sameVersion(runningVersion(view.of(leader)), target)) {
    if (!entry) {
      return {
        message: `${other.name} is not a member of ${leader.name}'s cluster, and ${leader.name} does not run etcd ${target.text} yet`,
        hint: `bring ${other.name} back with 'etcd-pair rejoin ${other.name}', then run upgrade again`,
      };
    }
    if (!entry.isLearner && !otherOnTarget) {
      return {
        message: `${other.name} is a voter of ${leader.name}'s cluster (an interrupted switchover) and does not run etcd ${target.text}`,
        hint: "finish the switchover with 'etcd-pair switchover', then run upgrade again",
      };
    }
    if (entry.isLearner && !otherOnTarget) restartLearner(inputs, progress, other, target);
    return switchTo(inputs, progress, other, target);
  }
  // The main runs the target: the other node must be a running learner on it.
  const joined = entry?.isLearner === true && (otherObs.running || otherObs.dataDir === "member");
  if (!joined) return switchTo(inputs, progress, leader, target);
  if (!otherOnTarget) restartLearner(inputs, progress, other, target);
  return undefined;
}

function versionRefusal(inputs: UpgradeInputs, view: PairView, target: UpgradeTarget): Refusal | undefined {
  const t = target.version;
  const leader = view.leader();
  const running = inputs.pair.nodes.map((n) => ({ node: n.name, version: runningVersion(view.of(n)) }));
  const reporter = (leader ? view.of(leader) : undefined) ?? view.observations.find((o) => o.versions);
  return firstRefusal([
    () => targetRefusal(target),
    ...running.map((r) => () => (r.version ? versionStepRefusal(r.node, r.version, t) : undefined)),
    () => mixedVersionsRefusal(running, t),
    () => clusterVersionRefusal(reporter, t),
  ]);
}

/**
 * `etcd-pair upgrade`: the pair onto the etcd version the config names (etcd.binDir, etcd.install) with no
 * acknowledged write lost. Preflight (etcd's upgrade rules, the pair's health), then: record that it began; the
 * learner restarted on the new binaries; a switchover to it once it has caught up (the old main rejoins as its
 * learner, on the new binaries); with keepRoles a switch back; the pair test; the cluster version; done.
 */
export function planUpgrade(inputs: UpgradeInputs): Planned<UpgradePlan> {
  const view = pairView(inputs.pair, inputs.observations);
  const target = upgradeTarget(inputs.pair, view);
  if ("message" in target) return refuse(target.message, target.hint);
  const t = target.version;
  const marker = markerFor(inputs.observations, t);
  const leader = view.leader();
  const refusal = firstRefusal([
    () => versionRefusal(inputs, view, target),
    () => (marker ? undefined : pairHealthRefusal(view, leader)),
  ]);
  if (refusal) return { ok: false, refusal };
  if (!leader)
    return refuse("no node leads a cluster", "run 'etcd-pair status'; if the main crashed, use 'etcd-pair failover'");

  const originalMain = inputs.pair.nodes.find((n) => n.name === marker?.main) ?? leader;
  const progress: Progress = {
    observations: [...inputs.observations],
    main: leader,
    steps: [],
    swaps: [],
    warnings: [],
  };
  const rolled = rollSteps(inputs, progress, t);
  if (rolled) return { ok: false, refusal: rolled };

  let more = false;
  let preview: Step[] = [];
  if (inputs.keepRoles && progress.main.name !== originalMain.name) {
    if (progress.steps.length === 0) {
      const back = switchTo(inputs, progress, originalMain, t);
      if (back) return { ok: false, refusal: back };
    } else {
      more = true;
      const later: Progress = { ...progress, steps: [], swaps: [], warnings: [] };
      switchTo(inputs, later, originalMain, t);
      preview = [...later.steps, ...closingSteps(inputs, later, t, true, marker !== undefined)];
    }
  }
  const worked = progress.steps.length > 0;
  const steps = more
    ? progress.steps
    : [...progress.steps, ...closingSteps(inputs, progress, t, worked, marker !== undefined)];
  const unmarked = inputs.pair.nodes.filter((n) => view.of(n).upgrade?.target !== t.text);
  const raftIndex = marker?.raftIndex ?? view.of(leader).status?.raftIndex;
  if (worked && unmarked.length > 0) steps.unshift(beginStep(unmarked, t, originalMain.name, raftIndex));
  return {
    ok: true,
    plan: {
      target: t.text,
      targetSource: target.source,
      running: Object.fromEntries(inputs.pair.nodes.map((n) => [n.name, view.of(n).status?.version ?? null])),
      clusterVersion: view.of(leader).versions?.cluster ?? null,
      originalMain: originalMain.name,
      main: progress.main.name,
      steps,
      swaps: progress.swaps,
      more,
      preview,
      warnings: [...new Set(progress.warnings)],
    },
  };
}
