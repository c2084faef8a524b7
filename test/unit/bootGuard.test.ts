import { execFile, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { peerUrl } from "../../src/etcd/urls.js";
import { consumingApproval, staleMainBlocker } from "../../src/plan/bootGuard.js";
import { finishStep } from "../../src/plan/failoverSteps.js";
import type { Step } from "../../src/plan/step.js";
import { memberAddStep, readyStep } from "../../src/plan/steps.js";
import { planUp } from "../../src/plan/up.js";
import { localSupervisor } from "../../src/service/local.js";
import { renderEtcdEnv } from "../../src/render/envFile.js";
import { GUARD_EXIT_STATUS, GUARD_WAIT_STATUS, renderStartScript } from "../../src/render/startScript.js";
import { freshHost } from "../helpers/observations.js";
import { scratchDirSync } from "../helpers/scratch.js";
import { DEMO_PAIR, localNode } from "../helpers/specs.js";

const GENERATION = "demo-1764000000-0a0a0a0a";
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A peer port that answers GET /members as etcd does, with `members` (peer URLs); none: nothing listens. */
async function peerPort(members?: string[]): Promise<number> {
  const server = createServer((req, res) => {
    const body = (members ?? []).map((url, i) => ({ id: i + 1, name: `m${i}`, peerURLs: [url], clientURLs: [] }));
    res.writeHead(req.url === "/members" ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  if (members) servers.push(server);
  else await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A node with member data whose "etcd" only says it started; its peer beta on `port`. `role`: new (a main) or
 * existing (a learner), as its env file says.
 */
function node(port: number, role: "new" | "existing") {
  const root = scratchDirSync("guard");
  const bin = path.join(root, "bin");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "etcd"), '#!/bin/sh\necho "etcd started"\n');
  writeFileSync(path.join(bin, "etcdctl"), "#!/bin/sh\nexit 1\n"); // the peer's client port: unreachable
  chmodSync(path.join(bin, "etcd"), 0o755);
  chmodSync(path.join(bin, "etcdctl"), 0o755);
  const alpha = { ...localNode("alpha", 23791, 23801, path.join(root, "alpha")), binDir: bin };
  const beta = { ...localNode("beta", 23792, port, path.join(root, "beta")), binDir: bin };
  const layout = nodeLayout(alpha);
  mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
  mkdirSync(layout.stateDir, { recursive: true });
  writeFileSync(layout.generationFile, `${GENERATION}\n`);
  const members = role === "new" ? [alpha] : [alpha, beta];
  writeFileSync(
    layout.envFile,
    renderEtcdEnv(alpha, layout, { cluster: "demo", members, state: role, token: GENERATION }),
  );
  writeFileSync(layout.startScript, renderStartScript(alpha, beta, layout, "demo"));
  const run = () =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        "/bin/sh",
        [layout.startScript],
        { env: { PATH: "/usr/bin:/bin", ETCD_PAIR_GUARD_WAIT_S: "2" }, timeout: 20_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  return { alpha, layout, run };
}

describe("the boot guard of a main (README: Boot guard)", () => {
  it("(a) starts when its peer lists it as a member of its cluster", async () => {
    const ours = localNode("alpha", 23791, 23801);
    const { run } = node(await peerPort([peerUrl(ours), "http://127.0.0.1:1"]), "new");
    const result = await run();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("etcd started\n");
    expect(result.stderr).toContain("etcd-pair: alpha starts: its peer beta lists it as a member of its cluster");
  });

  it("(c) refuses when its peer answers with a cluster that does not include it", async () => {
    const { run } = node(await peerPort(["http://127.0.0.1:23802"]), "new");
    const result = await run();
    expect(result.code).toBe(GUARD_EXIT_STATUS);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("its peer beta answers and its cluster does not include alpha");
  });

  it("(d) waits, never starting etcd, while its peer does not answer; exits to be started again", async () => {
    const { run } = node(await peerPort(), "new");
    const result = await run();
    expect(result.code).toBe(GUARD_WAIT_STATUS);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/etcd-pair: alpha waits: it was the main, and beta \(\S+\) does not answer/);
    expect(result.stderr).toContain("etcd-pair start-alone alpha");
  });

  it("starts without its peer when etcd-pair approved it a moment ago, not on an old or another generation's approval", async () => {
    const { layout, run } = node(await peerPort(), "new");
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(layout.startApprovalFile, `${GENERATION} ${now - 400}\n`);
    expect((await run()).code).toBe(GUARD_WAIT_STATUS);
    writeFileSync(layout.startApprovalFile, `demo-1764000900-0b0b0b0b ${now}\n`);
    expect((await run()).code).toBe(GUARD_WAIT_STATUS);
    writeFileSync(layout.startApprovalFile, `${GENERATION} $(touch /tmp/x)\n`);
    expect((await run()).code).toBe(GUARD_WAIT_STATUS);
    writeFileSync(layout.startApprovalFile, `${GENERATION} ${now}\n`);
    const approved = await run();
    expect(approved.code).toBe(0);
    expect(approved.stderr).toContain(`alpha starts: etcd-pair approved this start of generation ${GENERATION}`);
  });

  it("a main that waits starts as soon as etcd-pair approves it (start-alone), without a restart", async () => {
    const { layout } = node(await peerPort(), "new");
    const child = spawn("/bin/sh", [layout.startScript], {
      env: { PATH: "/usr/bin:/bin", ETCD_PAIR_GUARD_WAIT_S: "20" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve) =>
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("alpha waits:")) resolve();
      }),
    );
    const approvedAt = performance.now();
    writeFileSync(layout.startApprovalFile, `${GENERATION} ${Math.floor(Date.now() / 1000)}\n`);
    expect(await exited).toBe(0);
    expect(performance.now() - approvedAt).toBeLessThan(5000);
    expect(stdout).toBe("etcd started\n");
    expect(stderr).toContain(`alpha starts: etcd-pair approved this start of generation ${GENERATION}`);
  });

  it("a first start after up's trial run (member data, no generation recorded yet) takes the approval for its settings' token", async () => {
    const { layout, run } = node(await peerPort(), "new");
    await rm(layout.generationFile);
    writeFileSync(layout.startApprovalFile, `${GENERATION} ${Math.floor(Date.now() / 1000)}\n`);
    const result = await run();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`alpha starts: etcd-pair approved this start of generation ${GENERATION}`);
  });

  it("a learner starts at once: it acknowledges no write", async () => {
    const { run } = node(await peerPort(), "existing");
    const result = await run();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("etcd started\n");
  });

  it("the node a failover is promoting starts at once (its peer is the dead old main)", async () => {
    const { layout, run } = node(await peerPort(), "new");
    writeFileSync(layout.failoverTokenFile, `${GENERATION}\n`);
    expect((await run()).code).toBe(0);
  });
});

