import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { renderEtcdctlEnv, renderEtcdEnv } from "../../src/render/envFile.js";
import { GUARD_EXIT_STATUS, renderStartScript } from "../../src/render/startScript.js";
import { renderSystemdUnit } from "../../src/render/systemdUnit.js";
import { expectGolden } from "../helpers/golden.js";
import { DEMO_PAIR, localNode, SSH_TLS_PAIR } from "../helpers/specs.js";
import { scratchDirSync } from "../helpers/scratch.js";

const [alpha, beta] = DEMO_PAIR.nodes;

describe("renderers (golden files)", () => {
  it("env file of a main bootstrapping a new cluster", () => {
    const text = renderEtcdEnv(alpha, nodeLayout(alpha), {
      cluster: "demo",
      members: [alpha],
      state: "new",
      token: "demo-0123456789ab",
    });
    expectGolden("main.etcd.env", text);
  });

  it("env file of a learner joining the existing cluster", () => {
    const text = renderEtcdEnv(beta, nodeLayout(beta), {
      cluster: "demo",
      members: [alpha, beta],
      state: "existing",
      token: "demo-0123456789ab",
    });
    expectGolden("learner.etcd.env", text);
  });

  it("etcdctl env file", () => {
    expectGolden("etcdctl.env", renderEtcdctlEnv(alpha, nodeLayout(alpha), "demo"));
  });

  it("start script", () => {
    expectGolden("etcd-start.sh", renderStartScript(alpha, beta, nodeLayout(alpha), "demo"));
  });

  describe("on an SSH host with mutual TLS (the default)", () => {
    const [main, learner] = SSH_TLS_PAIR.nodes;
    const bootstrap = {
      cluster: "demo",
      members: [main],
      state: "new" as const,
      token: "demo-0123456789ab",
      peer: learner,
    };

    it("env file: member certificate for clients and peers, client certificates required, only the peer's CN", () => {
      expectGolden("tls.main.etcd.env", renderEtcdEnv(main, nodeLayout(main), bootstrap));
    });

    it("etcdctl env file: etcd-pair's client certificate", () => {
      expectGolden("tls.etcdctl.env", renderEtcdctlEnv(main, nodeLayout(main), "demo"));
    });

    it("start script: asks the peer over https with the member certificate", () => {
      expectGolden("tls.etcd-start.sh", renderStartScript(main, learner, nodeLayout(main), "demo"));
    });
  });

  it("systemd unit", () => {
    expectGolden("etcd-pair-demo.service", renderSystemdUnit(alpha, nodeLayout(alpha), "demo"));
  });
});

describe("start script, run by sh", () => {
  /**
   * A node whose "etcd" prints the bootstrap settings it was started with, and whose "etcdctl" answers
   * for the peer with `peerGeneration` (or fails, like an unreachable peer, when it is undefined).
   */
  function fixture(peerGeneration?: string) {
    const root = scratchDirSync("start");
    const bin = path.join(root, "bin");
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, "etcd"),
      '#!/bin/sh\necho "started name=$ETCD_NAME cluster=${ETCD_INITIAL_CLUSTER:-unset}"\n',
    );
    chmodSync(path.join(bin, "etcd"), 0o755);
    const answer = peerGeneration === undefined ? "exit 1" : `echo ${peerGeneration}`;
    writeFileSync(path.join(bin, "etcdctl"), `#!/bin/sh\n${answer}\n`);
    chmodSync(path.join(bin, "etcdctl"), 0o755);
    const node = { ...localNode("alpha", 23791, 23801, path.join(root, "node")), binDir: bin };
    const layout = nodeLayout(node);
    mkdirSync(layout.stateDir, { recursive: true });
    writeFileSync(
      layout.envFile,
      renderEtcdEnv(node, layout, { cluster: "demo", members: [node], state: "new", token: "demo-1" }),
    );
    writeFileSync(layout.startScript, renderStartScript(node, beta, layout, "demo"));
    // As up writes it after looking at both hosts: these tests are about the generation check, not the main's wait.
    const approve = (token: string) =>
      writeFileSync(layout.startApprovalFile, `${token} ${Math.floor(Date.now() / 1000)}\n`);
    const run = () => spawnSync("/bin/sh", [layout.startScript], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    return { layout, run, approve };
  }

  it("bootstraps with the initial-cluster settings when the node is new", () => {
    const { run } = fixture();
    const result = run();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("started name=alpha cluster=alpha=http://127.0.0.1:23801");
  });

  it("drops the bootstrap settings once the data dir holds a member", () => {
    const { layout, run, approve } = fixture();
    mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
    writeFileSync(layout.generationFile, "demo-1\n");
    approve("demo-1");
    expect(run().stdout).toContain("started name=alpha cluster=unset");
  });

  it("refuses to start a former member whose data is gone", () => {
    const { layout, run } = fixture();
    writeFileSync(layout.generationFile, "demo-1\n");
    const result = run();
    expect(result.status).toBe(GUARD_EXIT_STATUS);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("refusing to start alpha: it was a member of cluster generation demo-1");
    expect(result.stderr).toContain("etcd-pair rejoin alpha");
  });

  const OLD = "demo-1764000000-0a0a0a0a";
  const NEW = "demo-1764000900-0b0b0b0b";

  it.each([
    ["the same generation", OLD],
    ["an older generation (it is the stale one)", "demo-1763000000-0c0c0c0c"],
  ])("starts a member whose peer serves %s", (_name, peerGeneration) => {
    const { layout, run, approve } = fixture(peerGeneration);
    mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
    writeFileSync(layout.generationFile, `${OLD}\n`);
    approve(OLD);
    expect(run().stdout).toContain("started name=alpha");
  });

  it("refuses a member whose peer serves a newer generation (the pair failed over away from it)", () => {
    const { layout, run } = fixture(NEW);
    mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
    writeFileSync(layout.generationFile, `${OLD}\n`);
    const result = run();
    expect(result.status).toBe(GUARD_EXIT_STATUS);
    expect(result.stderr).toContain(
      `its peer beta serves a newer cluster generation (${NEW}) than this node's (${OLD})`,
    );
  });

  it("refuses a node marked fenced, whatever its data", () => {
    const { layout, run } = fixture("demo-1");
    mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
    writeFileSync(layout.generationFile, "demo-1\n");
    writeFileSync(layout.fencedFile, "failover to beta at 2026-11-27T00:00:00Z");
    const result = run();
    expect(result.status).toBe(GUARD_EXIT_STATUS);
    expect(result.stderr).toContain("the pair failed over away from it (failover to beta at 2026-11-27T00:00:00Z)");
  });
});
