import { readFile, writeFile, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../helpers/cli.js";
import { E2E_CACHE, hostAddress, hosts, onHost } from "../helpers/e2eHosts.js";

interface StatusJson {
  healthy: boolean;
  nodes: { name: string; role: string; version: string | null }[];
}

describe("the pair on real systemd + sshd hosts (etcd 3.4.23 from Debian)", () => {
  let dir: string;
  let config: string;
  const run = (...args: string[]): Promise<CliResult> => cli(["-c", config, ...args], { timeoutMs: 170_000 });
  const roles = async () => {
    const result = await run("status", "--json");
    const state = JSON.parse(result.stdout) as StatusJson;
    return Object.fromEntries(state.nodes.map((n) => [n.name, n.role]));
  };

  beforeAll(async () => {
    await hosts("down");
    await hosts("up", "alpha", "beta");
    dir = await mkdtemp(path.join(os.tmpdir(), "etcd-pair-e2e-"));
    config = path.join(dir, "etcd-pair.yaml");
    const [a, b] = [hostAddress(1), hostAddress(2)];
    const key = path.join(E2E_CACHE, "id_ed25519");
    await writeFile(
      config,
      `cluster: e2e
etcd: { binDir: /usr/bin }
nodes:
  - name: alpha
    address: ${a.address}
    ssh: { host: 127.0.0.1, port: ${a.sshPort}, user: root, identityFile: ${key}, knownHostsFile: known_hosts }
  - name: beta
    address: ${b.address}
    ssh: { host: 127.0.0.1, port: ${b.sshPort}, user: deploy, become: true, identityFile: ${key}, knownHostsFile: known_hosts }
`,
    );
  });
  afterAll(async () => {
    await hosts("down");
  });

  it("refuses unknown host keys: exit 2, nothing changed", async () => {
    const result = await run("up");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("host key of [127.0.0.1]:22011 is unknown");
    expect(result.stderr).toContain("--accept-new-host-keys");
  });

  it("up with --accept-new-host-keys records them and brings up the pair under systemd", async () => {
    const result = await run("--accept-new-host-keys", "up");
    expect(result.stderr).toContain("canary written on alpha is read on beta");
    expect(result.code).toBe(0);
    const known = await readFile(path.join(dir, "known_hosts"), "utf8");
    expect(known.split("\n").filter(Boolean)).toHaveLength(2);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    expect((await run("check")).code).toBe(0);
    expect((await run("up")).stderr).toContain("nothing to do");
  });

  it("power loss of the main: failover on the operator's word, then the old main comes back refused", async () => {
    await hosts("poweroff", "alpha");
    const failover = await run("failover", "--yes", "--json");
    expect(failover.code).toBe(0);
    expect(JSON.parse(failover.stdout)).toMatchObject({ newMain: "beta", fence: "operator-confirmed" });
    expect(await roles()).toMatchObject({ beta: "leader" });
    // Power back on: its unit starts at boot, the start script must refuse (newer generation on beta).
    await hosts("start", "alpha");
    const state = await roles();
    expect(state.beta).toBe("leader");
    expect(state.alpha).toBe("down");
    // It was its start script that refused, at boot, and systemd did not retry (exit 78).
    const journal = await onHost(1, "journalctl -b -u etcd-pair-e2e.service -o cat --no-pager");
    expect(journal).toContain("refusing to start alpha: its peer beta serves a newer cluster generation");
    expect(await onHost(1, "systemctl show -p Result --value etcd-pair-e2e.service")).toContain("exit-code");
  });

  it("rejoin brings the old main back as learner; switchover restores the original roles", async () => {
    expect((await run("rejoin", "alpha")).code).toBe(0);
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
    const switchover = await run("switchover", "--yes", "--to", "alpha");
    expect(switchover.code).toBe(0);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    expect((await run("check")).code).toBe(0);
  });

  it("down stops and disables etcd on both hosts; up brings the pair back", async () => {
    expect((await run("down")).code).toBe(0);
    expect(await roles()).toEqual({ alpha: "down", beta: "down" });
    for (const n of [1, 2]) {
      expect(await onHost(n, "systemctl is-enabled etcd-pair-e2e.service || true")).toContain("disabled");
    }
    expect((await run("up")).code).toBe(0);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
  });

  it("snapshot save keeps a verified snapshot on the main's host; restore builds a new pair from it", async () => {
    const saved = await run("snapshot", "save", "--json");
    expect(saved.code).toBe(0);
    const snapshot = JSON.parse(saved.stdout) as { node: string; file: string; revision: number };
    expect(snapshot.node).toBe("alpha");
    expect(snapshot.file).toMatch(/^\/var\/lib\/etcd-pair\/e2e\/archive\/snapshot-e2e-\d{8}T\d{6}Z\.db$/);
    expect(await onHost(1, `test -s ${snapshot.file} && echo present`)).toContain("present");
    const restored = await run("snapshot", "restore", snapshot.file, "--yes");
    expect(restored.code).toBe(0);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    expect(await onHost(2, "ls /var/lib/etcd-pair/e2e/archive")).toMatch(/data-\d{8}T\d{6}Z/);
  });
});
