import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ETCD_BUILDS, requireBuild } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";

const build = ETCD_BUILDS[1] ?? ETCD_BUILDS[0]!;

/** A bin dir whose etcd reports `version` and otherwise runs the real etcd (etcdctl is the real one). */
async function binDirReporting(version: string): Promise<string> {
  const dir = await scratchDir("bin");
  await writeFile(
    path.join(dir, "etcd"),
    `#!/bin/sh\nif [ "\${1:-}" = --version ]; then echo "etcd Version: ${version}"; exit 0; fi\nexec ${build.binDir}/etcd "$@"\n`,
  );
  await chmod(path.join(dir, "etcd"), 0o755);
  await symlink(path.join(build.binDir, "etcdctl"), path.join(dir, "etcdctl"));
  return dir;
}

describe("preflight: up refuses before touching any host", () => {
  let pair: TestPair | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await pair?.cleanup();
  });

  it("refuses an etcd version that loses acknowledged writes", async () => {
    requireBuild(build);
    pair = await TestPair.create(await binDirReporting("3.4.20"));
    const result = await pair.run(["up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("alpha: etcd 3.4.20 can lose acknowledged writes");
    expect(result.stderr).toContain("#14370");
    expect(result.stderr).toContain("nothing was changed");
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
  });

  it("names the missing binary and where it looked", async () => {
    pair = await TestPair.create(await scratchDir("empty-bin"));
    const result = await pair.run(["up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/alpha: \/tmp\/etcd-pair-empty-bin-\w+\/etcd is missing or not executable/);
    expect(result.stderr).toContain("set etcd.binDir");
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
  });

  it("refuses a client port another process listens on", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    const port = pair.ports.beta[0];
    server = createServer();
    await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    const result = await pair.run(["up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`beta: client port ${port} is in use by another process`);
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
    const plan = await pair.run(["plan"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`# BLOCKED on beta: client port ${port} is in use`);
  });

  it("passes the host checks on loopback: the peer port answers (refused), one clock, room on the disk", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    const plan = await pair.run(["plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).not.toContain("# BLOCKED");
    expect(plan.stdout).not.toMatch(/# warning: .*(peer URL|clock|etcd\.service|architecture)/);
  });

  it("refuses a peer that never answers: the probe gives up after its 2 s connect timeout", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    // The probe's /dev/tcp test runs `timeout 2 bash …`: a bash that never returns is a SYN nobody answers.
    const silent = await scratchDir("silent-peer");
    await writeFile(path.join(silent, "bash"), "#!/bin/sh\nexec sleep 30\n");
    await chmod(path.join(silent, "bash"), 0o755);
    // The fake bash sleeps 30 s: an up that waited for the silent peer instead of giving up is killed at 25 s.
    const result = await pair.run(["up"], { env: { PATH: `${silent}:${process.env.PATH ?? ""}` }, timeoutMs: 25_000 });
    expect(result.code, `up did not give up on the silent peer (137: killed after 25 s):\n${result.stderr}`).toBe(2);
    for (const [node, peer] of [
      ["alpha", "beta"],
      ["beta", "alpha"],
    ] as const) {
      expect(result.stderr).toContain(
        `${node}: ${node} cannot connect to ${peer}'s peer URL https://127.0.0.1:${pair.ports[peer][1]} (no answer within 2 s)`,
      );
    }
    expect(result.stderr).toContain("only the peer ports need to be open between them");
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
  });

  it("refuses a data dir that holds someone else's files, and leaves them be", async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    await mkdir(path.join(pair.nodeDir("beta"), "data"), { recursive: true });
    await writeFile(path.join(pair.nodeDir("beta"), "data", "precious.txt"), "mine");
    const result = await pair.run(["up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("holds files that are not etcd member data");
    expect(await readdir(pair.nodeDir("beta"))).toEqual(["data"]);
    expect(await readdir(path.join(pair.nodeDir("beta"), "data"))).toEqual(["precious.txt"]);
    expect(existsSync(pair.nodeDir("alpha"))).toBe(false);
  });
});
