import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { printSteps } from "../../src/plan/printPlan.js";
import { chooseMain, planUp } from "../../src/plan/up.js";
import { peerOf } from "../../src/plan/pairView.js";
import { renderEtcdctlEnv, renderEtcdEnv } from "../../src/render/envFile.js";
import { renderStartScript } from "../../src/render/startScript.js";
import { localSupervisor } from "../../src/service/local.js";
import { parseVersion } from "../../src/etcd/version.js";
import { freshHost, LEARNER_ID, MAIN_ID, member, runningLearner, runningMain } from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";

const [alpha, beta] = DEMO_PAIR.nodes;

function plan(observations: NodeObservation[]) {
  return planUp({
    pair: DEMO_PAIR,
    observations,
    service: (node) => localSupervisor(nodeLayout(node)),
    freshToken: "demo-ffffffffffff",
    canaryValue: "canary-1",
  });
}

const ids = (observations: NodeObservation[]) => plan(observations).steps.map((s) => s.id);

const FULL = [
  "main.files",
  "main.approve",
  "main.start",
  "main.ready",
  "main.generation",
  "main.smoke",
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
];

/** File hashes as the probe reports them for files up wrote with `token`. */
function writtenFiles(node: typeof alpha, token: string, members: (typeof alpha)[], state: "new" | "existing") {
  const layout = nodeLayout(node);
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  return {
    [layout.envFile]: sha(renderEtcdEnv(node, layout, { cluster: "demo", members, state, token })),
    [layout.ctlEnvFile]: sha(renderEtcdctlEnv(node, layout, "demo")),
    [layout.startScript]: sha(renderStartScript(node, peerOf(DEMO_PAIR, node), layout, "demo")),
  };
}

