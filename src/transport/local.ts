import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, rename } from "node:fs/promises";
import path from "node:path";
import type { ExecOutcome } from "./types.js";
import { collectOutput, holdOutput, type HeldCommand } from "./output.js";
import type { ExecOptions, HostTransport } from "./types.js";

/** The process groups of the commands running now (each command runs in a group of its own). */
const runningGroups = new Set<number>();

/**
 * Ends every command still running (SIGTERM to its process group): an interrupted CLI must not leave a step
 * running behind its back (a Ctrl-C reaches only the terminal's foreground group, which these are not in). etcd
 * itself is started in a session of its own (setsid) and is not touched.
 */
export function endRunningCommands(): void {
  for (const pid of runningGroups) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      // Gone already.
    }
  }
}

const SETPRIV = "/usr/bin/setpriv";
const hasSetpriv = existsSync(SETPRIV);

/**
 * /bin/sh running `command`, killed by the kernel if the CLI dies first (setpriv --pdeathsig, util-linux): a
 * CLI killed with SIGKILL between two steps must not leave the next step running behind the re-run's back. What
 * the shell started in a session of its own (etcd, by setsid) lives on, as it must.
 */
function shellDyingWithCli(command: string): string[] {
  return hasSetpriv ? [SETPRIV, "--pdeathsig", "KILL", "/bin/sh", "-c", command] : ["/bin/sh", "-c", command];
}

/** Runs commands on this machine with /bin/sh. */
export class LocalTransport implements HostTransport {
  readonly label: string;

  constructor(nodeName: string) {
    this.label = `${nodeName} (local)`;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecOutcome> {
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout can end the command and all it started in the foreground.
      const [file, ...args] = shellDyingWithCli(command);
      const child = spawn(file ?? "/bin/sh", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
      const group = child.pid;
      if (group !== undefined) runningGroups.add(group);
      const output = collectOutput(child.stdout, child.stderr, options.timeoutMs, () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      });
      child.on("error", (err) => {
        if (group !== undefined) runningGroups.delete(group);
        output.cancel();
        reject(err);
      });
      child.on("close", (code, signal) => {
        if (group !== undefined) runningGroups.delete(group);
        resolve(output.finish(code ?? 128 + (signal ? 9 : 0)));
      });
    });
  }

  /**
   * Not in a running group: an interrupt does not kill it; the CLI's exit closes its stdin, and it ends itself
   * (the pair lock's holder cleans up on that).
   */
  hold(command: string): Promise<HeldCommand> {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    // A holder that ended already makes a late write fail with EPIPE: its end is reported through `ended`.
    child.stdin.on("error", () => undefined);
    return holdOutput({
      stdout: child.stdout,
      stderr: child.stderr,
      write: (data) => child.stdin.write(data),
      end: () => child.stdin.end(),
      onClose: (callback) => {
        child.on("error", () => callback(127));
        child.on("close", (code) => callback(code ?? 137));
      },
    });
  }

  /**
   * Durable, as the SSH transport's: the file is synced before the rename and the dir after it. The markers and
   * env files it writes must survive a power loss a moment later, or the next `up` cannot tell this pair's own
   * data from a stranger's (test/slow/powerLoss.test.ts).
   */
  async upload(file: string, content: string | Uint8Array, mode: number): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.etcd-pair-${process.pid}.tmp`;
    const handle = await open(temp, "w", mode);
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    const dir = await open(path.dirname(file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async close(): Promise<void> {}
}
