import { describe, expect, it } from "vitest";
import type { EtcdInstall, PairSpec } from "../../src/config/resolve.js";
import { parseTarballName, releaseArch, tarballInstallCommand } from "../../src/etcd/install.js";
import { installSteps, type LocalTarball } from "../../src/plan/install.js";
import { nodeLayout } from "../../src/config/layout.js";
import { preflight } from "../../src/plan/preflight.js";
import { needsTrialRun } from "../../src/plan/trialRun.js";
import { planUp } from "../../src/plan/up.js";
import { localSupervisor } from "../../src/service/local.js";
import { systemdService } from "../../src/service/systemd.js";
import { readyHost } from "../helpers/observations.js";
import { DEMO_PAIR, SSH_PAIR } from "../helpers/specs.js";

const SHA = "ab".repeat(32);
const NAME = "etcd-v3.5.16-linux-amd64.tar.gz";
const TARBALL: LocalTarball = { path: `/home/op/${NAME}`, sha256: SHA, fileName: NAME };
const withInstall = (install: EtcdInstall): PairSpec => ({ ...SSH_PAIR, install });
const TARBALL_PAIR = withInstall({ kind: "tarball", source: { file: TARBALL.path }, sha256: SHA, fileName: NAME });
const [alpha] = SSH_PAIR.nodes;
const missing = { binaries: { etcd: false, etcdctl: false, etcdutl: false }, version: undefined, etcdUser: false };
const outcome = (stdout: string, code = 0) => [{ code, stdout, stderr: "" }];

describe("etcd installation", () => {
  it("reads version and architecture from an official tarball name", () => {
    expect(parseTarballName(NAME)).toMatchObject({ version: { text: "3.5.16" }, arch: "amd64" });
    expect(parseTarballName("etcd-3.5.16.tgz")).toBeUndefined();
    expect([releaseArch("x86_64"), releaseArch("aarch64"), releaseArch("riscv64")]).toEqual([
      "amd64",
      "arm64",
      "riscv64",
    ]);
  });

  it("preinstalled installs nothing; apt only where etcd is missing", () => {
    expect(installSteps(SSH_PAIR, alpha, "main", readyHost("alpha", missing), undefined)).toEqual([]);
    const apt = withInstall({ kind: "apt" });
    expect(installSteps(apt, alpha, "main", readyHost("alpha"), undefined)).toEqual([]);
    const steps = installSteps(apt, alpha, "main", readyHost("alpha", missing), undefined);
    expect(steps.map((s) => s.id)).toEqual(["main.install.apt", "main.install.version"]);
    const command = steps[0]?.actions[0];
    expect(command?.kind === "exec" && command.command).toContain("apt-get install -y -qq etcd-server etcd-client");
    expect(command?.kind === "exec" && command.command).toContain("systemctl disable --now etcd.service");
    expect(command?.kind === "exec" && command.command).not.toContain("mask");
  });

  it("tarball: uploads, checks, unpacks and records it; skipped once its sha256 is recorded", () => {
    const steps = installSteps(TARBALL_PAIR, alpha, "main", readyHost("alpha", missing), TARBALL);
    expect(steps.map((s) => s.id)).toEqual(["main.install.tarball", "main.install.version"]);
    const [claim, copy, unpack] = steps[0]?.actions ?? [];
    // The pair's dir is made root's before the tarball goes into it (README: Security).
    expect(claim?.kind === "exec" && claim.command).toContain("chown root:root /var/lib/etcd-pair/demo");
    expect(copy).toMatchObject({ kind: "copy", source: TARBALL.path, sha256: SHA, mode: 0o600 });
    expect(copy?.kind === "copy" && copy.path).toBe(`/var/lib/etcd-pair/demo/install/${NAME}`);
    expect(unpack?.kind === "exec" && unpack.command).toContain(`sha256sum -c --quiet -`);
    const installed = readyHost("alpha", { installedTarball: SHA });
    expect(installSteps(TARBALL_PAIR, alpha, "main", installed, TARBALL)).toEqual([]);
    const other = readyHost("alpha", { installedTarball: "cd".repeat(32) });
    expect(installSteps(TARBALL_PAIR, alpha, "main", other, TARBALL)).toHaveLength(2);
  });

  it("after installing, the version step wants the tarball's version and one the gate accepts", () => {
    const [, version] = installSteps(TARBALL_PAIR, alpha, "main", readyHost("alpha", missing), TARBALL);
    const action = version?.actions[0];
    if (action?.kind !== "exec" || !action.expect) throw new Error("no version check");
    expect(action.command).toBe("/usr/bin/etcd --version");
    expect(action.expect.check(outcome("etcd Version: 3.5.16\nGit SHA: x\n"))).toBeUndefined();
    expect(action.expect.check(outcome("etcd Version: 3.5.17\n"))).toBe("installed etcd is 3.5.17, not 3.5.16");
    const [, aptVersion] = installSteps(
      withInstall({ kind: "apt" }),
      alpha,
      "main",
      readyHost("alpha", missing),
      undefined,
    );
    const aptAction = aptVersion?.actions[0];
    if (aptAction?.kind !== "exec" || !aptAction.expect) throw new Error("no version check");
    expect(aptAction.expect.check(outcome("etcd Version: 3.4.20\n"))).toContain("#14370");
  });

  it("quotes every path of the unpack command", () => {
    const command = tarballInstallCommand({
      tarball: "/srv/my pair/etcd.tar.gz",
      sha256: SHA,
      unpackDir: "/srv/my pair/unpacked",
      binDir: "/opt/etcd bin",
      markerFile: "/etc/etcd-pair/c/etcd-tarball.sha256",
    });
    expect(command).toContain("tar -xzf '/srv/my pair/etcd.tar.gz' -C '/srv/my pair/unpacked' --strip-components=1");
    expect(command).toContain("install -m 0755 '/srv/my pair/unpacked'/$tool '/opt/etcd bin'/$tool");
    expect(command).toContain("useradd --system");
  });

  it("preflight: a host without etcd (or its user) is fine when up installs it; a wrong arch or version is not", () => {
    const hosts = [readyHost("alpha", missing), readyHost("beta", missing)];
    expect(preflight(TARBALL_PAIR, hosts).blockers).toEqual([]);
    expect(preflight(SSH_PAIR, hosts).blockers.map((b) => b.problem)).toContain(
      "/usr/bin/etcd is missing or not executable",
    );
    const arm = [readyHost("alpha", { ...missing, arch: "aarch64" }), readyHost("beta", missing)];
    expect(preflight(TARBALL_PAIR, arm).blockers.map((b) => b.problem)).toEqual([
      `${NAME} is built for amd64, but the host is aarch64`,
    ]);
    const old = withInstall({
      kind: "tarball",
      source: { file: "/x" },
      sha256: SHA,
      fileName: "etcd-v3.5.4-linux-amd64.tar.gz",
    });
    expect(preflight(old, hosts).blockers[0]?.problem).toContain("#14370");
    // Installed on one host, about to be on the other: 3.4 there and a 3.5 tarball would mix minor versions.
    const mixed = [
      readyHost("alpha", { installedTarball: SHA }),
      readyHost("beta", { version: { major: 3, minor: 4, patch: 23, text: "3.4.23" }, installedTarball: SHA }),
    ];
    expect(preflight(TARBALL_PAIR, mixed).blockers.map((b) => b.problem)).toContain(
      "the nodes run different etcd minor versions (3.5, 3.4)",
    );
  });
});

