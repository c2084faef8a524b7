import os from "node:os";
import { nodeLayout } from "../config/layout.js";
import type { NodeSpec } from "../config/resolve.js";
import {
  describeHolder,
  holdLockCommand,
  lockFiles,
  LOCK_LEASE_S,
  LOCK_PING_MS,
  parseLockReply,
  parseLockState,
  readLockCommand,
  type LockHolder,
  type LockState,
} from "../plan/lock.js";
import type { HeldCommand } from "../transport/output.js";
import { TransportError, type HostTransport } from "../transport/types.js";
import { PreflightError } from "./errors.js";
import type { Blocker } from "../plan/preflight.js";

/** What taking the lock said about a node, for the reporter. */
export interface LockNotice {
  node: string;
  message: string;
}

/** The lock on each node a command reached; released when the command ends. */
export class PairLock {
  private readonly lostReasons = new Map<string, string>();
  private readonly ping: NodeJS.Timeout;
  private released = false;

  constructor(private readonly held: ReadonlyMap<string, HeldCommand>) {
    for (const [node, command] of held) {
      void command.ended.then((outcome) => {
        if (this.released) return;
        const why = outcome.stderr.trim().split("\n").at(-1) ?? "";
        this.lostReasons.set(
          node,
          `this command lost the pair lock on ${node} (its holder ended, exit ${outcome.code}${why ? `: ${why}` : ""}), so it changes nothing more there: another command may hold it now; re-run this one once nothing else runs: it resumes`,
        );
      });
    }
    this.ping = setInterval(() => {
      for (const command of held.values()) command.write(".");
    }, LOCK_PING_MS);
    this.ping.unref();
  }

  /** Why this command may no longer change `node`, if it lost the node's lock (a partition, a killed holder). */
  lost(node: string): string | undefined {
    return this.lostReasons.get(node);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.ping);
    for (const command of this.held.values()) command.end();
    await Promise.all([...this.held.values()].map((c) => c.ended));
  }
}

function holderNow(command: string): Omit<LockHolder, "hostPid"> {
  return { command, controller: os.hostname(), pid: process.pid, since: new Date().toISOString() };
}

type Attempt =
  | { node: string; held: HeldCommand; stale?: LockHolder }
  | { node: string; busy: string }
  | { node: string; unreachable: string }
  | { node: string; broken: Blocker };

/** Whether a process of this machine lives (EPERM: it does, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** How long a lock whose CLI (on this machine) is gone may take to be freed by its holding shell. */
const DEAD_HOLDER_GRACE_MS = 5_000;

/**
 * Takes the node's lock; a holder whose CLI ran on this machine and is gone frees it as soon as its shell reads
 * the end of its input (moments, longer on a loaded host): waited for, not refused.
 */
async function attempt(node: NodeSpec, transport: HostTransport, command: string): Promise<Attempt> {
  const giveUp = Date.now() + DEAD_HOLDER_GRACE_MS;
  for (;;) {
    const result = await attemptOnce(node, transport, command);
    const holder = "holder" in result ? result.holder : undefined;
    const orphaned = holder && holder.controller === os.hostname() && holder.pid !== process.pid && !alive(holder.pid);
    if (!orphaned || Date.now() >= giveUp) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function attemptOnce(
  node: NodeSpec,
  transport: HostTransport,
  command: string,
): Promise<Attempt & { holder?: LockHolder }> {
  let held: HeldCommand;
  try {
    held = await transport.hold(holdLockCommand(lockFiles(node, nodeLayout(node)), holderNow(command)));
  } catch (err) {
    if (err instanceof TransportError) return { node: node.name, unreachable: err.message };
    throw err;
  }
  const reply = parseLockReply(held.firstLine);
  if (reply.kind === "locked")
    return reply.stale ? { node: node.name, held, stale: reply.stale } : { node: node.name, held };
  const outcome = await held.ended;
  if (reply.kind === "busy")
    return {
      node: node.name,
      busy: reply.holder ? describeHolder(reply.holder) : "a command that has not said who it is",
      ...(reply.holder ? { holder: reply.holder } : {}),
    };
  // A user who may not sudo can run nothing on the host: the command's own probe refuses it and says how to fix it.
  if (/^sudo: /m.test(outcome.stderr))
    return { node: node.name, unreachable: `sudo -n failed: ${outcome.stderr.trim()}` };
  return {
    node: node.name,
    broken: {
      node: node.name,
      problem: `cannot take the pair lock (exit ${outcome.code}): ${(outcome.stderr || reply.text).trim()}`,
      fix: "etcd-pair needs flock(1) and timeout(1) (util-linux, coreutils) and a writable /run/lock on the host",
    },
  };
}

/**
 * Takes the lock on every node it can reach, before the command's first look that leads to a change. A node that
 * cannot be reached is not locked (failover runs with its main's host gone); the command's own checks decide
 * whether it may go on without that node. Another command holding any node's lock refuses this one (exit 2).
 */
export async function takePairLock(
  nodes: readonly NodeSpec[],
  transport: (node: string) => HostTransport,
  command: string,
): Promise<{ lock: PairLock; notices: LockNotice[] }> {
  const attempts = await Promise.all(nodes.map((n) => attempt(n, transport(n.name), command)));
  const held = new Map<string, HeldCommand>();
  const notices: LockNotice[] = [];
  for (const a of attempts) {
    if ("held" in a) {
      held.set(a.node, a.held);
      if (a.stale)
        notices.push({
          node: a.node,
          message: `took over the lock left by ${describeHolder(a.stale)}: its holder is gone`,
        });
    } else if ("unreachable" in a) {
      notices.push({ node: a.node, message: `not locked: ${a.unreachable}` });
    }
  }
  const lock = new PairLock(held);
  const blockers = attempts.flatMap((a): Blocker[] => {
    if ("broken" in a) return [a.broken];
    if (!("busy" in a)) return [];
    const fix =
      "wait for it to end, then re-run; 'etcd-pair status' shows the lock " +
      `(a holder whose CLI died frees it at once, one whose CLI hangs or is cut off within ${LOCK_LEASE_S} s)`;
    return [{ node: a.node, problem: `another command is changing this pair: ${a.busy}`, fix }];
  });
  if (blockers.length > 0) {
    await lock.release();
    throw new PreflightError(blockers);
  }
  return { lock, notices };
}

/** Each node's lock as status shows it, read without taking it (a running command is never disturbed). */
export async function readPairLocks(
  nodes: readonly NodeSpec[],
  transport: (node: string) => HostTransport,
): Promise<Map<string, LockState>> {
  const states = await Promise.all(
    nodes.map(async (node): Promise<[string, LockState]> => {
      try {
        const outcome = await transport(node.name).exec(readLockCommand(lockFiles(node, nodeLayout(node))), {
          timeoutMs: 10_000,
        });
        return [node.name, parseLockState(outcome.stdout)];
      } catch {
        // An unreachable host: status says so from its probe.
        return [node.name, { kind: "free" }];
      }
    }),
  );
  return new Map(states);
}
