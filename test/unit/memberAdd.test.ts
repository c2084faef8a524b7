import { describe, expect, it } from "vitest";
import { memberAddStep } from "../../src/plan/steps.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const [alpha, beta] = DEMO_PAIR.nodes;
const outcome = (code: number, stderr = "") => [{ code, stdout: "", stderr }];

describe("learner.add", () => {
  const action = memberAddStep(alpha, beta, "learner").actions[0];
  if (action?.kind !== "poll" || !action.abort) throw new Error("learner.add polls, with an abort");
  const { until, abort } = action;

  it("is done when etcd adds the learner, or has it already (a re-run)", () => {
    expect(until.check(outcome(0))).toBeUndefined();
    expect(until.check(outcome(1, "Error: etcdserver: Peer URLs already exists"))).toBeUndefined();
    // Added twice within one second (a retry after a lost answer): the same ID.
    expect(until.check(outcome(1, "Error: etcdserver: member ID already exist"))).toBeUndefined();
  });

  it("retries only when etcd gives back the ID of a member removed in the same second", () => {
    const sameSecond = outcome(1, "Error: etcdserver: member not found");
    expect(until.check(sameSecond)).toBe("Error: etcdserver: member not found");
    expect(abort.check(sameSecond)).toBeUndefined();
    expect(abort.check(outcome(1, "Error: etcdserver: too many learner members in cluster"))).toBe(
      "Error: etcdserver: too many learner members in cluster",
    );
    expect(action.timeoutMs).toBeGreaterThan(1000);
  });
});
