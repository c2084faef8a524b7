import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseVersion } from "../../src/etcd/version.js";
import { failoverToolBlockers, planFailover } from "../../src/plan/failover.js";
import { pairView } from "../../src/plan/pairView.js";
import { rejoinToolBlockers } from "../../src/plan/rejoin.js";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { printSteps } from "../../src/plan/printPlan.js";
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

const TOKEN = "demo-1764000000-00000001";
const NEW = "demo-1764000900-0000000f";

function attempt(observations: NodeObservation[], fenceCommand?: string) {
  return planFailover({
    pair: DEMO_PAIR,
    observations,
    service: (node) => localSupervisor(nodeLayout(node)),
    ...(fenceCommand ? { fenceCommand } : {}),
    freshToken: NEW,
    canaryValue: "canary-1",
    stamp: "20261127T000000Z",
    now: "2026-11-27T00:00:00.000Z",
  });
}

const plan = (observations: NodeObservation[], fenceCommand?: string) => planned(attempt(observations, fenceCommand));
const refusal = (observations: NodeObservation[]) => refused(attempt(observations));

const deadMain = freshHost("alpha", { dataDir: "member", generation: TOKEN, envToken: TOKEN, envState: "new" });
const ids = (observations: NodeObservation[], fenceCommand?: string) =>
  plan(observations, fenceCommand).steps.map((s) => s.id);

describe("planFailover", () => {
  it("fences the reachable old main, stops the learner, restores its own db with a new token, starts it", () => {
    const result = plan([deadMain, runningLearner("beta", TOKEN)]);
    expect(result).toMatchObject({ newMain: "beta", oldMain: "alpha", token: NEW, fence: "stopped-on-host" });
    expect(result.learnerBefore).toEqual({ appliedIndex: 100, revision: 5 });
    expect(result.steps.map((s) => s.id)).toEqual([
      "fence.main",
      "failover.begin",
      "learner.stop",
      "newmain.restore",
      "newmain.swap",
      "newmain.files",
      "newmain.start",
      "newmain.ready",
      "newmain.smoke",
      "failover.finish",
      "assess.loss",
    ]);
    const text = printSteps(result.steps);
    expect(text).toContain(
      "/usr/bin/etcdutl snapshot restore /srv/etcd-pair/beta/data/member/snap/db --skip-hash-check --name=beta " +
        `--initial-cluster=beta=http://127.0.0.1:23802 --initial-advertise-peer-urls=http://127.0.0.1:23802 --initial-cluster-token=${NEW} ` +
        "--data-dir=/srv/etcd-pair/beta/data.restoring --bump-revision=1000000000 --mark-compacted",
    );
    expect(text).toContain('mv /srv/etcd-pair/beta/data "$to"');
    expect(text).not.toMatch(/rm -rf \/srv\/etcd-pair\/beta\/data(?!\.restoring)/);
    expect(text).toContain("ETCD_INITIAL_CLUSTER_STATE=new");
  });

  it("uses etcdctl with ETCDCTL_API=3 and no --bump-revision on 3.4.23", () => {
    const learner = { ...runningLearner("beta", TOKEN), version: parseVersion("3.4.23") };
    const text = printSteps(plan([deadMain, learner]).steps);
    expect(text).toContain("ETCDCTL_API=3 /usr/bin/etcdctl snapshot restore");
    expect(text).not.toContain("--bump-revision");
  });

  it("starts a crashed learner once to apply its WAL before restoring it", () => {
    const crashed = freshHost("beta", { dataDir: "member", generation: TOKEN, envToken: TOKEN, envState: "existing" });
    expect(ids([deadMain, crashed]).slice(0, 4)).toEqual([
      "fence.main",
      "failover.begin",
      "learner.replay",
      "newmain.restore",
    ]);
  });

  it("runs the fence command when the old main cannot be reached, else needs the operator's word", () => {
    const gone: NodeObservation = { ...freshHost("alpha"), reachable: false, error: "no route to host" };
    const withCommand = plan([gone, runningLearner("beta", TOKEN)], "ipmitool chassis power off");
    expect(withCommand).toMatchObject({ fence: "fence-command", needsOperatorWord: false });
    expect(withCommand.steps[0]).toMatchObject({ id: "fence.command", node: "the controller" });
    // The command learns which node to fence (either can be the main by then); sh runs it as planned.
    const fence = plan(
      [gone, runningLearner("beta", TOKEN)],
      'echo "$ETCD_PAIR_FENCE_NODE at $ETCD_PAIR_FENCE_ADDRESS"',
    );
    const action = fence.steps[0]?.actions[0];
    if (action?.kind !== "exec") throw new Error("the fence step runs a command");
    expect(execFileSync("sh", ["-c", action.command], { encoding: "utf8" })).toBe("alpha at 127.0.0.1\n");
    expect(plan([gone, runningLearner("beta", TOKEN)])).toMatchObject({
      fence: "operator-confirmed",
      needsOperatorWord: true,
    });
  });

  it("resumes with the token of the failover that began, and never restores twice", () => {
    const begun = runningLearner("beta", TOKEN);
    begun.failoverToken = NEW;
    expect(plan([deadMain, begun]).token).toBe(NEW);
    const swapped = freshHost("beta", { dataDir: "member", generation: NEW, failoverToken: NEW, envState: "new" });
    const steps = ids([{ ...deadMain, fenced: "failed over" }, swapped]);
    expect(steps).not.toContain("newmain.restore");
    expect(steps).not.toContain("learner.replay");
    expect(steps.slice(0, 3)).toEqual(["newmain.files", "newmain.start", "newmain.ready"]);
  });

  it.each<[string, NodeObservation[], RegExp]>([
    [
      "the main leads",
      [
        runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)]),
        runningLearner("beta"),
      ],
      /not a crash/,
    ],
    [
      "no node is a learner",
      [deadMain, freshHost("beta", { dataDir: "member", envState: "new" })],
      /cannot tell which node is the learner/,
    ],
    ["the learner holds no data", [deadMain, freshHost("beta", { envState: "existing" })], /no member data to restore/],
    [
      "the learner cannot be reached",
      [
        deadMain,
        {
          ...freshHost("beta"),
          reachable: false,
          envState: "existing",
          status: status(LEARNER_ID, MAIN_ID, { isLearner: true }),
        },
      ],
      /cannot be reached/,
    ],
  ])("refuses when %s", (_name, observations, message) => {
    expect(refusal(observations).message).toMatch(message);
  });
});

