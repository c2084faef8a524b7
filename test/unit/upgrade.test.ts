import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeSpec, PairSpec } from "../../src/config/resolve.js";
import { parseVersion } from "../../src/etcd/version.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { parseVersionEndpoint } from "../../src/plan/probeSections.js";
import { planUpgrade, type UpgradePlan } from "../../src/plan/upgrade.js";
import { placeholderId } from "../../src/plan/upgradeProjection.js";
import { parseUpgradeMarker } from "../../src/plan/upgradeMarker.js";
import { versionStepRefusal } from "../../src/plan/upgradeRules.js";
import { clusterVersionReached, learnerRunning } from "../../src/plan/upgradeSteps.js";
import { localSupervisor } from "../../src/service/local.js";
import { systemdService } from "../../src/service/systemd.js";
import { swapFigures } from "../../src/commands/upgrade.js";
import type { StepRecord } from "../../src/runtime/runner.js";
import { LEARNER_ID, MAIN_ID, member, runningLearner, runningMain } from "../helpers/observations.js";
import { DEMO_PAIR, SSH_PAIR, SSH_TLS_PAIR } from "../helpers/specs.js";

const v = (text: string) => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(text);
  return parsed;
};

interface PairAt {
  /** What each node runs (status.version); null: not running. */
  alpha: string | null;
  beta: string | null;
  /** What each binDir holds (etcd --version): the config's target for local pairs. */
  installed: string | { alpha: string; beta: string };
  cluster?: string;
  storage?: string;
  /** alpha leads with beta its learner (default), or the other way round. */
  leader?: "alpha" | "beta";
  marker?: { target: string; main: string };
}

