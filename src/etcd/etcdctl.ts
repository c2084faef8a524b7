import type { NodeSpec } from "../config/resolve.js";
import { shJoin } from "../render/shell.js";
import { clientUrl } from "./urls.js";

/** Timeouts short enough that a dead or frozen member does not stall a status call. */
const TIMEOUTS = ["--dial-timeout=2s", "--command-timeout=5s"];

/** An etcdctl command run on `node`'s host against `node`'s own client URL. */
export function etcdctl(node: NodeSpec, args: readonly string[]): string {
  return `ETCDCTL_API=3 ${shJoin([`${node.binDir}/etcdctl`, `--endpoints=${clientUrl(node)}`, ...TIMEOUTS, ...args])}`;
}

export const endpointStatusArgs = ["endpoint", "status", "-w", "json"];
export const memberListArgs = ["member", "list", "-w", "json"];
