import { describe, expect, it } from "vitest";
import { archiveStamp, planDown } from "../../src/plan/down.js";
import { nodeLayout } from "../../src/config/layout.js";
import { printSteps } from "../../src/plan/printPlan.js";
import { localSupervisor } from "../../src/service/local.js";
import { freshHost, member, MAIN_ID, runningLearner, runningMain } from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const [alpha, beta] = DEMO_PAIR.nodes;
const service = (node: typeof alpha) => localSupervisor(nodeLayout(node));

describe("planDown", () => {
  it("stops the learner first, then the main", () => {
    const steps = planDown({
      nodes: [
        { node: beta, side: "learner" },
        { node: alpha, side: "main" },
      ],
      observations: [runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false)]), runningLearner("beta")],
      service,
      purge: false,
      stamp: "20261127T000000Z",
    });
    expect(steps.map((s) => s.id)).toEqual(["down.learner.stop", "down.main.stop"]);
  });

  it("archives data and the generation marker with --purge, never deleting", () => {
    const steps = planDown({
      nodes: [
        { node: beta, side: "learner" },
        { node: alpha, side: "main" },
      ],
      observations: [freshHost("alpha", { dataDir: "member", generation: "demo-1" }), freshHost("beta")],
      service,
      purge: true,
      stamp: "20261127T000000Z",
    });
    expect(steps.map((s) => s.id)).toEqual(["down.main.archive"]);
    const text = printSteps(steps);
    expect(text).toContain("mv /srv/etcd-pair/alpha/data /srv/etcd-pair/alpha/archive/data-20261127T000000Z");
    expect(text).toContain(
      "mv /srv/etcd-pair/alpha/state/generation /srv/etcd-pair/alpha/archive/generation-20261127T000000Z",
    );
    expect(text).not.toMatch(/\brm -r/);
  });

  it("stamps archives in UTC without separators", () => {
    expect(archiveStamp(new Date("2026-11-27T14:30:05.123Z"))).toBe("20261127T143005Z");
  });
});
