import type { NodeSpec } from "../config/resolve.js";

function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** https where the pair runs with TLS (the default), http only by an explicit tls: false. */
function scheme(node: Pick<NodeSpec, "tls">): string {
  return node.tls ? "https" : "http";
}

export function clientUrl(node: NodeSpec): string {
  return `${scheme(node)}://${urlHost(node.address)}:${node.clientPort}`;
}

export function peerUrl(node: NodeSpec): string {
  return `${scheme(node)}://${urlHost(node.address)}:${node.peerPort}`;
}

/** The --initial-cluster value for the given members, in order. */
export function initialCluster(members: readonly NodeSpec[]): string {
  return members.map((member) => `${member.name}=${peerUrl(member)}`).join(",");
}
