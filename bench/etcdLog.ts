/**
 * How long etcd's own election took on its last start as a one-member cluster, from its JSON log: from
 * "started as single-node; fast-forwarding election ticks" to "became leader". With the default timing this is
 * uniform between 0.1 and 1 s (raft randomizes the election timeout), whoever started etcd.
 */
export function electionWaitMs(log: string): number | null {
  let advanced: number | undefined;
  let wait: number | null = null;
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { ts?: string; msg?: string };
    try {
      entry = JSON.parse(line) as { ts?: string; msg?: string };
    } catch {
      continue;
    }
    const at = entry.ts ? Date.parse(entry.ts) : NaN;
    if (Number.isNaN(at)) continue;
    if (entry.msg?.includes("fast-forwarding election ticks")) advanced = at;
    else if (advanced !== undefined && /became leader at term/.test(entry.msg ?? "")) {
      wait = at - advanced;
      advanced = undefined;
    }
  }
  return wait;
}
