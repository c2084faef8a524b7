import { spawn } from "node:child_process";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ExecOutcome } from "../plan/step.js";
import type { ExecOptions, HostTransport } from "./types.js";

export const TIMEOUT_EXIT_CODE = 124;

/** Runs commands on this machine with /bin/sh. */
export class LocalTransport implements HostTransport {
  readonly label: string;

  constructor(nodeName: string) {
    this.label = `${nodeName} (local)`;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecOutcome> {
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout can end the command and all it started in the foreground.
      const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"], detached: true });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              try {
                if (child.pid) process.kill(-child.pid, "SIGKILL");
              } catch {
                // Already gone.
              }
            }, options.timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        const err = Buffer.concat(stderr).toString();
        resolve({
          code: timedOut ? TIMEOUT_EXIT_CODE : (code ?? 128 + (signal ? 9 : 0)),
          stdout: Buffer.concat(stdout).toString(),
          stderr: timedOut ? `${err}\n(timed out after ${options.timeoutMs} ms)` : err,
        });
      });
    });
  }

  async upload(file: string, content: string, mode: number): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.etcd-pair-${process.pid}.tmp`;
    await writeFile(temp, content, { mode });
    await chmod(temp, mode);
    await rename(temp, file);
  }

  async close(): Promise<void> {}
}
