import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";
import { archiveCommand } from "./steps.js";
import type { NodeObservation } from "./observed.js";
import type { Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";

/**
 * The pair's history, kept in the pair itself: one JSON object per line in each node's state/history.jsonl,
 * appended on every node that can be reached when the event happens, so any controller (and `watch`) reads it
 * from the hosts. Reading merges both nodes' files by event id.
 */
export const HISTORY_KINDS = ["failover", "switchover", "rejoin", "pause", "resume", "start-alone", "watch"] as const;

export type HistoryKind = (typeof HISTORY_KINDS)[number];

export interface HistoryEvent {
  /** Random (a failover's: from its generation token, so a re-run of the same failover records the same event). */
  id: string;
  /** ISO time, the controller's clock when the event was recorded. */
  at: string;
  kind: HistoryKind;
  /** Who did it: `user@host` of the controller that ran the command (or what `watch` says it is). */
  actor: string;
  /** Set by `watch` for what it did on its own. */
  automatic?: boolean;
  /** The main before (failover, switchover). */
  from?: string;
  /** The main after (failover, switchover), or the main a rejoined node joined. */
  to?: string;
  /** The node the event is about (rejoin, start-alone). */
  node?: string;
  /** The cluster token the pair serves after the event. */
  generation?: string;
  /** Revisions the old main had committed that the pair lost; null when unknown (never guessed). */
  lostRevisions?: number | null;
  /** The loss as the command reported it, in words. */
  loss?: string;
  note?: string;
}

/** The step id prefix of each kind's history step: `failover.history`, `switch.history`, … */
export const HISTORY_STEP_PREFIX: Record<HistoryKind, StepPrefix<"history">> = {
  failover: "failover",
  switchover: "switch",
  rejoin: "rejoin",
  pause: "pause",
  resume: "resume",
  "start-alone": "alone",
  watch: "watch",
};

/** The event as its line in the history file: JSON escapes every newline and control character. */
export function historyLine(event: HistoryEvent): string {
  return JSON.stringify(event);
}

/** A history file past this size is archived after the append that took it there, and a new one begun. */
export const HISTORY_ROTATE_BYTES = 1024 * 1024;

/**
 * Appends the event to a node's history file; the file is synced, as every file etcd-pair writes on a host. A file
 * past HISTORY_ROTATE_BYTES (some thousands of events) moves to the archive, named by this event's time.
 */
export function historyAppendCommand(node: NodeSpec, event: HistoryEvent): string {
  const layout = nodeLayout(node);
  const q = shQuote;
  const file = q(layout.historyFile);
  const stamp = event.at.replace(/[-:]/g, "").replace(/\.\d+/, "");
  return (
    `mkdir -p ${q(layout.stateDir)} && printf '%s\\n' ${q(historyLine(event))} >> ${file} && sync ${file} && ` +
    `if [ "$(stat -c %s ${file})" -gt ${HISTORY_ROTATE_BYTES} ]; then ` +
    `${archiveCommand(layout.historyFile, layout.archiveDir, `history-${stamp}.jsonl`)}; fi`
  );
}

/**
 * One step per node, each appending the event to that node's history. A node that cannot take it must not fail
 * the command that already did what it recorded: the steps warn and go on.
 */
export function historySteps(
  nodes: readonly NodeSpec[],
  event: HistoryEvent,
  prefix: StepPrefix<"history"> = HISTORY_STEP_PREFIX[event.kind],
): Step[] {
  return nodes.map((node) => ({
    id: `${prefix}.history`,
    title: `record the ${event.kind} in ${node.name}'s history`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command: historyAppendCommand(node, event), timeoutMs: 20_000 }],
    onFailure: "warn",
    hint: `the pair's history on ${node.name} lacks this event; the other node's history may hold it`,
  }));
}

/** The nodes a record can be written on now: those the last look reached. */
export function recordableNodes(nodes: readonly NodeSpec[], observations: readonly NodeObservation[]): NodeSpec[] {
  return nodes.filter((n) => observations.find((o) => o.node === n.name)?.reachable);
}

const OPTIONAL_STRINGS = ["from", "to", "node", "generation", "loss", "note"] as const;

/** A parsed line as an event, or undefined when it is not one (a wrong type, an unknown kind, a bad time). */
function asEvent(value: unknown): HistoryEvent | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { id, at, kind, actor } = v;
  if (typeof id !== "string" || !id || typeof actor !== "string") return undefined;
  if (typeof at !== "string" || Number.isNaN(Date.parse(at))) return undefined;
  if (!HISTORY_KINDS.includes(kind as HistoryKind)) return undefined;
  const event: HistoryEvent = { id, at, kind: kind as HistoryKind, actor };
  if (v.automatic !== undefined) {
    if (typeof v.automatic !== "boolean") return undefined;
    event.automatic = v.automatic;
  }
  for (const field of OPTIONAL_STRINGS) {
    const text = v[field];
    if (text === undefined) continue;
    if (typeof text !== "string") return undefined;
    event[field] = text;
  }
  const lost = v.lostRevisions;
  if (lost !== undefined) {
    if (lost !== null && (typeof lost !== "number" || !Number.isInteger(lost) || lost < 0)) return undefined;
    event.lostRevisions = lost;
  }
  return event;
}

/** A history file's events in file order, and how many non-empty lines were not events (and were skipped). */
export function parseHistoryLines(text: string): { events: HistoryEvent[]; malformed: number } {
  const events: HistoryEvent[] = [];
  let malformed = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let event: HistoryEvent | undefined;
    try {
      event = asEvent(JSON.parse(line));
    } catch {
      event = undefined;
    }
    if (event) events.push(event);
    else malformed++;
  }
  return { events, malformed };
}

/** A history file's events; malformed lines are skipped (parseHistoryLines counts them). */
export function parseHistory(text: string): HistoryEvent[] {
  return parseHistoryLines(text).events;
}

function byTime(a: HistoryEvent, b: HistoryEvent): number {
  return Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The nodes' histories as one, by event id, oldest first. The same id twice (both nodes, or a re-run of the
 * same failover) is one event: the earliest record of it, as first written.
 */
export function mergeHistories(lists: readonly (readonly HistoryEvent[])[]): HistoryEvent[] {
  const byId = new Map<string, HistoryEvent>();
  for (const event of lists.flat()) {
    const kept = byId.get(event.id);
    if (!kept || Date.parse(event.at) < Date.parse(kept.at)) byId.set(event.id, event);
  }
  return [...byId.values()].sort(byTime);
}

/** The latest event of a kind (e.g. `watch` asks when the pair last failed over), from a merged history. */
export function lastEvent(events: readonly HistoryEvent[], kind: HistoryKind): HistoryEvent | undefined {
  return events.filter((e) => e.kind === kind).at(-1);
}

/** The nodes an event was about, for a person: `alpha → beta`, `alpha (learner of beta)`, `alpha`. */
export function describeNodes(event: HistoryEvent): string {
  if (event.kind === "rejoin" && event.node) return event.to ? `${event.node} (learner of ${event.to})` : event.node;
  if (event.from && event.to) return `${event.from} → ${event.to}`;
  return event.node ?? event.to ?? event.from ?? "-";
}

/** The loss and the note, for a person. */
export function describeOutcome(event: HistoryEvent): string {
  const parts: string[] = [];
  if (event.lostRevisions !== undefined)
    parts.push(event.lostRevisions === null ? "lost: unknown" : `lost: ${event.lostRevisions} revision(s)`);
  else if (event.loss) parts.push(`lost: ${event.loss}`);
  if (event.note) parts.push(event.note);
  return parts.join("; ") || "-";
}
