import type { DiskSpace, NodeObservation, PeerReach } from "./observed.js";
import type { NodeSpec } from "../config/resolve.js";
import { shQuote } from "../shell/quote.js";
import { parseSnapshotStatus } from "../etcd/snapshot.js";

/**
 * The probe's output, in sections: each begins with a line `@@etcd-pair:NAME`. This module builds the section
 * headers, reads the sections back, and parses the sections that are more than one line of text.
 */
export const MARK = "@@etcd-pair:";

/** How long the probe waits for a TCP connection to the peer's peer URL. */
export const PEER_CONNECT_TIMEOUT_S = 2;

/**
 * The header line's prefix. With a nonce (random hex chosen by the caller for each probe), no content the probe
 * prints (a file a user wrote, a value a client stored) can pass for a section header: it cannot know the nonce.
 */
export function markOf(nonce: string): string {
  if (!/^[0-9a-f]*$/.test(nonce)) throw new Error(`probe nonce must be hex: ${nonce}`);
  return nonce ? `${MARK}${nonce}:` : MARK;
}

/** The shell command that begins section `name`. */
export function sectionHeader(name: string, nonce = ""): string {
  return `echo '${markOf(nonce)}${name}'`;
}

/**
 * A section holding a file that anyone with a shell on the host may have written (the pause marker): `present`
 * when the file exists, then each of its lines behind a `|`, so no line of it can pass for a section header.
 * The `echo` ends a last line that lacks its newline, which would otherwise swallow the next header.
 */
export function guardedFileSection(name: string, file: string, nonce = ""): string {
  return `${sectionHeader(name, nonce)}; if [ -e ${shQuote(file)} ]; then echo present; sed 's/^/|/' ${shQuote(file)} 2>/dev/null; echo; fi`;
}

/** A guarded file section's text back: undefined when the file was absent, else its lines (guards removed). */
export function unguardedFile(text: string | undefined): string[] | undefined {
  const [first, ...lines] = (text ?? "").split("\n");
  if (first?.trim() !== "present") return undefined;
  return lines.filter((line) => line.startsWith("|")).map((line) => line.slice(1));
}

/** The probe's output split into its sections, by name (only headers with the probe's own nonce count). */
export function sections(output: string, nonce = ""): Map<string, string> {
  const mark = markOf(nonce);
  const result = new Map<string, string>();
  let current: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (current !== undefined) result.set(current, lines.join("\n").trim());
  };
  for (const line of output.split("\n")) {
    if (line.startsWith(mark)) {
      flush();
      current = line.slice(mark.length);
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

export function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.startsWith("'") && trimmed.endsWith("'") ? trimmed.slice(1, -1) : trimmed;
}

/** How long a look at a member's HTTP endpoints (`GET /version`, and in the probe /livez and /readyz) may take. */
export const VERSION_REQUEST_TIMEOUT_S = 2;

/**
 * What the probe asks each running member over one connection, in this order: /readyz last, as the one that can
 * wait (its linearizable read) without holding up the others' answers.
 */
export const MEMBER_HTTP_PATHS = ["/version", "/livez?verbose", "/readyz?verbose"] as const;

/**
 * What the probe asks a learner: /readyz without its linearizable read, which waits on the leader: 7 s on a
 * 3.6.14 learner whose main was dead (measured here), just when a failover probes the learner.
 */
export const LEARNER_HTTP_PATHS = ["/version", "/livez?verbose", "/readyz?verbose&exclude=linearizable_read"] as const;

/**
 * Prints the HTTP answers of `GET` of each of `paths` on the node's client URL, pipelined over one connection (Go's
 * net/http answers them in order; the last request closes it), run on its host with what a host has: bash's
 * /dev/tcp in plain text, `openssl s_client` with etcd-pair's client certificate (the member requires one) under
 * TLS. etcd answers /version with `{"etcdserver":"3.6.14","etcdcluster":"3.6.0","storage":"3.6.0"}` (storage from
 * 3.6), on a learner too. Prints what came before the member stopped answering in time, or nothing when openssl
 * is missing.
 */
export function httpRequestsCommand(node: NodeSpec, paths: readonly string[]): string {
  const q = shQuote;
  const request = paths
    .map(
      (p, i) =>
        `GET ${p} HTTP/1.1\\r\\nHost: etcd\\r\\n${i === paths.length - 1 ? "Connection: close\\r\\n" : ""}\\r\\n`,
    )
    .join("");
  const t = VERSION_REQUEST_TIMEOUT_S;
  if (!node.tls) {
    return (
      `timeout ${t} bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "${request}" >&3 && cat <&3' etcd-pair ` +
      `${q(node.address)} ${q(String(node.clientPort))} 2>/dev/null`
    );
  }
  const hostPort = `${node.address.includes(":") ? `[${node.address}]` : node.address}:${node.clientPort}`;
  const tls = `-CAfile ${q(node.tls.caFile)} -cert ${q(node.tls.clientCertFile)} -key ${q(node.tls.clientKeyFile)}`;
  return (
    `printf '${request}' | timeout ${t} openssl s_client -quiet -verify_return_error -connect ${q(hostPort)} ` +
    `${tls} 2>/dev/null`
  );
}

/** The HTTP answer of `GET /version` (see httpRequestsCommand). */
export function versionRequestCommand(node: NodeSpec): string {
  return httpRequestsCommand(node, ["/version"]);
}

/** What a member's `GET /version` says: its own version, the cluster's, and (3.6+) its storage version. */
export interface VersionEndpoint {
  server: string;
  cluster: string;
  storage?: string;
}

/** The JSON body of a `GET /version` answer (headers before it are skipped); undefined when there is none. */
export function parseVersionEndpoint(text: string | undefined): VersionEndpoint | undefined {
  const line = (text ?? "")
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("{") && l.includes('"etcdcluster"'));
  if (!line) return undefined;
  try {
    const body = JSON.parse(line) as Record<string, unknown>;
    const server = typeof body.etcdserver === "string" ? body.etcdserver : "";
    const cluster = typeof body.etcdcluster === "string" ? body.etcdcluster : "";
    if (!server || !cluster) return undefined;
    return { server, cluster, ...(typeof body.storage === "string" && body.storage ? { storage: body.storage } : {}) };
  } catch {
    return undefined;
  }
}
