import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { peerOf } from "../plan/pairView.js";
import type { Refusal } from "../plan/refusal.js";
import {
  confirmedFacts,
  decide,
  failoverRefusal,
  observeFacts,
  pairFacts,
  type PairFacts,
  type WatchAction,
  type WatchMemory,
} from "../plan/watch.js";
import type { Hosts } from "./hosts.js";
import { StepFailure } from "./runner.js";
import { lastLine } from "../etcd/status.js";
import { observeNode, observePair } from "./observe.js";
import { learnerReaches, witnessReaches, witnessTls, type WitnessTls } from "./witness.js";

/** One tick a second: detection is as fine as that (detectAfter is at least a few ticks). */
export const TICK_MS = 1000;
/** A full look at both hosts (roles, pause, lag) this often, in the background of the ticks. */
export const LOOK_EVERY_MS = 5000;

export interface WatchEvent {
  at: string;
  kind: "state" | "failover" | "failover-failed" | "refused" | "stopped";
  message: string;
  details?: Record<string, unknown>;
}

/** What watch does when it decides to fail over (the failover command, with the pair lock): the effect. */
export type FailoverRunner = (
  from: string,
  to: string,
  reason: string,
) => Promise<{ newMain: string; details: Record<string, unknown> }>;

export interface WatcherOptions {
  /** Opens the pair's hosts over connections of their own. */
  open: () => Hosts;
  emit: (event: WatchEvent) => void;
  failover: FailoverRunner;
  /** When the last automatic failover was (unix ms), as the pair's history says. */
  lastAutomaticFailoverAt?: number;
  /** After a failed attempt, the next one waits this long. */
  retryAfterMs?: number;
  /** Told once per loss of the main when watch refuses to fail over (for the pair's history). */
  refused?: (main: string, reason: string) => Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });

/** The witness loop: ticks, background looks, decisions, and the failover when the decision says so. */
export class Watcher {
  private memory: WatchMemory = { awaitingLearner: false };
  private facts?: PairFacts;
  private looking?: Promise<void>;
  private probes: Hosts;
  private tls?: WitnessTls;
  private lastState = "";
  private notBefore = 0;
  private lastRefusal?: string;

  constructor(
    private readonly pair: PairSpec,
    private readonly options: WatcherOptions,
  ) {
    this.probes = options.open();
    if (options.lastAutomaticFailoverAt !== undefined)
      this.memory.lastAutomaticFailoverAt = options.lastAutomaticFailoverAt;
  }

  private emit(kind: WatchEvent["kind"], message: string, details?: Record<string, unknown>): void {
    this.options.emit({ at: new Date().toISOString(), kind, message, ...(details ? { details } : {}) });
  }

  private say(state: string): void {
    if (state === this.lastState) return;
    this.lastState = state;
    this.emit("state", state);
  }

  /** A full look at both hosts, over connections of its own (a host cut off mid-look cannot stall the ticks). */
  private async look(): Promise<void> {
    const hosts = this.options.open();
    try {
      const facts = pairFacts(this.pair, await observePair(hosts), Date.now());
      this.facts = facts;
      const awaited = this.memory.awaitingLearner;
      this.memory = observeFacts(this.pair, this.memory, facts);
      if (awaited && !this.memory.awaitingLearner)
        this.emit(
          "state",
          `the pair has a learner again (${facts.learner ?? "?"}): watch acts again if ${facts.main ?? "?"} is lost`,
        );
    } finally {
      void hosts.close().catch(() => undefined);
    }
  }

  private lookInBackground(): void {
    if (this.looking || (this.facts && Date.now() - this.facts.at < LOOK_EVERY_MS)) return;
    this.looking = this.look()
      .catch((err: Error) => this.say(`could not look at the pair: ${err.message}`))
      .finally(() => (this.looking = undefined));
  }

  /**
   * Looks at the learner's host now and asks the guards again with what it says; for a failover cut short, only
   * whether the pair was paused since (its learner was stopped by the failover itself).
   */
  private async confirm(learnerName: string, resuming: boolean): Promise<Refusal | undefined> {
    const learner = this.pair.nodes.find((n) => n.name === learnerName);
    if (!learner) return { message: `no node ${learnerName}`, hint: "check the config" };
    const hosts = this.options.open();
    try {
      const now = Date.now();
      this.facts = confirmedFacts(this.facts, await observeNode(hosts, learner), now);
      if (!resuming) return failoverRefusal(this.pair.autoFailover, this.memory, this.facts, now);
      const paused = this.facts.paused;
      return paused ? { message: `the pair is paused (${paused})`, hint: "etcd-pair resume" } : undefined;
    } finally {
      void hosts.close().catch(() => undefined);
    }
  }

  /** A connection that failed is opened anew at the next tick. */
  private resetProbes(): void {
    const old = this.probes;
    this.probes = this.options.open();
    void old.close().catch(() => undefined);
  }

