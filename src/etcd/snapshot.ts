import type { NodeSpec } from "../config/resolve.js";
import { shJoin, shQuote } from "../shell/quote.js";
import { tlsFlags } from "./etcdctl.js";
import { clientUrl, peerUrl } from "./urls.js";
import { compareVersions, hasEtcdutl, type EtcdVersion } from "./version.js";
import { field, parseLossless, toNumber } from "./json.js";

/** Far past any revision the old cluster handed out, as etcd's disaster-recovery guide does. */
export const BUMP_REVISION = 1_000_000_000;

/** The offline snapshot tool: etcdutl from 3.5 (etcdctl's copy is deprecated there), etcdctl on 3.4. */
export function snapshotToolName(version: EtcdVersion): "etcdutl" | "etcdctl" {
  return hasEtcdutl(version) ? "etcdutl" : "etcdctl";
}

function snapshotTool(node: NodeSpec, version: EtcdVersion): string[] {
  return [`${node.binDir}/${snapshotToolName(version)}`];
}

function prefix(version: EtcdVersion): string {
  return hasEtcdutl(version) ? "" : "ETCDCTL_API=3 ";
}

/** --bump-revision/--mark-compacted arrived in 3.4.27 and 3.5.10: watchers then resync instead of missing events. */
export function supportsBumpRevision(version: EtcdVersion): boolean {
  if (version.minor === 4) return compareVersions(version, { major: 3, minor: 4, patch: 27 }) >= 0;
  return compareVersions(version, { major: 3, minor: 5, patch: 10 }) >= 0;
}

export function snapshotStatusCommand(node: NodeSpec, version: EtcdVersion, db: string): string {
  return prefix(version) + shJoin([...snapshotTool(node, version), "snapshot", "status", db, "-w", "json"]);
}

/**
 * Checks a snapshot file as etcd's restore will, without changing anything: a regular, readable, non-empty file
 * that ends in the sha256 `snapshot save` appends (restore finds it by the size: 32 bytes past a multiple of 512;
 * without --skip-hash-check it refuses a file that lacks it or whose hash differs), and a db `snapshot status` reads.
 * `snapshot status` alone checks neither: a truncated or altered file passes it. Prints the status JSON; otherwise
 * exits 1 with one line on stderr saying what is wrong.
 */
export function snapshotVerifyCommand(node: NodeSpec, version: EtcdVersion, file: string): string {
  const tool = `${snapshotToolName(version)} snapshot status`;
  return [
    `f=${shQuote(file)}`,
    `fail() { echo "$1" >&2; exit 1; }`,
    `[ -e "$f" ] || fail 'no such file'`,
    `[ ! -d "$f" ] || fail 'is a directory, not a snapshot file'`,
    `[ -f "$f" ] || fail 'is not a regular file'`,
    `[ -r "$f" ] || fail 'cannot be read'`,
    `s=$(stat -Lc %s "$f") && [ "$s" -gt 0 ] || fail 'is empty'`,
    `[ $((s % 512)) -eq 32 ] || fail "does not end in the sha256 that 'snapshot save' appends ($s bytes): ` +
      `it is cut short, not a snapshot, or a db copied from a data dir"`,
    `[ "$(head -c $((s - 32)) "$f" | sha256sum | cut -c1-64)" = "$(tail -c 32 "$f" | od -An -v -tx1 | tr -d ' \n')" ] || ` +
      `fail "fails its sha256 check: it changed after 'snapshot save' wrote it"`,
    `st=$(${snapshotStatusCommand(node, version, file)} 2>&1) || fail "${tool} refuses it: $(printf '%s' "$st" | tail -n 1)"`,
    `printf '%s\n' "$st"`,
  ].join("; ");
}

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKeys: number;
  totalSizeBytes: number;
}

export function parseSnapshotStatus(text: string): SnapshotStatus {
  const line = text.split("\n").find((l) => l.startsWith('{"hash"'));
  if (!line) throw new Error(`unexpected snapshot status output: ${text.slice(0, 200)}`);
  const parsed = parseLossless(line);
  return {
    hash: toNumber(field(parsed, "hash")),
    revision: toNumber(field(parsed, "revision")),
    totalKeys: toNumber(field(parsed, "totalKey")),
    totalSizeBytes: toNumber(field(parsed, "totalSize")),
  };
}

/** Restores `db` as a new one-member cluster of `node` with a new token: the only failover that works. */
export function restoreCommand(
  node: NodeSpec,
  version: EtcdVersion,
  options: { db: string; dataDir: string; token: string; rawDb: boolean },
): string {
  const argv = [
    ...snapshotTool(node, version),
    "snapshot",
    "restore",
    options.db,
    // A data dir's db has no snapshot hash appended; a file from `snapshot save` has one, and it is checked.
    ...(options.rawDb ? ["--skip-hash-check"] : []),
    `--name=${node.name}`,
    `--initial-cluster=${node.name}=${peerUrl(node)}`,
    `--initial-advertise-peer-urls=${peerUrl(node)}`,
    `--initial-cluster-token=${options.token}`,
    `--data-dir=${options.dataDir}`,
  ];
  if (supportsBumpRevision(version)) argv.push(`--bump-revision=${BUMP_REVISION}`, "--mark-compacted");
  return prefix(version) + shJoin(argv);
}

export function snapshotSaveCommand(node: NodeSpec, file: string): string {
  // No command timeout: saving a large db takes as long as it takes.
  const argv = [
    `${node.binDir}/etcdctl`,
    `--endpoints=${clientUrl(node)}`,
    ...tlsFlags(node),
    "snapshot",
    "save",
    file,
  ];
  return `ETCDCTL_API=3 ${shJoin(argv)}`;
}
