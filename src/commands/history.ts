import { describeNodes, describeOutcome, mergeHistories, type HistoryEvent } from "../plan/history.js";
import { readHistories, type NodeHistory } from "../runtime/history.js";
import { EXIT, type LookCommand } from "./command.js";
import { table } from "./text.js";

/** An event of the merged history, with the nodes whose history holds it. */
export type ListedEvent = HistoryEvent & { on: string[] };

export interface HistoryReport {
  events: ListedEvent[];
  /** Per node: whether its history could be read, how many events it holds, how many lines were skipped. */
  nodes: { name: string; read: boolean; error?: string; events: number; malformed: number }[];
}

export function historyReport(histories: readonly NodeHistory[]): HistoryReport {
  const merged = mergeHistories(histories.map((h) => h.events));
  return {
    events: merged.map((event) => ({
      ...event,
      on: histories.filter((h) => h.events.some((e) => e.id === event.id)).map((h) => h.node),
    })),
    nodes: histories.map((h) => ({
      name: h.node,
      read: h.read,
      ...(h.error === undefined ? {} : { error: h.error }),
      events: h.events.length,
      malformed: h.malformed,
    })),
  };
}

/**
 * The history as a table. The CLI prints a report's stdout through printable() (one U+FFFD per control
 * character, so the columns stay aligned): nothing read from a host reaches the terminal raw.
 */
export function formatHistory(report: HistoryReport): string {
  if (report.events.length === 0) return "no events recorded\n";
  const rows = report.events.map((e) => [
    e.at.replace(/\.\d+Z$/, "Z"),
    `${e.kind}${e.automatic ? " (auto)" : ""}`,
    e.actor,
    describeNodes(e),
    e.generation ?? "-",
    describeOutcome(e),
  ]);
  return table(["TIME", "EVENT", "BY", "NODES", "GENERATION", "LOSS / NOTE"], rows);
}

/** What a person should know about the reading itself: a node not read, lines skipped. */
export function historyNotes(report: HistoryReport): string[] {
  const notes: string[] = [];
  const unread = report.nodes.filter((n) => !n.read);
  const read = report.nodes.filter((n) => n.read).map((n) => n.name);
  for (const n of unread) notes.push(`${n.name}'s history could not be read: ${n.error ?? "no answer"}`);
  if (unread.length > 0 && read.length > 0) notes.push(`the history shown is ${read.join(" and ")}'s alone`);
  for (const n of report.nodes.filter((n) => n.malformed > 0))
    notes.push(`${n.name}: ${n.malformed} line(s) of its history file are not events and were skipped`);
  return notes;
}

export const history: LookCommand<object, HistoryReport, HistoryReport> = {
  path: ["history"],
  description:
    "the pair's history as both hosts keep it: failovers, switchovers, rejoins, pauses, forced starts, with who, " +
    "when, from which node to which, the generation and what was lost; exit 3 when no node can be read",
  changesHosts: false,
  input: () => ({}),
  prepare: async (ctx) => historyReport(await readHistories(await ctx.hosts())),
  run: async (ctx, _input, report) => {
    historyNotes(report).forEach((note) => ctx.reporter.warn(note));
    return report;
  },
  report: (report) => {
    const none = report.nodes.every((n) => !n.read);
    return {
      json: report,
      stdout: none ? "" : formatHistory(report),
      ...(none ? { stderr: "no node's history could be read", exitCode: EXIT.unhealthy } : {}),
    };
  },
};
