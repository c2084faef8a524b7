import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import type { ServiceManager } from "../service/types.js";
import { isLeader } from "./checks.js";
import { beginStep, assessLossStep, finishStep, replayStep, restoreStep, swapStep } from "./failoverSteps.js";
import { chooseFence, fenceNeedsOperatorWord, fenceSteps, type FenceMethod } from "./fence.js";
import { missingTools, toolsFor } from "./binaries.js";
import type { NodeObservation } from "./observed.js";
import type { Blocker } from "./preflight.js";
import { pairView, type PairView } from "./pairView.js";
import { firstRefusal, refuse, type Planned, type Refusal } from "./refusal.js";
import type { Step } from "./step.js";
import { fileSteps, mainSmokeStep, readyStep, startStep, stopStep } from "./steps.js";

export interface FailoverInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  /** Run on the controller when the old main's host cannot be reached; must exit 0. */
  fenceCommand?: string;
  freshToken: string;
  canaryValue: string;
  /** Names archives and the fence marker, e.g. 20261127T143000Z. */
  stamp: string;
  now: string;
}

export interface FailoverPlan {
  newMain: string;
  oldMain: string;
  token: string;
  fence: FenceMethod;
  /** The old main cannot be reached and no fence command is set: the operator's --yes is the fence. */
  needsOperatorWord: boolean;
  steps: Step[];
  /** The learner's applied index and revision as last seen before it was stopped, when it ran. */
  learnerBefore?: { appliedIndex: number; revision: number };
}

/**
 * The node to fail over to: one a failover already began on, else the one that says it is a learner, else the
 * one whose env file joined an existing cluster, else the one a finished failover restored and that leads the
 * generation it restored (a failover cut short after it archived its marker: a re-run only reports).
 */
export function findLearner(view: PairView): NodeSpec | undefined {
  const nodes = view.pair.nodes;
  const begun = nodes.filter((n) => view.of(n).failoverToken);
  if (begun.length === 1) return begun[0];
  const byStatus = nodes.find((n) => view.of(n).status?.isLearner);
  if (byStatus) return byStatus;
  const byEnv = nodes.filter((n) => view.of(n).envState === "existing");
  if (byEnv.length === 1) return byEnv[0];
  const restored = nodes.filter((n) => {
    const o = view.of(n);
    return view.leads(n) && o.restoredFrom !== undefined && o.restoredFrom.token === o.generation;
  });
  return restored.length === 1 ? restored[0] : undefined;
}

/** Why the pair must not fail over from `learner` to it, or undefined. */
export function failoverRefusal(view: PairView, learner: NodeSpec): Refusal | undefined {
  const oldMain = view.peer(learner);
  const learnerObs = view.of(learner);
  const finished = view.leads(learner);
  return firstRefusal([
    () =>
      view.of(oldMain).reachable && view.leads(oldMain)
        ? {
            message: `${oldMain.name} is running and leads its cluster: this is not a crash`,
            hint: "for a planned role swap with no loss use 'etcd-pair switchover'",
          }
        : undefined,
    () =>
      learnerObs.reachable
        ? undefined
        : {
            message: `${learner.name} cannot be reached (${learnerObs.error ?? "unknown error"}): there is nothing to fail over to`,
            hint: `bring ${learner.name}'s host back first; its data dir holds the pair's data`,
          },
    () =>
      finished || learnerObs.dataDir === "member" || learnerObs.restoring
        ? undefined
        : {
            message: `${learner.name} holds no member data to restore (${nodeLayout(learner).dataDir})`,
            hint: "the learner never joined or its data is gone: restore a snapshot with 'etcd-pair snapshot restore'",
          },
    () =>
      learnerObs.version
        ? undefined
        : { message: `cannot read etcd's version on ${learner.name}`, hint: "run 'etcd-pair status'" },
  ]);
}

/**
 * The binaries the failover's steps run on the learner's host: etcd and etcdctl, and the snapshot tool (etcdutl from
 * 3.5) when it restores. Judged before the fence: a failover that stopped both nodes and then lacked one would leave
 * the pair down.
 */
