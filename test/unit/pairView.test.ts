import { describe, expect, it } from "vitest";
import { chooseFence, fenceNeedsOperatorWord } from "../../src/plan/fence.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { pairView } from "../../src/plan/pairView.js";
import { firstRefusal } from "../../src/plan/refusal.js";
import {
  freshHost,
  LEARNER_ID,
  MAIN_ID,
  member,
  runningLearner,
  runningMain,
  status,
} from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const [alpha, beta] = DEMO_PAIR.nodes;
const both = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)];

describe("PairView", () => {
  it("answers by node: its observation, its peer, whether it leads, its member entry", () => {
    const view = pairView(DEMO_PAIR, [runningMain("alpha", both), runningLearner("beta")]);
    expect(view.of(beta).node).toBe("beta");
    expect(view.of("alpha").node).toBe("alpha");
    expect(view.peer(alpha).name).toBe("beta");
    expect([view.leads(alpha), view.leads(beta)]).toEqual([true, false]);
    expect(view.leader()?.name).toBe("alpha");
    expect(view.memberEntry(alpha, beta)).toMatchObject({ id: LEARNER_ID, isLearner: true });
    expect(view.memberEntry(beta, alpha)).toBeUndefined();
  });

  it("a follower or a learner does not lead; neither does a node nobody could ask", () => {
    const follower = { ...runningLearner("beta"), status: status(LEARNER_ID, MAIN_ID) };
    expect(pairView(DEMO_PAIR, [freshHost("alpha"), follower]).leader()).toBeUndefined();
    expect(() => pairView(DEMO_PAIR, [freshHost("alpha")]).of(beta)).toThrow("no observation of node beta");
  });
});

describe("fencing, chosen from a table", () => {
  const unreachable: NodeObservation = { ...freshHost("alpha"), reachable: false };
  it.each([
    [
      "a reachable old main is stopped on its host",
      freshHost("alpha", { running: true }),
      undefined,
      "stopped-on-host",
    ],
    ["a fenced, stopped one needs nothing more", freshHost("alpha", { fenced: "x" }), undefined, "already-fenced"],
    [
      "a fenced one that runs again is stopped",
      freshHost("alpha", { fenced: "x", running: true }),
      "c",
      "stopped-on-host",
    ],
    ["an unreachable one gets the fence command", unreachable, "ipmitool power off", "fence-command"],
    ["else only the operator's word", unreachable, undefined, "operator-confirmed"],
  ] as const)("%s", (_name, oldMain, command, method) => {
    expect(chooseFence(oldMain, command)).toBe(method);
    expect(fenceNeedsOperatorWord(method)).toBe(method === "operator-confirmed");
  });
});

describe("guards", () => {
  it("the first guard that objects gives the reason; later guards are not asked", () => {
    const asked: string[] = [];
    const guard = (name: string, objects: boolean) => () => {
      asked.push(name);
      return objects ? { message: name, hint: "h" } : undefined;
    };
    expect(firstRefusal([guard("a", false), guard("b", true), guard("c", true)])?.message).toBe("b");
    expect(asked).toEqual(["a", "b"]);
    expect(firstRefusal([guard("d", false)])).toBeUndefined();
  });
});
