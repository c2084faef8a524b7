import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  holdLockCommand,
  parseLockReply,
  parseLockState,
  type LockHolder,
  type LockState,
} from "../../src/plan/lock.js";
import { currentGeneration, lastRoleChange, nextSteps } from "../../src/plan/nextSteps.js";
import { parseRoleChange } from "../../src/plan/probe.js";
import { derivePairState } from "../../src/plan/pairState.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { unreachable } from "../../src/plan/observed.js";
import { freshHost, LEARNER_ID, MAIN_ID, member, runningLearner, runningMain } from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const holder: LockHolder = {
  command: "etcd-pair failover --yes",
  controller: "ops-1",
  pid: 4711,
  since: "2026-11-30T22:40:00.123Z",
};
const record = `812 ${JSON.stringify(holder)}`;

describe("the pair lock's records", () => {
  it("reads the lock command's replies and status's reads, and nothing else", () => {
    expect(parseLockReply("locked ")).toEqual({ kind: "locked" });
    expect(parseLockReply(`locked ${record}`)).toEqual({ kind: "locked", stale: { ...holder, hostPid: 812 } });
    expect(parseLockReply(`busy ${record}`)).toEqual({ kind: "busy", holder: { ...holder, hostPid: 812 } });
    expect(parseLockReply("busy ")).toEqual({ kind: "busy" });
    expect(parseLockReply("flock: not found")).toEqual({ kind: "unknown", text: "flock: not found" });
    expect(parseLockState(`held ${record}`)).toEqual({ kind: "held", holder: { ...holder, hostPid: 812 } });
    expect(parseLockState(`stale ${record}`)).toMatchObject({ kind: "stale" });
    expect(parseLockState("")).toEqual({ kind: "free" });
    expect(parseLockState("held 12 {not json")).toEqual({ kind: "free" });
  });

  it("the lock command is plain sh, and a hostile command line stays one quoted word", () => {
    const files = { lockFile: "/run/lock/etcd-pair/alpha-0.lock", holderFile: "/run/lock/etcd-pair/alpha-0.holder" };
    const command = holdLockCommand(files, { ...holder, command: `etcd-pair x '$(touch /tmp/pwned)' "\`id\`"` });
    expect(spawnSync("sh", ["-n", "-c", command]).status).toBe(0);
    expect(command).toContain("flock -n 9");
    expect(command).toMatch(/timeout 30 head -c 1/);
  });
});

const both = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)];
const TOKEN = "demo-1796077256-85e0cfff";

function next(observations: NodeObservation[], locks: Record<string, LockState> = {}): string[] {
  const state = derivePairState(DEMO_PAIR, observations);
  return nextSteps(DEMO_PAIR, state.nodes, observations, new Map(Object.entries(locks)));
}

describe("status's next: lines", () => {
  it("a healthy idle pair needs nothing", () => {
    expect(next([runningMain("alpha", both), runningLearner("beta")])).toEqual([]);
  });

  it("each node state says what to run", () => {
    const stopped = { ...runningLearner("beta"), running: false };
    delete stopped.status;
    expect(next([runningMain("alpha", both), stopped])).toEqual([
      expect.stringMatching(/^etcd-pair up: starts beta again as alpha's learner/),
    ]);
    const fenced = { ...freshHost("alpha"), fenced: "failed over to beta at 22:00" };
    expect(next([fenced, runningMain("beta", [member(MAIN_ID, "beta", 23802, false)])])).toEqual([
      expect.stringMatching(
        /^etcd-pair rejoin alpha: the pair failed over away from it \(failed over to beta at 22:00\)/,
      ),
    ]);
    const begun = { ...freshHost("beta"), failoverToken: TOKEN };
    expect(next([freshHost("alpha"), begun])[0]).toMatch(/^etcd-pair failover --yes: a failover to beta began/);
    expect(next([unreachable("alpha", "connect ECONNREFUSED"), runningLearner("beta")])[0]).toMatch(
      /^reach alpha's host \(connect ECONNREFUSED\)/,
    );
    const hung = { ...runningLearner("beta"), statusError: "context deadline exceeded", pid: 4242 };
    delete hung.status;
    expect(next([runningMain("alpha", both), hung])).toEqual([
      expect.stringMatching(/^etcd on beta \(pid 4242\) runs but does not answer \(hung\?\): read \S+etcd\.log/),
    ]);
  });

  it("a running command's lock is all there is to say; a stale one is said once for both nodes", () => {
    const stopped = { ...freshHost("beta") };
    const held: LockState = { kind: "held", holder: { ...holder, hostPid: 1 } };
    expect(next([runningMain("alpha", both), stopped], { alpha: held, beta: held })).toEqual([
      "wait: `etcd-pair failover --yes` (pid 4711 on ops-1, since 2026-11-30T22:40:00) is changing the pair " +
        "(it holds the lock on alpha and beta)",
    ]);
    const stale: LockState = { kind: "stale", holder: { ...holder, hostPid: 1 } };
    const lines = next([runningMain("alpha", both), runningLearner("beta")], { alpha: stale });
    expect(lines).toEqual([
      expect.stringMatching(/lock `etcd-pair failover --yes` .* left on alpha: its holder is gone/),
    ]);
  });

  it("the generation: its token's time, and whether a failover made it", () => {
    const main = { ...runningMain("alpha", both), generation: TOKEN };
    expect(currentGeneration(main)).toEqual({ token: TOKEN, began: "2026-11-30T22:20:56Z", kind: "up" });
    expect(currentGeneration({ ...main, restoredFrom: { token: TOKEN, revision: 7 } })?.kind).toBe("failover");
    expect(currentGeneration(undefined)).toBeNull();
  });

  it("the last role change: a switchover recorded in this generation, else the generation's own start", () => {
    const switched = parseRoleChange(`switchover 2026-11-30T23:01:02Z alpha ${TOKEN}\n`);
    expect(switched).toEqual({ at: "2026-11-30T23:01:02Z", from: "alpha", token: TOKEN });
    const main = { ...runningMain("beta", both), generation: TOKEN, switchedOver: switched };
    expect(lastRoleChange(main, currentGeneration(main))).toEqual({
      kind: "switchover",
      at: "2026-11-30T23:01:02Z",
      from: "alpha",
    });
    // A switchover of an older generation: a failover came after it.
    const later = "demo-1796080000-0a0b0c0d";
    const failedOver = { ...main, generation: later, restoredFrom: { token: later, revision: 9 } };
    expect(lastRoleChange(failedOver, currentGeneration(failedOver))).toEqual({
      kind: "failover",
      at: "2026-11-30T23:06:40Z",
    });
    expect(parseRoleChange("switchover 2026-11-30T23:01:02Z")).toBeUndefined();
    expect(lastRoleChange(undefined, null)).toBeNull();
  });
});
