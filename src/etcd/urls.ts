import type { NodeSpec } from "../config/resolve.js";

function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

export function clientUrl(node: NodeSpec): string {
  return `http://${urlHost(node.address)}:${node.clientPort}`;
}

export function peerUrl(node: NodeSpec): string {
  return `http://${urlHost(node.address)}:${node.peerPort}`;
}

/** The --initial-cluster value for the given members, in order. */
export function initialCluster(members: readonly NodeSpec[]): string {
  return members.map((member) => `${member.name}=${peerUrl(member)}`).join(",");
}
