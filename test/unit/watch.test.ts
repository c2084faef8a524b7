import { describe, expect, it } from "vitest";
import type { AutoFailoverSpec } from "../../src/config/resolve.js";
import { renderWatchUnit } from "../../src/render/watchUnit.js";
import { unreachable } from "../../src/plan/observed.js";
import {
  confirmedFacts,
  decide,
  failoverRefusal,
  observeFacts,
  type PairFacts,
  type Tick,
  type WatchMemory,
} from "../../src/plan/watch.js";
import { DEMO_PAIR } from "../helpers/specs.js";
import { expectGolden } from "../helpers/golden.js";

const settings: AutoFailoverSpec = { detectAfterMs: 10_000, minIntervalMs: 3_600_000 };
const healthy: PairFacts = { at: 0, main: "alpha", learner: "beta", lagRevisions: 0 };
const fresh: WatchMemory = { main: "alpha", awaitingLearner: false };

function tick(at: number, witness: boolean, learner: boolean | undefined): Tick {
  return {
    at,
    main: "alpha",
    witness: witness ? { reaches: true } : { reaches: false, detail: "ECONNREFUSED" },
    learner: {
      node: "beta",
      ...(learner === undefined ? { detail: "its host did not answer" } : { reaches: learner }),
    },
  };
}

/** Feeds ticks one second apart and returns every decision. */
function feed(ticks: [boolean, boolean | undefined][], memory = fresh, facts: PairFacts = healthy, s = settings) {
  let m = memory;
  return ticks.map(([w, l], i) => {
    const decision = decide(s, m, tick(i * 1000, w, l), facts);
    m = decision.memory;
    return decision;
  });
}

describe("watch decides (README: Automatic failover)", () => {
  it("fails over only when both views lose the main for detectAfter without a break", () => {
    const lost = Array.from({ length: 11 }, (): [boolean, boolean] => [false, false]);
    const decisions = feed(lost);
    expect(decisions.slice(0, 10).map((d) => d.action.kind)).toEqual(Array(10).fill("none"));
    expect(decisions[10]?.action).toMatchObject({ kind: "failover", from: "alpha", to: "beta" });
    // One tick where the learner's host reaches the main again starts the count anew.
    const broken = feed([...lost.slice(0, 6), [false, true], ...lost.slice(0, 9)]);
    expect(broken.map((d) => d.action.kind)).not.toContain("failover");
  });

  it("a main lost by one view only is reported, never failed over", () => {
    const witnessOnly = feed(Array.from({ length: 30 }, (): [boolean, boolean] => [false, true]));
    expect(witnessOnly.map((d) => d.action.kind)).toEqual(Array(30).fill("none"));
    expect(witnessOnly[0]?.state).toContain("alpha is lost by the witness only");
    const learnerOnly = feed(Array.from({ length: 30 }, (): [boolean, boolean] => [true, false]));
    expect(learnerOnly.map((d) => d.action.kind)).toEqual(Array(30).fill("none"));
    expect(learnerOnly[0]?.state).toContain("alpha is lost by beta's host only");
  });

  it("a learner's host that cannot be asked confirms nothing", () => {
    const decisions = feed(Array.from({ length: 30 }, (): [boolean, undefined] => [false, undefined]));
    expect(decisions.map((d) => d.action.kind)).toEqual(Array(30).fill("none"));
    expect(decisions[0]?.state).toContain("beta's host cannot be asked");
  });

  it("refuses, with the reason, when paused, awaiting a learner, too soon, without a learner, or lagging too far", () => {
    const now = 10_000_000;
    expect(failoverRefusal(settings, fresh, { ...healthy, paused: "by ops: disk swap" }, now)?.message).toContain(
      "the pair is paused (by ops: disk swap)",
    );
    expect(failoverRefusal(settings, { ...fresh, awaitingLearner: true }, healthy, now)?.message).toContain(
      "has no learner yet",
    );
    expect(
      failoverRefusal(settings, { ...fresh, lastAutomaticFailoverAt: now - 60_000 }, healthy, now)?.message,
    ).toContain("less than failover.minInterval (3600.0 s)");
    expect(failoverRefusal(settings, { ...fresh, lastAutomaticFailoverAt: now - 3_600_000 }, healthy, now)).toBe(
      undefined,
    );
    expect(failoverRefusal(settings, fresh, { at: 0, main: "alpha" }, now)?.message).toContain(
      "nothing to fail over to",
    );
    const lagging = { ...fresh, lastLagRevisions: 500 };
    expect(failoverRefusal({ ...settings, maxLagRevisions: 100 }, lagging, healthy, now)?.message).toContain(
      "500 revisions behind",
    );
    expect(failoverRefusal({ ...settings, maxLagRevisions: 1000 }, lagging, healthy, now)).toBe(undefined);
    const refused = feed(
      Array.from({ length: 12 }, (): [boolean, boolean] => [false, false]),
      fresh,
      { ...healthy, paused: "by ops" },
    );
    expect(refused[11]?.action).toMatchObject({ kind: "refuse" });
    expect(refused[11]?.state).toContain("no automatic failover: the pair is paused (by ops)");
  });

  it("learns the main from a look, or the learner's peer when none leads; the standby back ends the wait", () => {
    expect(observeFacts(DEMO_PAIR, { awaitingLearner: false }, { at: 0, learner: "beta" }).main).toBe("alpha");
    expect(observeFacts(DEMO_PAIR, { awaitingLearner: false }, { at: 0, main: "beta" }).main).toBe("beta");
    const back = observeFacts(
      DEMO_PAIR,
      { main: "beta", awaitingLearner: true },
      { at: 0, main: "beta", learner: "alpha", lagRevisions: 3 },
    );
    expect(back).toMatchObject({ awaitingLearner: false, lastLagRevisions: 3 });
    const stillAlone = observeFacts(DEMO_PAIR, { main: "beta", awaitingLearner: true }, { at: 0, main: "beta" });
    expect(stillAlone.awaitingLearner).toBe(true);
  });

  it("confirms on the learner's host before it acts: a pause marked since the last look, or a learner gone, stops it", () => {
    const learnerHost = { ...unreachable("beta", ""), reachable: true, running: true };
    const asLearner = { ...learnerHost, status: { isLearner: true } as NonNullable<typeof learnerHost.status> };
    const paused = confirmedFacts(healthy, { ...asLearner, paused: "by ops@ctl at t: disk swap" }, 5);
    expect(failoverRefusal(settings, fresh, paused, 5)?.message).toContain(
      "the pair is paused (by ops@ctl at t: disk swap (on beta))",
    );
    const gone = confirmedFacts(healthy, { ...learnerHost, running: false }, 5);
    expect(failoverRefusal(settings, fresh, gone, 5)?.message).toContain("nothing to fail over to");
    expect(failoverRefusal(settings, fresh, confirmedFacts(healthy, asLearner, 5), 5)).toBe(undefined);
  });

  it("renders the witness's systemd unit (golden)", () => {
    expectGolden(
      "etcd-pair-watch.service",
      renderWatchUnit({
        cluster: "demo",
        node: "/usr/bin/node",
        cli: "/usr/local/lib/etcd-pair/etcd-pair.js",
        config: "/etc/etcd-pair/etcd-pair.yaml",
        user: "root",
      }),
    );
  });
});
