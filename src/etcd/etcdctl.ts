import type { NodeSpec } from "../config/resolve.js";
import { shJoin } from "../shell/quote.js";
import { clientUrl } from "./urls.js";

/** Timeouts short enough that a dead or frozen member does not stall a status call. */
const TIMEOUTS = ["--dial-timeout=2s", "--command-timeout=5s"];

/** etcd-pair's client certificate on the node's host, and the CA to check the member with. */
export function tlsFlags(node: NodeSpec): string[] {
  const tls = node.tls;
  return tls ? [`--cacert=${tls.caFile}`, `--cert=${tls.clientCertFile}`, `--key=${tls.clientKeyFile}`] : [];
}

/**
 * Timeouts for a quick look at a member that may not serve yet (it accepts TCP before it has published itself):
 * each look ends within ~0.3 s either way.
 */
export const QUICK_TIMEOUTS = ["--dial-timeout=300ms", "--command-timeout=300ms"];

/** An etcdctl command run on `node`'s host against `endpoint` (default: `node`'s own client URL). */
export function etcdctl(
  node: NodeSpec,
  args: readonly string[],
  endpoint = clientUrl(node),
  timeouts: readonly string[] = TIMEOUTS,
): string {
  const argv = [`${node.binDir}/etcdctl`, `--endpoints=${endpoint}`, ...tlsFlags(node), ...timeouts, ...args];
  return `ETCDCTL_API=3 ${shJoin(argv)}`;
}

export const endpointStatusArgs = ["endpoint", "status", "-w", "json"];
export const memberListArgs = ["member", "list", "-w", "json"];