describe("(e) the new main of a failover, the only member of its cluster (state/sole-member)", () => {
  it("starts at once without its peer when the marker holds its own generation, and says why", async () => {
    const { layout, run } = node(await peerPort(), "new");
    writeFileSync(layout.soleMemberFile, `${GENERATION}\n`);
    const result = await run();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("etcd started\n");
    expect(result.stderr).toContain(
      `etcd-pair: alpha starts: it is the only member of its cluster (generation ${GENERATION}): ` +
        "no failover away from it can have happened",
    );
    expect(result.stderr).not.toContain("waits");
  });

  it("takes its settings' token when no generation is recorded yet", async () => {
    const { layout, run } = node(await peerPort(), "new");
    await rm(layout.generationFile);
    writeFileSync(layout.soleMemberFile, `${GENERATION}\n`);
    expect((await run()).stderr).toContain(`it is the only member of its cluster (generation ${GENERATION})`);
  });

  it.each([
    ["another generation's marker (stale)", "demo-1763999000-0c0c0c0c\n"],
    ["an empty marker", ""],
    ["its generation after another line", `junk\n${GENERATION}\n`],
  ])("waits as any main does with %s", async (_, content) => {
    const { layout, run } = node(await peerPort(), "new");
    writeFileSync(layout.soleMemberFile, content);
    const result = await run();
    expect(result.code).toBe(GUARD_WAIT_STATUS);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("etcd-pair: alpha waits:");
  });
});

