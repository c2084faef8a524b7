import { expect } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { checkCrashHistory, inFlightAt, type LearnerCrashed, type LearnerRead } from "../helpers/history.js";
import { learnerRevisionBeforeCrash, readLearner } from "../helpers/learnerRead.js";
import { readAll, Writer, type AckedWrite, type UnackedWrite } from "../helpers/writer.js";

/**
 * The torture driver shared by local and e2e hosts: under continuous writes, a seeded random sequence of faults
 * and operations, each checked against the history of acknowledged writes it produced.
 * TORTURE_CYCLES (default 4 per etcd version), TORTURE_SEED (default: from the clock; printed) and
 * TORTURE_MINUTES (default 20, for the whole run) bound it. Each version must run at least TORTURE_MIN_CYCLES
 * cycles (default: all of TORTURE_CYCLES): a deadline that cuts a version short fails it, it does not pass it.
 */
export const CYCLES = positive("TORTURE_CYCLES", 4, true);
export const MIN_CYCLES = positive("TORTURE_MIN_CYCLES", CYCLES, true);
if (MIN_CYCLES > CYCLES) throw new Error(`TORTURE_MIN_CYCLES (${MIN_CYCLES}) is above TORTURE_CYCLES (${CYCLES})`);
export const SEED = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
const MINUTES = positive("TORTURE_MINUTES", 20, false);
export const DEADLINE = Date.now() + MINUTES * 60_000;

