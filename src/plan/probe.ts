import type { NodeSpec } from "../config/resolve.js";
import type { NodeLayout } from "../config/layout.js";
import type { DataDirState, DiskSpace, NodeObservation, PeerReach } from "./observed.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { endpointStatusArgs, etcdctl, memberListArgs } from "../etcd/etcdctl.js";
import { parseSnapshotStatus } from "../etcd/snapshot.js";
import { jsonLine, lastLine, parseEndpointStatus, parseMemberList } from "../etcd/status.js";
import { parseEtcdVersionOutput } from "../etcd/version.js";
import { parseWalHead } from "../etcd/wal.js";

const MARK = "@@etcd-pair:";

/** Files whose content the planner compares with what it would write. */
export function managedFiles(node: NodeSpec, layout: NodeLayout, service: ServiceManager): string[] {
  const tls = node.tls;
  const certificates = tls ? [tls.caFile, tls.certFile, tls.keyFile, tls.clientCertFile, tls.clientKeyFile] : [];
  return [
    layout.envFile,
    layout.ctlEnvFile,
    layout.startScript,
    ...service.files().map((f) => f.path),
    ...certificates,
  ];
}

/** How long the probe waits for a TCP connection to the peer's peer URL. */
export const PEER_CONNECT_TIMEOUT_S = 2;

/**
 * One read-only shell command that reports everything the planner needs about a node, in sections.
 * Nothing in it changes the host. The slow parts run at once, each as a stage of a pipeline that prints its
 * own sections and then copies what the stage before it printed (so nothing interleaves): the TCP connection
 * to the peer's peer URL (`peer` is the other node; an unanswered SYN costs at most PEER_CONNECT_TIMEOUT_S),
 * `etcd --version`, and the running member's status and member list. Each Go binary takes ~40 ms to start.
 */
