import type { EndpointStatus, MemberList } from "../etcd/status.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { WalIdentity } from "../etcd/wal.js";
import type { MemberHealth } from "../etcd/health.js";
import type { VersionEndpoint } from "./probeSections.js";
import type { UpgradeMarker } from "./upgradeMarker.js";

/** What a node's data dir holds. "foreign": files, but no etcd member data. */
export type DataDirState = "absent" | "empty" | "member" | "foreign";

export interface DiskSpace {
  /** The data dir, or its nearest existing parent, that df measured. */
  path: string;
  availableBytes: number;
  mountPoint: string;
}

/**
 * "open": something accepts connections; "refused": the host answered but nothing listens (fine before etcd
 * runs); "unreachable": no answer, no route, or the name does not resolve; "unknown": could not test (no bash).
 */
export interface PeerReach {
  result: "open" | "refused" | "unreachable" | "unknown";
  /** What the connection attempt reported, when it failed. */
  detail?: string;
}

/** One read-only look at a node, taken in a single round trip to its host. */
export interface NodeObservation {
  node: string;
  reachable: boolean;
  /** Why the host could not be reached or probed. */
  error?: string;
  binaries: { etcd: boolean; etcdctl: boolean; etcdutl: boolean };
  /** undefined when etcd is missing or its version output was not understood. */
  version?: EtcdVersion;
  running: boolean;
  /** etcd's pid on its host, when it runs. */
  pid?: number;
  dataDir: DataDirState;
  /** The member and cluster IDs the data dir's newest WAL file records, when it holds member data. */
  walIdentity?: WalIdentity;
  /** A local node's own dir (local.dir) as the probe found it; left out when it does not exist (or on SSH hosts). */
  nodeDir?: { isDirectory: boolean; entries: string[] };
  /** SSH hosts: `<mode> <owner>:<group> <kind>` of the node's dir and state dir, by path (`stat`); missing ones absent. */
  pairDir?: Record<string, string>;
  /** The cluster token of the generation this node last joined (state/generation). */
  generation?: string;
  /** The cluster token in the node's current env file. */
  envToken?: string;
  /** ETCD_INITIAL_CLUSTER_STATE in the env file: "new" for a generation's main, "existing" for a learner. */
  envState?: string;
  /** Why the pair failed over away from this node (state/fenced), when it did. */
  fenced?: string;
  /** The token of a failover to this node that began and has not finished. */
  failoverToken?: string;
  /** The generation a failover restored this node's data as, and the revision it restored (state/restored-from). */
  restoredFrom?: { token: string; revision: number };
  /** When a switchover made this node main, from which node, in which generation (state/role-change). */
  switchedOver?: { at: string; from: string; token: string };
  /**
   * The pause marker (state/paused, written by `etcd-pair pause`): who paused the pair, when and why, as one line.
   * Absent when the node is not paused; `watch` acts on nothing while either node is.
   */
  paused?: string;
  /** The start script's last line (`etcd-pair: alpha waits: …`, `… starts: …`, `… refusing …`). */
  guard?: string;
  /** sha256 of the release tarball etcd-pair installed on this host, if it did. */
  installedTarball?: string;
  /** A restored data dir from a failover is waiting to be swapped in. */
  restoring: boolean;
  /** sha256 of each managed file that exists, by path. */
  fileHashes: Record<string, string>;
  /** TCP ports something listens on, on any address of the host. */
  listeningPorts: number[];
  /** uname -n: a name the node's certificate also carries. */
  hostname?: string;
  /** systemd runs as the host's init. */
  systemd?: boolean;
  /** The host has a user named etcd (systemd units run etcd as it). */
  etcdUser?: boolean;
  /** openssl(1) is on the host: a main's boot guard asks its peer with `openssl s_client` (mutual TLS). */
  openssl?: boolean;
  /** uname -m */
  arch?: string;
  /** This host's clock minus the controller's, in ms (estimated; see clockRttMs). */
  clockOffsetMs?: number;
  /** The probe's round trip minus its run time on the host: clockOffsetMs is right to within half of it. */
  clockRttMs?: number;
  /** Free space on the filesystem that holds (or will hold) the data dir. */
  disk?: DiskSpace;
  /** Whether this host could open a TCP connection to the other node's peer URL. */
  peerReach?: PeerReach;
  /** The etcd package's own etcd.service (SSH hosts with systemd): systemctl is-active / is-enabled. */
  packagedUnit?: { active: string; enabled: string };
  status?: EndpointStatus;
  statusError?: string;
  /**
   * What the running member's `GET /version` said: its server version, the cluster version (the lowest version
   * every member runs, as etcd decided it) and, from 3.6, its storage version. Absent when it did not answer.
   */
  versions?: VersionEndpoint;
  /** The running member's /livez and /readyz (same connection as /version); absent when its etcd lacks them. */
  health?: MemberHealth;
  /** The raft index of the newest snapshot file in the data dir (member/snap): a start replays the log after it. */
  snapshotIndex?: number;
  /** An upgrade that began and has not finished (state/upgrade), when there is one. */
  upgrade?: UpgradeMarker;
  /** From this member, when it is not a learner (learners refuse member list). */
  members?: MemberList;
  membersError?: string;
}

export function unreachable(node: string, error: string): NodeObservation {
  return {
    node,
    reachable: false,
    error,
    binaries: { etcd: false, etcdctl: false, etcdutl: false },
    running: false,
    dataDir: "absent",
    restoring: false,
    fileHashes: {},
    listeningPorts: [],
  };
}
