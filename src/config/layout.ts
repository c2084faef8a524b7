import path from "node:path";
import type { NodeSpec } from "./resolve.js";

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
  /** `<cluster token> <unix seconds>`: etcd-pair checked both hosts and approves starting this main (boot guard). */
  startApprovalFile: string;
  /** One line per `start-alone` of this node: when, who, what was checked. */
  startedAloneFile: string;
  /**
   * Written by the failover that restored this node's data: its cluster token, then the snapshot status of the
   * db it restored (the revision). A later rejoin of the old main measures that node's loss against it.
   */
  restoredFromFile: string;
  /** Written by a switchover on the node it made main: `switchover <ISO time> <old main> <cluster token>`. */
  roleChangeFile: string;
  /**
   * Written by the failover that made this node the main of a one-member cluster (its cluster token); removed
   * before any member is added to it. While it is there, no failover away from this node can have happened
   * (a failover needs a learner), so its boot guard may start it without its peer (README: Boot guard, case e).
   */
  soleMemberFile: string;
  /** Present while the pair is paused (`etcd-pair pause`): who paused it, when and why; `watch` acts on nothing. */
  pausedFile: string;
  /** The pair's history, one JSON object per line (`etcd-pair history`): kept on both hosts. */
  historyFile: string;
  /** Where a failover restores the learner's db before swapping it in for the data dir. */
  restoreDir: string;
  archiveDir: string;
  logFile: string;
  pidFile: string;
  /** Where an uploaded etcd release tarball is checked and unpacked. */
  installDir: string;
  /** sha256 of the release tarball installed into binDir (install: tarball). */
  installMarkerFile: string;
  /** Who owns the data dir on the host, where etcd runs as its own user (systemd hosts); local nodes: nobody. */
  dataOwner?: string;
  /** Owner of the env file, readable by etcd but not by everyone. */
  envOwner?: string;
}

export function nodeLayout(node: NodeSpec): NodeLayout {
  const root = node.stateDir;
  const at = (...parts: string[]) => path.posix.join(root, ...parts);
  const config = (file: string) => path.posix.join(node.configDir, file);
  return {
    root,
    dataDir: at("data"),
    envFile: config("etcd.env"),
    ctlEnvFile: config("etcdctl.env"),
    startScript: config("etcd-start.sh"),
    stateDir: at("state"),
    generationFile: at("state", "generation"),
    fencedFile: at("state", "fenced"),
    failoverTokenFile: at("state", "failover-token"),
    startApprovalFile: at("state", "start-approved"),
    startedAloneFile: at("state", "started-alone"),
    restoredFromFile: at("state", "restored-from"),
    roleChangeFile: at("state", "role-change"),
    soleMemberFile: at("state", "sole-member"),
    pausedFile: at("state", "paused"),
    historyFile: at("state", "history.jsonl"),
    restoreDir: at("data.restoring"),
    archiveDir: at("archive"),
    logFile: at("etcd.log"),
    pidFile: at("etcd.pid"),
    installDir: at("install"),
    installMarkerFile: config("etcd-tarball.sha256"),
    ...(node.host.kind === "ssh" ? { dataOwner: "etcd:etcd", envOwner: "root:etcd" } : {}),
  };
}
