import type { Trace } from "./figures.js";
import { longestGap } from "./stats.js";

const WIDTH = 960;
const PANEL = 300;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 40 };
const Y_MIN = 0.5;
const Y_MAX = 5000;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/** One panel: write latency (log scale) against the time each write was sent, with the events marked. */
function panel(traceOf: Trace, top: number): string {
  const times = [...traceOf.acked.map(([t]) => t), ...traceOf.failed, ...traceOf.events.map((e) => e.at)];
  const from = Math.min(...times, 0);
  const to = Math.max(...times, 1);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + ((t - from) / (to - from)) * plotW;
  const y = (ms: number) => {
    const clamped = Math.min(Y_MAX, Math.max(Y_MIN, ms));
    return (
      top +
      MARGIN.top +
      plotH -
      ((Math.log10(clamped) - Math.log10(Y_MIN)) / (Math.log10(Y_MAX) - Math.log10(Y_MIN))) * plotH
    );
  };
  const parts: string[] = [];
  parts.push(
    `<text x="${MARGIN.left}" y="${top + 22}" font-size="15" font-weight="bold">${escape(traceOf.title)}</text>`,
  );
  parts.push(
    `<rect x="${MARGIN.left}" y="${top + MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  for (const ms of [1, 10, 100, 1000]) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${fmt(y(ms))}" y2="${fmt(y(ms))}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${MARGIN.left - 6}" y="${fmt(y(ms) + 4)}" font-size="11" text-anchor="end">${ms} ms</text>`);
  }
  const step = to - from > 20_000 ? 5000 : to - from > 5000 ? 1000 : 500;
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    parts.push(
      `<text x="${fmt(x(t))}" y="${top + PANEL - 22}" font-size="11" text-anchor="middle">${fmt(t / 1000)} s</text>`,
    );
  }
  // The longest stretch with no acknowledged write: the gap a client saw.
  const gap = longestGap(traceOf.acked.map(([t, latency]) => t + latency));
  if (gap.gap > 0) {
    parts.push(
      `<rect x="${fmt(x(gap.from))}" y="${top + MARGIN.top}" width="${fmt(Math.max(1, x(gap.from + gap.gap) - x(gap.from)))}" height="${plotH}" fill="#fde2e2"/>`,
      `<text x="${fmt(x(gap.from) + 4)}" y="${top + MARGIN.top + 14}" font-size="11" fill="#b00">no acknowledged write for ${Math.round(gap.gap)} ms</text>`,
    );
  }
  for (const event of traceOf.events) {
    // A label near the right edge goes on the line's left, so it stays inside the chart.
    const left = x(event.at) > MARGIN.left + plotW - 150;
    parts.push(
      `<line x1="${fmt(x(event.at))}" x2="${fmt(x(event.at))}" y1="${top + MARGIN.top}" y2="${top + MARGIN.top + plotH}" stroke="#555" stroke-dasharray="4 3"/>`,
      `<text x="${fmt(x(event.at) + (left ? -3 : 3))}" y="${top + MARGIN.top + plotH - 6}" font-size="11" fill="#555"${left ? ' text-anchor="end"' : ""}>${escape(event.label)}</text>`,
    );
  }
  const seen = new Set<string>();
  const dots: string[] = [];
  for (const [t, latency] of traceOf.acked) {
    const key = `${Math.round(x(t))},${Math.round(y(latency))}`;
    if (seen.has(key)) continue;
    seen.add(key);
    dots.push(`M${key}h0`);
  }
  parts.push(`<path d="${dots.join("")}" stroke="#1f5fbf" stroke-width="3" stroke-linecap="round"/>`);
  const failed = [...new Set(traceOf.failed.map((t) => Math.round(x(t))))];
  parts.push(
    `<path d="${failed.map((px) => `M${px},${top + MARGIN.top + plotH + 2}v6`).join("")}" stroke="#c00" stroke-width="1"/>`,
  );
  return parts.join("\n");
}

/** The SVG chart of write latency around each traced event, one panel per trace. */
export function latencyChart(traces: readonly Trace[], caption: string): string {
  const height = traces.length * PANEL + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...traces.map((t, i) => panel(t, i * PANEL)),
    `<text x="${MARGIN.left}" y="${height - 14}" font-size="11" fill="#333">${escape(caption)} Blue: latency of each acknowledged write (log scale) at the time it was sent; red ticks: failed attempts.</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