  private async tick(main: NodeSpec): Promise<WatchAction> {
    const learner = peerOf(this.pair, main);
    const [witness, seen] = await Promise.all([
      witnessReaches(main, this.tls),
      learnerReaches(this.probes.transport(learner.name), main),
    ]);
    if (!seen.asked) this.resetProbes();
    const tick = {
      at: Date.now(),
      main: main.name,
      witness,
      learner: {
        node: learner.name,
        ...(seen.asked ? { reaches: seen.reaches } : {}),
        ...(seen.detail ? { detail: seen.detail } : {}),
      },
    };
    const decision = decide(this.pair.autoFailover, this.memory, tick, this.facts);
    this.memory = decision.memory;
    this.say(decision.state);
    return decision.action;
  }

  private async act(action: WatchAction): Promise<void> {
    if (action.kind === "refuse") {
      // Once per loss of the main and reason: the same refusal every second would only bury the history.
      const key = `${this.memory.lostSince ?? ""} ${action.reason.replace(/[\d.]+/g, "#")}`;
      if (this.lastRefusal === key) return;
      this.lastRefusal = key;
      this.emit("refused", `no automatic failover: ${action.reason}`);
      await this.options.refused?.(this.memory.main ?? "", action.reason);
      return;
    }
    if (action.kind !== "failover" || Date.now() < this.notBefore) return;
    // The last full look may be seconds old: a pause since then, or a learner gone, must stop this failover.
    const refusal = await this.confirm(action.to, action.resume === true);
    if (refusal) return this.act({ kind: "refuse", reason: `${refusal.message}; ${refusal.hint}` });
    this.emit("failover", `failing over from ${action.from} to ${action.to}: ${action.reason}`, { ...action });
    try {
      const { newMain, details } = await this.options.failover(action.from, action.to, action.reason);
      this.memory = { ...this.memory, main: newMain, awaitingLearner: true, lostSince: undefined };
      this.memory.lastAutomaticFailoverAt = Date.now();
      this.facts = undefined;
      this.emit(
        "failover",
        `${newMain} is the main; watch fails over no more until the pair has a learner again`,
        details,
      );
    } catch (err) {
      const retryAfterMs = this.options.retryAfterMs ?? 30_000;
      this.notBefore = Date.now() + retryAfterMs;
      this.emit(
        "failover-failed",
        `the failover failed: ${failureText(err as Error)}; watch tries again in ${retryAfterMs / 1000} s if the main is still lost (a failover resumes where it stopped)`,
        err instanceof StepFailure ? failureDetails(err) : undefined,
      );
    }
  }

  /**
   * A failover that began (its token on the learner) and was cut short, with no main: finish it, as a re-run of
   * the command would (it fences again and resumes where it stopped). Not while paused.
   */
  private async resumeCutShort(): Promise<void> {
    const facts = this.facts;
    const to = this.pair.nodes.find((n) => n.name === facts?.failoverCutShort);
    if (!facts || !to || Date.now() < this.notBefore) return;
    if (facts.paused) return this.say(`a failover to ${to.name} was cut short; the pair is paused (${facts.paused})`);
    const from = peerOf(this.pair, to).name;
    this.say(`a failover from ${from} to ${to.name} was cut short: finishing it`);
    await this.act({
      kind: "failover",
      from,
      to: to.name,
      reason: `a failover to ${to.name} was cut short`,
      resume: true,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.tls = await witnessTls(this.pair);
    await this.look().catch((err: Error) => this.say(`could not look at the pair: ${err.message}`));
    while (!signal.aborted) {
      const started = Date.now();
      this.lookInBackground();
      const main = this.pair.nodes.find((n) => n.name === this.memory.main);
      if (this.facts?.failoverCutShort && !this.facts.main) await this.resumeCutShort();
      else if (!main) this.say("no node leads the pair: waiting until one does");
      else await this.act(await this.tick(main));
      await sleep(Math.max(0, TICK_MS - (Date.now() - started)), signal);
    }
    await this.looking;
    await this.probes.close();
    this.emit("stopped", "watch stopped");
  }
}

/** A failed step as the journal needs it at 3 a.m.: host, step, why (exit code), the last line of stderr, the hint. */
function failureText(err: Error): string {
  if (!(err instanceof StepFailure)) return err.message;
  const said = err.outcome ? lastLine(err.outcome.stderr) : "";
  return [
    // The reason names the exit code when a command failed.
    `step ${err.step.id} on ${err.host}: ${err.reason}`,
    ...(said ? [`stderr: ${said}`] : []),
    ...(err.step.hint ? [`hint: ${err.step.hint}`] : []),
  ].join("; ");
}

/** The same for --json: the command too, and the stderr's tail. */
function failureDetails(err: StepFailure): Record<string, unknown> {
  return {
    host: err.host,
    step: err.step.id,
    command: err.command,
    exitCode: err.outcome?.code ?? null,
    stderr: err.outcome?.stderr.split("\n").slice(-10).join("\n") ?? "",
    hint: err.step.hint ?? null,
  };
}
