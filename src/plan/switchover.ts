import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { endpointStatusArgs, etcdctl } from "../etcd/etcdctl.js";
import { judgeVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { lastLine } from "../etcd/status.js";
import { appliedConverged, pairVerificationSteps } from "./checks.js";
import type { NodeObservation } from "./observed.js";
import { leadingNode } from "./pairState.js";
import { archiveNodeStateStep, memberOf, memberRemoveStep, type Refusal } from "./rejoin.js";
import type { Expectation, Step } from "./step.js";
import { fileSteps, mainSmokeStep, peerOf, stopStep } from "./steps.js";
import { joinSteps } from "./up.js";

export interface SwitchoverInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  /** The node that should end up main; default: the current learner. */
  target?: NodeSpec;
  service: (node: NodeSpec) => ServiceManager;
  stamp: string;
  canaryValue: string;
  /** How long the learner may take to catch up before the switchover is refused. */
  catchUpTimeoutMs: number;
}

export interface SwitchoverPlan {
  refusal?: Refusal;
  newMain: string;
  oldMain: string;
  steps: Step[];
  warnings: string[];
}

const promoted: Expectation = {
  describe: "exit 0, or it is a voter already (retried while etcd says the learner is not in sync)",
  check: ([o]) => {
    if (!o) return "no outcome";
    if (o.code === 0) return undefined;
    // "can only promote a learner member" alone means it is no learner any more: done.
    if (/can only promote a learner member(?! which)/.test(o.stderr)) return undefined;
    return lastLine(o.stderr) || `exit code ${o.code}`;
  },
};

/**
 * Planned role swap with no loss: wait until the learner has applied everything, promote it, move the
 * leadership to it, remove the old main, archive the old main's data and bring it back as the learner.
 * Between promote and remove the cluster has two voters (quorum 2): those steps follow each other directly.
 */
export function planSwitchover(inputs: SwitchoverInputs): SwitchoverPlan {
  const { pair, observations } = inputs;
  const obs = (node: NodeSpec) => observations.find((o) => o.node === node.name);
  const leader = leadingNode(pair, observations);
  const none = { newMain: "", oldMain: "", steps: [], warnings: [] };
  if (!leader) {
    return {
      ...none,
      refusal: {
        message: "no node leads a cluster",
        hint: "run 'etcd-pair status'; if the main crashed, use 'etcd-pair failover'",
      },
    };
  }
  const leaderObs = obs(leader)!;
  const members = leaderObs.members?.members ?? [];
  const voters = members.filter((m) => !m.isLearner);
  const other = peerOf(pair, leader);
  // With two voters (an interrupted switchover) the target is the one that joined as a learner.
  const target =
    inputs.target ??
    (voters.length === 2 ? pair.nodes.find((n) => obs(n)?.envState === "existing") : undefined) ??
    (memberOf(leaderObs, other)?.isLearner ? other : undefined);
  if (!target) {
    return {
      ...none,
      refusal: {
        message: `${other.name} is not a learner of ${leader.name}'s cluster`,
        hint: `bring it back with 'etcd-pair rejoin ${other.name}'`,
      },
    };
  }
  const oldMain = peerOf(pair, target);
  const base = { newMain: target.name, oldMain: oldMain.name };
  const targetObs = obs(target)!;
  const oldObs = obs(oldMain)!;
  const warnings = [
    ...new Set([targetObs, oldObs].flatMap((o) => (o.version ? judgeVersion(o.version).promotionWarnings : []))),
  ];
  const targetMember = memberOf(leaderObs, target);
  const oldMember = memberOf(leaderObs, oldMain);
  const token = leaderObs.generation ?? leaderObs.envToken ?? "";

  const steps: Step[] = [];
  const targetIsVoter = targetMember !== undefined && !targetMember.isLearner;
  if (leader.name === target.name && oldMember?.isLearner && oldObs.running && oldObs.status?.isLearner) {
    return { ...base, steps: [], warnings: [] }; // Already done: the target leads, the other is its learner.
  }
  if (leader.name === oldMain.name && !targetIsVoter) {
    if (!targetMember || !targetObs.running || !targetObs.status?.isLearner) {
      return {
        ...base,
        steps: [],
        warnings,
        refusal: {
          message: `${target.name} is not a running learner of ${oldMain.name}'s cluster`,
          hint: `run 'etcd-pair up' or 'etcd-pair rejoin ${target.name}' first`,
        },
      };
    }
    steps.push(
      {
        id: "switch.caught-up",
        title: `wait until ${target.name} has applied everything ${oldMain.name} has`,
        node: target.name,
        kind: "verify",
        actions: [
          {
            kind: "poll",
            probes: [
              { node: oldMain.name, command: etcdctl(oldMain, endpointStatusArgs) },
              { node: target.name, command: etcdctl(target, endpointStatusArgs) },
            ],
            until: appliedConverged,
            timeoutMs: inputs.catchUpTimeoutMs,
            intervalMs: 20,
          },
        ],
        hint: "nothing was changed: the learner is behind (check its disk and network) and the switchover is refused",
      },
      {
        id: "switch.promote",
        title: `promote ${target.name} to a voter (two voters from here until ${oldMain.name} is removed)`,
        node: oldMain.name,
        kind: "change",
        actions: [
          {
            kind: "poll",
            probes: [{ node: oldMain.name, command: etcdctl(oldMain, ["member", "promote", targetMember.id]) }],
            until: promoted,
            timeoutMs: 15_000,
            intervalMs: 50,
          },
        ],
      },
    );
  }
  if (leader.name !== target.name || steps.length > 0) {
    const targetId = targetMember?.id ?? targetObs.status?.memberId ?? "";
    steps.push({
      id: "switch.move-leader",
      title: `move the leadership from ${oldMain.name} to ${target.name}`,
      node: oldMain.name,
      kind: "change",
      actions: [
        {
          kind: "poll",
          probes: [{ node: oldMain.name, command: etcdctl(oldMain, ["move-leader", targetId]) }],
          until: {
            describe: "exit 0",
            check: ([o]) => (o?.code === 0 ? undefined : lastLine(o?.stderr ?? "") || "failed"),
          },
          timeoutMs: 15_000,
          intervalMs: 100,
        },
      ],
      hint: `two voters now: if ${oldMain.name} or ${target.name} stops, nothing is writable until it is back`,
    });
  }
  if (oldMember) steps.push(memberRemoveStep(target, oldMember, oldMain.name, "switch"));
  steps.push(mainSmokeStep(target, "newmain", token, inputs.canaryValue));
  steps.push(...fileSteps(pair, target, "newmain", { as: "main", token }, targetObs, inputs.service(target)));
  // The removed old main exits by itself; stopping makes sure, and its service must not bring it back.
  steps.push(stopStep(oldMain, "oldmain", inputs.service(oldMain)));
  steps.push(archiveNodeStateStep(oldMain, "oldmain", inputs.stamp));
  const emptied: NodeObservation = { ...oldObs, running: false, dataDir: "absent" };
  delete emptied.generation;
  steps.push(...joinSteps(pair, target, oldMain, token, emptied, false, inputs.service(oldMain)));
  steps.push(...pairVerificationSteps(target, oldMain, inputs.canaryValue));
  return { ...base, steps, warnings };
}
