import type { NodeSpec } from "../config/resolve.js";
import type { NodeLayout } from "../plan/layout.js";
import type { DataDirState, NodeObservation } from "../plan/observed.js";
import { shQuote } from "../render/shell.js";
import type { ServiceManager } from "../service/types.js";
import { endpointStatusArgs, etcdctl, memberListArgs } from "./etcdctl.js";
import { jsonLine, lastLine, parseEndpointStatus, parseMemberList } from "./status.js";
import { parseEtcdVersionOutput } from "./version.js";

const MARK = "@@etcd-pair:";

/** Files whose content the planner compares with what it would write. */
export function managedFiles(layout: NodeLayout, service: ServiceManager): string[] {
  return [layout.envFile, layout.ctlEnvFile, layout.startScript, ...service.files().map((f) => f.path)];
}

/**
 * One read-only shell command that reports everything the planner needs about a node, in sections.
 * Nothing in it changes the host.
 */
export function probeCommand(node: NodeSpec, layout: NodeLayout, service: ServiceManager): string {
  const q = shQuote;
  const bin = (tool: string) => q(`${node.binDir}/${tool}`);
  const section = (name: string) => `echo '${MARK}${name}'`;
  return [
    `${section("binaries")}; for t in etcd etcdctl etcdutl; do [ -x ${q(node.binDir)}/$t ] && echo $t; done`,
    `${section("version")}; ${bin("etcd")} --version 2>/dev/null || true`,
    `${section("datadir")}; d=${q(layout.dataDir)}; if [ -d "$d/member" ]; then echo member; ` +
      `elif [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then echo foreign; elif [ -d "$d" ]; then echo empty; else echo absent; fi`,
    `${section("generation")}; cat ${q(layout.generationFile)} 2>/dev/null || true`,
    `${section("envtoken")}; sed -n 's/^ETCD_INITIAL_CLUSTER_TOKEN=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("envstate")}; sed -n 's/^ETCD_INITIAL_CLUSTER_STATE=//p' ${q(layout.envFile)} 2>/dev/null || true`,
    `${section("fenced")}; cat ${q(layout.fencedFile)} 2>/dev/null || true`,
    `${section("failovertoken")}; cat ${q(layout.failoverTokenFile)} 2>/dev/null || true`,
    `${section("restoring")}; [ -d ${q(`${layout.restoreDir}/member`)} ] && echo yes || true`,
    `${section("hashes")}; sha256sum ${managedFiles(layout, service).map(q).join(" ")} 2>/dev/null || true`,
    `${section("listening")}; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true`,
    `${section("host")}; [ -d /run/systemd/system ] && echo systemd; id -u etcd >/dev/null 2>&1 && echo etcd-user; uname -m`,
    `if ${service.isRunning()}; then ${section("running")}; ` +
      `st=$(${etcdctl(node, endpointStatusArgs)} 2>&1) || true; ${section("status")}; echo "$st"; ` +
      `case "$st" in *'"isLearner":true'*) ;; *) ${section("members")}; ${etcdctl(node, memberListArgs)} 2>&1 || true;; esac; fi`,
  ].join("\n");
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

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.startsWith("'") && trimmed.endsWith("'") ? trimmed.slice(1, -1) : trimmed;
}

export function parseProbe(nodeName: string, output: string): NodeObservation {
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
    dataDir: (s.get("datadir") as DataDirState | undefined) ?? "absent",
    generation: s.get("generation") || undefined,
    envToken: unquote(s.get("envtoken") ?? "") || undefined,
    envState: unquote(s.get("envstate") ?? "") || undefined,
    fenced: s.get("fenced") || undefined,
    failoverToken: s.get("failovertoken") || undefined,
    restoring: s.get("restoring") === "yes",
    fileHashes,
    listeningPorts: parseListeningPorts(s.get("listening") ?? ""),
    systemd: hostFacts.includes("systemd"),
    etcdUser: hostFacts.includes("etcd-user"),
    arch: hostFacts.at(-1) ?? "",
  };
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