function positive(name: string, fallback: number, whole: boolean): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0) || (whole && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${whole ? "whole " : ""}number, not ${process.env[name]}`);
  }
  return value;
}

export type Node = "alpha" | "beta";
export interface Roles {
  main: Node;
  learner: Node;
}

/** What the driver needs from a pair of hosts; the faults themselves are the target's operations. */
export interface TortureTarget {
  run(args: readonly string[]): Promise<CliResult>;
  url(node: Node): string;
  tls: ClientTls;
}

/** One cycle's operation: injects its faults under `writer` and returns once the pair should recover. */
export type Operation = (torture: Torture, roles: Roles, writer: Writer, prefix: string) => Promise<void>;

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed with TORTURE_SEED. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Torture {
  /** Every write some later check must still find on the main: key -> value. */
  readonly kept = new Map<string, string>();
  readonly operations: Record<string, number> = {};
  histories = 0;
  faults = 0;
  /** Acknowledged writes past the learner's applied revision at a crash: lost by design, and reported. */
  lost = 0;
  crashes = 0;
  /** Crashes that lost at least one acknowledged write (the pipelined writer makes these possible). */
  crashesWithLoss = 0;
  /** Crashes where the learner was read before the failover: restored revision and loss checked against it. */
  learnersRead = 0;
  /**
   * Double failures, where the learner could not be read: the restored revision is checked within bounds, and
   * `unresolved` sums the revisions those bounds leave open (writes acknowledged around the learner's crash).
   */
  doubleFailures = 0;
  unresolved = 0;
  /** Sum over crashes of the reported loss above the measured one, and of the requests in flight allowing it. */
  lossAboveMeasured = 0;
  inFlightAllowed = 0;

  constructor(
    readonly target: TortureTarget,
    readonly random: () => number,
  ) {}

  async roles(): Promise<Roles> {
    const status = JSON.parse((await this.target.run(["status", "--json"])).stdout) as {
      nodes: { name: Node; role: string }[];
    };
    const main = status.nodes.find((n) => n.role === "leader")?.name;
    if (!main) throw new Error(`no leader: ${JSON.stringify(status.nodes)}`);
    return { main, learner: main === "alpha" ? "beta" : "alpha" };
  }

  /** `cli` must exit 0; its stderr is the message otherwise. */
  async must(args: readonly string[]): Promise<CliResult> {
    const result = await this.target.run(args);
    expect(result.code, `${args.join(" ")}:\n${result.stderr}`).toBe(0);
    return result;
  }

  /** Every write in `writes` is on `node`; they join the kept set. */
  async keep(node: Node, prefix: string, writes: readonly AckedWrite[]): Promise<void> {
    const data = await readAll(this.target.url(node), prefix, this.target.tls);
    expect(writes.filter((w) => data.get(w.key) !== w.value).map((w) => `${w.key}@${w.revision}`)).toEqual([]);
    writes.forEach((w) => this.kept.set(w.key, w.value));
  }

  /**
   * The old main crashed (at `crashedAt`, before the failover began), `failover` and `rejoin` ran; the writer
   * went on through both. Checks, against what the learner had as read before the failover (or, when it had
   * crashed first, the bounds known for it; see checkCrashHistory): every write it had is on the new main and
   * none it lacked; the restored revision is its own; the loss reported (by the failover, or by the rejoin when
   * the old main's disk could only be read once its host was back; both equal when both could) is the one
   * measured; nothing was acknowledged by the old main after the crash (no split brain); every write the new
   * main acknowledged is kept.
   */
  async checkCrashFailover(
    roles: Roles,
    prefix: string,
    writes: { acked: readonly AckedWrite[]; unacked: readonly UnackedWrite[] },
    crashedAt: number,
    commands: { failover: CliResult; rejoin: CliResult },
    learner: LearnerRead | LearnerCrashed,
  ): Promise<void> {
    const { acked } = writes;
    const failover = JSON.parse(commands.failover.stdout) as { restoredRevision: number; lostRevisions: number | null };
    const rejoin = JSON.parse(commands.rejoin.stdout) as { loss: { lostRevisions: number | null } | null };
    const measuredLater = rejoin.loss?.lostRevisions ?? null;
    if (failover.lostRevisions !== null && measuredLater !== null) expect(measuredLater).toBe(failover.lostRevisions);
    const report = { ...failover, lostRevisions: failover.lostRevisions ?? measuredLater };
    const oldMain = this.target.url(roles.main);
    const beforeCrash = acked.filter((w) => w.endpoint === oldMain && w.ackedAt < crashedAt);
    const splitBrain = acked.filter((w) => w.endpoint === oldMain && w.ackedAt >= crashedAt);
    expect(
      splitBrain.map((w) => `${w.key}@${w.revision}`),
      "acknowledged by the old main after the crash",
    ).toEqual([]);
    const onNewMain = await readAll(this.target.url(roles.learner), prefix, this.target.tls);
    const inFlight = inFlightAt(writes.unacked, oldMain, crashedAt);
    const verdict = checkCrashHistory({ acked: beforeCrash, inFlight, learner, report, onNewMain, loss: "measured" });
    const { kept, lost } = verdict;
    await this.keep(roles.learner, prefix, kept);
    await this.keep(
      roles.learner,
      prefix,
      acked.filter((w) => w.endpoint !== oldMain),
    );
    this.crashes++;
    this.lost += lost.length;
    if (lost.length > 0) this.crashesWithLoss++;
    if (learner.kind === "read") this.learnersRead++;
    else this.doubleFailures++;
    this.unresolved += verdict.learnerRevision.to - verdict.learnerRevision.from;
    this.lossAboveMeasured += (report.lostRevisions ?? 0) - verdict.measuredLoss;
    this.inFlightAllowed += inFlight;
  }

  /** `check` until it passes (a learner may still be catching up); fails the cycle after 60 s. */
  async untilHealthy(after: string): Promise<void> {
    for (let i = 0; i < 120; i++) {
      if ((await this.target.run(["check"])).code === 0) return;
      await sleep(500);
    }
    throw new Error(`pair not healthy 60 s after ${after}`);
  }

  /** Runs up to CYCLES seeded cycles of `operations`, then checks every kept write is on the final main. */
  async run(label: string, operations: Record<string, Operation>): Promise<string> {
    const names = Object.keys(operations);
    let done = 0;
    for (let index = 0; index < CYCLES && Date.now() < DEADLINE; index++) {
      const name = names[Math.floor(this.random() * names.length)] ?? "";
      const operation = operations[name];
      if (!operation) throw new Error(`no operation ${name}`);
      this.operations[name] = (this.operations[name] ?? 0) + 1;
      try {
        const roles = await this.roles();
        const prefix = `/torture/${index}/`;
        const concurrency = 1 + Math.floor(this.random() * 8);
        const endpoints = [this.target.url(roles.main), this.target.url(roles.learner)];
        const writer = new Writer(endpoints, prefix, 0, this.target.tls, concurrency);
        await writer.waitFor(50 + Math.floor(this.random() * 200));
        await operation(this, roles, writer, prefix);
        this.histories++;
        await writer.stop();
        await this.untilHealthy(name);
      } catch (err) {
        throw new Error(
          `cycle ${index} (${name}) failed; replay with TORTURE_SEED=${SEED}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      done++;
    }
    expect(
      done,
      `torture ${label}: only ${done} of ${CYCLES} cycles ran before the TORTURE_MINUTES=${MINUTES} deadline ` +
        `(at least ${MIN_CYCLES} must): raise TORTURE_MINUTES or lower TORTURE_CYCLES`,
    ).toBeGreaterThanOrEqual(MIN_CYCLES);
    const { main } = await this.roles();
    const all = await readAll(this.target.url(main), "/torture/", this.target.tls);
    expect([...this.kept].filter(([key, value]) => all.get(key) !== value).map(([key]) => key)).toEqual([]);
    return (
      `torture ${label}: seed ${SEED}, ${done} cycles, ${this.faults} faults, ${this.histories} histories checked, ` +
      `${this.kept.size} writes kept and found at the end; ${this.crashes} crash failovers lost ${this.lost} ` +
      `acknowledged writes (${this.crashesWithLoss} of them lost any), each as reported and as measured: ` +
      `${this.learnersRead} with the learner read before the failover (restored revision = its own), ` +
      `${this.doubleFailures} double failures (restore within the bounds known, ${this.unresolved} revisions ` +
      `left open by them); reported loss above the measured by ${this.lossAboveMeasured} revisions in all ` +
      `(${this.inFlightAllowed} requests in flight allowed); operations ${JSON.stringify(this.operations)}`
    );
  }
}

