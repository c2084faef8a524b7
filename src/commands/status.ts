import { readFile } from "node:fs/promises";
import path from "node:path";
import type { PairSpec } from "../config/resolve.js";
import { derivePairState, type NodeState, type PairState } from "../plan/pairState.js";
import type { NodeObservation } from "../plan/observed.js";
import { CA_LABEL, judgeTls, type TlsState } from "../plan/tlsState.js";
import type { Hosts } from "../runtime/hosts.js";
import { certificateFacts } from "../pki/facts.js";
import { observePair } from "../runtime/observe.js";
import { readPairLocks } from "../runtime/lock.js";
import { currentGeneration, lastRoleChange, nextSteps, type Generation, type RoleChange } from "../plan/nextSteps.js";
import { describeHolder, type LockHolder } from "../plan/lock.js";
import { statusLeads } from "../plan/pairView.js";
import { pairPaused } from "../plan/pause.js";
import { formatBytes, show, table } from "./text.js";
import type { MemberHealth } from "../etcd/health.js";
import { describeHealth } from "../plan/memberHealth.js";
import { EXIT, type LookCommand } from "./command.js";

/** A node as status reports it: its state, and which etcd it runs and has installed. */
export interface StatusNode extends NodeState {
  /** The etcd the running member reports (endpoint status), or null when it does not run or answer. */
  serverVersion: string | null;
  /** `etcd --version` of the binary in the node's binDir: what it runs from its next start. */
  installedVersion: string | null;
  /** The cluster version this member reports (`GET /version`): the lowest version every member runs. */
  clusterVersion: string | null;
  /** The storage version this member reports (etcd 3.6 and later), or null. */
  storageVersion: string | null;
  /** The running member's /livez and /readyz (etcd 3.4.29+, 3.5.11+, 3.6+), or null when unknown. */
  health: MemberHealth | null;
}

export interface StatusReport extends PairState {
  nodes: StatusNode[];
  /** The cluster version as the leader (else any member) reports it: e.g. "3.6.0". */
  clusterVersion: string | null;
  tls: TlsState;
  /** The generation the leader serves: when it began and whether a failover or up made it. */
  generation: Generation | null;
  /** When the main last changed and how (switchover, failover, or up's bootstrap). */
  lastRoleChange: RoleChange | null;
  /** Per node, the command holding the pair lock ("held") or a holder that died with it ("stale"). */
  locks: Record<string, { state: "held" | "stale"; holder: LockHolder }>;
  /** What to do next, one line per thing to act on; empty when the pair is healthy and idle. */
  next: string[];
  /** The pause marker (who paused the pair, when, why), or null when no node holds one. */
  paused: string | null;
  /** The nodes holding a pause marker (one may lack it: it could not be reached when the pair was paused). */
  pausedOn: string[];
}

/** The pair's certificates as kept on the controller (what `up` copies to the hosts). */
async function controllerCertificates(pair: PairSpec): Promise<{ label: string; file: string; notAfter?: Date }[]> {
  const tls = pair.tls;
  if (!tls) return [];
  const files = [
    { label: CA_LABEL, file: tls.ca?.cert ?? path.join(tls.dir, "ca.crt") },
    ...pair.nodes.map((node) => ({ label: node.name, file: path.join(tls.dir, `${node.name}.crt`) })),
    { label: "client (etcd-pair)", file: path.join(tls.dir, "client.crt") },
  ];
  return Promise.all(
    files.map(async (cert) => {
      try {
        return { ...cert, notAfter: certificateFacts(await readFile(cert.file, "utf8")).notAfter };
      } catch {
        return cert;
      }
    }),
  );
}

/** Both nodes and the controller's certificates, looked at once each. */
export async function readStatus(hosts: Hosts): Promise<StatusReport> {
  const [observations, certificates, locks] = await Promise.all([
    observePair(hosts),
    controllerCertificates(hosts.pair),
    readPairLocks(hosts.pair.nodes, (name) => hosts.transport(name)),
  ]);
  const state = derivePairState(hosts.pair, observations);
  const paused = pairPaused(observations);
  const leader = observations.find((o) => statusLeads(o.status));
  const generation = currentGeneration(leader);
  const tls = judgeTls(hosts.pair.tls ? certificates : undefined, new Date());
  const held = [...locks].flatMap(([node, lock]) =>
    lock.kind === "free" ? [] : [[node, { state: lock.kind, holder: lock.holder }] as const],
  );
  const reporter = leader?.versions ?? observations.find((o) => o.versions)?.versions;
  return {
    ...state,
    nodes: state.nodes.map((n) =>
      statusNode(
        n,
        observations.find((o) => o.node === n.name),
      ),
    ),
    clusterVersion: reporter?.cluster ?? null,
    healthy: state.healthy && tls.problems.length === 0,
    problems: [...state.problems, ...tls.problems],
    tls,
    generation,
    lastRoleChange: lastRoleChange(leader, generation),
    locks: Object.fromEntries(held),
    next: nextSteps(hosts.pair, state.nodes, observations, locks),
    paused: paused?.text ?? null,
    pausedOn: paused?.on ?? [],
  };
}

