import type { AuditReport } from "../phases/audit.js";
import type { CheckResult } from "../phases/check.js";
import type { FailoverReport } from "../phases/failover.js";
import type { RejoinResult } from "../phases/rejoin.js";
import type { SwitchoverResult } from "../phases/switchover.js";
import type { StepFailure } from "../phases/runner.js";
import type { StatusReport } from "../phases/status.js";
import type { TlsState } from "../plan/tlsState.js";
import { style } from "./style.js";

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

const show = (value: number | string | null) => (value === null ? "-" : String(value));

function formatTls(tls: TlsState): string {
  if (tls.mode === "plaintext") return "TLS: off (plain text)\n";
  const certificates = tls.certificates.map(
    (c) => `  ${c.label}: ${c.notAfter ? `valid until ${c.notAfter.slice(0, 10)} (${c.daysLeft} days)` : "MISSING"}`,
  );
  return `TLS: mutual (clients and peers present certificates)\n${certificates.join("\n")}\n`;
}

export function formatStatus(state: StatusReport): string {
  const rows = state.nodes.map((n) => [
    n.name,
    n.role.toUpperCase(),
    show(n.version),
    show(n.memberId),
    show(n.raftIndex),
    show(n.appliedIndex),
    show(n.lagEntries),
    formatBytes(n.dbSizeBytes),
    n.reachable ? "yes" : "no",
  ]);
  const summary = state.healthy
    ? `cluster ${state.cluster}: healthy, leader ${state.leader}\n`
    : `cluster ${state.cluster}: NOT HEALTHY\n${state.problems.map((p) => `  - ${p}\n`).join("")}`;
  return (
    table(["NODE", "ROLE", "VERSION", "MEMBER ID", "RAFT INDEX", "APPLIED", "LAG", "DB SIZE", "REACHABLE"], rows) +
    summary +
    formatTls(state.tls)
  );
}

export function formatAudit(report: AuditReport): string {
  const rows = report.nodes.flatMap((n) =>
    n.error
      ? [[n.node, "-", "ERROR", n.error]]
      : n.checks.map((c) => [n.node, c.id, c.result.toUpperCase(), `${c.title}: ${c.detail}`]),
  );
  return `${table(["NODE", "CHECK", "RESULT", "DETAIL"], rows)}${report.passed ? "audit passed" : "audit FAILED"}\n`;
}

export function formatCheck(result: CheckResult): string {
  const lines = result.checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.title}${c.detail ? `: ${c.detail}` : ""}`);
  return `${lines.join("\n")}\n${result.healthy ? "check passed" : "check FAILED"}\n`;
}

function tail(text: string, lines: number): string {
  const all = text.trim().split("\n");
  return all.slice(-lines).join("\n");
}

function block(label: string, text: string): string {
  return `  ${label}:\n${text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n")}`;
}

/** A failed step as an operator needs it: host, step, command, exit code, stderr tail, hint, log. */
export function formatStepFailure(failure: StepFailure): string {
  const parts = [
    `${style.red("error:")} step "${failure.step.title}" failed on ${failure.host}`,
    `  step:      ${failure.step.id}`,
    `  reason:    ${failure.reason}`,
    block("command", failure.command),
  ];
  if (failure.outcome) {
    parts.push(`  exit code: ${failure.outcome.code}`);
    const stderr = tail(failure.outcome.stderr, 10);
    if (stderr) parts.push(block("stderr (last lines)", stderr));
  }
  if (failure.step.hint) parts.push(`  hint:      ${failure.step.hint}`);
  if (failure.diagnostics)
    parts.push(block(`${failure.step.node}: ${failure.step.diagnose ?? "diagnostics"}`, tail(failure.diagnostics, 30)));
  return parts.join("\n") + "\n";
}

const ms = (value: number | null) => (value === null ? "-" : `${value} ms`);

export function formatFailover(report: FailoverReport): string {
  return [
    `failover: ${report.newMain} is the main of generation ${report.token} (${report.durationMs} ms in all)`,
    `  writable after:    ${ms(report.writableAfterMs)}`,
    `  fence:             ${report.fence}`,
    `  learner before:    ${report.learnerBefore ? `applied index ${report.learnerBefore.appliedIndex}, revision ${report.learnerBefore.revision}` : "not running"}`,
    `  restored revision: ${show(report.restoredRevision)}`,
    `  old main revision: ${show(report.oldMainRevision)}`,
    `  lost:              ${report.loss}`,
    `  next:              ${report.rejoinCommand}   (brings ${report.oldMain} back as the learner)`,
    "",
  ].join("\n");
}

export function formatSwitchover(result: SwitchoverResult): string {
  if (!result.changed)
    return `switchover: nothing to do, ${result.newMain} is main and ${result.oldMain} its learner\n`;
  return [
    `switchover: ${result.newMain} is main, ${result.oldMain} its learner (${result.durationMs} ms in all)`,
    `  two voters for:                      ${ms(result.twoVoterWindowMs)}`,
    `  leader change to first write:        ${ms(result.leaderChangeToFirstWriteMs)}`,
    "",
  ].join("\n");
}

/** The failover's loss as the rejoined node's old data shows it (only when that data predates the failover). */
export function formatRejoinLoss(result: RejoinResult): string | undefined {
  const loss = result.loss;
  if (!loss) return undefined;
  if (loss.lostRevisions === null)
    return `lost at the failover: unknown (${result.node}'s old data could not be read; it is archived)\n`;
  return (
    `lost at the failover: ${loss.lostRevisions} revision(s): ${result.node}'s old data held revisions up to ` +
    `${loss.nodeRevision}, ${result.main} was restored at ${loss.restoredRevision} (now archived on ${result.node})\n`
  );
}