describe("planUp", () => {
  it("plans the whole bring-up on fresh hosts, adding the learner before starting it", () => {
    const result = plan([freshHost("alpha"), freshHost("beta")]);
    expect(result).toMatchObject({ main: "alpha", learner: "beta", token: "demo-ffffffffffff", blockers: [] });
    expect(result.steps.map((s) => s.id)).toEqual(FULL);
    const text = printSteps(result.steps);
    expect(text).toContain("ETCD_INITIAL_CLUSTER_STATE=new");
    expect(text).toContain("ETCD_INITIAL_CLUSTER=alpha=http://127.0.0.1:23801,beta=http://127.0.0.1:23802");
    expect(text).toContain("member add beta --learner --peer-urls=http://127.0.0.1:23802");
    expect(text).toContain("get /etcd-pair/canary --consistency=s --print-value-only");
  });

  it("has nothing to do when the pair is up and its files are current", () => {
    const token = "demo-000000000001";
    const main = runningMain(
      "alpha",
      [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)],
      token,
    );
    main.fileHashes = writtenFiles(alpha, token, [alpha], "new");
    const learner = runningLearner("beta", token);
    learner.fileHashes = writtenFiles(beta, token, [alpha, beta], "existing");
    const result = plan([main, learner]);
    expect(result.steps).toEqual([]);
    expect(result.token).toBe(token);
  });

  it("resumes after the learner was added but never started: no second member add", () => {
    const token = "demo-000000000001";
    const main = runningMain(
      "alpha",
      [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "", 23802, true)],
      token,
    );
    main.fileHashes = writtenFiles(alpha, token, [alpha], "new");
    expect(ids([main, freshHost("beta")])).toEqual(FULL.slice(FULL.indexOf("learner.files")));
  });

  it("restarts a stopped main on its own data with its own token", () => {
    const main = freshHost("alpha", {
      dataDir: "member",
      envToken: "demo-000000000001",
      generation: "demo-000000000001",
    });
    main.fileHashes = writtenFiles(alpha, "demo-000000000001", [alpha], "new");
    const result = plan([main, freshHost("beta")]);
    expect(result.token).toBe("demo-000000000001");
    expect(result.steps.map((s) => s.id).slice(0, 3)).toEqual(["main.approve", "main.start", "main.ready"]);
  });

  it("with both nodes down after a failover and rejoin, the main is the node its env file makes main, not the first", () => {
    const newer = "demo-1764000900-0000000f";
    const down = (node: string, envState: string, token: string) =>
      freshHost(node, { dataDir: "member", envToken: token, envState, generation: newer });
    // alpha was the main of an older generation, was failed over from and rejoined as beta's learner.
    const result = plan([down("alpha", "existing", newer), down("beta", "new", newer)]);
    expect(result).toMatchObject({ main: "beta", learner: "alpha" });
    // A fenced old main's env file still says new, for an older generation: the newer main wins.
    const fencedOld = { ...down("alpha", "new", "demo-1764000000-0000000a"), fenced: "failed over to beta" };
    expect(chooseMain(DEMO_PAIR, [fencedOld, down("beta", "new", newer)]).name).toBe("beta");
    expect(chooseMain(DEMO_PAIR, [freshHost("alpha"), freshHost("beta")]).name).toBe("alpha");
  });

  it("treats the node that leads as main, even when it is listed second", () => {
    const main = runningMain("beta", [member(MAIN_ID, "beta", 23802, false)]);
    const result = plan([freshHost("alpha"), main]);
    expect(result).toMatchObject({ main: "beta", learner: "alpha" });
    expect(printSteps(result.steps)).toContain("member add alpha --learner");
  });

  it.each<[string, NodeObservation[], RegExp]>([
    [
      "etcd missing",
      [
        freshHost("alpha", { binaries: { etcd: false, etcdctl: true, etcdutl: false }, version: undefined }),
        freshHost("beta"),
      ],
      /\/usr\/bin\/etcd is missing/,
    ],
    [
      "a version that loses acknowledged writes",
      [freshHost("alpha", { version: parseVersion("3.4.20") }), freshHost("beta")],
      /#14370/,
    ],
    [
      "mixed minor versions",
      [freshHost("alpha"), freshHost("beta", { version: parseVersion("3.4.23") })],
      /different etcd minor versions/,
    ],
    [
      "a port in use",
      [freshHost("alpha", { listeningPorts: [23791] }), freshHost("beta")],
      /client port 23791 is in use/,
    ],
    [
      "a data dir that is not etcd's",
      [freshHost("alpha"), freshHost("beta", { dataDir: "foreign" })],
      /not etcd member data/,
    ],
    [
      "an unreachable host",
      [freshHost("alpha"), { ...freshHost("beta"), reachable: false, error: "connection refused" }],
      /cannot be probed: connection refused/,
    ],
    [
      "a former member whose data is gone",
      [freshHost("alpha"), freshHost("beta", { generation: "demo-1" })],
      /holds no member data/,
    ],
    [
      "a learner that is a voter",
      [
        runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, false)]),
        freshHost("beta"),
      ],
      /voting member/,
    ],
    [
      "a learner with data of a cluster it left",
      [runningMain("alpha", [member(MAIN_ID, "alpha", 23801, false)]), freshHost("beta", { dataDir: "member" })],
      /no longer a member/,
    ],
    [
      "another cluster's member in the main's data dir",
      [freshHost("alpha", { dataDir: "member" }), freshHost("beta")],
      /holds an etcd member that this pair did not create/,
    ],
    [
      "a 3.5 binDir without etcdutl",
      [freshHost("alpha"), freshHost("beta", { binaries: { etcd: true, etcdctl: true, etcdutl: false } })],
      /\/usr\/bin\/etcdutl is missing/,
    ],
    [
      "only the learner holds data",
      [freshHost("alpha"), freshHost("beta", { dataDir: "member" })],
      /new, empty cluster/,
    ],
  ])("blocks on %s", (_name, observations, message) => {
    const blockers = plan(observations).blockers;
    expect(blockers.map((b) => b.problem).join("\n")).toMatch(message);
    for (const blocker of blockers) expect(blocker.fix.length).toBeGreaterThan(10);
  });

  it("warns when it rewrites files of a running member", () => {
    const main = runningMain("alpha", [
      member(MAIN_ID, "alpha", 23801, false),
      member(LEARNER_ID, "beta", 23802, true),
    ]);
    const result = plan([main, runningLearner("beta")]);
    expect(result.warnings.join()).toContain("alpha runs while its env file, start script or certificates change");
  });
});
