/**
 * etcd names its raft snapshot files `<term>-<index>.snap` (member/snap), both as 16 hex digits: the newest is
 * last in name order, and a start replays only the log entries after its index.
 */

/** Prints the hex index of the newest snapshot file in the snap dir `dirWord` (a shell word); nothing if none. */
export function newestSnapshotIndexCommand(dirWord: string): string {
  return `ls ${dirWord} 2>/dev/null | sed -n 's/^[0-9a-f]\\{16\\}-\\([0-9a-f]\\{16\\}\\)\\.snap$/\\1/p' | sort | tail -n 1`;
}

/** The index newestSnapshotIndexCommand printed; undefined when there was none (no snapshot yet). */
export function parseSnapshotIndex(text: string | undefined): number | undefined {
  const hex = (text ?? "").trim().split("\n").at(-1) ?? "";
  return /^[0-9a-f]{16}$/.test(hex) ? Number.parseInt(hex, 16) : undefined;
}
