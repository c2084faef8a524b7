import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";
import type { NodeObservation } from "./observed.js";
import type { Blocker } from "./preflight.js";
import { firstRefusal, type Refusal } from "./refusal.js";
import type { Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";

/** The unix seconds a cluster token carries (`<cluster>-<seconds>-<hex>`): they order generations. */
export function tokenSeconds(token: string | undefined): number | undefined {
  const seconds = token ? /-(\d+)-[0-9a-f]+$/.exec(token)?.[1] : undefined;
  return seconds === undefined ? undefined : Number(seconds);
}

/**
 * A main that is down with its data may be started by etcd-pair only if its peer holds no newer generation: a
 * newer one means the pair failed over to the peer while this node was away (README: Boot guard).
 */
export function staleMainBlocker(
  main: NodeSpec,
  mainObs: NodeObservation,
  peer: NodeSpec,
  peerObs: NodeObservation,
): Blocker | undefined {
  if (mainObs.running || mainObs.dataDir !== "member") return undefined;
  const ours = tokenSeconds(mainObs.generation ?? mainObs.envToken);
  const theirs = tokenSeconds(peerObs.generation);
  if (ours === undefined || theirs === undefined || theirs <= ours) return undefined;
  return {
    node: main.name,
    problem: `${main.name}'s data is of generation ${mainObs.generation ?? mainObs.envToken}, and ${peer.name} holds a newer one (${peerObs.generation}): the pair failed over to ${peer.name} while ${main.name} was away`,
    fix: `start ${peer.name} (etcd-pair start-alone ${peer.name} if its peer is what keeps it waiting), then 'etcd-pair rejoin ${main.name}'`,
  };
}

/**
 * Tells a main's boot guard that etcd-pair checked both hosts and found no newer generation, so it may start
 * without hearing from its peer (README: Boot guard). Good for a few minutes: a reboot later asks the peer again.
 */
export function approveStartStep(node: NodeSpec, prefix: StepPrefix<"approve">, token: string): Step {
  const layout = nodeLayout(node);
  return {
    id: `${prefix}.approve`,
    title: `approve starting ${node.name} as the main of generation ${token} (its boot guard reads it)`,
    node: node.name,
    kind: "change",
    actions: [
      {
        kind: "exec",
        node: node.name,
        command:
          `mkdir -p ${shQuote(layout.stateDir)} && ` +
          `printf '%s %s\\n' ${shQuote(token)} "$(date +%s)" >${shQuote(layout.startApprovalFile)}`,
      },
    ],
  };
}

/**
 * The approval is for one start: once the main it approved is ready, the ready step removes it, so that a later
 * start (a reboot within the 5 minutes) asks the peer again (README: Boot guard).
 */
export function consumingApproval(ready: Step, node: NodeSpec): Step {
  return {
    ...ready,
    title: `${ready.title}, then remove its start approval (it was for this start only)`,
    actions: [
      ...ready.actions,
      { kind: "exec", node: node.name, command: `rm -f ${shQuote(nodeLayout(node).startApprovalFile)}` },
    ],
  };
}

/** What `start-alone` saw of the peer: the reason a person must confirm, when etcd-pair could not check. */
export interface StartAlonePlan {
  node: string;
  steps: Step[];
  /** Set when the peer could not be checked: the operator takes that on. */
  unchecked?: string;
}

/**
 * `etcd-pair start-alone NODE`: starts a main its boot guard keeps waiting (its peer is gone), after checking what
 * can be checked. Refused when the node is not such a main, or when its peer is reachable and holds a newer
 * generation or runs etcd (then `up` or `rejoin` is the way).
 */
export function startAloneRefusal(
  node: NodeSpec,
  o: NodeObservation,
  peer: NodeSpec,
  p: NodeObservation,
): Refusal | undefined {
  return firstRefusal([
    () =>
      o.reachable
        ? undefined
        : { message: `${node.name}'s host cannot be reached: ${o.error ?? ""}`, hint: "bring it back first" },
    () =>
      o.fenced
        ? {
            message: `the pair failed over away from ${node.name} (${o.fenced})`,
            hint: `rejoin it: etcd-pair rejoin ${node.name}`,
          }
        : undefined,
    () =>
      o.dataDir === "member" ? undefined : { message: `${node.name} holds no member data`, hint: "run 'etcd-pair up'" },
    () =>
      o.envState === "new"
        ? undefined
        : {
            message: `${node.name} is not a main (it joined as a learner): it starts on its own`,
            hint: "run 'etcd-pair up'",
          },
    () => {
      const blocker = staleMainBlocker(node, { ...o, running: false }, peer, p);
      return blocker ? { message: blocker.problem, hint: blocker.fix } : undefined;
    },
    () =>
      p.reachable && p.running
        ? {
            message: `etcd runs on ${peer.name}: ${node.name}'s guard can ask it`,
            hint: "run 'etcd-pair up' or 'etcd-pair status'",
          }
        : undefined,
  ]);
}

/** The record of who started a main alone, kept on its host (state/started-alone, one line per start). */
export function startAloneSteps(node: NodeSpec, token: string, record: string): Step[] {
  const layout = nodeLayout(node);
  return [
    {
      id: "alone.record",
      title: `record on ${node.name} who started it alone, and why`,
      node: node.name,
      kind: "change",
      actions: [
        {
          kind: "exec",
          node: node.name,
          command: `mkdir -p ${shQuote(layout.stateDir)} && echo ${shQuote(record)} >>${shQuote(layout.startedAloneFile)}`,
        },
      ],
    },
    approveStartStep(node, "alone", token),
  ];
}