function statusNode(node: NodeState, observation: NodeObservation | undefined): StatusNode {
  return {
    ...node,
    serverVersion: observation?.status?.version ?? null,
    installedVersion: observation?.version?.text ?? null,
    clusterVersion: observation?.versions?.cluster ?? null,
    storageVersion: observation?.versions?.storage ?? null,
    health: observation?.health ?? null,
  };
}

/** The cluster version, and each node whose binDir holds another etcd than the one it runs (an upgrade to do). */
function formatVersions(state: StatusReport): string {
  const storage = [...new Set(state.nodes.flatMap((n) => (n.storageVersion ? [n.storageVersion] : [])))];
  const cluster = state.clusterVersion
    ? `cluster version ${state.clusterVersion}${storage.length > 0 ? ` (storage ${storage.join(", ")})` : ""}\n`
    : "";
  const pending = state.nodes.flatMap((n) =>
    n.serverVersion && n.installedVersion && n.serverVersion !== n.installedVersion
      ? [
          `${n.name} runs etcd ${n.serverVersion}; its binDir holds ${n.installedVersion} ('etcd-pair upgrade' moves the pair to it)\n`,
        ]
      : [],
  );
  return cluster + pending.join("");
}

/** Each node's /livez and /readyz, where its etcd serves them. */
function formatHealth(state: StatusReport): string {
  return state.nodes
    .map((n) => (n.health ? `health ${n.name}: ${describeHealth(n.health, n.role === "learner")}\n` : ""))
    .join("");
}

function formatTls(tls: TlsState): string {
  if (tls.mode === "plaintext") return "TLS: off (plain text)\n";
  const certificates = tls.certificates.map(
    (c) => `  ${c.label}: ${c.notAfter ? `valid until ${c.notAfter.slice(0, 10)} (${c.daysLeft} days)` : "MISSING"}`,
  );
  return `TLS: mutual (clients and peers present certificates)\n${certificates.join("\n")}\n`;
}

export function formatStatus(state: StatusReport): string {
  const rows = state.nodes.map((n) => [
    n.name,
    n.role.toUpperCase(),
    show(n.version),
    show(n.memberId),
    show(n.raftIndex),
    show(n.appliedIndex),
    show(n.lagEntries),
    formatBytes(n.dbSizeBytes),
    n.reachable ? "yes" : "no",
  ]);
  const summary = state.healthy
    ? `cluster ${state.cluster}: healthy, leader ${state.leader}\n`
    : `cluster ${state.cluster}: NOT HEALTHY\n${state.problems.map((p) => `  - ${p}\n`).join("")}`;
  const change = state.lastRoleChange;
  const generation = state.generation
    ? `generation ${state.generation.token}, begun by ${state.generation.kind} at ${state.generation.began ?? "(time unknown)"}` +
      (change
        ? `; last role change: ${change.kind}${change.from ? ` from ${change.from}` : ""} at ${change.at ?? "?"}`
        : "") +
      "\n"
    : "";
  const locks = Object.entries(state.locks).map(
    ([node, lock]) =>
      `lock on ${node}: ${lock.state === "held" ? "held by" : "STALE, left by"} ${describeHolder(lock.holder)}\n`,
  );
  const paused = state.paused
    ? `paused: ${state.paused}${state.pausedOn.length < state.nodes.length ? ` (marked on ${state.pausedOn.join(" and ")} only)` : ""}\n`
    : "";
  return (
    table(["NODE", "ROLE", "VERSION", "MEMBER ID", "RAFT INDEX", "APPLIED", "LAG", "DB SIZE", "REACHABLE"], rows) +
    summary +
    paused +
    state.next.map((line) => `next: ${line}\n`).join("") +
    formatVersions(state) +
    formatHealth(state) +
    generation +
    locks.join("") +
    formatTls(state.tls)
  );
}

export const status: LookCommand<object, StatusReport, StatusReport> = {
  path: ["status"],
  description:
    "roles, versions, raft/applied index, lag, db size and etcd's /livez and /readyz of both nodes; exit 3 when unhealthy",
  changesHosts: false,
  input: () => ({}),
  prepare: async (ctx) => readStatus(await ctx.hosts()),
  run: async (ctx, _input, report) => {
    report.tls.warnings.forEach((warning) => ctx.reporter.warn(warning));
    return report;
  },
  report: (report) => ({
    json: report,
    stdout: formatStatus(report),
    exitCode: report.healthy ? EXIT.ok : EXIT.unhealthy,
  }),
};
