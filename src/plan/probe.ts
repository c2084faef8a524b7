import type { NodeSpec } from "../config/resolve.js";
import type { NodeLayout } from "../config/layout.js";
import type { DataDirState, NodeObservation } from "./observed.js";
import { parsePairDir } from "./pairDir.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { endpointStatusArgs, etcdctl, memberListArgs } from "../etcd/etcdctl.js";
import { jsonLine, lastLine, parseEndpointStatus, parseMemberList } from "../etcd/status.js";
import { parseEtcdVersionOutput } from "../etcd/version.js";
import { parseWalHead } from "../etcd/wal.js";
import { newestSnapshotIndexCommand, parseSnapshotIndex } from "../etcd/snapFiles.js";
import {
  clockEstimate,
  guardedFileSection,
  parseDiskSpace,
  parseListeningPorts,
  parsePackagedUnit,
  parsePeerReach,
  parseRestoredFrom,
  parseRoleChange,
  PEER_CONNECT_TIMEOUT_S,
  sectionHeader,
  sections,
  unguardedFile,
  unquote,
  parseVersionEndpoint,
  httpRequestsCommand,
  LEARNER_HTTP_PATHS,
  MEMBER_HTTP_PATHS,
  VERSION_REQUEST_TIMEOUT_S,
  type ProbeWindow,
} from "./probeSections.js";
import { parseMemberHealth, splitHttpAnswers } from "../etcd/health.js";
import { parseUpgradeMarker, upgradeMarkerFile } from "./upgradeMarker.js";

export {
  clockEstimate,
  parseDiskSpace,
  parseListeningPorts,
  parsePackagedUnit,
  parsePeerReach,
  parseRestoredFrom,
  parseRoleChange,
  PEER_CONNECT_TIMEOUT_S,
  type ProbeWindow,
} from "./probeSections.js";

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

/**
 * One read-only shell command that reports everything the planner needs about a node, in sections.
 * Nothing in it changes the host. The slow parts run at once, each as a stage of a pipeline that prints its
 * own sections and then copies what the stage before it printed (so nothing interleaves): the TCP connection
 * to the peer's peer URL (`peer` is the other node; an unanswered SYN costs at most PEER_CONNECT_TIMEOUT_S),
 * `etcd --version`, and the running member's status and member list. Each Go binary takes ~40 ms to start.
 */
