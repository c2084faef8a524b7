import type { NodeSpec, PairSpec } from "../config/resolve.js";
import type { EndpointStatus, Member } from "../etcd/status.js";
import { peerUrl } from "../etcd/urls.js";
import type { NodeObservation } from "./observed.js";

/** A voter that leads its cluster, as its own status says. */
export function statusLeads(status: EndpointStatus | undefined): boolean {
  return status !== undefined && !status.isLearner && status.leaderId === status.memberId;
}

/** What both nodes looked like, asked by node: every planner and guard reads the pair through this. */
export interface PairView {
  readonly pair: PairSpec;
  readonly observations: readonly NodeObservation[];
  /** The observation of `node` (every node of the pair was observed; a missing one is a programming error). */
  of(node: NodeSpec | string): NodeObservation;
  /** The other node of the pair. */
  peer(node: NodeSpec): NodeSpec;
  /** The node runs etcd and leads its cluster as a voter. */
  leads(node: NodeSpec): boolean;
  /** The node that leads a cluster as a voter, if any. */
  leader(): NodeSpec | undefined;
  /** `node`'s entry in the member list that `seenBy` reported, by peer URL or name. */
  memberEntry(seenBy: NodeSpec, node: NodeSpec): Member | undefined;
}

export function peerOf(pair: PairSpec, node: NodeSpec): NodeSpec {
  return pair.nodes[0].name === node.name ? pair.nodes[1] : pair.nodes[0];
}

export function pairView(pair: PairSpec, observations: readonly NodeObservation[]): PairView {
  const of = (node: NodeSpec | string): NodeObservation => {
    const name = typeof node === "string" ? node : node.name;
    const found = observations.find((o) => o.node === name);
    if (!found) throw new Error(`no observation of node ${name}`);
    return found;
  };
  const leads = (node: NodeSpec) => statusLeads(observations.find((o) => o.node === node.name)?.status);
  return {
    pair,
    observations,
    of,
    peer: (node) => peerOf(pair, node),
    leads,
    leader: () => pair.nodes.find(leads),
    memberEntry: (seenBy, node) =>
      of(seenBy).members?.members.find((m) => m.peerUrls.includes(peerUrl(node)) || m.name === node.name),
  };
}
