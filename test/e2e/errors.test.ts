import { readFile, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { promisify } from "node:util";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { E2E_CACHE, hostAddress, hosts, onHost } from "../helpers/e2eHosts.js";
import { scratchDir } from "../helpers/scratch.js";

/** Each bad setup must fail with a message naming what is wrong, and change nothing on the hosts. */
describe("bad setups on real hosts: a clear error and nothing changed", () => {
  let dir: string;
  const key = path.join(E2E_CACHE, "id_ed25519");
  const [a, b] = [hostAddress(1), hostAddress(2)];
  /** A config whose beta node gets `betaSsh` (and whose etcd section is `etcd`). */
  async function configWith(name: string, betaSsh: string, etcd = "{ binDir: /usr/bin }"): Promise<string> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      `cluster: e2e
etcd: ${etcd}
nodes:
  - name: alpha
    address: ${a.address}
    ssh: { host: 127.0.0.1, port: ${a.sshPort}, identityFile: ${key}, knownHostsFile: known_hosts }
  - name: beta
    address: ${b.address}
    ssh: { host: 127.0.0.1, port: ${b.sshPort}, knownHostsFile: known_hosts, ${betaSsh} }
`,
    );
    return file;
  }
  // Each path on its own: one `ls A B` would say "No such file" when only one of the two is missing.
  const untouched = async () => {
    for (const n of [1, 2]) {
      for (const dir of ["/etc/etcd-pair", "/var/lib/etcd-pair"]) {
        expect(await onHost(n, `test -e ${dir} && echo present || echo absent`), `${dir} on host ${n}`).toBe(
          "absent\n",
        );
      }
    }
  };

  beforeAll(async () => {
    await hosts("down");
    await hosts("up", "alpha", "beta");
    dir = await scratchDir("e2e-errors");
    const good = await configWith("good", `identityFile: ${key}`);
    expect((await cli(["-c", good, "--accept-new-host-keys", "status"])).code).toBe(3);
  });
  afterAll(async () => {
    await hosts("down");
  });

  it("a changed host key is refused even with --accept-new-host-keys", async () => {
    const good = await configWith("changed", `identityFile: ${key}`);
    const known = await readFile(path.join(dir, "known_hosts"), "utf8");
    const beta = hostAddress(2);
    const line = new RegExp(`^(\\[127\\.0\\.0\\.1\\]:${beta.sshPort} ssh-ed25519 )\\S+`, "m");
    const forged = known.replace(line, (_m, head: string) => {
      const other = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
      const part = (buf: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, buf.length]), buf]);
      return head + Buffer.concat([part(Buffer.from("ssh-ed25519")), part(other)]).toString("base64");
    });
    await writeFile(path.join(dir, "known_hosts"), forged);
    const result = await cli(["-c", good, "--accept-new-host-keys", "up"]);
    await writeFile(path.join(dir, "known_hosts"), known);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`host key of [127.0.0.1]:${beta.sshPort} CHANGED`);
    await untouched();
  });

  it("a private key the host does not accept", async () => {
    const wrong = path.join(dir, "wrong_key");
    await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrong]);
    const result = await cli(["-c", await configWith("wrong-key", `identityFile: ${wrong}`), "up"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/beta: host cannot be probed: .*authentication as root failed/);
    await untouched();
  });

  it("a user without sudo", async () => {
    const result = await cli([
      "-c",
      await configWith("no-sudo", `identityFile: ${key}, user: nosudo, become: true`),
      "up",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/beta: host cannot be probed: .*sudo/);
    await untouched();
  });

  it("a bin dir without etcd", async () => {
    const result = await cli([
      "-c",
      await configWith("no-etcd", `identityFile: ${key}`, "{ binDir: /opt/etcd/bin }"),
      "up",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("alpha: /opt/etcd/bin/etcd is missing or not executable");
    await untouched();
  });

  it("a peer port in use on the host (another etcd listens on it)", async () => {
    const peer = `http://${hostAddress(2).address}:2380`;
    const squatter =
      "systemd-run --unit=e2e-squatter /usr/bin/etcd --name squat --data-dir /tmp/squat " +
      `--listen-peer-urls ${peer} --listen-client-urls http://127.0.0.1:23999 ` +
      `--advertise-client-urls http://127.0.0.1:23999 --initial-advertise-peer-urls ${peer} ` +
      `--initial-cluster squat=${peer}`;
    await onHost(2, `${squatter} && sleep 1`);
    const result = await cli(["-c", await configWith("port", `identityFile: ${key}`), "up"]);
    await onHost(2, "systemctl stop e2e-squatter");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("beta: peer port 2380 is in use by another process");
    await untouched();
  });

  it("the learner cannot reach the main's peer port (its link is cut)", async () => {
    await hosts("partition", "beta");
    const result = await cli(["-c", await configWith("partition", `identityFile: ${key}`), "up"]).finally(() =>
      hosts("heal", "beta"),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`beta: beta cannot connect to alpha's peer URL https://${a.address}:2380`);
    expect(result.stderr).toContain(`alpha: alpha cannot connect to beta's peer URL https://${b.address}:2380`);
    await untouched();
  });

  it("the etcd package's own etcd.service running on a host", async () => {
    await onHost(2, "systemctl start etcd.service");
    const result = await cli(["-c", await configWith("packaged", `identityFile: ${key}`), "up"]);
    await onHost(2, "systemctl stop etcd.service");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("beta: etcd.service (the etcd package's own unit) is active");
    expect(result.stderr).toContain("systemctl disable --now etcd.service");
    await untouched();
  });

  it("a release tarball for another architecture, or with another sha256", async () => {
    const tarballFor = async (arch: string) => {
      const file = path.join(dir, `etcd-v3.5.16-linux-${arch}.tar.gz`);
      await writeFile(file, `stands in for an ${arch} release`);
      const { stdout } = await promisify(execFile)("sha256sum", [file]);
      return { file, sha256: stdout.slice(0, 64) };
    };
    const install = (file: string, sha: string) => `{ install: { tarball: { file: ${file}, sha256: "${sha}" } } }`;
    const arm64 = await tarballFor("arm64");
    const arm = await cli([
      "-c",
      await configWith("arch", `identityFile: ${key}`, install(arm64.file, arm64.sha256)),
      "up",
    ]);
    expect(arm.code).toBe(2);
    expect(arm.stderr).toContain("alpha: etcd-v3.5.16-linux-arm64.tar.gz is built for arm64, but the host is x86_64");
    // The right architecture but not the file the config's sha256 names: refused on the controller.
    const amd64 = await tarballFor("amd64");
    const other = "1".repeat(63) + "a";
    const wrong = await cli(["-c", await configWith("sha", `identityFile: ${key}`, install(amd64.file, other)), "up"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`has sha256 ${amd64.sha256}, but etcd.install.tarball.sha256 is ${other}`);
    await untouched();
  });
});
