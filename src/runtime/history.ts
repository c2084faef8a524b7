import { randomBytes } from "node:crypto";
import os from "node:os";
import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { historySteps, parseHistoryLines, type HistoryEvent, type HistoryKind } from "../plan/history.js";
import { shQuote } from "../shell/quote.js";
import type { Hosts } from "./hosts.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";

/** Who runs this command, for the history: `user@host` of the controller. */
export function actorHere(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // A uid with no passwd entry (a container): its number.
    user = process.env.USER ?? `uid ${process.getuid?.() ?? "?"}`;
  }
  return `${user}@${os.hostname()}`;
}

/** A random event id: 16 hex digits. */
export function newEventId(): string {
  return randomBytes(8).toString("hex");
}

/** An event that happens now, by whoever runs this command, unless `id`, `at` or `actor` say otherwise. */
export function historyEvent(
  kind: HistoryKind,
  fields: Omit<HistoryEvent, "id" | "at" | "kind" | "actor"> & Partial<Pick<HistoryEvent, "id" | "at" | "actor">>,
): HistoryEvent {
  const { id, at, actor, ...rest } = fields;
  return { id: id ?? newEventId(), at: at ?? new Date().toISOString(), kind, actor: actor ?? actorHere(), ...rest };
}

/**
 * Appends the event to the history of each of `nodes` (those reachable now: an unreachable one would only cost
 * a connection timeout), one step per node. A node that cannot take it is warned about; the command goes on.
 */
export async function recordHistory(
  hosts: Hosts,
  nodes: readonly NodeSpec[],
  event: HistoryEvent,
  reporter: Reporter,
): Promise<StepRecord[]> {
  try {
    return await runSteps(historySteps(nodes, event), hosts, reporter);
  } catch (err) {
    // The history steps only warn (onFailure: "warn"); anything else is a fault of ours, and still not the pair's.
    reporter.warn(`the ${event.kind} was not recorded in the pair's history: ${(err as Error).message}`);
    return [];
  }
}

/** One node's history as read from its host, or why it could not be read. */
export interface NodeHistory {
  node: string;
  read: boolean;
  error?: string;
  events: HistoryEvent[];
  /** Lines that were not events (skipped). */
  malformed: number;
}

const READ_TIMEOUT_MS = 20_000;

/** Reads one node's history file (read-only; no file: an empty history). */
export async function readNodeHistory(hosts: Hosts, node: NodeSpec): Promise<NodeHistory> {
  const file = shQuote(nodeLayout(node).historyFile);
  try {
    const outcome = await hosts
      .transport(node.name)
      .exec(`if [ -e ${file} ]; then cat ${file}; fi`, { timeoutMs: READ_TIMEOUT_MS });
    if (outcome.code !== 0) {
      const why = outcome.stderr.trim() || `exit code ${outcome.code}`;
      return { node: node.name, read: false, error: why, events: [], malformed: 0 };
    }
    return { node: node.name, read: true, ...parseHistoryLines(outcome.stdout) };
  } catch (err) {
    return { node: node.name, read: false, error: (err as Error).message, events: [], malformed: 0 };
  }
}

/** Both nodes' histories, read at once. */
export async function readHistories(hosts: Hosts): Promise<NodeHistory[]> {
  return Promise.all(hosts.pair.nodes.map((node) => readNodeHistory(hosts, node)));
}
