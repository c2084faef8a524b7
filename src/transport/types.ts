import type { HeldCommand } from "./output.js";
/** What a command returned on a host. */
export interface ExecOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** The command is killed after this long and reported with exit code 124. */
  timeoutMs?: number;
}

/** The one way the controller touches a host. */
export interface HostTransport {
  /** e.g. "alpha (local)"; used in messages. */
  readonly label: string;
  /** Runs a POSIX sh command line. Never rejects for a non-zero exit: that is in the outcome. */
  exec(command: string, options?: ExecOptions): Promise<ExecOutcome>;
  /** Writes a file atomically (temp file + rename) with the given mode (and owner, user:group). */
  upload(path: string, content: string | Uint8Array, mode: number, owner?: string): Promise<void>;
  /** Starts a command that runs until its stdin ends (the pair lock's holder); resolves at its first line. */
  hold(command: string): Promise<HeldCommand>;
  close(): Promise<void>;
}

/** The host could not be reached or the transport itself failed (not a command's exit code). */
export class TransportError extends Error {
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
    this.name = "TransportError";
  }
}
