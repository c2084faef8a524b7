import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { CLI, type CliResult } from "./cli.js";

/** A process as /proc shows it: the start time tells a reused pid from the process it was. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Clock ticks since boot (field 22 of /proc/PID/stat). */
  startTime: string;
  state: string;
  cmdline: string;
}

async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields start after the last ") ".
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ").trim();
    return { pid, ppid: Number(fields[1]), startTime: fields[19] ?? "", state: fields[0] ?? "", cmdline };
  } catch {
    return undefined;
  }
}

/** Every live process (zombies are dead). */
async function liveProcesses(): Promise<ProcessInfo[]> {
  return (
    await Promise.all(
      (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).map((name) => processInfo(Number(name))),
    )
  ).filter((p): p is ProcessInfo => p !== undefined && p.state !== "Z" && p.state !== "X");
}

/** Every live process whose command line contains `text` (e.g. a test's temp dir). */
export async function processesMentioning(text: string): Promise<ProcessInfo[]> {
  return (await liveProcesses()).filter((p) => p.cmdline.includes(text));
}

/** Every live process whose parent chain leads to `pid` (children, grandchildren, ...). */
export async function descendants(pid: number): Promise<ProcessInfo[]> {
  const all = await liveProcesses();
  const found: ProcessInfo[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** Still the same process (same pid and start time) and not a zombie. */
export async function stillRunning(p: ProcessInfo): Promise<boolean> {
  const now = await processInfo(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== "Z" && now.state !== "X";
}

/** The built CLI started in the background: its pid (to signal it), its stderr so far, and its end. */
export interface RunningCli {
  pid: number;
  stderr(): string;
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Like cli(), but returns at once with the pid, so a test can signal the CLI itself (SIGINT, SIGSTOP). */
export function startCli(args: readonly string[], onStderr?: (text: string) => void): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    onStderr?.(stderr);
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? 128, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error("the CLI did not start");
  return { pid: child.pid, stderr: () => stderr, done };
}