export function probeCommand(
  node: NodeSpec,
  layout: NodeLayout,
  service: ServiceManager,
  peer: NodeSpec,
  nonce = "",
): string {
  const q = shQuote;
  const bin = (tool: string) => q(`${node.binDir}/${tool}`);
  const section = (name: string) => sectionHeader(name, nonce);
  // bash's /dev/tcp (bash is essential on Debian); its own status when it is missing: 127.
  const connect =
    `{ timeout ${PEER_CONNECT_TIMEOUT_S} bash -c 'exec 3<>"/dev/tcp/$1/$2"' etcd-pair ` +
    `${q(peer.address)} ${q(String(peer.peerPort))} 2>&1; echo "exit=$?"; }`;
  // A stage: its own sections first, then everything the stages before it printed.
  const stage = (commands: string) => `{ exec 3<&0 </dev/null; ${commands}; cat <&3; }`;
  // Cluster and storage version: only etcd's HTTP /version says them (a learner answers too); /livez and /readyz on
  // the same connection. Asked only of a member that answered its status, so a hung one costs no more time. A body
  // ends without a newline: the echo keeps the next section's header on a line of its own.
  const versions = (paths: readonly string[]) =>
    `${section("versions")}; ${httpRequestsCommand(node, paths)} || true; echo`;
  const version = stage(`${section("version")}; ${bin("etcd")} --version 2>/dev/null || true`);
  const member = stage(
    `if ${service.isRunning()}; then ${section("running")}; ${section("pid")}; ${service.mainPid()} 2>/dev/null || true; ` +
      // A member that did not answer its status (hung, starting) would only make member list wait as long again.
      `ok=; st=$(${etcdctl(node, endpointStatusArgs)} 2>&1) && ok=1; ${section("status")}; echo "$st"; ` +
      `if [ -n "$ok" ]; then case "$st" in *'"isLearner":true'*) ${versions(LEARNER_HTTP_PATHS)};; ` +
      `*) ${section("members")}; ${etcdctl(node, memberListArgs)} 2>&1 || true; ${versions(MEMBER_HTTP_PATHS)};; ` +
      `esac; fi; fi`,
  );
  const body = [
    `exec 3<&0 </dev/null; t0=$(date +%s%N)`,
    `${section("binaries")}; for t in etcd etcdctl etcdutl; do [ -x ${q(node.binDir)}/$t ] && echo $t; done`,
    `${section("datadir")}; d=${q(layout.dataDir)}; if [ -d "$d/member" ]; then echo member; ` +
      `elif [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then echo foreign; elif [ -d "$d" ]; then echo empty; else echo absent; fi`,
    // The head of the newest WAL file: its metadata record names the member's cluster.
    `${section("wal")}; w=$(ls "$d"/member/wal/*.wal 2>/dev/null | tail -n 1); if [ -n "$w" ]; then od -An -v -tx1 -N 128 "$w"; fi`,
    `${section("snapindex")}; ${newestSnapshotIndexCommand('"$d/member/snap"')}`,
    `${section("generation")}; cat ${q(layout.generationFile)} 2>/dev/null || true`,
    `${section("envtoken")}; sed -n 's/^ETCD_INITIAL_CLUSTER_TOKEN=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("envstate")}; sed -n 's/^ETCD_INITIAL_CLUSTER_STATE=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("fenced")}; cat ${q(layout.fencedFile)} 2>/dev/null || true`,
    `${section("failovertoken")}; cat ${q(layout.failoverTokenFile)} 2>/dev/null || true`,
    `${section("restoredfrom")}; cat ${q(layout.restoredFromFile)} 2>/dev/null || true`,
    `${section("rolechange")}; cat ${q(layout.roleChangeFile)} 2>/dev/null || true`,
    `${section("upgrade")}; cat ${q(upgradeMarkerFile(node))} 2>/dev/null || true`,
    // Written by `etcd-pair pause`, or by hand: guarded, so its text cannot pose as a section of this probe.
    guardedFileSection("paused", layout.pausedFile, nonce),
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
          // Who owns the node's dir and its state dir: root writes there (README: Security).
          `${section("pairdir")}; stat -c '%a %U:%G %F %n' ${q(layout.root)} ${q(layout.stateDir)} 2>/dev/null || true`,
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

/** The pause marker's lines as one line of text; a marker with no text still pauses the pair. */
function pausedText(lines: string[] | undefined): string | undefined {
  if (lines === undefined) return undefined;
  const text = lines
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
  return text || "(the pause marker holds no text)";
}

/** `window`: when the controller ran the probe, for the clock estimate (left out: no clock fields). */
export function parseProbe(nodeName: string, output: string, window?: ProbeWindow, nonce = ""): NodeObservation {
  const s = sections(output, nonce);
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
  const pairDir = parsePairDir(s.get("pairdir"));
  if (pairDir) observation.pairDir = pairDir;
  const answers = splitHttpAnswers(s.get("versions") ?? "");
  const versions = parseVersionEndpoint(answers[0]?.body);
  if (versions) observation.versions = versions;
  const health = parseMemberHealth(answers, VERSION_REQUEST_TIMEOUT_S);
  if (health) observation.health = health;
  const snapshotIndex = parseSnapshotIndex(s.get("snapindex"));
  if (snapshotIndex !== undefined) observation.snapshotIndex = snapshotIndex;
  const upgrade = parseUpgradeMarker(s.get("upgrade"));
  if (upgrade) observation.upgrade = upgrade;
  const paused = pausedText(unguardedFile(s.get("paused")));
  if (paused !== undefined) observation.paused = paused;
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
