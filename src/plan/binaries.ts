import type { NodeSpec } from "../config/resolve.js";
import { snapshotToolName } from "../etcd/snapshot.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { NodeObservation } from "./observed.js";
import type { Blocker } from "./preflight.js";

/** The etcd binaries a step may run from a node's binDir. */
export type Tool = "etcd" | "etcdctl" | "etcdutl";

/** Every binary some command runs on a node of this version: etcdutl too from 3.5 (snapshot restore, failover). */
export function toolsFor(version: EtcdVersion | undefined): Tool[] {
  return version ? [...new Set<Tool>(["etcd", "etcdctl", snapshotToolName(version)])] : ["etcd", "etcdctl"];
}

function why(tool: Tool, version: EtcdVersion | undefined): string {
  return tool === "etcdutl"
    ? `: etcd ${version?.text ?? "3.5+"} restores snapshots with etcdutl ('failover' and 'snapshot restore' run it)`
    : "";
}

function fix(tool: Tool, node: NodeSpec, version: EtcdVersion | undefined): string {
  if (tool !== "etcdutl") {
    return `install etcd 3.4.21+/3.5.5+ there, or set etcd.binDir (or nodes[].binDir) to where ${tool} is`;
  }
  return (
    `put etcdutl of the same release (etcd ${version?.text ?? "3.5+"}) into ${node.binDir}: release tarballs and ` +
    "Debian's etcd-client package carry it; or set etcd.binDir (or nodes[].binDir) to a dir that holds all three"
  );
}

/** One blocker per tool a later step runs on `node` that its binDir lacks, found before anything changed. */
export function missingTools(node: NodeSpec, o: NodeObservation, tools: readonly Tool[]): Blocker[] {
  return [...new Set(tools)]
    .filter((tool) => !o.binaries[tool])
    .map((tool) => ({
      node: node.name,
      problem: `${node.binDir}/${tool} is missing or not executable${why(tool, o.version)}`,
      fix: fix(tool, node, o.version),
    }));
}
