import type { Summary } from "./stats.js";

/** One measured figure: the tool's measurements, and its baseline's where there is one (same run). */
export interface Figure {
  id: string;
  name: string;
  unit: string;
  tool: Summary;
  baseline?: Summary & { name: string };
  /** tool median / baseline median. */
  ratio?: number;
  /** The target, as text (nothing checks it: the figures are reported, never asserted). */
  target?: string;
  /** Anything else measured alongside (step timings, db size, counts). */
  details?: Record<string, unknown>;
}

/** A write-latency trace around an event, for the chart: times in ms relative to the event. */
export interface Trace {
  title: string;
  /** [time sent, latency] of each acknowledged write. */
  acked: [number, number][];
  /** Time sent of each write that failed. */
  failed: number[];
  events: { at: number; label: string }[];
}
