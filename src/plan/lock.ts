import { createHash } from "node:crypto";
import type { NodeLayout } from "../config/layout.js";
import type { NodeSpec } from "../config/resolve.js";
import { shQuote } from "../shell/quote.js";

/**
 * The pair lock: one per node, held on the node's host by a shell that keeps flock(1) on a file under /run/lock
 * while the command that changes the pair runs. The kernel frees it when that shell ends, so a lock never
 * outlives its holder: the CLI's exit (or a lost connection) ends the shell's stdin, and a CLI that stops
 * pinging for LOCK_LEASE_S (hung, or cut off by a partition) loses it. /run is emptied by a reboot, as it should be:
 * no command survives one.
 */
export const LOCK_DIR = "/run/lock/etcd-pair";
/** The holder ends itself when it has not heard from its CLI for this long. */
export const LOCK_LEASE_S = 30;
/** How often the CLI tells each holder it is still there. */
export const LOCK_PING_MS = 5_000;
/** The holder's exit status when another command holds the lock. */
export const LOCK_BUSY_STATUS = 75;

/** Who holds a lock: written by the CLI that takes it, read by the next one and by status. */
export interface LockHolder {
  command: string;
  controller: string;
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
  /** The holding shell's pid on the node's host: alive while the lock is held. */
  hostPid?: number;
}

export interface LockFiles {
  lockFile: string;
  holderFile: string;
}

/** One lock per node dir: two pairs (or the two local nodes of one pair) on one host never share a lock. */
export function lockFiles(node: NodeSpec, layout: NodeLayout): LockFiles {
  return lockFilesOf(node.name, layout.root);
}

/** The lock files of the node `name` whose dir on its host is `root`. */
export function lockFilesOf(name: string, root: string): LockFiles {
  const id = createHash("sha256").update(root).digest("hex").slice(0, 12);
  const base = `${LOCK_DIR}/${name}-${id}`;
  return { lockFile: `${base}.lock`, holderFile: `${base}.holder` };
}

/**
 * Takes the lock and holds it while its stdin stays open and gets a byte every LOCK_PING_MS. Prints one line:
 * `locked <the previous holder, if it died holding it>` or `busy <holder>` (exit LOCK_BUSY_STATUS).
 */
export function holdLockCommand(files: LockFiles, holder: Omit<LockHolder, "hostPid">): string {
  const lock = shQuote(files.lockFile);
  const record = shQuote(files.holderFile);
  return [
    `umask 077; mkdir -p ${shQuote(LOCK_DIR)} && exec 9>>${lock} || exit 1`,
    `if ! flock -n 9; then echo "busy $(cat ${record} 2>/dev/null)"; exit ${LOCK_BUSY_STATUS}; fi`,
    `stale=$(cat ${record} 2>/dev/null || true)`,
    `printf '%s %s\\n' "$$" ${shQuote(JSON.stringify(holder))} >${record}`,
    `echo "locked $stale"`,
    `while [ -n "$(timeout ${LOCK_LEASE_S} head -c 1)" ]; do :; done`,
    `rm -f ${record}`,
  ].join("\n");
}

/** What status reads: `held <holder>` while its shell lives, `stale <holder>` if it died holding it, or nothing. */
export function readLockCommand(files: LockFiles): string {
  return (
    `h=$(cat ${shQuote(files.holderFile)} 2>/dev/null) || exit 0; ` +
    `if kill -0 "\${h%% *}" 2>/dev/null; then echo "held $h"; else echo "stale $h"; fi`
  );
}

/** A holder record as the holding shell wrote it: its pid, a space, the JSON its CLI gave. */
export function parseHolder(text: string): LockHolder | undefined {
  const match = /^(\d+) (\{.*\})\s*$/.exec(text.trim());
  if (!match) return undefined;
  try {
    const parsed = JSON.parse(match[2] ?? "") as Partial<LockHolder>;
    if (typeof parsed.command !== "string" || typeof parsed.controller !== "string") return undefined;
    return {
      command: parsed.command,
      controller: parsed.controller,
      pid: Number(parsed.pid),
      since: String(parsed.since),
      hostPid: Number(match[1]),
    };
  } catch {
    return undefined;
  }
}

export type LockReply =
  { kind: "locked"; stale?: LockHolder } | { kind: "busy"; holder?: LockHolder } | { kind: "unknown"; text: string };

/** The first line the lock command prints. */
export function parseLockReply(line: string): LockReply {
  const [word = "", ...rest] = line.trim().split(" ");
  const holder = parseHolder(rest.join(" "));
  if (word === "locked") return holder ? { kind: "locked", stale: holder } : { kind: "locked" };
  if (word === "busy") return holder ? { kind: "busy", holder } : { kind: "busy" };
  return { kind: "unknown", text: line };
}

export type LockState = { kind: "free" } | { kind: "held" | "stale"; holder: LockHolder };

/** What readLockCommand printed. */
export function parseLockState(output: string): LockState {
  const [word = "", ...rest] = output.trim().split(" ");
  const holder = parseHolder(rest.join(" "));
  if ((word === "held" || word === "stale") && holder) return { kind: word, holder };
  return { kind: "free" };
}

/** e.g. `failover --yes (pid 4711 on ops-1, since 2026-11-30T22:40:00Z)`. */
export function describeHolder(holder: LockHolder): string {
  return `\`${holder.command}\` (pid ${holder.pid} on ${holder.controller}, since ${holder.since})`;
}
