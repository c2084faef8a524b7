import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { endpointStatusArgs, etcdctl } from "../etcd/etcdctl.js";
import type { Member } from "../etcd/status.js";
import { lastLine } from "../etcd/status.js";
import { judgeVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { appliedConverged, pairVerificationSteps } from "./checks.js";
import type { NodeObservation } from "./observed.js";
import { pairView, type PairView } from "./pairView.js";
import { refuse, type Planned, type Refusal } from "./refusal.js";
import { archiveNodeStateStep, memberRemoveStep } from "./rejoin.js";
import type { Expectation, Step } from "./step.js";
import { fileSteps, generationStep, mainSmokeStep, stopStep } from "./steps.js";
import { joinSteps } from "./up.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";

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
  newMain: string;
  oldMain: string;
  /** Empty when the target already leads and the other node is its learner. */
  steps: Step[];
  warnings: string[];
}

interface Roles {
  leader: NodeSpec;
  target: NodeSpec;
  oldMain: NodeSpec;
}

/**
 * Who leads now and who should: the target given, else (two voters: an interrupted switchover) the one that
 * joined as a learner, else the leader's learner.
 */
function switchoverRoles(view: PairView, wanted: NodeSpec | undefined): Roles | Refusal {
  const leader = view.leader();
  if (!leader) {
    return {
      message: "no node leads a cluster",
      hint: "run 'etcd-pair status'; if the main crashed, use 'etcd-pair failover'",
    };
  }
  const other = view.peer(leader);
  const voters = (view.of(leader).members?.members ?? []).filter((m) => !m.isLearner);
  const target =
    wanted ??
    (voters.length === 2 ? view.pair.nodes.find((n) => view.of(n).envState === "existing") : undefined) ??
    (view.memberEntry(leader, other)?.isLearner ? other : undefined);
  if (!target) {
    return {
      message: `${other.name} is not a learner of ${leader.name}'s cluster`,
      hint: `bring it back with 'etcd-pair rejoin ${other.name}'`,
    };
  }
  return { leader, target, oldMain: view.peer(target) };
}

/** The switchover is complete: the target leads and the other node runs as its learner. */
function switchedOver(view: PairView, { leader, target, oldMain }: Roles): boolean {
  const oldObs = view.of(oldMain);
  return (
    leader.name === target.name &&
    view.memberEntry(leader, oldMain)?.isLearner === true &&
    oldObs.running &&
    oldObs.status?.isLearner === true
  );
}

/** Why the target cannot be promoted from the current state, or undefined. */
export function switchoverRefusal(view: PairView, { leader, target, oldMain }: Roles): Refusal | undefined {
  const member = view.memberEntry(leader, target);
  const targetObs = view.of(target);
  const needsPromotion = leader.name === oldMain.name && !(member && !member.isLearner);
  if (needsPromotion && (!member || !targetObs.running || !targetObs.status?.isLearner)) {
    return {
      message: `${target.name} is not a running learner of ${oldMain.name}'s cluster`,
      hint: `run 'etcd-pair up' or 'etcd-pair rejoin ${target.name}' first`,
    };
  }
  return undefined;
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

/** Wait until the learner has applied everything, then promote it: two voters from here. */
function promoteSteps(target: NodeSpec, oldMain: NodeSpec, member: Member, catchUpTimeoutMs: number): Step[] {
  return [
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
          timeoutMs: catchUpTimeoutMs,
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
          probes: [{ node: oldMain.name, command: etcdctl(oldMain, ["member", "promote", member.id]) }],
          until: promoted,
          timeoutMs: 15_000,
          intervalMs: 50,
        },
      ],
    },
  ];
}

function moveLeaderStep(target: NodeSpec, oldMain: NodeSpec, targetId: string): Step {
  return {
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
  };
}

/** The marker status reads "last role change" from; the host's clock (preflight keeps the two within 1 s). */
function recordSwitchoverStep(target: NodeSpec, oldMain: NodeSpec, token: string): Step {
  const layout = nodeLayout(target);
  const record = `switchover "$(date -u +%Y-%m-%dT%H:%M:%SZ)" ${shQuote(oldMain.name)} ${shQuote(token)}`;
  return {
    id: "switch.record",
    title: `record on ${target.name} that it took over from ${oldMain.name} by switchover`,
    node: target.name,
    kind: "change",
    actions: [
      {
        kind: "exec",
        node: target.name,
        command: `mkdir -p ${shQuote(layout.stateDir)} && echo ${record} >${shQuote(layout.roleChangeFile)}`,
      },
    ],
  };
}

/**
 * Planned role swap with no loss: wait until the learner has applied everything, promote it, move the
 * leadership to it, remove the old main, archive the old main's data and bring it back as the learner.
 * Between promote and remove the cluster has two voters (quorum 2): those steps follow each other directly.
 */
export function planSwitchover(inputs: SwitchoverInputs): Planned<SwitchoverPlan> {
  const view = pairView(inputs.pair, inputs.observations);
  const roles = switchoverRoles(view, inputs.target);
  if ("message" in roles) return refuse(roles.message, roles.hint);
  const { leader, target, oldMain } = roles;
  const names = { newMain: target.name, oldMain: oldMain.name };
  if (switchedOver(view, roles)) {
    // Killed after the old main rejoined but before it recorded its generation: its boot guard needs it.
    const token = view.of(leader).generation;
    const unrecorded = token !== undefined && view.of(oldMain).generation !== token;
    const steps = unrecorded ? [generationStep(oldMain, "learner", token)] : [];
    return { ok: true, plan: { ...names, steps, warnings: [] } };
  }
  const refusal = switchoverRefusal(view, roles);
  if (refusal) return { ok: false, refusal };

  const targetObs = view.of(target);
  const oldObs = view.of(oldMain);
  const targetMember = view.memberEntry(leader, target);
  const oldMember = view.memberEntry(leader, oldMain);
  const token = view.of(leader).generation ?? view.of(leader).envToken ?? "";
  const steps: Step[] = [];
  if (leader.name === oldMain.name && targetMember?.isLearner) {
    steps.push(...promoteSteps(target, oldMain, targetMember, inputs.catchUpTimeoutMs));
  }
  if (leader.name !== target.name || steps.length > 0) {
    steps.push(moveLeaderStep(target, oldMain, targetMember?.id ?? targetObs.status?.memberId ?? ""));
  }
  if (oldMember) steps.push(memberRemoveStep(target, oldMember, oldMain.name, "switch"));
  steps.push(mainSmokeStep(target, "newmain", token, inputs.canaryValue));
  steps.push(recordSwitchoverStep(target, oldMain, token));
  steps.push(...fileSteps(inputs.pair, target, "newmain", { as: "main", token }, targetObs, inputs.service(target)));
  // The removed old main exits by itself; stopping makes sure, and its service must not bring it back.
  steps.push(stopStep(oldMain, "oldmain", inputs.service(oldMain)));
  steps.push(archiveNodeStateStep(oldMain, "oldmain", inputs.stamp));
  const emptied: NodeObservation = { ...oldObs, running: false, dataDir: "absent" };
  delete emptied.generation;
  steps.push(...joinSteps(inputs.pair, target, oldMain, token, emptied, false, inputs.service(oldMain)));
  steps.push(...pairVerificationSteps(target, oldMain, inputs.canaryValue));
  const warnings = [
    ...new Set([targetObs, oldObs].flatMap((o) => (o.version ? judgeVersion(o.version).promotionWarnings : []))),
  ];
  return { ok: true, plan: { ...names, steps, warnings } };
}
