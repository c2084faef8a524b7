import type { AutoFailoverSpec, PairSpec } from "../config/resolve.js";
import type { HistoryEvent } from "./history.js";
import type { NodeObservation } from "./observed.js";
import { pairView, peerOf } from "./pairView.js";
import { pairPaused } from "./pause.js";
import { firstRefusal, type Refusal } from "./refusal.js";

/**
 * `etcd-pair watch`, the witness: the pure half. It is fed what the witness saw of the main (its client port,
 * from the witness's own machine) and what the learner's host saw (the main's peer port, from that host), once a
 * tick, and now and then a full look at the pair. It decides, in Patroni's way: detection first, then a list of
 * guards that each give a reason not to act, then the action. README: Automatic failover.
 */

/** What the pair looked like at the last full look (both hosts probed). */
export interface PairFacts {
  at: number;
  /** The node that leads as a voter. */
  main?: string;
  /** The node that runs as a learner (a learner answers its status even when its main is gone). */
  learner?: string;
  /** The node holding an unfinished failover's token: a failover began and was cut short. */
  failoverCutShort?: string;
  /** Who paused the pair and why (`etcd-pair pause`), from any node that says so. */
  paused?: string;
  /** The main's revision minus the learner's, when both answered. */
  lagRevisions?: number;
}

/** One tick's two views of the main. */
export interface Tick {
  at: number;
  main: string;
  /** The witness reached the main's etcd (an HTTP answer on its client port); else why not. */
  witness: { reaches: boolean; detail?: string };
  /** The learner's host reached the main's peer port; undefined reaches: its host could not be asked. */
  learner: { node: string; reaches?: boolean; detail?: string };
}

export interface WatchMemory {
  /** The node watched as the main: the one last seen leading, or the peer of the learner when none leads. */
  main?: string;
  /** Since when both the witness and the learner's host have lost the main, without a break. */
  lostSince?: number;
  /** When watch last failed over on its own (also read back from the pair's history when it starts). */
  lastAutomaticFailoverAt?: number;
  /** After an automatic failover: nothing more until the pair has a learner again. */
  awaitingLearner: boolean;
  /** The learner's lag at the last full look while the main still served. */
  lastLagRevisions?: number;
}

export type WatchAction =
  | { kind: "none" }
  /** resume: finish a failover cut short (only a pause stops it: its learner may be stopped already). */
  | { kind: "failover"; from: string; to: string; reason: string; resume?: boolean }
  | { kind: "refuse"; reason: string };

export interface WatchDecision {
  memory: WatchMemory;
  action: WatchAction;
  /** What the witness sees now, in one line: printed when it changes. */
  state: string;
}

/** The pair as a full look found it: who leads, who runs as learner, pause, lag, an unfinished failover. */
export function pairFacts(pair: PairSpec, observations: readonly NodeObservation[], at: number): PairFacts {
  const view = pairView(pair, observations);
  const facts: PairFacts = { at };
  const paused = pairPaused(observations);
  if (paused) facts.paused = `${paused.text} (on ${paused.on.join(", ")})`;
  const cutShort = pair.nodes.find((n) => view.of(n).failoverToken && !view.leads(n));
  if (cutShort) facts.failoverCutShort = cutShort.name;
  const main = view.leader();
  if (main) facts.main = main.name;
  const learner = pair.nodes.find((n) => view.of(n).running && view.of(n).status?.isLearner);
  if (learner) facts.learner = learner.name;
  const mainRevision = main ? view.of(main).status?.revision : undefined;
  const learnerRevision = learner ? view.of(learner).status?.revision : undefined;
  if (mainRevision !== undefined && learnerRevision !== undefined)
    facts.lagRevisions = Math.max(0, mainRevision - learnerRevision);
  return facts;
}

