import { afterAll, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { reportedSteps, runKilledAfterStep } from "../helpers/interrupt.js";
import { TestPair } from "../helpers/pair.js";
import { readAll, Writer } from "../helpers/writer.js";

/**
 * failover, rejoin and switchover killed after each of their steps in turn (SIGKILL of the CLI) and re-run:
 * each must converge, with every acknowledged write kept. Run by `npm run test:torture:interrupt` (several
 * minutes per version: every boundary costs a crash or a switchover); `up` gets the same in `npm run test:slow`.
 * Each sweep must kill its command after as many steps as the command reports when it runs to its end.
 */
type Node = "alpha" | "beta";

/** The step lines a command was killed after, and the steps it reports when it runs to its end. */
interface Sweep {
  boundaries: string[];
  steps?: string[];
}

function expectEveryBoundary(command: string, sweep: Sweep): void {
  const steps = sweep.steps ?? [];
  expect(steps.length, `${command} ran to its end without reporting its steps`).toBeGreaterThan(0);
  expect(
    sweep.boundaries.length,
    `${command} reports ${steps.length} steps (${steps.join(", ")}) but was killed after ${sweep.boundaries.length}: ` +
      `are its step lines still "  ok …"?`,
  ).toBe(steps.length);
}

describe.each(TEST_BUILDS)("interrupted at every step boundary, etcd $series", (build) => {
  let pair: TestPair | undefined;
  let tls: ClientTls;
  afterAll(async () => {
    await pair?.cleanup();
  });

  async function roles(p: TestPair): Promise<{ main: Node; learner: Node }> {
    const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { leader: Node | null };
    if (!status.leader) throw new Error("no leader");
    return { main: status.leader, learner: status.leader === "alpha" ? "beta" : "alpha" };
  }

  /** Runs the command killed after step k; if it was, runs it again, which must converge. */
  async function interrupted(p: TestPair, args: string[], k: number, sweep: Sweep): Promise<boolean> {
    const { result, killedAfter } = await runKilledAfterStep(p, args, k);
    if (!killedAfter) {
      expect(result.code, `${args.join(" ")} (not interrupted):\n${result.stderr}`).toBe(0);
      sweep.steps ??= reportedSteps(result);
      return false;
    }
    const again = await p.run(args);
    expect(again.code, `${args.join(" ")} re-run after a kill following "${killedAfter}":\n${again.stderr}`).toBe(0);
    sweep.boundaries.push(killedAfter);
    return true;
  }

  /** Writes under the main, all of which must be on `node` at the end of the round. */
  async function writes(p: TestPair, main: Node, prefix: string): Promise<() => Promise<string[]>> {
    const writer = new Writer([p.url(main)], prefix, 0, tls);
    await writer.waitFor(50);
    const acked = await writer.stop();
    return async () => {
      const { main: now } = await roles(p);
      const data = await readAll(p.url(now), prefix, tls);
      return acked.filter((w) => data.get(w.key) !== w.value).map((w) => w.key);
    };
  }

  it("failover and rejoin: every re-run converges, every write the learner had is kept", { timeout: 0 }, async () => {
    requireBuild(build);
    const p = await TestPair.create(build.binDir);
    pair = p;
    expect((await p.run(["up"])).code).toBe(0);
    tls = await p.clientTls();
    const failovers: Sweep = { boundaries: [] };
    const rejoins: Sweep = { boundaries: [] };
    let failoverLeft = true;
    let rejoinLeft = true;
    for (let k = 1; failoverLeft || rejoinLeft; k++) {
      const { main } = await roles(p);
      const missing = await writes(p, main, `/round-${k}/`);
      // The learner has applied every write before the crash, so none may be lost.
      expect((await p.run(["check"])).code).toBe(0);
      await p.kill(main, "SIGKILL");
      // A command whose boundaries have all been tried still runs each round, uninterrupted.
      failoverLeft = await interrupted(p, ["failover", "--yes", "--json"], failoverLeft ? k : Infinity, failovers);
      rejoinLeft = await interrupted(p, ["rejoin", main, "--json"], rejoinLeft ? k : Infinity, rejoins);
      expect((await p.run(["check"])).code, `check after round ${k}`).toBe(0);
      expect(await missing()).toEqual([]);
    }
    expectEveryBoundary("failover", failovers);
    expectEveryBoundary("rejoin", rejoins);
    console.log(
      `etcd ${build.series}: failover killed after each of its ${failovers.boundaries.length} steps, rejoin after ` +
        `each of its ${rejoins.boundaries.length}; every re-run converged, no acknowledged write lost`,
    );
  });

  it("switchover: every re-run converges, no acknowledged write lost", { timeout: 0 }, async () => {
    const p = pair;
    if (!p) throw new Error("the failover sweep did not set up the pair");
    const switchovers: Sweep = { boundaries: [] };
    for (let k = 1; ; k++) {
      const { main, learner } = await roles(p);
      const missing = await writes(p, main, `/switch-${k}/`);
      const wasKilled = await interrupted(p, ["switchover", "--yes", "--to", learner, "--json"], k, switchovers);
      expect((await roles(p)).main).toBe(learner);
      expect((await p.run(["check"])).code, `check after round ${k}`).toBe(0);
      expect(await missing()).toEqual([]);
      if (!wasKilled) break;
    }
    expectEveryBoundary("switchover", switchovers);
    console.log(
      `etcd ${build.series}: switchover killed after each of its ${switchovers.boundaries.length} steps; every re-run converged`,
    );
  });
});