describe("binaries a later step runs, checked before the first change", () => {
  const view = (observations: NodeObservation[]) => pairView(DEMO_PAIR, observations);
  const noEtcdutl = { etcd: true, etcdctl: true, etcdutl: false };
  const problemsOf = (blockers: { node: string; problem: string }[]) => blockers.map((b) => `${b.node}: ${b.problem}`);

  it("failover needs the learner's snapshot tool (etcdutl on 3.5) before it fences anyone", () => {
    const learner = { ...runningLearner("beta", TOKEN), binaries: noEtcdutl };
    const observations = [deadMain, learner];
    expect(problemsOf(failoverToolBlockers(view(observations), plan(observations)))).toEqual([
      expect.stringMatching(/^beta: \/usr\/bin\/etcdutl is missing or not executable: etcd 3\.5\.16 restores/),
    ]);
  });

  it("failover on 3.4 restores with etcdctl, and needs no etcdutl", () => {
    const learner = { ...runningLearner("beta", TOKEN), version: parseVersion("3.4.23"), binaries: noEtcdutl };
    expect(failoverToolBlockers(view([deadMain, learner]), plan([deadMain, learner]))).toEqual([]);
  });

  it("a failover past its restore needs no snapshot tool", () => {
    const swapped = freshHost("beta", {
      dataDir: "member",
      generation: NEW,
      failoverToken: NEW,
      envState: "new",
      binaries: noEtcdutl,
    });
    const observations = [{ ...deadMain, fenced: "failed over" }, swapped];
    expect(failoverToolBlockers(view(observations), plan(observations))).toEqual([]);
  });

  it("rejoin needs etcd and etcdctl on the node, etcdctl on the main", () => {
    const main = runningMain("beta", [member(MAIN_ID, "beta", 23802, false)]);
    const bare = freshHost("alpha", { binaries: { etcd: false, etcdctl: true, etcdutl: false } });
    expect(problemsOf(rejoinToolBlockers(view([bare, main]), DEMO_PAIR.nodes[0]))).toEqual([
      "alpha: /usr/bin/etcd is missing or not executable",
    ]);
    const mainWithout = { ...main, binaries: { etcd: true, etcdctl: false, etcdutl: true } };
    expect(problemsOf(rejoinToolBlockers(view([freshHost("alpha"), mainWithout]), DEMO_PAIR.nodes[0]))).toEqual([
      "beta: /usr/bin/etcdctl is missing or not executable",
    ]);
  });
});