/** Learns from a full look: who is main now, whether the standby is back, the learner's lag. */
export function observeFacts(pair: PairSpec, memory: WatchMemory, facts: PairFacts): WatchMemory {
  const next = { ...memory };
  const learner = pair.nodes.find((n) => n.name === facts.learner);
  if (facts.main) next.main = facts.main;
  else if (learner && next.main === undefined) next.main = peerOf(pair, learner).name;
  if (facts.main && facts.learner) {
    next.awaitingLearner = false;
    if (facts.lagRevisions !== undefined) next.lastLagRevisions = facts.lagRevisions;
  }
  return next;
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Every reason not to fail over now, in order; undefined: fail over. */
/**
 * The facts a failover decision stands on, made fresh from a look at the learner's host alone (the main's is
 * lost: asking it would only cost a connection timeout): a pause marked there since the last full look counts,
 * and so does a learner that no longer runs.
 */
export function confirmedFacts(last: PairFacts | undefined, learner: NodeObservation, at: number): PairFacts {
  const facts: PairFacts = { ...(last ?? {}), at };
  const paused = pairPaused([learner]);
  if (paused) facts.paused = `${paused.text} (on ${paused.on.join(", ")})`;
  if (learner.running && learner.status?.isLearner) facts.learner = learner.node;
  else delete facts.learner;
  return facts;
}

/** When watch last failed over on its own, as the pair's history says (unix ms). */
export function lastAutomaticFailover(events: readonly HistoryEvent[]): number | undefined {
  const last = events.filter((e) => e.kind === "failover" && e.automatic).at(-1);
  return last ? Date.parse(last.at) : undefined;
}

export function failoverRefusal(
  settings: AutoFailoverSpec,
  memory: WatchMemory,
  facts: PairFacts | undefined,
  now: number,
): Refusal | undefined {
  return firstRefusal([
    () =>
      facts?.paused
        ? { message: `the pair is paused (${facts.paused})`, hint: "etcd-pair resume, once maintenance is done" }
        : undefined,
    () =>
      memory.awaitingLearner
        ? {
            message: "watch failed over already and the pair has no learner yet",
            hint: "bring the old main back: etcd-pair rejoin NODE (watch acts again once the pair has a learner)",
          }
        : undefined,
    () => {
      const last = memory.lastAutomaticFailoverAt;
      if (last === undefined || now - last >= settings.minIntervalMs) return undefined;
      return {
        message: `the last automatic failover was ${secondsText(now - last)} ago, less than failover.minInterval (${secondsText(settings.minIntervalMs)})`,
        hint: "fail over by hand if you must: etcd-pair failover",
      };
    },
    () =>
      facts?.learner && facts.learner !== memory.main
        ? undefined
        : {
            message: "no learner ran at the last look: there is nothing to fail over to",
            hint: "etcd-pair status",
          },
    () => {
      const max = settings.maxLagRevisions;
      const lag = memory.lastLagRevisions;
      if (max === undefined || lag === undefined || lag <= max) return undefined;
      return {
        message: `the learner was ${lag} revisions behind at the last look, more than failover.maxLagRevisions (${max}): a failover would lose them`,
        hint: "fail over by hand if losing them is better than waiting: etcd-pair failover",
      };
    },
  ]);
}

/** One tick: is the main lost by both views, for how long, and what to do. */
export function decide(
  settings: AutoFailoverSpec,
  memory: WatchMemory,
  tick: Tick,
  facts: PairFacts | undefined,
): WatchDecision {
  const { main } = tick;
  const witnessLost = !tick.witness.reaches;
  const learnerLost = tick.learner.reaches === false;
  if (!witnessLost || !learnerLost) {
    const next = { ...memory, lostSince: undefined };
    let state = `${main} serves: the witness and ${tick.learner.node}'s host reach it`;
    if (witnessLost)
      state = `${main} is lost by the witness only (${tick.witness.detail ?? "no answer"}); ${tick.learner.node}'s host ${tick.learner.reaches === undefined ? `cannot be asked (${tick.learner.detail ?? "no answer"})` : "reaches it"}: no failover`;
    else if (learnerLost)
      state = `${main} is lost by ${tick.learner.node}'s host only (${tick.learner.detail ?? "no answer"}); the witness reaches it: no failover`;
    else if (tick.learner.reaches === undefined)
      state = `${main} serves (the witness reaches it); ${tick.learner.node}'s host cannot be asked (${tick.learner.detail ?? "no answer"})`;
    return { memory: next, action: { kind: "none" }, state };
  }
  const lostSince = memory.lostSince ?? tick.at;
  const next = { ...memory, lostSince };
  const lostFor = tick.at - lostSince;
  const lostText = `${main} is lost by the witness (${tick.witness.detail ?? "no answer"}) and by ${tick.learner.node}'s host (${tick.learner.detail ?? "no answer"})`;
  if (lostFor < settings.detectAfterMs)
    return {
      memory: next,
      action: { kind: "none" },
      state: `${lostText}: dead once this lasts ${secondsText(settings.detectAfterMs)}`,
    };
  const refusal = failoverRefusal(settings, next, facts, tick.at);
  if (refusal)
    return {
      memory: next,
      action: { kind: "refuse", reason: `${refusal.message}; ${refusal.hint}` },
      state: `${lostText} for ${secondsText(lostFor)}: no automatic failover: ${refusal.message}`,
    };
  return {
    memory: next,
    action: { kind: "failover", from: main, to: tick.learner.node, reason: `${lostText} for ${secondsText(lostFor)}` },
    state: `${lostText} for ${secondsText(lostFor)}: failing over to ${tick.learner.node}`,
  };
}
