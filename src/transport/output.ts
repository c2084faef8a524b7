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

/** A command left running with its stdin open: it lives until its stdin ends (`end`) or it exits itself. */
export interface HeldCommand {
  /** What it printed on stdout up to its first newline, or all of it if it ended first. */
  firstLine: string;
  /** Its outcome, once it has ended. */
  ended: Promise<ExecOutcome>;
  /** Sends data to its stdin; a command that has ended ignores it. */
  write(data: string): void;
  /** Ends its stdin. */
  end(): void;
}

interface HeldStreams {
  stdout: Readable;
  stderr: Readable;
  write(data: string): void;
  end(): void;
  /** Registers the callback for the command's end, with its exit code. */
  onClose(callback: (code: number) => void): void;
}

/** Waits for a held command's first line of stdout (or its end), then hands it over; both transports use it. */
export function holdOutput(streams: HeldStreams): Promise<HeldCommand> {
  const output = collectOutput(streams.stdout, streams.stderr, undefined, () => undefined);
  let ended = false;
  const endedPromise = new Promise<ExecOutcome>((resolve) =>
    streams.onClose((code) => {
      ended = true;
      resolve(output.finish(code));
    }),
  );
  let seen = "";
  return new Promise((resolve) => {
    const handOver = () =>
      resolve({
        firstLine: seen.split("\n")[0] ?? "",
        ended: endedPromise,
        write: (data) => {
          if (!ended) streams.write(data);
        },
        end: () => {
          if (!ended) streams.end();
        },
      });
    streams.stdout.on("data", (chunk: Buffer) => {
      const before = seen.includes("\n");
      seen += chunk.toString();
      if (!before && seen.includes("\n")) handOver();
    });
    void endedPromise.then(handOver);
  });
}