/** The operations every kind of host supports, given how to crash, pause and resume a node. */
export interface Faults {
  /** The node stops at once, unclean (kill -9 of etcd, or power loss of the host). */
  crash(node: Node): Promise<void>;
  /** After a crash: bring the host back if it went (local: nothing; the failover or rejoin starts etcd). */
  afterCrash(node: Node): Promise<void>;
  /** After a crash of the learner: what brings it back (up, or systemd's Restart=). */
  recoverLearner(node: Node): Promise<void>;
  pause(node: Node): Promise<void>;
  resume(node: Node): Promise<void>;
}

export function commonOperations(faults: Faults): Record<string, Operation> {
  return {
    "crash-main-failover-rejoin": async (t, roles, writer, prefix) => {
      await faults.crash(roles.main);
      t.faults++;
      const crashedAt = performance.now();
      // What the learner had, read from it before the failover touches it: the failover's figures are under test.
      const learner = await readLearner(t.target.url(roles.learner), prefix, t.target.tls);
      await failoverAndRejoin(faults, t, roles, writer, prefix, crashedAt, learner);
    },
    // A double failure: the learner crashes, the main acknowledges writes alone, then the main crashes too. The
    // failover must lose exactly the writes the learner never got, and say how many. The learner cannot be read
    // before the failover (it is down; the failover starts it once to replay its WAL): its revision just before
    // its crash and the writes sent once it was dead bound what it had (see checkCrashHistory).
    "crash-learner-then-main-failover-rejoin": async (t, roles, writer, prefix) => {
      const revisionBeforeCrash = await learnerRevisionBeforeCrash(t.target.url(roles.learner), t.target.tls);
      await faults.crash(roles.learner);
      const learner: LearnerCrashed = { kind: "crashed", revisionBeforeCrash, deadAt: performance.now() };
      await writer.waitFor(writer.acked.length + 20 + Math.floor(t.random() * 200));
      await faults.crash(roles.main);
      const crashedAt = performance.now();
      t.faults += 2;
      await faults.afterCrash(roles.learner);
      await failoverAndRejoin(faults, t, roles, writer, prefix, crashedAt, learner);
    },
    "crash-learner": async (t, roles, writer, prefix) => {
      await faults.crash(roles.learner);
      t.faults++;
      await writer.waitFor(writer.acked.length + 50);
      await faults.recoverLearner(roles.learner);
      await t.keep(roles.main, prefix, await writer.stop());
    },
    "pause-learner": (t, roles, writer, prefix) => pauseAndResume(faults, t, roles.learner, roles.main, writer, prefix),
    "pause-main": (t, roles, writer, prefix) => pauseAndResume(faults, t, roles.main, roles.main, writer, prefix),
    switchover: async (t, roles, writer, prefix) => {
      await t.must(["switchover", "--yes", "--to", roles.learner]);
      await writer.waitFor(writer.acked.length + 50);
      await t.keep(roles.learner, prefix, await writer.stop());
    },
  };
}

/** After the main crashed: failover under writes, bring the old host back, rejoin it, check the history. */
async function failoverAndRejoin(
  faults: Faults,
  t: Torture,
  roles: Roles,
  writer: Writer,
  prefix: string,
  crashedAt: number,
  learner: LearnerRead | LearnerCrashed,
): Promise<void> {
  const failover = await t.must(["failover", "--yes", "--json"]);
  await writer.waitFor(writer.acked.length + 50);
  await faults.afterCrash(roles.main);
  const rejoin = await t.must(["rejoin", roles.main, "--json"]);
  await writer.waitFor(writer.acked.length + 20);
  const acked = await writer.stop();
  const writes = { acked, unacked: writer.unacked };
  await t.checkCrashFailover(roles, prefix, writes, crashedAt, { failover, rejoin }, learner);
}

async function pauseAndResume(
  faults: Faults,
  t: Torture,
  target: Node,
  main: Node,
  writer: Writer,
  prefix: string,
): Promise<void> {
  await faults.pause(target);
  t.faults++;
  await sleep(500 + Math.floor(t.random() * 2500));
  await faults.resume(target);
  await writer.waitFor(writer.acked.length + 50);
  await t.keep(main, prefix, await writer.stop());
}