/** A healthy pair (a main and its running learner) at the versions given. */
function pairAt(p: PairAt): NodeObservation[] {
  const leaderName = p.leader ?? "alpha";
  const learnerName = leaderName === "alpha" ? "beta" : "alpha";
  const port = (name: string) => (name === "alpha" ? 23801 : 23802);
  const main = runningMain(leaderName, [
    member(MAIN_ID, leaderName, port(leaderName), false),
    member(LEARNER_ID, learnerName, port(learnerName), true),
  ]);
  const learner = runningLearner(learnerName);
  const cluster = p.cluster ?? `${(p.alpha ?? p.beta ?? "3.5.0").split(".").slice(0, 2).join(".")}.0`;
  const installed = (name: "alpha" | "beta") => (typeof p.installed === "string" ? p.installed : p.installed[name]);
  return [main, learner]
    .map((o): NodeObservation => {
      const name = o.node as "alpha" | "beta";
      const running = p[name];
      const observation: NodeObservation = { ...o, version: v(installed(name)) };
      if (running === null) {
        observation.running = false;
        delete observation.status;
        delete observation.members;
      } else if (observation.status) {
        observation.status = { ...observation.status, version: running };
        observation.versions = { server: running, cluster, ...(p.storage ? { storage: p.storage } : {}) };
      }
      if (p.marker) observation.upgrade = { ...p.marker, at: "2026-11-27T00:00:00Z" };
      return observation;
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

const service = (pair: PairSpec) => (node: NodeSpec) =>
  node.host.kind === "ssh" ? systemdService(node, nodeLayout(node), pair.cluster) : localSupervisor(nodeLayout(node));

function plan(observations: NodeObservation[], options: { keepRoles?: boolean; pair?: PairSpec } = {}) {
  const pair = options.pair ?? DEMO_PAIR;
  return planUpgrade({
    pair,
    observations,
    service: service(pair),
    stamp: "20261127T000000Z",
    canaryValue: "canary-1",
    catchUpTimeoutMs: 30_000,
    keepRoles: options.keepRoles ?? false,
    tarball: {
      path: "/home/op/etcd-v3.6.14-linux-amd64.tar.gz",
      sha256: "ab".repeat(32),
      fileName: "etcd-v3.6.14-linux-amd64.tar.gz",
    },
    swapEvent: (from, to) => ({
      id: "0000000000000001",
      at: "2026-11-27T00:00:00.000Z",
      kind: "switchover",
      actor: "op@ctl",
      from,
      to,
    }),
  });
}

function ok(planned: ReturnType<typeof plan>): UpgradePlan {
  if (!planned.ok) throw new Error(`refused: ${planned.refusal.message}`);
  return planned.plan;
}

function refused(planned: ReturnType<typeof plan>): string {
  if (planned.ok) throw new Error(`planned ${planned.plan.steps.map((s) => s.id).join(", ")}`);
  return `${planned.refusal.message} | ${planned.refusal.hint}`;
}

const ids = (p: UpgradePlan) => p.steps.map((s) => s.id);

describe("upgrade refuses what etcd does not support, with the reason (exit 2, nothing changed)", () => {
  it("skipping a minor version: 3.4 -> 3.6", () => {
    const why = refused(plan(pairAt({ alpha: "3.4.23", beta: "3.4.23", installed: "3.6.14" })));
    expect(why).toContain("alpha runs etcd 3.4.23: going to 3.6.14 skips a minor version");
    expect(why).toContain("one minor version at a time");
    expect(why).toContain("upgrade to the newest 3.5 first");
  });

  it("skipping a minor version: 3.5 -> 3.7", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.7.1" })));
    expect(why).toContain("going to 3.7.1 skips a minor version");
    expect(why).toContain("upgrade to the newest 3.6 first");
  });

  it("a downgrade", () => {
    const why = refused(plan(pairAt({ alpha: "3.6.14", beta: "3.6.14", installed: "3.5.30" })));
    expect(why).toContain("alpha runs etcd 3.6.14: going to 3.5.30 is a downgrade");
  });

  it("a patch downgrade too", () => {
    expect(refused(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.5.16" })))).toContain("downgrade");
  });

  it("3.5 below the patch release etcd requires before 3.6 (3.5.26)", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.16", beta: "3.5.16", installed: "3.6.14" })));
    expect(why).toContain("alpha runs etcd 3.5.16, which etcd does not upgrade to 3.6 from");
    expect(why).toContain("#20967");
    expect(why).toContain("upgrade to etcd 3.5.26 or later 3.5 first");
    // 3.5.20-3.5.25 fix the unpersisted promotion (#19557) but not the zombie members: still refused.
    expect(refused(plan(pairAt({ alpha: "3.5.25", beta: "3.5.25", installed: "3.6.14" })))).toContain("3.5.26");
    expect(plan(pairAt({ alpha: "3.5.26", beta: "3.5.26", installed: "3.6.14" })).ok).toBe(true);
  });

  it("3.6 below 3.6.11 before 3.7", () => {
    const why = refused(plan(pairAt({ alpha: "3.6.5", beta: "3.6.5", installed: "3.7.1" })));
    expect(why).toContain("3.6.11");
  });

  it("nodes on different versions, neither the config's target", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.30", beta: "3.5.31", installed: "3.6.14" })));
    expect(why).toContain("alpha runs etcd 3.5.30 and beta runs 3.5.31; neither is 3.6.14");
  });

  it("binDirs holding two different versions: the target is not clear", () => {
    const why = refused(
      plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: { alpha: "3.6.14", beta: "3.5.30" } })),
    );
    expect(why).toContain("the config names two etcd versions");
  });

  it("an unhealthy pair: the learner is down", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.30", beta: null, installed: "3.6.14" })));
    expect(why).toContain("the pair is not healthy: beta is not a running learner (etcd is not running)");
  });

  it("an unhealthy pair: no main", () => {
    const why = refused(plan(pairAt({ alpha: null, beta: "3.5.30", installed: "3.6.14" })));
    expect(why).toContain("the pair is not healthy");
  });

  it("an unhealthy pair: the learner is a voter (an interrupted switchover, not the upgrade's)", () => {
    const observations = pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.6.14" });
    const alpha = observations[0];
    if (!alpha?.members) throw new Error("no members");
    alpha.members.members = alpha.members.members.map((m) => ({ ...m, isLearner: false }));
    expect(refused(plan(observations))).toContain("beta is a voter of alpha's cluster");
  });

  it("the cluster version: a target two minor versions above it", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", cluster: "3.4.0", installed: "3.6.14" })));
    expect(why).toContain("the cluster version is 3.4: going to 3.6.14 skips a minor version");
  });

  it("the storage version behind the cluster version before the next minor", () => {
    const pair = pairAt({ alpha: "3.6.14", beta: "3.6.14", cluster: "3.6.0", storage: "3.5.0", installed: "3.7.1" });
    expect(refused(plan(pair))).toContain("the storage version is 3.5.0, behind the cluster version 3.6");
  });

  it("a target etcd-pair refuses to run at all", () => {
    const why = refused(plan(pairAt({ alpha: "3.5.1", beta: "3.5.1", installed: "3.5.4" })));
    expect(why).toContain("etcd in /usr/bin is etcd 3.5.4");
    expect(why).toContain("#14370");
  });

  it("the rules alone: one minor at a time, the same minor any patch up", () => {
    expect(versionStepRefusal("a", v("3.5.16"), v("3.5.30"))).toBeUndefined();
    expect(versionStepRefusal("a", v("3.4.23"), v("3.5.30"))).toBeUndefined();
    expect(versionStepRefusal("a", v("3.6.14"), v("3.7.1"))).toBeUndefined();
    expect(versionStepRefusal("a", v("3.6.14"), v("4.0.0"))?.message).toContain("skips");
  });
});

