import type { PairSpec } from "../config/resolve.js";
import type { Member } from "../etcd/status.js";
import type { NodeObservation } from "./observed.js";
import { statusLeads } from "./pairView.js";

/** inert: a main whose boot guard waits to learn whether the pair failed over while it was away. */
export type Role = "leader" | "learner" | "follower" | "down" | "inert" | "not-member" | "unknown";

export interface NodeState {
  name: string;
  reachable: boolean;
  running: boolean;
  role: Role;
  memberId: string | null;
  version: string | null;
  raftIndex: number | null;
  appliedIndex: number | null;
  dbSizeBytes: number | null;
  /** Committed entries of the leader this node has not applied; null when unknown. */
  lagEntries: number | null;
  /** Why the role is down/unknown/not-member, when there is something to say. */
  detail?: string;
}

export interface PairState {
  cluster: string;
  healthy: boolean;
  leader: string | null;
  nodes: NodeState[];
  /** Why the pair is not healthy; empty when it is. */
  problems: string[];
}

/** The cluster's member list, as seen by a member that is not a learner. */
function memberList(observations: readonly NodeObservation[]): Member[] | undefined {
  return observations.find((o) => o.members && o.status && !o.status.isLearner)?.members?.members;
}

/** Below this much free space etcd cannot cut its next WAL file (64 MiB): the node is as good as down. */
export const DISK_FULL_BYTES = 64 * 1024 ** 2;

export function derivePairState(pair: PairSpec, observations: readonly NodeObservation[]): PairState {
  const byName = new Map(observations.map((o) => [o.node, o]));
  const members = memberList(observations);
  const leaderObservation = observations.find((o) => statusLeads(o.status));
  const leaderIndex = leaderObservation?.status?.raftIndex;

  const nodes = pair.nodes.map((spec): NodeState => {
    const o = byName.get(spec.name);
    const base: NodeState = {
      name: spec.name,
      reachable: o?.reachable ?? false,
      running: o?.running ?? false,
      role: "unknown",
      memberId: o?.status?.memberId ?? null,
      version: o?.status?.version ?? o?.version?.text ?? null,
      raftIndex: o?.status?.raftIndex ?? null,
      appliedIndex: o?.status?.appliedIndex ?? null,
      dbSizeBytes: o?.status?.dbSizeBytes ?? null,
      lagEntries: null,
    };
    if (!o || !o.reachable) return { ...base, detail: o?.error ?? "host not probed" };
    if (!o.running) {
      const waits = /^etcd-pair: \S+ waits: (.*)$/.exec(o.guard ?? "")?.[1];
      return waits
        ? { ...base, role: "inert", detail: waits }
        : { ...base, role: "down", detail: "etcd is not running" };
    }
    const status = o.status;
    if (!status) return { ...base, detail: o.statusError ?? "etcd did not answer endpoint status" };
    const lagEntries = leaderIndex === undefined ? null : Math.max(0, leaderIndex - status.appliedIndex);
    if (members && !members.some((m) => m.id === status.memberId)) {
      return { ...base, role: "not-member", lagEntries: null, detail: "not in the cluster's member list" };
    }
    const role: Role = status.isLearner ? "learner" : statusLeads(status) ? "leader" : "follower";
    return { ...base, role, lagEntries };
  });

  const problems: string[] = [];
  const leaders = nodes.filter((n) => n.role === "leader");
  const learners = nodes.filter((n) => n.role === "learner");
  for (const node of nodes) {
    if (node.role !== "leader" && node.role !== "learner") {
      problems.push(`${node.name} is ${node.role}${node.detail ? `: ${node.detail}` : ""}`);
    }
  }
  if (leaders.length === 0 && problems.length === 0) problems.push("no member is leader");
  if (learners.length === 0 && leaders.length === 1) problems.push("no learner: the pair has no standby");
  const clusterIds = new Set(observations.flatMap((o) => (o.status ? [o.status.clusterId] : [])));
  if (clusterIds.size > 1) {
    problems.push(`the nodes belong to different clusters (${[...clusterIds].join(", ")}): split brain or stale data`);
  }
  if (members && members.length > 2) problems.push(`the cluster has ${members.length} members, expected 2`);
  for (const o of observations) {
    if (o.disk && o.disk.availableBytes < DISK_FULL_BYTES) {
      problems.push(
        `${o.node}'s disk is full: ${Math.floor(o.disk.availableBytes / 1024 ** 2)} MiB free on ${o.disk.mountPoint} ` +
          "(etcd needs room for its next 64 MiB WAL file and its db); free space there, then 'etcd-pair up' restarts what stopped",
      );
    }
  }
  return {
    cluster: pair.cluster,
    healthy: problems.length === 0 && leaders.length === 1 && learners.length === 1,
    leader: leaders[0]?.name ?? null,
    nodes,
    problems,
  };
}
