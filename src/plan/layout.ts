import path from "node:path";
import type { NodeSpec } from "../config/resolve.js";

/** Where a node's files live on its host. */
export interface NodeLayout {
  root: string;
  dataDir: string;
  /** etcd's settings as ETCD_* variables: what kube-bench and operators read. */
  envFile: string;
  /** ETCDCTL_* variables so an operator can run etcdctl against this member by hand. */
  ctlEnvFile: string;
  startScript: string;
  stateDir: string;
  /** Holds the cluster token this node was last a member of: the start script's guard against re-bootstrap. */
  generationFile: string;
  /** Present once the pair failed over away from this node: the start script refuses to run etcd. */
  fencedFile: string;
  /** The cluster token of a failover to this node that has begun: a re-run reuses it. */
  failoverTokenFile: string;
  /** Where a failover restores the learner's db before swapping it in for the data dir. */
  restoreDir: string;
  archiveDir: string;
  logFile: string;
  pidFile: string;
}

export function nodeLayout(node: NodeSpec): NodeLayout {
  const root = node.host.dir;
  const at = (...parts: string[]) => path.posix.join(root, ...parts);
  return {
    root,
    dataDir: at("data"),
    envFile: at("etcd.env"),
    ctlEnvFile: at("etcdctl.env"),
    startScript: at("etcd-start.sh"),
    stateDir: at("state"),
    generationFile: at("state", "generation"),
    fencedFile: at("state", "fenced"),
    failoverTokenFile: at("state", "failover-token"),
    restoreDir: at("data.restoring"),
    archiveDir: at("archive"),
    logFile: at("etcd.log"),
    pidFile: at("etcd.pid"),
  };
}