export function probeCommand(node: NodeSpec, layout: NodeLayout, service: ServiceManager, peer: NodeSpec): string {
  const q = shQuote;
  const bin = (tool: string) => q(`${node.binDir}/${tool}`);
  const section = (name: string) => `echo '${MARK}${name}'`;
  // bash's /dev/tcp (bash is essential on Debian); its own status when it is missing: 127.
  const connect =
    `{ timeout ${PEER_CONNECT_TIMEOUT_S} bash -c 'exec 3<>"/dev/tcp/$1/$2"' etcd-pair ` +
    `${q(peer.address)} ${q(String(peer.peerPort))} 2>&1; echo "exit=$?"; }`;
  // A stage: its own sections first, then everything the stages before it printed.
  const stage = (commands: string) => `{ exec 3<&0 </dev/null; ${commands}; cat <&3; }`;
  const version = stage(`${section("version")}; ${bin("etcd")} --version 2>/dev/null || true`);
  const member = stage(
    `if ${service.isRunning()}; then ${section("running")}; ${section("pid")}; ${service.mainPid()} 2>/dev/null || true; ` +
      // A member that did not answer its status (hung, starting) would only make member list wait as long again.
      `ok=; st=$(${etcdctl(node, endpointStatusArgs)} 2>&1) && ok=1; ${section("status")}; echo "$st"; ` +
      `if [ -n "$ok" ]; then case "$st" in *'"isLearner":true'*) ;; *) ${section("members")}; ` +
      `${etcdctl(node, memberListArgs)} 2>&1 || true;; esac; fi; fi`,
  );
  const body = [
    `exec 3<&0 </dev/null; t0=$(date +%s%N)`,
    `${section("binaries")}; for t in etcd etcdctl etcdutl; do [ -x ${q(node.binDir)}/$t ] && echo $t; done`,
    `${section("datadir")}; d=${q(layout.dataDir)}; if [ -d "$d/member" ]; then echo member; ` +
      `elif [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then echo foreign; elif [ -d "$d" ]; then echo empty; else echo absent; fi`,
    // The head of the newest WAL file: its metadata record names the member's cluster.
    `${section("wal")}; w=$(ls "$d"/member/wal/*.wal 2>/dev/null | tail -n 1); if [ -n "$w" ]; then od -An -v -tx1 -N 128 "$w"; fi`,
    `${section("generation")}; cat ${q(layout.generationFile)} 2>/dev/null || true`,
    `${section("envtoken")}; sed -n 's/^ETCD_INITIAL_CLUSTER_TOKEN=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("envstate")}; sed -n 's/^ETCD_INITIAL_CLUSTER_STATE=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("fenced")}; cat ${q(layout.fencedFile)} 2>/dev/null || true`,
    `${section("failovertoken")}; cat ${q(layout.failoverTokenFile)} 2>/dev/null || true`,
    `${section("restoredfrom")}; cat ${q(layout.restoredFromFile)} 2>/dev/null || true`,
    `${section("rolechange")}; cat ${q(layout.roleChangeFile)} 2>/dev/null || true`,
    // The start script's last word (boot guard): why a node that is not running did not start.
    `${section("guard")}; ${service.logTail(200)} 2>/dev/null | grep '^etcd-pair: ' | tail -n 1`,
    `${section("installed")}; cat ${q(layout.installMarkerFile)} 2>/dev/null || true`,
    `${section("restoring")}; [ -d ${q(`${layout.restoreDir}/member`)} ] && echo yes || true`,
    `${section("hashes")}; sha256sum ${managedFiles(node, layout, service).map(q).join(" ")} 2>/dev/null || true`,
    `${section("listening")}; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true`,
    `${section("hostname")}; uname -n`,
    `${section("host")}; [ -d /run/systemd/system ] && echo systemd; id -u etcd >/dev/null 2>&1 && echo etcd-user; ` +
      `command -v openssl >/dev/null 2>&1 && echo openssl; uname -m`,
    // The data dir, or its nearest existing parent: df needs a path that exists.
    `${section("disk")}; p=${q(layout.dataDir)}; while [ ! -d "$p" ]; do ` +
      `case "$p" in */*) p=\${p%/*}; p=\${p:-/};; *) p=.;; esac; done; echo "$p"; df -Pk "$p" 2>/dev/null || true`,
    ...(node.host.kind === "local"
      ? [
          `${section("nodedir")}; r=${q(layout.root)}; if [ -d "$r" ]; then echo dir; ls -A "$r" | head -n 100; ` +
            `elif [ -e "$r" ]; then echo other; fi`,
        ]
      : []),
    ...(node.host.kind === "ssh"
      ? [
          `${section("packaged-unit")}; if [ -d /run/systemd/system ]; then ` +
            `echo "active=$(systemctl is-active etcd.service 2>/dev/null)"; ` +
            `echo "enabled=$(systemctl is-enabled etcd.service 2>/dev/null)"; fi`,
        ]
      : []),
    `cat <&3`,
    `${section("clock")}; echo "$t0"; date +%s%N`,
  ];
  return `{ ${section("peer")}; ${connect}; } | ${version} | ${member} | {\n${body.join("\n")}\n}`;
}

function sections(output: string): Map<string, string> {
  const result = new Map<string, string>();
  let current: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (current !== undefined) result.set(current, lines.join("\n").trim());
  };
  for (const line of output.split("\n")) {
    if (line.startsWith(MARK)) {
      flush();
      current = line.slice(MARK.length);
      lines = [];
    } else {
      lines.push(line);
    }
  }
  flush();
  return result;
}

/** Ports in LISTEN state (st 0A) from /proc/net/tcp{,6}. */
export function parseListeningPorts(procNetTcp: string): number[] {
  const ports = new Set<number>();
  for (const line of procNetTcp.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (fields[3] !== "0A" || !local?.includes(":")) continue;
    ports.add(parseInt(local.slice(local.lastIndexOf(":") + 1), 16));
  }
  return [...ports].sort((a, b) => a - b);
}

