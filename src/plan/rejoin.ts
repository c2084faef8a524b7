import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { etcdctl } from "../etcd/etcdctl.js";
import type { Member } from "../etcd/status.js";
import { peerUrl } from "../etcd/urls.js";
import { shQuote } from "../render/shell.js";
import type { ServiceManager } from "../service/types.js";
import { lastLine } from "../etcd/status.js";
import { pairVerificationSteps } from "./checks.js";
import { assessLossStep } from "./failover.js";
import { nodeLayout } from "./layout.js";
import type { NodeObservation } from "./observed.js";
import type { Expectation, Step } from "./step.js";
import { leadingNode } from "./pairState.js";
import { archiveCommand, peerOf, stopStep } from "./steps.js";
import { joinSteps } from "./up.js";

export interface Refusal {
  message: string;
  hint: string;
}

export function memberOf(main: NodeObservation, node: NodeSpec): Member | undefined {
  return main.members?.members.find((m) => m.peerUrls.includes(peerUrl(node)) || m.name === node.name);
}

/** Moves whatever of a node's old state exists into its archive: data dir, generation, fence marker. */
export function archiveNodeStateStep(node: NodeSpec, prefix: string, stamp: string): Step {
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

export function memberRemoveStep(via: NodeSpec, member: Member, who: string, prefix: string): Step {
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
  refusal?: Refusal;
  main: string;
  steps: Step[];
  /**
   * The revision the main's data was restored at by the failover, when this rejoin reads the node's own last
   * revision (step assess.loss) before archiving its data: the loss the failover could not measure.
   */
  restoredRevision?: number;
}

/** Brings a node back as the learner of the current main: its old data archived, never started on it. */
export function planRejoin(inputs: RejoinInputs): RejoinPlan {
  const { pair, observations, node } = inputs;
  const main = leadingNode(pair, observations);
  if (!main || main.name === node.name) {
    const why = main ? `${node.name} is the main` : "no node leads a cluster";
    return {
      main: main?.name ?? "",
      steps: [],
      refusal: {
        message: `cannot rejoin ${node.name}: ${why}`,
        hint: main
          ? `rejoin the other node (${peerOf(pair, node).name})`
          : "run 'etcd-pair failover' first, or 'etcd-pair status'",
      },
    };
  }
  const mainObs = observations.find((o) => o.node === main.name);
  const nodeObs = observations.find((o) => o.node === node.name);
  if (!mainObs || !nodeObs) throw new Error("observations of both nodes are needed");
  if (!nodeObs.reachable) {
    return {
      main: main.name,
      steps: [],
      refusal: { message: `${node.name} cannot be reached: ${nodeObs.error ?? ""}`, hint: "bring its host back first" },
    };
  }
  const token = mainObs.generation ?? mainObs.envToken ?? "";
  const member = memberOf(mainObs, node);
  const healthyLearner =
    member?.isLearner &&
    nodeObs.running &&
    nodeObs.status?.isLearner &&
    nodeObs.status.clusterId === mainObs.status?.clusterId;
  const steps: Step[] = [];
  if (healthyLearner && nodeObs.generation === token) {
    return { main: main.name, steps: pairVerificationSteps(main, node, inputs.canaryValue) };
  }
  if (member && !member.isLearner && nodeObs.running) {
    return {
      main: main.name,
      steps: [],
      refusal: {
        message: `${node.name} is a running voter of ${main.name}'s cluster: a switchover was interrupted`,
        hint: `finish it with 'etcd-pair switchover --to ${main.name}'`,
      },
    };
  }
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
  return { main: main.name, steps, ...(measure ? { restoredRevision: restored.revision } : {}) };
}
