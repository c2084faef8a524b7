import { randomBytes } from "node:crypto";
import type { NodeSpec } from "../config/resolve.js";
import { probeCommand, parseProbe } from "../plan/probe.js";
import { nodeLayout } from "../config/layout.js";
import { unreachable, type NodeObservation } from "../plan/observed.js";
import { peerOf } from "../plan/pairView.js";
import type { Hosts } from "./hosts.js";

const PROBE_TIMEOUT_MS = 20_000;

/** One read-only round trip to a node's host. */
export async function observeNode(hosts: Hosts, node: NodeSpec): Promise<NodeObservation> {
  const transport = hosts.transport(node.name);
  try {
    // A new nonce per probe: nothing on the host can print a line that passes for one of its section headers.
    const nonce = randomBytes(8).toString("hex");
    const command = probeCommand(node, nodeLayout(node), hosts.service(node), peerOf(hosts.pair, node), nonce);
    // The controller's clock around the round trip: the host's clock is compared with its midpoint.
    const before = Date.now();
    const outcome = await transport.exec(command, { timeoutMs: PROBE_TIMEOUT_MS });
    const after = Date.now();
    if (outcome.code !== 0) {
      const why = /sudo/.test(outcome.stderr) ? `sudo -n failed: ${outcome.stderr.trim()}` : outcome.stderr.trim();
      return unreachable(node.name, `probe exited ${outcome.code}: ${why}`);
    }
    return parseProbe(node.name, outcome.stdout, { before, after }, nonce);
  } catch (err) {
    return unreachable(node.name, (err as Error).message);
  }
}

/** Both nodes, in parallel. */
export async function observePair(hosts: Hosts): Promise<NodeObservation[]> {
  return Promise.all(hosts.pair.nodes.map((node) => observeNode(hosts, node)));
}