describe("the waiting main says so at once", () => {
  it("logs that it waits at its first unanswered question (status shows it INERT), once per start", async () => {
    const { layout } = node(await peerPort(), "new");
    const started = performance.now();
    const child = spawn("/bin/sh", [layout.startScript], {
      env: { PATH: "/usr/bin:/bin", ETCD_PAIR_GUARD_WAIT_S: "4" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let saidAfterMs: number | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (saidAfterMs === undefined && stderr.includes("etcd-pair: alpha waits:")) {
        saidAfterMs = performance.now() - started;
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const exitedAfterMs = performance.now() - started;
    expect(code).toBe(GUARD_WAIT_STATUS);
    expect(stderr.match(/etcd-pair: alpha waits:/g)).toHaveLength(1);
    expect(saidAfterMs).toBeLessThan(2000);
    expect(exitedAfterMs).toBeGreaterThanOrEqual(3000);
  });
});

/** Runs a step's one command (an exec, or the probe of a poll) on this machine, as the runner does. */
function runOnlyCommand(step: Step) {
  expect(step.actions).toHaveLength(1);
  const action = step.actions[0];
  const command = action?.kind === "exec" ? action.command : action?.kind === "poll" ? action.probes[0]?.command : "";
  if (action?.kind === "poll") expect(action.probes).toHaveLength(1);
  return spawnSync("/bin/sh", ["-c", command ?? "false"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
}

describe("the sole-member marker: written by the failover, removed by any member add", () => {
  const NEW_TOKEN = "demo-1764000900-0b0b0b0b";
  function beta() {
    const root = scratchDirSync("sole");
    const node = { ...localNode("beta", 23792, 23802, path.join(root, "beta")), binDir: path.join(root, "bin") };
    const layout = nodeLayout(node);
    mkdirSync(layout.stateDir, { recursive: true });
    mkdirSync(node.binDir);
    return { node, layout };
  }

  it("failover.finish records the failover's generation as the marker, then archives the failover's marker", () => {
    const { node, layout } = beta();
    writeFileSync(layout.failoverTokenFile, `${NEW_TOKEN}\n`);
    const result = runOnlyCommand(finishStep(node, "20261127T000000Z"));
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(layout.soleMemberFile, "utf8")).toBe(`${NEW_TOKEN}\n`);
    expect(existsSync(layout.failoverTokenFile)).toBe(false);
    expect(readdirSync(layout.archiveDir)).toEqual(["failover-token-20261127T000000Z"]);
  });

  it("failover.finish writes the marker before it archives the failover's marker: cut short, both are there", () => {
    const { node, layout } = beta();
    writeFileSync(layout.failoverTokenFile, `${NEW_TOKEN}\n`);
    writeFileSync(layout.archiveDir, "a file where the archive dir goes: the archive step fails");
    const result = runOnlyCommand(finishStep(node, "20261127T000000Z"));
    expect(result.status).not.toBe(0);
    expect(readFileSync(layout.soleMemberFile, "utf8")).toBe(`${NEW_TOKEN}\n`);
    expect(readFileSync(layout.failoverTokenFile, "utf8")).toBe(`${NEW_TOKEN}\n`);
  });

  it("member add removes the main's marker in the same command, before it adds: even a failed add leaves none", () => {
    const { node, layout } = beta();
    const alpha = localNode("alpha", 23791, 23801);
    writeFileSync(layout.soleMemberFile, `${NEW_TOKEN}\n`);
    const calls = path.join(layout.root, "etcdctl.calls");
    // A fake etcdctl that notes whether the marker was still there when it ran, and fails as etcd may.
    writeFileSync(
      path.join(node.binDir, "etcdctl"),
      `#!/bin/sh\n[ -e '${layout.soleMemberFile}' ] && echo marker-present >>'${calls}' || echo marker-gone >>'${calls}'\n` +
        'echo "Error: etcdserver: too many learner members in cluster" >&2\nexit 1\n',
    );
    chmodSync(path.join(node.binDir, "etcdctl"), 0o755);
    const result = runOnlyCommand(memberAddStep(node, alpha, "learner"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("too many learner members");
    expect(readFileSync(calls, "utf8")).toBe("marker-gone\n");
    expect(existsSync(layout.soleMemberFile)).toBe(false);
  });

  it("member add runs as before where there is no marker", () => {
    const { node, layout } = beta();
    writeFileSync(path.join(node.binDir, "etcdctl"), '#!/bin/sh\necho "Member added"\n');
    chmodSync(path.join(node.binDir, "etcdctl"), 0o755);
    const result = runOnlyCommand(memberAddStep(node, localNode("alpha", 23791, 23801), "learner"));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("Member added\n");
    expect(existsSync(layout.soleMemberFile)).toBe(false);
  });
});

describe("a start approval is for one start", () => {
  const alphaSpec = DEMO_PAIR.nodes[0];
  const approval = nodeLayout(alphaSpec).startApprovalFile;

  it("up approves before the start and removes the approval once the main is ready", () => {
    const { steps } = planUp({
      pair: DEMO_PAIR,
      observations: [freshHost("alpha"), freshHost("beta")],
      service: (n) => localSupervisor(nodeLayout(n)),
      freshToken: GENERATION,
      canaryValue: "canary-1",
    });
    const ids = steps.map((s) => s.id);
    expect(ids.indexOf("main.approve")).toBeLessThan(ids.indexOf("main.start"));
    const ready = steps.find((s) => s.id === "main.ready");
    expect(ready?.actions.map((a) => a.kind)).toEqual(["poll", "exec"]);
    expect(ready?.actions[1]).toEqual({ kind: "exec", node: "alpha", command: `rm -f ${approval}` });
    expect(ids.indexOf("main.ready")).toBeGreaterThan(ids.indexOf("main.start"));
  });

  it("the removal runs after the wait, on the node it approved", () => {
    const service = localSupervisor(nodeLayout(alphaSpec));
    const ready = readyStep(alphaSpec, "alone", service, { describe: "x", check: () => undefined }, 1000);
    const consuming = consumingApproval(ready, alphaSpec);
    expect(consuming.id).toBe("alone.ready");
    expect(consuming.actions.slice(0, -1)).toEqual(ready.actions);
    expect(consuming.actions.at(-1)).toMatchObject({ kind: "exec", node: "alpha" });
    expect(consuming.title).toContain("remove its start approval");
  });
});

describe("up never starts a main whose peer holds a newer generation", () => {
  it("blocks with what happened and what to do", () => {
    const [main, peer] = [localNode("alpha", 23791, 23801), localNode("beta", 23792, 23802)];
    const down = freshHost("alpha", { dataDir: "member", generation: GENERATION });
    const newer = freshHost("beta", { dataDir: "member", generation: "demo-1764000900-0b0b0b0b" });
    expect(staleMainBlocker(main, down, peer, newer)).toMatchObject({
      node: "alpha",
      problem: expect.stringContaining("the pair failed over to beta while alpha was away"),
    });
    expect(staleMainBlocker(main, down, peer, freshHost("beta", { generation: GENERATION }))).toBeUndefined();
    expect(staleMainBlocker(main, { ...down, running: true }, peer, newer)).toBeUndefined();
  });
});
