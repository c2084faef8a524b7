import { spawn } from "node:child_process";
import type { WatchEvent } from "../../src/runtime/watcher.js";
import { CLI } from "./cli.js";

/**
 * `etcd-pair watch --json` started in the background: its events as they come (one JSON object per stdout line),
 * and its end. stop() ends it by its pid (SIGTERM, then SIGKILL after a grace time).
 */
export class RunningWatch {
  readonly events: WatchEvent[] = [];
  private stderrText = "";
  private readonly child;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args, "watch", "--json"], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let pending = "";
    this.child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as WatchEvent);
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderrText += chunk.toString()));
    this.done = new Promise((resolve) => this.child.on("close", (code, signal) => resolve({ code, signal })));
  }

  stderr(): string {
    return this.stderrText;
  }

  /** Every event's message so far, one per line (for assertion messages). */
  transcript(): string {
    return this.events.map((e) => `${e.at} ${e.kind}: ${e.message}`).join("\n");
  }

  /** The first event (from index `from` on) that matches, within timeoutMs; rejects with the transcript. */
  async waitFor(match: (e: WatchEvent) => boolean, timeoutMs: number, from = 0): Promise<WatchEvent> {
    const started = Date.now();
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (Date.now() - started > timeoutMs)
        throw new Error(`no such watch event within ${timeoutMs} ms:\n${this.transcript()}\n${this.stderrText}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Kills it at once (an interruption): no clean end. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.done;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
      const result = await this.done;
      clearTimeout(timer);
      return result;
    }
    return this.done;
  }
}
