import { field, idToHex, parseLossless, toNumber } from "./json.js";

/** One member's view of itself, from `etcdctl endpoint status -w json`. */
export interface EndpointStatus {
  endpoint: string;
  clusterId: string;
  memberId: string;
  /** "0000000000000000" when the member knows no leader. */
  leaderId: string;
  revision: number;
  raftTerm: number;
  /** The committed index as this member knows it. */
  raftIndex: number;
  appliedIndex: number;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  version: string;
  isLearner: boolean;
  errors: string[];
}

export interface Member {
  id: string;
  /** Empty until the member has started and published itself. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberList {
  clusterId: string;
  members: Member[];
}

/** Parses JSON, or says which etcdctl output it expected. */
function parseOutput(text: string, what: string): unknown {
  try {
    return parseLossless(text);
  } catch {
    throw new Error(`unexpected ${what} output: ${text.slice(0, 200)}`);
  }
}

export function parseEndpointStatus(text: string): EndpointStatus {
  const parsed = parseOutput(text, "endpoint status");
  const entry = Array.isArray(parsed) ? parsed[0] : undefined;
  const status = field(entry, "Status");
  const header = field(status, "header");
  if (!status || !header) throw new Error(`unexpected endpoint status output: ${text.slice(0, 200)}`);
  const errors = field(status, "errors");
  return {
    endpoint: String(field(entry, "Endpoint") ?? ""),
    clusterId: idToHex(field(header, "cluster_id")),
    memberId: idToHex(field(header, "member_id")),
    leaderId: idToHex(field(status, "leader") ?? 0),
    revision: toNumber(field(header, "revision")),
    raftTerm: toNumber(field(status, "raftTerm")),
    raftIndex: toNumber(field(status, "raftIndex")),
    appliedIndex: toNumber(field(status, "raftAppliedIndex")),
    dbSizeBytes: toNumber(field(status, "dbSize")),
    dbSizeInUseBytes: toNumber(field(status, "dbSizeInUse")),
    version: String(field(status, "version") ?? ""),
    isLearner: field(status, "isLearner") === true,
    errors: Array.isArray(errors) ? errors.map(String) : [],
  };
}

export function parseMemberList(text: string): MemberList {
  const parsed = parseOutput(text, "member list");
  const header = field(parsed, "header");
  const members = field(parsed, "members");
  if (!header || !Array.isArray(members)) throw new Error(`unexpected member list output: ${text.slice(0, 200)}`);
  const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return {
    clusterId: idToHex(field(header, "cluster_id")),
    members: members.map((member) => ({
      id: idToHex(field(member, "ID")),
      name: String(field(member, "name") ?? ""),
      peerUrls: strings(field(member, "peerURLs")),
      clientUrls: strings(field(member, "clientURLs")),
      isLearner: field(member, "isLearner") === true,
    })),
  };
}

/** etcdctl may log retries as JSON lines on stderr; its answer is the line of its own shape. */
export function jsonLine(text: string, prefix: string): string {
  return text.split("\n").find((line) => line.startsWith(prefix)) ?? text;
}

/** The last non-empty line: where etcdctl puts its error. */
export function lastLine(text: string): string {
  // etcdctl -w json from 3.6 prints `null` on stdout when it fails; the reason is on stderr, before it in 2>&1.
  const lines = text
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "null");
  return lines[lines.length - 1] ?? "";
}
