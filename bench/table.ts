import type { Figure } from "./figures.js";

export interface VersionRun {
  version: string;
  figures: Figure[];
}

const HEADER = ["figure", "etcd", "what", "median", "min", "max", "n", "baseline median", "ratio", "target"];

function value(n: number, unit: string): string {
  const digits = unit === "ms" && n < 10 ? 2 : unit === "MB/s" || unit === "ms" ? (n < 100 ? 1 : 0) : 0;
  return `${n.toFixed(digits)} ${unit}`;
}

/** One row per figure (and one per `up` step under P4), as text cells. */
export function rows(runs: readonly VersionRun[]): string[][] {
  const out: string[][] = [];
  for (const run of runs) {
    for (const f of run.figures) {
      out.push([
        f.id,
        run.version,
        f.name,
        value(f.tool.median, f.unit),
        value(f.tool.min, f.unit),
        value(f.tool.max, f.unit),
        String(f.tool.n),
        f.baseline ? value(f.baseline.median, f.unit) : "",
        f.ratio === undefined ? "" : `${f.ratio.toFixed(2)}×`,
        f.target ?? "",
      ]);
      const steps = f.details?.stepMedianMs as Record<string, number> | undefined;
      if (f.id === "P4" && steps) {
        for (const [id, ms] of Object.entries(steps))
          out.push(["", "", `  step ${id}`, value(ms, "ms"), "", "", "", "", "", ""]);
      }
    }
  }
  return out;
}

/** Aligned columns for a terminal. */
export function textTable(runs: readonly VersionRun[]): string {
  const all = [HEADER, ...rows(runs)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The same rows as a Markdown table. */
export function markdownTable(runs: readonly VersionRun[]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(HEADER), line(HEADER.map(() => "---")), ...rows(runs).map(line)].join("\n");
}
