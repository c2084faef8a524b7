import {
  describeConsequence,
  describeRange,
  judgeVersion,
  recommendedVersions,
  type OperationRefusal,
} from "../etcd/version.js";
import { KNOWN_ISSUES, TESTED_VERSIONS, type KnownIssue } from "../etcd/versionTable.js";
import type { NodeObservation } from "../plan/observed.js";
import { observePair } from "../runtime/observe.js";
import { table } from "./text.js";
import { EXIT, type LookCommand } from "./command.js";

interface VersionsInput {
  offline: boolean;
}

export interface NodeVersion {
  node: string;
  /** The version `etcd --version` of the node's binDir reports; null when it could not be read. */
  version: string | null;
  /** unknown: the host did not answer, or has no etcd to ask. */
  verdict: "ok" | "warn" | "refused" | "unknown";
  /** Why the verdict is unknown. */
  error?: string;
  refusal?: string;
  /** With a refusal: the version to install. */
  install?: string;
  warnings: string[];
  refusedOperations: OperationRefusal[];
  /** The ids of the table's entries that apply. */
  issues: string[];
}

export interface VersionsReport {
  tested: readonly string[];
  /** What to install, per series still patched. */
  recommended: string[];
  table: readonly KnownIssue[];
  /** Absent with --offline. */
  nodes?: NodeVersion[];
}

function nodeVersion(o: NodeObservation): NodeVersion {
  const empty = { warnings: [], refusedOperations: [], issues: [] };
  if (!o.reachable)
    return { node: o.node, version: null, verdict: "unknown", error: o.error ?? "unreachable", ...empty };
  if (!o.version) {
    const error = o.binaries.etcd ? "etcd --version printed no version" : "no etcd binary in its binDir";
    return { node: o.node, version: null, verdict: "unknown", error, ...empty };
  }
  const judged = judgeVersion(o.version);
  return {
    node: o.node,
    version: o.version.text,
    verdict: judged.verdict,
    ...(judged.refusal ? { refusal: judged.refusal } : {}),
    ...(judged.install ? { install: judged.install } : {}),
    warnings: judged.warnings,
    refusedOperations: judged.refusedOperations,
    issues: judged.findings.map((f) => f.issue.id),
  };
}

function issueRows(): string[][] {
  return KNOWN_ISSUES.map((i) => [
    i.issue ? `#${i.issue}` : "-",
    i.affects.map(describeRange).join(", "),
    i.affects.flatMap((r) => (r.fixed ? [r.fixed] : [])).join(", ") || "-",
    describeConsequence(i),
    i.title,
  ]);
}

function nodeRows(nodes: readonly NodeVersion[]): string[][] {
  return nodes.flatMap((n) => {
    const details = [
      ...(n.error ? [n.error] : []),
      ...(n.refusal ? [`REFUSED: ${n.refusal}`] : []),
      ...n.refusedOperations.map((r) => `refuses ${r.operation}: ${r.message}`),
      ...n.warnings,
    ];
    const first = [n.node, n.version ?? "-", n.verdict];
    if (details.length === 0) return [[...first, "no known bug"]];
    return details.map((d, i) => (i === 0 ? [...first, d] : ["", "", "", d]));
  });
}

export function formatVersions(report: VersionsReport): string {
  const lines = [
    `Known etcd bugs that matter to a pair (tested on ${report.tested.join(", ")}; ` +
      `install ${report.recommended.map((v) => `${v}+`).join(", ")}):`,
    table(["ISSUE", "AFFECTS", "FIXED IN", "ETCD-PAIR", "WHAT"], issueRows()),
  ];
  if (report.nodes) lines.push(table(["NODE", "VERSION", "VERDICT", "DETAIL"], nodeRows(report.nodes)));
  return lines.join("\n");
}

export const versions: LookCommand<VersionsInput, null, VersionsReport> = {
  path: ["versions"],
  description:
    "the etcd version table (known bugs, what etcd-pair does about each) and the verdict on each node's etcd; " +
    "exit 3 when a node runs a refused version",
  options: [{ flags: "--offline", description: "print the table only: no config read, no host touched" }],
  changesHosts: false,
  input: (_args, options) => ({ offline: options.offline === true }),
  prepare: async () => null,
  run: async (ctx, input) => {
    const report: VersionsReport = { tested: TESTED_VERSIONS, recommended: recommendedVersions(), table: KNOWN_ISSUES };
    if (input.offline) return report;
    return { ...report, nodes: (await observePair(await ctx.hosts())).map(nodeVersion) };
  },
  report: (report) => ({
    json: report,
    stdout: formatVersions(report),
    exitCode: report.nodes?.some((n) => n.verdict === "refused") ? EXIT.unhealthy : EXIT.ok,
  }),
};
