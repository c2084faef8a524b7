import type { PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { NodeState } from "./pairState.js";
import { describeHolder, type LockState } from "./lock.js";
import { pairPaused } from "./pause.js";

/** When the pair's current generation began, and by what: a failover restores one, `up` bootstraps one. */
export interface Generation {
  token: string;
  /** ISO time from the token's unix seconds (the controller's clock when the generation was made). */
  began: string | null;
  kind: "failover" | "up";
}

/** The generation the leader serves (its state/generation), or null without a leader. */
export function currentGeneration(leader: NodeObservation | undefined): Generation | null {
  const token = leader?.generation;
  if (!token) return null;
  const seconds = /-(\d+)-[0-9a-f]+$/.exec(token)?.[1];
  return {
    token,
    began: seconds ? new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z") : null,
    kind: leader.restoredFrom?.token === token ? "failover" : "up",
  };
}

/** The last time the main changed: a switchover it recorded in this generation, else the generation's start. */
export interface RoleChange {
  kind: "switchover" | "failover" | "up";
  at: string | null;
  /** The main before a switchover. */
  from?: string;
}

export function lastRoleChange(leader: NodeObservation | undefined, generation: Generation | null): RoleChange | null {
  if (!generation) return null;
  const switched = leader?.switchedOver;
  if (switched && switched.token === generation.token)
    return { kind: "switchover", at: switched.at, from: switched.from };
  return { kind: generation.kind, at: generation.began };
}

/** What an operator does next about one node: a command, and why. Undefined when the node needs nothing. */
function nodeNext(
  pair: PairSpec,
  node: NodeState,
  o: NodeObservation | undefined,
  leader: string | null,
): string | undefined {
  const layout = pair.nodes.find((n) => n.name === node.name);
  const log = layout ? nodeLayout(layout).logFile : "its etcd log";
  if (!o?.reachable)
    return `reach ${node.name}'s host (${node.detail ?? "not probed"}), then run 'etcd-pair status' again`;
  if (o.fenced)
    return `etcd-pair rejoin ${node.name}: the pair failed over away from it (${o.fenced}); it will not start until then`;
  if (node.role === "not-member")
    return `etcd-pair rejoin ${node.name}: it runs but is not a member of ${leader ?? "the main"}'s cluster`;
  if (node.role === "inert") {
    const peer = pair.nodes.find((n) => n.name !== node.name)?.name ?? "its peer";
    return (
      `nothing, or 'etcd-pair start-alone ${node.name}': ${node.name} is inert, it waits for ${peer} and starts once ` +
      `${peer} answers; start it alone only if ${peer} is gone for good and was not failed over to`
    );
  }
  if (node.role === "down")
    return leader
      ? `etcd-pair up: starts ${node.name} again as ${leader}'s learner (or 'etcd-pair rejoin ${node.name}' if up says its data is stale)`
      : "etcd-pair up: starts what stopped (if the main's host is gone for good: 'etcd-pair failover')";
  if (node.role === "follower")
    return `etcd-pair switchover --yes: ${node.name} is a second voter (a switchover cut short?); a re-run ends it with one learner`;
  if (node.role === "unknown" && o.running)
    return (
      `etcd on ${node.name}${o.pid ? ` (pid ${o.pid})` : ""} runs but does not answer (hung?): ` +
      `read ${log}; restart it if it stays so`
    );
  return undefined;
}

/** The lock's lines: a command running now (nothing else to do but wait), or holders that died with it. */
function lockNext(locks: ReadonlyMap<string, LockState>): { running: boolean; lines: string[] } {
  const byHolder = new Map<string, { kind: LockState["kind"]; nodes: string[] }>();
  for (const [node, lock] of locks) {
    if (lock.kind === "free") continue;
    const key = `${lock.kind} ${describeHolder({ ...lock.holder, since: lock.holder.since.slice(0, 19) })}`;
    const entry = byHolder.get(key) ?? { kind: lock.kind, nodes: [] };
    entry.nodes.push(node);
    byHolder.set(key, entry);
  }
  const lines = [...byHolder].map(([key, { kind, nodes }]) => {
    const holder = key.slice(key.indexOf(" ") + 1);
    return kind === "held"
      ? `wait: ${holder} is changing the pair (it holds the lock on ${nodes.join(" and ")})`
      : `nothing, about the lock ${holder} left on ${nodes.join(" and ")}: its holder is gone; the next command takes it over`;
  });
  return { running: [...byHolder.values()].some((e) => e.kind === "held"), lines };
}

/**
 * One "next:" line per thing to act on, most urgent first: a lock, then each node. Split brain (two leaders) is
 * the first line when it happens.
 */
export function nextSteps(
  pair: PairSpec,
  nodes: readonly NodeState[],
  observations: readonly NodeObservation[],
  locks: ReadonlyMap<string, LockState>,
): string[] {
  const leaders = nodes.filter((n) => n.role === "leader");
  const lines: string[] = [];
  if (leaders.length > 1)
    lines.push(
      "stop the node whose generation is older NOW (two mains accept writes), then 'etcd-pair rejoin' it: " +
        leaders.map((l) => `${l.name} ${observations.find((o) => o.node === l.name)?.generation ?? "?"}`).join(", "),
    );
  const lock = lockNext(locks);
  lines.push(...lock.lines);
  if (pairPaused(observations)) lines.push("etcd-pair resume when maintenance is done (the pair is paused)");
  // Mid-command states are the running command's business: what it leaves behind is what to act on.
  if (lock.running) return lines;
  const leader = leaders.length === 1 ? (leaders[0]?.name ?? null) : null;
  // A failover cut short: its re-run finishes what the other lines would ask for.
  const begun = observations.find((o) => o.failoverToken);
  if (begun && !leader)
    return [
      ...lines,
      `etcd-pair failover --yes: a failover to ${begun.node} began and did not finish; a re-run resumes it`,
    ];
  for (const node of nodes) {
    const line = nodeNext(
      pair,
      node,
      observations.find((o) => o.node === node.name),
      leader,
    );
    if (line && !lines.includes(line)) lines.push(line);
  }
  return lines;
}
