import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { printSteps } from "../../src/plan/printPlan.js";
import { planRejoin } from "../../src/plan/rejoin.js";
import { planSwitchover } from "../../src/plan/switchover.js";
import { localSupervisor } from "../../src/service/local.js";
import {
  freshHost,
  LEARNER_ID,
  MAIN_ID,
  member,
  runningLearner,
  runningMain,
  status,
} from "../helpers/observations.js";
import { planned, refused } from "../helpers/planned.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const [alpha, beta] = DEMO_PAIR.nodes;
const service = (node: typeof alpha) => localSupervisor(nodeLayout(node));
const both = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)];

function attemptSwitchover(observations: NodeObservation[], target = beta) {
  return planSwitchover({
    pair: DEMO_PAIR,
    observations,
    target,
    service,
    stamp: "20261127T000000Z",
    canaryValue: "c",
    catchUpTimeoutMs: 30_000,
  });
}

const switchover = (observations: NodeObservation[], target = beta) => planned(attemptSwitchover(observations, target));

describe("planSwitchover", () => {
  it("waits for the learner, promotes it, moves the leadership, removes and re-adds the old main", () => {
    const result = switchover([runningMain("alpha", both), runningLearner("beta")]);
    expect(result.steps.map((s) => s.id)).toEqual([
      "switch.caught-up",
      "switch.promote",
      "switch.move-leader",
      "switch.remove",
      "newmain.smoke",
      "switch.record",
      "newmain.files",
      "oldmain.stop",
      "oldmain.archive",
      "learner.add",
      "learner.files",
      "learner.start",
      "learner.publish",
      "learner.ready",
      "learner.generation",
      "pair.members",
      "pair.alarms",
      "pair.canary",
      "pair.converged",
    ]);
    const text = printSteps(result.steps);
    expect(text).toContain(`member promote ${LEARNER_ID}`);
    expect(text).toContain(
      `--endpoints=http://127.0.0.1:23791 --dial-timeout=2s --command-timeout=5s move-leader ${LEARNER_ID}`,
    );
    expect(text).toContain(
      `--endpoints=http://127.0.0.1:23792 --dial-timeout=2s --command-timeout=5s member remove ${MAIN_ID}`,
    );
    expect(result.warnings.join()).toContain("#19563");
  });

  it("continues an interrupted switchover from two voters without promoting again", () => {
    const voters = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, false)];
    const follower = { ...runningLearner("beta"), status: status(LEARNER_ID, MAIN_ID) };
    const ids = switchover([runningMain("alpha", voters), follower]).steps.map((s) => s.id);
    expect(ids.slice(0, 2)).toEqual(["switch.move-leader", "switch.remove"]);
  });

  it("has nothing to do when the target already leads with the other as its learner", () => {
    const leader = {
      ...runningMain("beta", [member(LEARNER_ID, "beta", 23802, false), member(MAIN_ID, "alpha", 23801, true)]),
      status: status(LEARNER_ID, LEARNER_ID),
    };
    const learner = { ...runningLearner("alpha"), status: status(MAIN_ID, LEARNER_ID, { isLearner: true }) };
    expect(switchover([learner, leader]).steps).toEqual([]);
  });

  it("done but for the old main's generation (killed just before it was recorded): records only that", () => {
    const leader = {
      ...runningMain("beta", [member(LEARNER_ID, "beta", 23802, false), member(MAIN_ID, "alpha", 23801, true)]),
      status: status(LEARNER_ID, LEARNER_ID),
    };
    const learner = { ...runningLearner("alpha"), status: status(MAIN_ID, LEARNER_ID, { isLearner: true }) };
    delete learner.generation;
    const steps = switchover([learner, leader]).steps;
    expect(steps.map((s) => [s.id, s.node])).toEqual([["learner.generation", "alpha"]]);
    expect(JSON.stringify(steps[0]?.actions)).toContain(leader.generation);
  });

  it("refuses without a running learner", () => {
    expect(
      refused(attemptSwitchover([runningMain("alpha", both), freshHost("beta", { dataDir: "member" })])).message,
    ).toContain("not a running learner");
  });
});

