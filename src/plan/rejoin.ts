import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { etcdctl } from "../etcd/etcdctl.js";
import type { Member } from "../etcd/status.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { lastLine } from "../etcd/status.js";
import { pairVerificationSteps } from "./checks.js";
import { assessLossStep } from "./lossAssessment.js";
import { nodeLayout } from "../config/layout.js";
import { missingTools } from "./binaries.js";
import type { NodeObservation } from "./observed.js";
import type { Blocker } from "./preflight.js";
import type { Expectation, Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";
import { pairView, type PairView } from "./pairView.js";
import { firstRefusal, type Planned, type Refusal } from "./refusal.js";
import { archiveCommand, stopStep } from "./steps.js";
import { joinSteps } from "./up.js";

/** Moves whatever of a node's old state exists into its archive: data dir, generation, fence marker. */
export function archiveNodeStateStep(node: NodeSpec, prefix: StepPrefix<"archive">, stamp: string): Step {
  const layout = nodeLayout(node);
  const moves = [
    [layout.dataDir, `data-${stamp}`],
    [layout.restoreDir, `data.restoring-${stamp}`],
    [layout.generationFile, `generation-${stamp}`],
    [layout.fencedFile, `fenced-${stamp}`],
    [layout.failoverTokenFile, `failover-token-${stamp}`],
    [layout.restoredFromFile, `restored-from-${stamp}`],
  ].map(
    ([path = "", name = ""]) => `if [ -e ${shQuote(path)} ]; then ${archiveCommand(path, layout.archiveDir, name)}; fi`,
  );
  return {
    id: `${prefix}.archive`,
    title: `archive ${node.name}'s old data dir and markers into ${layout.archiveDir}`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command: moves.join(" && ") }],
  };
}

const removeAccepted: Expectation = {
  describe: "exit 0, or the member is gone already",
  check: ([o]) => {
    if (!o) return "no outcome";
    if (o.code === 0 || /member not found/i.test(o.stderr)) return undefined;
    return lastLine(o.stderr) || `exit code ${o.code}`;
  },
};

export function memberRemoveStep(via: NodeSpec, member: Member, who: string, prefix: StepPrefix<"remove">): Step {
  return {
    id: `${prefix}.remove`,
    title: `remove ${who} (member ${member.id}) from ${via.name}'s cluster`,
    node: via.name,
    kind: "change",
    actions: [
      {
        kind: "poll",
        // Rejected ("unhealthy cluster") until the leader has been connected to the other voter for 5 s.
        probes: [{ node: via.name, command: etcdctl(via, ["member", "remove", member.id]) }],
        until: removeAccepted,
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    ],
    hint: "etcd refuses to remove a voter until the leader has been connected to it for 5 s; run the command again",
  };
}

export interface RejoinInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  node: NodeSpec;
  service: (node: NodeSpec) => ServiceManager;
  stamp: string;
  canaryValue: string;
}

export interface RejoinPlan {
  main: string;
  steps: Step[];
  /**
   * The revision the main's data was restored at by the failover, when this rejoin reads the node's own last
   * revision (step assess.loss) before archiving its data: the loss the failover could not measure.
   */
  restoredRevision?: number;
}

/** Why `node` cannot rejoin the current main, or undefined. */
export function rejoinRefusal(view: PairView, node: NodeSpec): Refusal | undefined {
  const main = view.leader();
  const nodeObs = view.of(node);
  return firstRefusal([
    () =>
      main
        ? undefined
        : {
            message: `cannot rejoin ${node.name}: no node leads a cluster`,
            hint: "run 'etcd-pair failover' first, or 'etcd-pair status'",
          },
    () =>
      main?.name === node.name
        ? {
            message: `cannot rejoin ${node.name}: ${node.name} is the main`,
            hint: `rejoin the other node (${view.peer(node).name})`,
          }
        : undefined,
    () =>
      nodeObs.reachable
        ? undefined
        : { message: `${node.name} cannot be reached: ${nodeObs.error ?? ""}`, hint: "bring its host back first" },
    () => {
      const member = main ? view.memberEntry(main, node) : undefined;
      return member && !member.isLearner && nodeObs.running
        ? {
            message: `${node.name} is a running voter of ${main?.name}'s cluster: a switchover was interrupted`,
            hint: `finish it with 'etcd-pair switchover --to ${main?.name}'`,
          }
        : undefined;
    },
  ]);
}

/** The binaries rejoin runs: etcd and etcdctl on the node (start, checks), etcdctl on the main (member add/remove). */
export function rejoinToolBlockers(view: PairView, node: NodeSpec): Blocker[] {
  const main = view.leader();
  return [
    ...missingTools(node, view.of(node), ["etcd", "etcdctl"]),
    ...(main && main.name !== node.name ? missingTools(main, view.of(main), ["etcdctl"]) : []),
  ];
}

/** Brings a node back as the learner of the current main: its old data archived, never started on it. */
export function planRejoin(inputs: RejoinInputs): Planned<RejoinPlan> {
  const { pair, node } = inputs;
  const view = pairView(pair, inputs.observations);
  const refusal = rejoinRefusal(view, node);
  if (refusal) return { ok: false, refusal };
  // rejoinRefusal refuses a pair that no node leads.
  const main = view.leader() as NodeSpec;
  const mainObs = view.of(main);
  const nodeObs = view.of(node);
  const token = mainObs.generation ?? mainObs.envToken ?? "";
  const member = view.memberEntry(main, node);
  const healthyLearner =
    member?.isLearner &&
    nodeObs.running &&
    nodeObs.status?.isLearner &&
    nodeObs.status.clusterId === mainObs.status?.clusterId;
  if (healthyLearner && nodeObs.generation === token) {
    return { ok: true, plan: { main: main.name, steps: pairVerificationSteps(main, node, inputs.canaryValue) } };
  }
  const steps: Step[] = [];
  // A member entry that is not an unstarted learner waiting for this node's empty data dir is stale.
  const resumable = member?.isLearner && !nodeObs.running && nodeObs.dataDir !== "member";
  if (nodeObs.running) steps.push(stopStep(node, "rejoin", inputs.service(node)));
  // Data of an earlier generation than the one the failover made (its generation file says so; a rejoin that was
  // interrupted after archiving it leaves none): what it holds past the restored revision was lost. The failover
  // measures that only when the old main's host answered; a powered-off one is read now.
  const restored = mainObs.restoredFrom?.token === token ? mainObs.restoredFrom : undefined;
  const measure = restored && nodeObs.dataDir === "member" && nodeObs.generation && nodeObs.generation !== token;
  if (measure) steps.push(assessLossStep(node));
  if (member && !resumable) steps.push(memberRemoveStep(main, member, node.name, "rejoin"));
  const hasOldState =
    nodeObs.dataDir !== "absent" || nodeObs.generation || nodeObs.fenced || nodeObs.restoring || nodeObs.failoverToken;
  if (hasOldState) steps.push(archiveNodeStateStep(node, "rejoin", inputs.stamp));
  const emptied: NodeObservation = { ...nodeObs, running: false, dataDir: "absent" };
  delete emptied.generation;
  steps.push(...joinSteps(pair, main, node, token, emptied, Boolean(resumable), inputs.service(node)));
  steps.push(...pairVerificationSteps(main, node, inputs.canaryValue));
  return { ok: true, plan: { main: main.name, steps, ...(measure ? { restoredRevision: restored.revision } : {}) } };
}
