import { describe, expect, it } from "vitest";
import { derivePairState } from "../../src/plan/pairState.js";
import { unreachable } from "../../src/plan/observed.js";
import {
  CLUSTER_ID,
  freshHost,
  LEARNER_ID,
  MAIN_ID,
  member,
  runningLearner,
  runningMain,
  status,
} from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const bothMembers = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)];

describe("derivePairState", () => {
  it("a leader and a caught-up learner are healthy", () => {
    const state = derivePairState(DEMO_PAIR, [runningMain("alpha", bothMembers), runningLearner("beta")]);
    expect(state).toMatchObject({ healthy: true, leader: "alpha", problems: [] });
    expect(state.nodes.map((n) => [n.role, n.lagEntries])).toEqual([
      ["leader", 0],
      ["learner", 0],
    ]);
  });

  it("a node whose disk is full makes the pair unhealthy, running or not, and says what to do", () => {
    const full = { path: "/var/lib", availableBytes: 1024 ** 2, mountPoint: "/var" };
    const state = derivePairState(DEMO_PAIR, [
      runningMain("alpha", bothMembers),
      { ...runningLearner("beta"), disk: full },
    ]);
    expect(state.healthy).toBe(false);
    expect(state.problems).toEqual([
      expect.stringMatching(/^beta's disk is full: 1 MiB free on \/var .*'etcd-pair up'/),
    ]);
    const roomy = { ...full, availableBytes: 64 * 1024 ** 2 };
    expect(
      derivePairState(DEMO_PAIR, [runningMain("alpha", bothMembers), { ...runningLearner("beta"), disk: roomy }])
        .healthy,
    ).toBe(true);
  });

  it("reports the learner's lag against the leader's committed index", () => {
    const state = derivePairState(DEMO_PAIR, [
      runningMain("alpha", bothMembers),
      runningLearner("beta", undefined, 58),
    ]);
    expect(state.nodes[1]?.lagEntries).toBe(42);
    expect(state.healthy).toBe(true);
  });

  it("a stopped learner is down and the pair unhealthy", () => {
    const state = derivePairState(DEMO_PAIR, [
      runningMain("alpha", bothMembers),
      freshHost("beta", { dataDir: "member" }),
    ]);
    expect(state.healthy).toBe(false);
    expect(state.nodes[1]?.role).toBe("down");
    expect(state.problems).toEqual(["beta is down: etcd is not running", "no learner: the pair has no standby"]);
  });

  it("an unreachable host is unknown", () => {
    const state = derivePairState(DEMO_PAIR, [runningMain("alpha", bothMembers), unreachable("beta", "timed out")]);
    expect(state.nodes[1]).toMatchObject({ role: "unknown", reachable: false, detail: "timed out" });
  });

  it("a running node missing from the member list is not-member", () => {
    const stale = freshHost("beta", {
      running: true,
      dataDir: "member",
      status: status("dddddddddddddddd", "dddddddddddddddd"),
    });
    const state = derivePairState(DEMO_PAIR, [runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false)]), stale]);
    expect(state.nodes[1]?.role).toBe("not-member");
    expect(state.healthy).toBe(false);
  });

  it("two leaders of different clusters are split brain", () => {
    const other = freshHost("beta", {
      running: true,
      dataDir: "member",
      status: status("dddddddddddddddd", "dddddddddddddddd", { clusterId: "eeeeeeeeeeeeeeee" }),
      members: { clusterId: "eeeeeeeeeeeeeeee", members: [member("dddddddddddddddd", "beta", 23802, false)] },
    });
    const main = runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false)]);
    const state = derivePairState(DEMO_PAIR, [main, other]);
    expect(state.healthy).toBe(false);
    expect(state.problems.join()).toContain(`different clusters (${CLUSTER_ID}, eeeeeeeeeeeeeeee)`);
  });

  it("a running member that does not answer is unknown, with etcdctl's error", () => {
    const hung = freshHost("alpha", { running: true, dataDir: "member", statusError: "context deadline exceeded" });
    const state = derivePairState(DEMO_PAIR, [hung, runningLearner("beta")]);
    expect(state.nodes[0]).toMatchObject({ role: "unknown", detail: "context deadline exceeded" });
    expect(state.leader).toBeNull();
  });
});