describe("planRejoin", () => {
  const failedOver = {
    ...runningMain("beta", [member(LEARNER_ID, "beta", 23802, false)]),
    status: status(LEARNER_ID, LEARNER_ID),
  };
  const oldMain = freshHost("alpha", { dataDir: "member", generation: "demo-1", fenced: "failed over to beta" });

  function rejoin(observations: NodeObservation[]) {
    return planned(
      planRejoin({
        pair: DEMO_PAIR,
        observations,
        node: alpha,
        service,
        stamp: "20261127T000000Z",
        canaryValue: "c",
      }),
    );
  }

  it("archives the old main's data and markers, then joins it as a learner before starting it", () => {
    const result = rejoin([oldMain, failedOver]);
    expect(result.main).toBe("beta");
    expect(result.steps.map((s) => s.id).slice(0, 7)).toEqual([
      "rejoin.archive",
      "learner.add",
      "learner.files",
      "learner.start",
      "learner.publish",
      "learner.ready",
      "learner.generation",
    ]);
    const text = printSteps(result.steps);
    for (const file of ["data", "state/generation", "state/fenced"])
      expect(text).toContain(`mv /srv/etcd-pair/alpha/${file} "$to"`);
    expect(text).toContain("ETCD_INITIAL_CLUSTER=beta=http://127.0.0.1:23802,alpha=http://127.0.0.1:23801");
  });

  it("removes a stale member entry first, and resumes an added-but-unstarted learner without adding it again", () => {
    const stale = {
      ...failedOver,
      members: {
        clusterId: "c",
        members: [member(LEARNER_ID, "beta", 23802, false), member(MAIN_ID, "alpha", 23801, true)],
      },
    };
    expect(
      rejoin([oldMain, stale])
        .steps.map((s) => s.id)
        .slice(0, 2),
    ).toEqual(["rejoin.remove", "rejoin.archive"]);
    const waiting = {
      ...failedOver,
      members: {
        clusterId: "c",
        members: [member(LEARNER_ID, "beta", 23802, false), member(MAIN_ID, "", 23801, true)],
      },
    };
    const ids = rejoin([freshHost("alpha"), waiting]).steps.map((s) => s.id);
    expect(ids).not.toContain("learner.add");
    expect(ids[0]).toBe("learner.files");
  });

  it("reads the old main's last revision before archiving its data, when the main's failover recorded what it restored", () => {
    const restoredMain = { ...failedOver, generation: "demo-2", restoredFrom: { token: "demo-2", revision: 1234 } };
    const result = rejoin([oldMain, restoredMain]);
    expect(result.restoredRevision).toBe(1234);
    expect(result.steps.map((s) => s.id).slice(0, 2)).toEqual(["assess.loss", "rejoin.archive"]);
    expect(printSteps(result.steps)).toContain("d=/srv/etcd-pair/alpha/data.inspect\n");
    expect(printSteps(result.steps)).toContain('cp -a /srv/etcd-pair/alpha/data "$d/data"');
    // A record from an earlier generation, or data that is already of this one, measures nothing.
    const stale = { ...restoredMain, restoredFrom: { token: "demo-0", revision: 9 } };
    expect(rejoin([oldMain, stale]).steps.map((s) => s.id)).not.toContain("assess.loss");
    const current = { ...oldMain, generation: "demo-2" };
    expect(rejoin([current, restoredMain]).steps.map((s) => s.id)).not.toContain("assess.loss");
    // A rejoin interrupted after it archived the old data: the data dir holds the new learner's data.
    const { generation: _archived, ...restarted } = oldMain;
    expect(rejoin([restarted, restoredMain]).steps.map((s) => s.id)).not.toContain("assess.loss");
  });

  it("refuses to rejoin the main itself", () => {
    expect(
      refused(
        planRejoin({
          pair: DEMO_PAIR,
          observations: [oldMain, failedOver],
          node: beta,
          service,
          stamp: "s",
          canaryValue: "c",
        }),
      ).message,
    ).toContain("beta is the main");
  });
});