export function failoverToolBlockers(view: PairView, plan: FailoverPlan): Blocker[] {
  const learner = view.pair.nodes.find((n) => n.name === plan.newMain);
  if (!learner) return [];
  const o = view.of(learner);
  const restores = plan.steps.some((s) => s.id === "newmain.restore");
  return missingTools(learner, o, restores && o.version ? toolsFor(o.version) : ["etcd", "etcdctl"]);
}

/** Steps that make the learner the main of a new generation; none once it leads that generation. */
function takeOverSteps(inputs: FailoverInputs, view: PairView, learner: NodeSpec, token: string): Step[] {
  const learnerObs = view.of(learner);
  if (view.leads(learner) || !learnerObs.version) return [];
  const service = inputs.service(learner);
  const steps: Step[] = [];
  if (!learnerObs.failoverToken) steps.push(beginStep(learner, token));
  // A clean stop commits bbolt. A learner this failover stopped itself (its marker is there) needs no replay.
  if (learnerObs.running && learnerObs.generation !== token) {
    steps.push(stopStep(learner, "learner", service, `stop the learner ${learner.name} cleanly`));
  } else if (learnerObs.dataDir === "member" && learnerObs.generation !== token && !learnerObs.failoverToken) {
    steps.push(replayStep(learner, service));
  }
  // Once the swap has recorded the new generation, the data dir is the restored one: never restore it again.
  if (learnerObs.generation !== token) {
    steps.push(restoreStep(learner, learnerObs.version, token), swapStep(learner, inputs.stamp, token));
  }
  // Only what differs is written (the env file, for the new cluster): an unchanged unit spares a systemd reload.
  steps.push(...fileSteps(view.pair, learner, "newmain", { as: "main", token }, learnerObs, service));
  steps.push(startStep(learner, "newmain", service), readyStep(learner, "newmain", service, isLeader, 30_000));
  return steps;
}

/**
 * Crash failover: fence the old main, stop the learner cleanly (or start it once to apply its WAL), restore
 * its own db as a new one-member cluster with a new token, archive the old data dir, start, verify; then read
 * what the old main had committed, when its host answers, to report the loss.
 */
export function planFailover(inputs: FailoverInputs): Planned<FailoverPlan> {
  const view = pairView(inputs.pair, inputs.observations);
  const learner = findLearner(view);
  if (!learner) {
    return refuse(
      "cannot tell which node is the learner: neither reports it and the env files do not say",
      "run 'etcd-pair status'; a pair that was never brought up has nothing to fail over",
    );
  }
  const refusal = failoverRefusal(view, learner);
  if (refusal) return { ok: false, refusal };

  const oldMain = view.peer(learner);
  const learnerObs = view.of(learner);
  const oldMainObs = view.of(oldMain);
  const finished = view.leads(learner);
  const token =
    learnerObs.failoverToken ?? (finished ? (learnerObs.generation ?? inputs.freshToken) : inputs.freshToken);
  const fence = chooseFence(oldMainObs, inputs.fenceCommand);
  const takeOver = takeOverSteps(inputs, view, learner, token);
  const restores = takeOver.some((s) => s.id === "newmain.restore");
  const steps: Step[] = [
    ...fenceSteps({
      method: fence,
      oldMain,
      oldMainService: inputs.service(oldMain),
      learner,
      fenceCommand: inputs.fenceCommand,
      token,
      now: inputs.now,
    }),
    ...takeOver,
    mainSmokeStep(learner, "newmain", token, inputs.canaryValue),
    ...(learnerObs.failoverToken || !finished ? [finishStep(learner, inputs.stamp)] : []),
    // What the old main committed past the restored revision is the loss; its data can be read only on its host.
    ...(restores && oldMainObs.reachable && oldMainObs.dataDir === "member" ? [assessLossStep(oldMain)] : []),
  ];
  const learnerBefore =
    learnerObs.running && learnerObs.status
      ? { appliedIndex: learnerObs.status.appliedIndex, revision: learnerObs.status.revision }
      : undefined;
  return {
    ok: true,
    plan: {
      newMain: learner.name,
      oldMain: oldMain.name,
      token,
      fence,
      needsOperatorWord: fenceNeedsOperatorWord(fence),
      steps,
      ...(learnerBefore ? { learnerBefore } : {}),
    },
  };
}