describe("the trial run before the unit", () => {
  const service = systemdService(alpha, nodeLayout(alpha), "demo");
  const unitPath = "/etc/systemd/system/etcd-pair-demo.service";

  it("happens on a host whose unit is not installed and whose etcd does not run; never on local hosts", () => {
    expect(needsTrialRun(service, { running: false, fileHashes: {} })).toBe(true);
    expect(needsTrialRun(service, { running: true, fileHashes: {} })).toBe(false);
    expect(needsTrialRun(service, { running: false, fileHashes: { [unitPath]: "x" } })).toBe(false);
    const local = localSupervisor(nodeLayout(DEMO_PAIR.nodes[0]));
    expect(needsTrialRun(local, { running: false, fileHashes: {} })).toBe(false);
  });

  it("up runs the start script by hand, stops it, then installs and starts the unit, on both hosts", () => {
    const plan = planUp({
      pair: SSH_PAIR,
      observations: [readyHost("alpha"), readyHost("beta")],
      service: (node) => systemdService(node, nodeLayout(node), "demo"),
      freshToken: "demo-1-a",
      canaryValue: "c",
    });
    const ids = plan.steps.map((s) => s.id);
    expect(ids.slice(0, 7)).toEqual([
      "main.files",
      "main.approve",
      "main.trial",
      "main.service",
      "main.start",
      "main.ready",
      "main.generation",
    ]);
    expect(ids.indexOf("learner.trial")).toBeGreaterThan(ids.indexOf("learner.add"));
    expect(ids.slice(ids.indexOf("learner.trial"), ids.indexOf("learner.trial") + 4)).toEqual([
      "learner.trial",
      "learner.service",
      "learner.start",
      "learner.publish",
    ]);
    const files = plan.steps[0]?.actions.flatMap((a) => (a.kind === "upload" ? [a.path] : []));
    expect(files).not.toContain(unitPath);
    const trial = plan.steps.find((s) => s.id === "main.trial")?.actions[0];
    expect(trial?.kind === "exec" && trial.command).toContain(
      "setpriv --reuid=etcd --regid=etcd --init-groups /bin/sh /etc/etcd-pair/demo/etcd-start.sh >/var/lib/etcd-pair/demo/trial-run.log 2>&1 &",
    );
    expect(trial?.kind === "exec" && trial.command).toContain("endpoint health");
  });
});
