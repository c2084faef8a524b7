import type { Reporter, StepRecord } from "../runtime/runner.js";
import type { Step } from "../plan/step.js";
import { formatMs } from "../commands/text.js";
import { printable } from "./format.js";
import { style } from "./style.js";

/** One stderr line per finished step with its duration; nothing animated, so CI logs stay readable. */
export class StderrReporter implements Reporter {
  constructor(private readonly quiet = false) {}

  stepStarted(_step: Step): void {}

  stepFinished(record: StepRecord): void {
    if (this.quiet) return;
    const mark = record.status === "ok" ? style.green("ok  ") : style.red("FAIL");
    process.stderr.write(
      `  ${mark} ${style.dim(`[${record.node}]`)} ${record.title} ${style.dim(formatMs(record.durationMs))}\n`,
    );
  }

  info(message: string): void {
    if (!this.quiet) process.stderr.write(`${printable(message)}\n`);
  }

  warn(message: string): void {
    process.stderr.write(`${style.yellow("warning:")} ${printable(message)}\n`);
  }
}
