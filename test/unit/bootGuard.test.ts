import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { peerUrl } from "../../src/etcd/urls.js";
import { staleMainBlocker } from "../../src/plan/bootGuard.js";
import { renderEtcdEnv } from "../../src/render/envFile.js";
import { GUARD_EXIT_STATUS, GUARD_WAIT_STATUS, renderStartScript } from "../../src/render/startScript.js";
import { freshHost } from "../helpers/observations.js";
import { scratchDirSync } from "../helpers/scratch.js";
import { localNode } from "../helpers/specs.js";

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
