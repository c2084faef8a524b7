import type { Readable } from "node:stream";
import type { ExecOutcome } from "./types.js";

/** The exit code a command gets when it was killed for running past its timeout (as timeout(1) says). */
export const TIMEOUT_EXIT_CODE = 124;

/**
 * Gathers a running command's stdout and stderr and enforces its timeout by calling `kill`; `finish` turns
 * the exit code into the outcome. Both transports run commands through it.
 */
export function collectOutput(stdout: Readable, stderr: Readable, timeoutMs: number | undefined, kill: () => void) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutMs);
  stdout.on("data", (chunk: Buffer) => out.push(chunk));
  stderr.on("data", (chunk: Buffer) => err.push(chunk));
  return {
    cancel: () => clearTimeout(timer),
    finish(code: number): ExecOutcome {
      clearTimeout(timer);
      const errText = Buffer.concat(err).toString();
      return {
        code: timedOut ? TIMEOUT_EXIT_CODE : code,
        stdout: Buffer.concat(out).toString(),
        stderr: timedOut ? `${errText}\n(timed out after ${timeoutMs} ms)` : errText,
      };
    },
  };
}