/** The probe's disk section: the path df measured, then `df -Pk` output (one line per filesystem, POSIX format). */
export function parseDiskSpace(text: string | undefined): DiskSpace | undefined {
  const [first, ...rest] = (text ?? "").split("\n");
  const path = first?.trim();
  if (!path) return undefined;
  for (const line of rest.reverse()) {
    // Filesystem 1024-blocks Used Available Capacity Mounted-on; names may hold spaces, numbers do not.
    const match = /\s(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+(\S.*)$/.exec(line.trim());
    if (match?.[3] && match[4]) return { path, availableBytes: Number(match[3]) * 1024, mountPoint: match[4].trim() };
  }
  return undefined;
}

const UNREACHABLE =
  /No route to host|Network is unreachable|Host is unreachable|Connection timed out|Name or service not known|Temporary failure in name resolution|host unknown/i;

/** The probe's peer section: what `timeout N bash -c 'exec 3<>/dev/tcp/ADDR/PORT'` printed, then exit=STATUS. */
export function parsePeerReach(text: string | undefined): PeerReach | undefined {
  const lines = (text ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const exit = /^exit=(\d+)$/.exec(lines.at(-1) ?? "");
  if (!exit) return undefined;
  const code = Number(exit[1]);
  const messages = lines.slice(0, -1).map((m) => m.replace(/^etcd-pair: (line \d+: )?/, ""));
  const first = messages[0];
  if (code === 0) return { result: "open" };
  if (messages.some((m) => /Connection refused/i.test(m))) return { result: "refused" };
  // timeout's status when the time ran out (124), or when its TERM was not enough (137).
  if (code === 124 || code === 137) {
    return { result: "unreachable", detail: `no answer within ${PEER_CONNECT_TIMEOUT_S} s` };
  }
  if (code === 126 || code === 127) return { result: "unknown", detail: first ?? "bash or timeout is missing" };
  const unreachable = messages.find((m) => UNREACHABLE.test(m));
  if (unreachable) return { result: "unreachable", detail: unreachable };
  return { result: "unknown", detail: first ?? `exit status ${code}` };
}

/** The probe's packaged-unit section: systemctl is-active / is-enabled of etcd.service, as active=… enabled=…. */
export function parsePackagedUnit(text: string | undefined): { active: string; enabled: string } | undefined {
  const facts = new Map<string, string>();
  for (const line of (text ?? "").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) facts.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const active = facts.get("active");
  return active === undefined ? undefined : { active, enabled: facts.get("enabled") ?? "" };
}

/** When the controller ran the probe: Date.now() before the exec and after its output came back. */
export interface ProbeWindow {
  before: number;
  after: number;
}

/**
 * The host's clock against the controller's, from the clock section (date +%s%N at the probe's start and end).
 * The start was taken between `before` and `after` minus the probe's run time on the host, so the offset is
 * right to within half of that window (clockRttMs).
 */
export function clockEstimate(
  text: string | undefined,
  window: ProbeWindow,
): { clockOffsetMs: number; clockRttMs: number } | undefined {
  const [start, end] = (text ?? "").split("\n").map((l) => l.trim());
  if (!start || !end || !/^\d+$/.test(start) || !/^\d+$/.test(end)) return undefined;
  const startMs = Number(start) / 1e6;
  const roundTrip = Math.max(0, window.after - window.before);
  const onHost = Math.min(roundTrip, Math.max(0, Number(end) / 1e6 - startMs));
  const midpoint = window.before + (roundTrip - onHost) / 2;
  return { clockOffsetMs: Math.round(startMs - midpoint), clockRttMs: Math.round(roundTrip - onHost) };
}

/** state/restored-from: the cluster token, then the snapshot status JSON of the db the failover restored. */
export function parseRestoredFrom(text: string): { token: string; revision: number } | undefined {
  const [token, status] = text.trim().split("\n");
  if (!token || !status) return undefined;
  try {
    return { token, revision: parseSnapshotStatus(status).revision };
  } catch {
    return undefined;
  }
}

/** state/role-change: `switchover <ISO time> <old main> <cluster token>`. */
export function parseRoleChange(text: string): NodeObservation["switchedOver"] {
  const [kind, at, from, token] = text.trim().split(" ");
  return kind === "switchover" && at && from && token ? { at, from, token } : undefined;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.startsWith("'") && trimmed.endsWith("'") ? trimmed.slice(1, -1) : trimmed;
}

/** `window`: when the controller ran the probe, for the clock estimate (left out: no clock fields). */
export function parseProbe(nodeName: string, output: string, window?: ProbeWindow): NodeObservation {
  const s = sections(output);
  const binaries = new Set((s.get("binaries") ?? "").split("\n").filter(Boolean));
  const hostFacts = (s.get("host") ?? "").split("\n").filter(Boolean);
  const fileHashes: Record<string, string> = {};
  for (const line of (s.get("hashes") ?? "").split("\n")) {
    const match = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line);
    if (match?.[1] && match[2]) fileHashes[match[2]] = match[1];
  }
  const observation: NodeObservation = {
    node: nodeName,
    reachable: true,
    binaries: { etcd: binaries.has("etcd"), etcdctl: binaries.has("etcdctl"), etcdutl: binaries.has("etcdutl") },
    version: parseEtcdVersionOutput(s.get("version") ?? ""),
    running: s.has("running"),
    ...(Number(s.get("pid")) > 0 ? { pid: Number(s.get("pid")) } : {}),
    dataDir: (s.get("datadir") as DataDirState | undefined) ?? "absent",
    generation: s.get("generation") || undefined,
    envToken: unquote(s.get("envtoken") ?? "") || undefined,
    envState: unquote(s.get("envstate") ?? "") || undefined,
    fenced: s.get("fenced") || undefined,
    failoverToken: s.get("failovertoken") || undefined,
    restoredFrom: parseRestoredFrom(s.get("restoredfrom") ?? ""),
    switchedOver: parseRoleChange(s.get("rolechange") ?? ""),
    ...(s.get("guard") ? { guard: s.get("guard")?.trim() } : {}),
    installedTarball: s.get("installed") || undefined,
    restoring: s.get("restoring") === "yes",
    fileHashes,
    listeningPorts: parseListeningPorts(s.get("listening") ?? ""),
    hostname: s.get("hostname") || undefined,
    systemd: hostFacts.includes("systemd"),
    etcdUser: hostFacts.includes("etcd-user"),
    openssl: hostFacts.includes("openssl"),
    arch: hostFacts.filter((fact) => !["systemd", "etcd-user", "openssl"].includes(fact)).at(-1) ?? "",
  };
  // Sections older probes did not print: left out when missing.
  const disk = parseDiskSpace(s.get("disk"));
  if (disk) observation.disk = disk;
  const peerReach = parsePeerReach(s.get("peer"));
  if (peerReach) observation.peerReach = peerReach;
  const packagedUnit = parsePackagedUnit(s.get("packaged-unit"));
  if (packagedUnit) observation.packagedUnit = packagedUnit;
  const wal = parseWalHead(s.get("wal") ?? "");
  if (wal) observation.walIdentity = wal;
  const [kind, ...entries] = (s.get("nodedir") ?? "").split("\n");
  if (kind === "dir" || kind === "other") observation.nodeDir = { isDirectory: kind === "dir", entries };
  const clock = window ? clockEstimate(s.get("clock"), window) : undefined;
  if (clock) Object.assign(observation, clock);
  const status = s.get("status");
  if (status !== undefined) {
    try {
      observation.status = parseEndpointStatus(jsonLine(status, "["));
    } catch {
      observation.statusError = lastLine(status);
    }
  }
  const members = s.get("members");
  if (members !== undefined) {
    try {
      observation.members = parseMemberList(jsonLine(members, '{"header"'));
    } catch {
      observation.membersError = lastLine(members);
    }
  }
  return observation;
}
