import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";
import type { NodeObservation } from "./observed.js";
import { refuse, type Planned } from "./refusal.js";
import type { Step } from "./step.js";
import { archiveCommand } from "./steps.js";

/**
 * Maintenance mode, recorded in the pair: a marker on each node (state/paused) saying who paused it, when and
 * why. `watch` acts on nothing while a node holds one; `status` shows it. A node that cannot be reached keeps
 * whatever it had: the commands say so.
 */

/** The marker's one line. */
export function pauseMarker(actor: string, at: string, reason: string | undefined): string {
  return `by ${actor} at ${at}${reason ? `: ${reason}` : ""}`;
}

/** The pause as the observations show it: the first marker found and the nodes holding one; null when none. */
export function pairPaused(observations: readonly NodeObservation[]): { text: string; on: string[] } | null {
  const paused = observations.filter((o) => o.paused !== undefined);
  const first = paused[0]?.paused;
  return first === undefined ? null : { text: first, on: paused.map((o) => o.node) };
}

export interface PauseChangePlan {
  steps: Step[];
  /** The nodes the steps change. */
  changes: string[];
  /** Reachable nodes that need nothing (already paused, or not paused for a resume), with their marker. */
  unchanged: { node: string; paused?: string }[];
  /** Nodes that could not be reached: nothing is known or changed there. */
  unreachable: { node: string; error: string }[];
  /** The marker written (pause) or lifted (resume): the first one found, else the new one. */
  marker: string | undefined;
}

function reachability(pair: PairSpec, observations: readonly NodeObservation[]) {
  const of = (n: NodeSpec) => observations.find((o) => o.node === n.name);
  const reachable = pair.nodes.filter((n) => of(n)?.reachable);
  const unreachable = pair.nodes
    .filter((n) => !of(n)?.reachable)
    .map((n) => ({ node: n.name, error: of(n)?.error ?? "not probed" }));
  return { of, reachable, unreachable };
}

const NOTHING_REACHABLE =
  "neither node's host can be reached: there is nowhere to record it. Bring a host back and run it again";

/** Writes the marker on each reachable node that has none; one already paused keeps its own (the first pause). */
export function planPause(
  pair: PairSpec,
  observations: readonly NodeObservation[],
  newMarker: string,
): Planned<PauseChangePlan> {
  const { of, reachable, unreachable } = reachability(pair, observations);
  if (reachable.length === 0) return refuse("cannot pause the pair: no node can be reached", NOTHING_REACHABLE);
  const marker = pairPaused(observations)?.text ?? newMarker;
  const toMark = reachable.filter((n) => of(n)?.paused === undefined);
  const steps: Step[] = toMark.map((node) => ({
    id: "pause.mark",
    title: `mark ${node.name} paused`,
    node: node.name,
    kind: "change",
    actions: [
      { kind: "upload", node: node.name, path: nodeLayout(node).pausedFile, content: `${marker}\n`, mode: 0o644 },
    ],
  }));
  const unchanged = reachable
    .filter((n) => of(n)?.paused !== undefined)
    .map((n) => ({ node: n.name, paused: of(n)?.paused ?? "" }));
  return { ok: true, plan: { steps, changes: toMark.map((n) => n.name), unchanged, unreachable, marker } };
}

/** Archives the marker of each reachable node that has one (never deleted: archive/paused-STAMP). */
export function planResume(
  pair: PairSpec,
  observations: readonly NodeObservation[],
  stamp: string,
): Planned<PauseChangePlan> {
  const { of, reachable, unreachable } = reachability(pair, observations);
  if (reachable.length === 0) return refuse("cannot resume the pair: no node can be reached", NOTHING_REACHABLE);
  const paused = reachable.filter((n) => of(n)?.paused !== undefined);
  const steps: Step[] = paused.map((node) => {
    const layout = nodeLayout(node);
    const file = layout.pausedFile;
    return {
      id: "resume.clear",
      title: `lift the pause on ${node.name} (its marker is archived)`,
      node: node.name,
      kind: "change",
      actions: [
        {
          kind: "exec",
          node: node.name,
          command: `if [ -e ${shQuote(file)} ]; then ${archiveCommand(file, layout.archiveDir, `paused-${stamp}`)}; fi`,
        },
      ],
    };
  });
  const unchanged = reachable.filter((n) => of(n)?.paused === undefined).map((n) => ({ node: n.name }));
  return {
    ok: true,
    plan: {
      steps,
      changes: paused.map((n) => n.name),
      unchanged,
      unreachable,
      marker: pairPaused(observations)?.text,
    },
  };
}
