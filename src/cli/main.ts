#!/usr/bin/env node
import { CommanderError } from "commander";
import { ConfigError } from "../config/parse.js";
import { CommandFailure, InstallSourceError, PreflightError, StateError, UsageError } from "../runtime/errors.js";
import { StepFailure } from "../runtime/runner.js";
import { formatStepFailure, printable } from "./format.js";
import { buildProgram } from "./program.js";
import { style } from "./style.js";
import { EXIT } from "../commands/command.js";
import { endRunningCommands } from "../transport/local.js";

/** --debug anywhere before `--`: read from argv so it works even when parsing the rest failed. */
function debugRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--debug");
}

function fail(code: number, text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
  process.exitCode = code;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/** Every error as an operator reads it: what, where, a hint; the exit code says whether anything changed. */
function report(err: unknown, debug: boolean): void {
  const error = style.red("error:");
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; their text is already printed.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  if (err instanceof ConfigError) {
    fail(EXIT.usage, `${error} invalid config (nothing was changed):\n${printable(err.message)}`);
  } else if (err instanceof UsageError) {
    const unchanged = printable(err.message).includes("nothing was changed") ? "" : "\nnothing was changed";
    fail(
      EXIT.usage,
      `${error} ${printable(err.message)}${err.hint ? `\n  hint: ${printable(err.hint)}` : ""}${unchanged}`,
    );
  } else if (err instanceof InstallSourceError || err instanceof StateError) {
    // A refusal: found before the first change.
    fail(EXIT.usage, `${error} ${printable(err.message)}\n  hint: ${printable(err.hint)}\nnothing was changed`);
  } else if (err instanceof PreflightError) {
    fail(EXIT.usage, `${error} ${printable(err.message)}\nnothing was changed`);
  } else if (err instanceof StepFailure) {
    fail(EXIT.failed, formatStepFailure(err));
  } else if (err instanceof CommandFailure) {
    fail(EXIT.failed, `${error} ${printable(err.message)}\n  hint: ${printable(err.hint)}`);
  } else {
    // Not foreseen: one line, no stack trace (--debug shows it).
    const message = err instanceof Error ? printable(err.message) : String(err);
    const more = debug ? "" : " (an unexpected error: run again with --debug for its stack trace)";
    fail(EXIT.failed, `${error} ${firstLine(printable(message))}${more}`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

async function main(argv: string[]): Promise<void> {
  const debug = debugRequested(argv.slice(2));
  process.on("SIGINT", () => {
    // The step running now must not go on behind the operator's back.
    endRunningCommands();
    process.stderr.write("\ninterrupted: re-run the same command to resume; it checks each step's state first\n");
    process.exit(EXIT.interrupted);
  });
  // An error thrown outside the command's own promise (a stray callback) still ends in one line, not a trace.
  const stray = (err: unknown) => {
    report(err, debug);
    process.exit(process.exitCode ?? EXIT.failed);
  };
  process.on("uncaughtException", stray);
  process.on("unhandledRejection", stray);
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    report(err, debug);
  }
}

await main(process.argv);
