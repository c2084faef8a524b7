import type { StepFailure } from "../runtime/runner.js";
import { style } from "./style.js";

/**
 * Text from a host (stderr, logs, files) made safe for a terminal: control characters other than newline and tab
 * (escape sequences among them: colors, cursor moves, window titles, OSC 52 clipboard writes) become U+FFFD. A
 * host, or whoever can write its logs, must not be able to rewrite what the operator sees.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "\ufffd");
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
    `  reason:    ${printable(failure.reason)}`,
    block("command", failure.command),
  ];
  if (failure.outcome) {
    parts.push(`  exit code: ${failure.outcome.code}`);
    const stderr = tail(printable(failure.outcome.stderr), 10);
    if (stderr) parts.push(block("stderr (last lines)", stderr));
  }
  if (failure.step.hint) parts.push(`  hint:      ${failure.step.hint}`);
  if (failure.diagnostics)
    parts.push(
      block(
        `${failure.step.node}: ${failure.step.diagnose ?? "diagnostics"}`,
        tail(printable(failure.diagnostics), 30),
      ),
    );
  return parts.join("\n") + "\n";
}
