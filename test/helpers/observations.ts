import type { EndpointStatus, Member } from "../../src/etcd/status.js";
import { parseVersion } from "../../src/etcd/version.js";
import type { NodeObservation } from "../../src/plan/observed.js";

export const MAIN_ID = "aaaaaaaaaaaaaaaa";
export const LEARNER_ID = "bbbbbbbbbbbbbbbb";
export const CLUSTER_ID = "cccccccccccccccc";

/** A host with etcd 3.5.16 installed and nothing else. */
export function freshHost(node: string, overrides: Partial<NodeObservation> = {}): NodeObservation {
  return {
    node,
    reachable: true,
    binaries: { etcd: true, etcdctl: true, etcdutl: true },
    version: parseVersion("3.5.16"),
    running: false,
    dataDir: "absent",
    restoring: false,
    fileHashes: {},
    listeningPorts: [],
    ...overrides,
  };
}

const GiB = 1024 ** 3;

/** A systemd host as a full probe sees it before `up`: etcd 3.5.16, every preflight check fine. */
export function readyHost(node: string, overrides: Partial<NodeObservation> = {}): NodeObservation {
  return freshHost(node, {
    systemd: true,
    etcdUser: true,
    arch: "x86_64",
    clockOffsetMs: 0,
    clockRttMs: 20,
    disk: { path: "/var/lib", availableBytes: 50 * GiB, mountPoint: "/" },
    peerReach: { result: "refused" },
    packagedUnit: { active: "inactive", enabled: "" },
    ...overrides,
  });
}

export function status(memberId: string, leaderId: string, overrides: Partial<EndpointStatus> = {}): EndpointStatus {
  return {
    endpoint: "",
    clusterId: CLUSTER_ID,
    memberId,
    leaderId,
    revision: 5,
    raftTerm: 2,
    raftIndex: 100,
    appliedIndex: 100,
    dbSizeBytes: 20480,
    dbSizeInUseBytes: 16384,
    version: "3.5.16",
    isLearner: false,
    errors: [],
    ...overrides,
  };
}

export function member(id: string, name: string, peerPort: number, isLearner: boolean): Member {
  return { id, name, peerUrls: [`http://127.0.0.1:${peerPort}`], clientUrls: [], isLearner };
}

/** A running one-member main that leads, with `members` in its member list. */
export function runningMain(node: string, members: Member[], token = "demo-000000000001"): NodeObservation {
  return freshHost(node, {
    running: true,
    dataDir: "member",
    generation: token,
    envToken: token,
    envState: "new",
    status: status(MAIN_ID, MAIN_ID),
    members: { clusterId: CLUSTER_ID, members },
  });
}

export function runningLearner(node: string, token = "demo-000000000001", appliedIndex = 100): NodeObservation {
  return freshHost(node, {
    running: true,
    dataDir: "member",
    generation: token,
    envToken: token,
    envState: "existing",
    status: status(LEARNER_ID, MAIN_ID, { isLearner: true, appliedIndex, raftIndex: appliedIndex }),
  });
}
