#!/usr/bin/env node
import { CommanderError } from "commander";
import { ConfigError } from "../config/parse.js";
import { InstallSourceError, PreflightError, StateError } from "../runtime/errors.js";
import { StepFailure } from "../runtime/runner.js";
import { formatStepFailure } from "./format.js";
import { buildProgram } from "./program.js";
import { style } from "./style.js";
import { EXIT } from "../commands/command.js";
import { UsageError } from "../runtime/errors.js";
import { endRunningCommands } from "../transport/local.js";

function fail(code: number, text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
  process.exitCode = code;
}

async function main(argv: string[]): Promise<void> {
  process.on("SIGINT", () => {
    // The step running now must not go on behind the operator's back.
    endRunningCommands();
    process.stderr.write("\ninterrupted: re-run the same command to resume; it checks each step's state first\n");
    process.exit(EXIT.interrupted);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const error = style.red("error:");
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; their text is already printed.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else if (err instanceof ConfigError) {
      fail(EXIT.usage, `${error} invalid config (nothing was changed):\n${err.message}`);
    } else if (err instanceof UsageError) {
      fail(EXIT.usage, `${error} ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}`);
    } else if (err instanceof InstallSourceError) {
      fail(EXIT.usage, `${error} ${err.message}\n  hint: ${err.hint}\nnothing was changed`);
    } else if (err instanceof PreflightError) {
      fail(EXIT.usage, `${error} ${err.message}\nnothing was changed`);
    } else if (err instanceof StepFailure) {
      fail(EXIT.failed, formatStepFailure(err));
    } else if (err instanceof StateError) {
      fail(EXIT.failed, `${error} ${err.message}\n  hint: ${err.hint}`);
    } else {
      fail(EXIT.failed, `${error} ${(err as Error).stack ?? String(err)}`);
    }
  }
}

await main(process.argv);