describe("upgrade plans only what is left", () => {
  it("fresh: restart the learner on the new etcd, settle, switch over, the old main rejoins on it, test, cluster version", () => {
    const p = ok(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.6.14" })));
    expect(p).toMatchObject({ target: "3.6.14", originalMain: "alpha", main: "beta", more: false });
    expect(p.swaps).toEqual([{ from: "alpha", to: "beta" }]);
    // The fixture's hosts hold no files etcd-pair wrote (no hashes): the learner's are written before its restart.
    expect(ids(p).slice(0, 7)).toEqual([
      "upgrade.begin",
      "learner.files",
      "learner.stop",
      "learner.start",
      "learner.ready",
      "upgrade.settle",
      "switch.caught-up",
    ]);
    expect(ids(p)).toContain("switch.promote");
    expect(ids(p).indexOf("oldmain.archive")).toBeLessThan(ids(p).indexOf("learner.add"));
    expect(ids(p).slice(-3)).toEqual(["switch.history", "upgrade.cluster-version", "upgrade.finish"]);
    const ready = p.steps.find((s) => s.id === "learner.ready");
    expect(ready?.title).toBe("wait until beta answers as a learner on etcd 3.6.14");
  });

  it("3.6 -> 3.7: the learner is sealed on 3.6 first (a snapshot past the raft index the upgrade began at)", () => {
    const p = ok(plan(pairAt({ alpha: "3.6.14", beta: "3.6.14", installed: "3.7.1" })));
    expect(ids(p).slice(0, 4)).toEqual(["upgrade.begin", "upgrade.seal", "learner.files", "learner.stop"]);
    const seal = p.steps[1];
    // The main's raft index now (the fixture's 100) is recorded in the marker and waited for in member/snap.
    const begin = p.steps[0]?.actions[0];
    expect(begin?.kind === "exec" && begin.command).toContain(`" 100 >`);
    expect(seal?.title).toContain("its newest raft snapshot is at index 100 or later");
    const env = seal?.actions.find((a) => a.kind === "upload");
    expect(env?.kind === "upload" && env.content).toContain("ETCD_SNAPSHOT_COUNT=1\n");
    // The restart writes the usual env file back, though the probe saw it unchanged.
    const files = p.steps.find((s) => s.id === "learner.files");
    expect(JSON.stringify(files?.actions)).toContain("ETCD_SNAPSHOT_COUNT=10000");
    // The old main rejoins from the new main's snapshot: never sealed itself.
    expect(ids(p).filter((id) => id === "upgrade.seal")).toHaveLength(1);
  });

  it("3.6 -> 3.7 resumed: no seal once the learner's newest snapshot is past the marker's index", () => {
    const at = pairAt({
      alpha: "3.6.14",
      beta: "3.6.14",
      installed: "3.7.1",
      marker: { target: "3.7.1", main: "alpha" },
    });
    // The marker's index (90, when it began), not the main's now (100).
    const sealed = at.map((o) => ({
      ...o,
      upgrade: { ...o.upgrade!, raftIndex: 90 },
      ...(o.node === "beta" ? { snapshotIndex: 90 } : {}),
    }));
    expect(ids(ok(plan(sealed)))).not.toContain("upgrade.seal");
    const behind = sealed.map((o) => (o.node === "beta" ? { ...o, snapshotIndex: 89 } : o));
    expect(ids(ok(plan(behind)))).toContain("upgrade.seal");
  });

  it("3.5 -> 3.6 needs no seal (3.6 still applies v2 requests)", () => {
    expect(ids(ok(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.6.14" }))))).not.toContain(
      "upgrade.seal",
    );
  });

  it("a patch upgrade within a minor version runs the same way", () => {
    const p = ok(plan(pairAt({ alpha: "3.5.16", beta: "3.5.16", installed: "3.5.30" })));
    expect(ids(p)).toContain("learner.stop");
    expect(ids(p)).toContain("switch.promote");
  });

  it("resumed after the learner restarted: no restart again, the switchover", () => {
    const marker = { target: "3.6.14", main: "alpha" };
    const p = ok(plan(pairAt({ alpha: "3.5.30", beta: "3.6.14", installed: "3.6.14", marker })));
    expect(ids(p)).not.toContain("upgrade.begin");
    expect(ids(p)).not.toContain("learner.stop");
    expect(ids(p)[0]).toBe("upgrade.settle");
    expect(p.swaps).toEqual([{ from: "alpha", to: "beta" }]);
  });

  it("resumed with the learner stopped (killed after its stop): started, not stopped again", () => {
    const marker = { target: "3.6.14", main: "alpha" };
    const p = ok(plan(pairAt({ alpha: "3.5.30", beta: null, installed: "3.6.14", marker })));
    expect(ids(p).slice(0, 4)).toEqual(["learner.files", "learner.start", "learner.ready", "upgrade.settle"]);
  });

  it("resumed after the swap (the old main removed): the switchover is finished, never swapped again", () => {
    const marker = { target: "3.6.14", main: "alpha" };
    const observations = pairAt({ alpha: "3.5.30", beta: "3.6.14", installed: "3.6.14", marker, leader: "beta" });
    const beta = observations.find((o) => o.node === "beta");
    if (!beta?.members) throw new Error("no members");
    beta.members.members = beta.members.members.filter((m) => m.name === "beta");
    const p = ok(plan(observations));
    expect(ids(p)).not.toContain("switch.promote");
    expect(ids(p)).not.toContain("switch.move-leader");
    expect(ids(p)).toContain("oldmain.archive");
    expect(ids(p)).toContain("learner.add");
    expect(p.main).toBe("beta");
  });

  it("both on the target, cluster version reached: nothing to do", () => {
    const p = ok(plan(pairAt({ alpha: "3.6.14", beta: "3.6.14", installed: "3.6.14" })));
    expect(p.steps).toEqual([]);
  });

  it("both on the target with the marker left: the marker archived, the cluster version waited for if not there", () => {
    const marker = { target: "3.6.14", main: "alpha" };
    const at = (cluster: string) =>
      ids(ok(plan(pairAt({ alpha: "3.6.14", beta: "3.6.14", installed: "3.6.14", marker, leader: "beta", cluster }))));
    expect(at("3.6.0")).toEqual(["upgrade.finish"]);
    expect(at("3.5.0")).toEqual(["upgrade.cluster-version", "upgrade.finish"]);
  });

  it("the main on the target, the learner not: the learner is restarted, no switchover", () => {
    const p = ok(plan(pairAt({ alpha: "3.6.14", beta: "3.5.30", installed: "3.6.14" })));
    expect(p.swaps).toEqual([]);
    expect(ids(p)).toEqual([
      "upgrade.begin",
      "learner.files",
      "learner.stop",
      "learner.start",
      "learner.ready",
      "pair.members",
      "pair.alarms",
      "pair.canary",
      "pair.converged",
      "upgrade.cluster-version",
      "upgrade.finish",
    ]);
  });

  it("--keep-roles from the start: the switch back is planned again after the first swap, previewed with a placeholder ID", () => {
    const p = ok(plan(pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.6.14" }), { keepRoles: true }));
    expect(p.more).toBe(true);
    expect(ids(p)).not.toContain("upgrade.finish");
    const promote = p.preview.find((s) => s.id === "switch.promote");
    expect(JSON.stringify(promote)).toContain(placeholderId("alpha"));
    expect(p.preview.at(-1)?.id).toBe("upgrade.finish");
  });

  it("--keep-roles after the first swap: the switch back to the original main", () => {
    const marker = { target: "3.6.14", main: "alpha" };
    const observations = pairAt({ alpha: "3.6.14", beta: "3.6.14", installed: "3.6.14", marker, leader: "beta" });
    const p = ok(plan(observations, { keepRoles: true }));
    expect(p.more).toBe(false);
    expect(p.swaps).toEqual([{ from: "beta", to: "alpha" }]);
    expect(p.main).toBe("alpha");
    // Without --keep-roles the same state is done: the roles stay swapped.
    expect(ids(ok(plan(observations)))).toEqual(["upgrade.finish"]);
  });

  it("install: tarball: installs on the learner's host before its restart, on the old main's before it rejoins", () => {
    const pair: PairSpec = {
      ...SSH_PAIR,
      install: {
        kind: "tarball",
        source: { file: "/home/op/etcd-v3.6.14-linux-amd64.tar.gz" },
        sha256: "ab".repeat(32),
        fileName: "etcd-v3.6.14-linux-amd64.tar.gz",
      },
    };
    const observations = pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.5.30" }).map((o) => ({
      ...o,
      members: o.members && {
        ...o.members,
        members: o.members.members.map((m) => ({
          ...m,
          peerUrls: [`http://10.0.0.${m.name === "alpha" ? 1 : 2}:2380`],
        })),
      },
    }));
    const p = ok(plan(observations, { pair }));
    expect(p.target).toBe("3.6.14");
    const order = ids(p);
    expect(order.indexOf("learner.install.tarball")).toBeLessThan(order.indexOf("learner.stop"));
    expect(order.indexOf("main.install.tarball")).toBeGreaterThan(order.indexOf("oldmain.archive"));
    expect(order.indexOf("main.install.tarball")).toBeLessThan(order.indexOf("learner.add"));
  });
});

describe("the cluster version under TLS is read with openssl on the main's host", () => {
  it.each([
    [true, true],
    [false, false],
  ])("openssl there: %s, waited for: %s", (openssl, waited) => {
    const observations = pairAt({ alpha: "3.5.30", beta: "3.5.30", installed: "3.6.14" }).map((o) => ({
      ...o,
      openssl,
    }));
    const p = ok(plan(observations, { pair: SSH_TLS_PAIR }));
    expect(ids(p).includes("upgrade.cluster-version")).toBe(waited);
    expect(p.warnings.some((w) => w.includes("beta's host has no openssl"))).toBe(!waited);
  });
});

describe("upgrade's readers", () => {
  it("GET /version: headers skipped, storage from 3.6", () => {
    const answer =
      'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"etcdserver":"3.6.14","etcdcluster":"3.6.0","storage":"3.6.0"}';
    expect(parseVersionEndpoint(answer)).toEqual({ server: "3.6.14", cluster: "3.6.0", storage: "3.6.0" });
    expect(parseVersionEndpoint('{"etcdserver":"3.5.30","etcdcluster":"3.5.0"}')).toEqual({
      server: "3.5.30",
      cluster: "3.5.0",
    });
    expect(parseVersionEndpoint("")).toBeUndefined();
    expect(parseVersionEndpoint("HTTP/1.0 404 Not Found\r\n\r\n404 page not found")).toBeUndefined();
  });

  it("the marker", () => {
    expect(parseUpgradeMarker("upgrade 3.6.14 alpha 2026-11-27T00:00:00Z\n")).toEqual({
      target: "3.6.14",
      main: "alpha",
      at: "2026-11-27T00:00:00Z",
    });
    expect(parseUpgradeMarker("upgrade 3.7.1 beta 2026-11-27T00:00:00Z 4711")).toMatchObject({ raftIndex: 4711 });
    expect(parseUpgradeMarker("upgrade 3.7.1 beta 2026-11-27T00:00:00Z x")).not.toHaveProperty("raftIndex");
    expect(parseUpgradeMarker("garbage")).toBeUndefined();
  });

  it("a learner is ready on the target only when it runs it", () => {
    const out = (version: string, isLearner = true) => ({
      code: 0,
      stderr: "",
      stdout: JSON.stringify([
        {
          Endpoint: "x",
          Status: {
            header: { cluster_id: 1, member_id: 2, revision: 1, raft_term: 2 },
            version,
            leader: 3,
            raftIndex: 5,
            raftAppliedIndex: 5,
            isLearner,
          },
        },
      ]),
    });
    expect(learnerRunning(v("3.6.14")).check([out("3.6.14")])).toBeUndefined();
    expect(learnerRunning(v("3.6.14")).check([out("3.5.30")])).toBe("runs etcd 3.5.30, not 3.6.14");
    expect(learnerRunning(v("3.6.14")).check([out("3.6.14", false)])).toBe("not a learner");
  });

  it("the cluster version wait reads the minor version", () => {
    const answer = (cluster: string) => ({
      code: 0,
      stderr: "",
      stdout: `{"etcdserver":"3.6.14","etcdcluster":"${cluster}"}`,
    });
    expect(clusterVersionReached(v("3.6.14")).check([answer("3.6.0")])).toBeUndefined();
    expect(clusterVersionReached(v("3.6.14")).check([answer("3.5.0")])).toBe("cluster version 3.5.0");
  });

  it("each swap's figures, a resumed swap without its promote counted from the end", () => {
    const rec = (id: StepRecord["id"], durationMs: number): StepRecord => ({
      id,
      title: id,
      node: "a",
      kind: "change",
      status: "ok",
      durationMs,
    });
    const steps = [
      rec("switch.promote", 10),
      rec("switch.move-leader", 100),
      rec("switch.remove", 20),
      rec("newmain.smoke", 30),
      rec("switch.promote", 11),
      rec("switch.move-leader", 101),
      rec("switch.remove", 21),
      rec("newmain.smoke", 31),
    ];
    const swaps = [
      { from: "alpha", to: "beta" },
      { from: "beta", to: "alpha" },
    ];
    expect(swapFigures(swaps, steps)).toEqual([
      { from: "alpha", to: "beta", twoVoterWindowMs: 130, leaderChangeToFirstWriteMs: 150 },
      { from: "beta", to: "alpha", twoVoterWindowMs: 133, leaderChangeToFirstWriteMs: 153 },
    ]);
  });
});
