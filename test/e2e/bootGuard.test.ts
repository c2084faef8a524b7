import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../helpers/cli.js";
import { execOn, hostAddress, hosts } from "../helpers/e2eHosts.js";
import { E2E_VARIANTS, writeE2eConfig } from "../helpers/e2ePair.js";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { postJson, type ClientTls } from "../helpers/etcdHttp.js";
import { clientTlsFrom } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";
import { until } from "../helpers/until.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

/**
 * The boot guard (README: Boot guard) on real systemd hosts: power losses (SIGKILL of a host's init), a host cut off
 * from its peer and from SSH, and what each start of the unit writes to the journal. Every wait is for an event and
 * bounded; the figures printed are what this run measured.
 */

interface StatusJson {
  healthy: boolean;
  nodes: { name: string; role: string; reachable: boolean }[];
}

type Name = "alpha" | "beta";
const UNIT = "etcd-pair-e2e.service";
const STATE = "/var/lib/etcd-pair/e2e/state";

describe.each(E2E_VARIANTS)("the boot guard on real systemd hosts: $title", (variant) => {
  let dir: string;
  let config: string;
  let tls: ClientTls;
  const etcdctl = variant.tarball ? "/usr/local/bin/etcdctl" : "/usr/bin/etcdctl";
  const number = (name: Name) => (name === "alpha" ? 1 : 2);
  const address = (name: Name) => hostAddress(number(name)).address;
  const url = (name: Name) => `https://${address(name)}:2379`;
  const run = (...args: string[]): Promise<CliResult> => cli(["-c", config, ...args], { timeoutMs: 170_000 });
  const status = async () => JSON.parse((await run("status", "--json")).stdout) as StatusJson;
  const roles = async () => Object.fromEntries((await status()).nodes.map((n) => [n.name, n.role]));
  /** This boot's journal of the etcd unit on NAME, read through its namespace (also while it is cut off). */
  const journal = (name: Name) => execOn(name, `journalctl -b -u ${UNIT} -o cat --no-pager`);
  const journalSays = (name: Name, text: string, timeoutMs = 60_000) =>
    until(`${name}'s journal says "${text}"`, async () => ((await journal(name)).includes(text) ? true : undefined), {
      timeoutMs,
      intervalMs: 250,
    });
  /** The unit's state as systemd tells it (`systemctl show` prints properties in its own order: parsed by name). */
  const unitState = async (name: Name) => {
    const shown = await execOn(name, `systemctl show -p ActiveState,SubState,Result,ExecMainStatus ${UNIT}`);
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(shown)?.[1];
    return {
      active: value("ActiveState"),
      sub: value("SubState"),
      result: value("Result"),
      status: value("ExecMainStatus"),
    };
  };
  /** What listens on the client port, as the host's kernel says: empty when no etcd can take a write there. */
  const clientPortListeners = (name: Name) => execOn(name, "ss -Hltn 'sport = :2379'");
  /** A write by etcdctl on NAME's own host, to 127.0.0.1 and to its address: what an application there would do. */
  const writeOnHost = (name: Name) =>
    execOn(
      name,
      `set -a; . /etc/etcd-pair/e2e/etcdctl.env; set +a; for ep in https://127.0.0.1:2379 ${url(name)}; do ` +
        `${etcdctl} --endpoints=$ep --dial-timeout=2s --command-timeout=3s put /guard/on-host x 2>&1 && echo ACKED; done; true`,
    );
  /** A write from this machine to NAME's client port: must not be acknowledged. */
  const expectNoWrite = (name: Name) =>
    expect(postJson(`${url(name)}/v3/kv/put`, { key: "L2d1YXJkL3gK", value: "eA==" }, tls, 2000)).rejects.toThrow();
  /** `check` until it passes: both nodes in their roles, the canary read on the learner, the indexes converged. */
  const healthyWithin = async (timeoutMs: number, since = performance.now()): Promise<number> => {
    for (;;) {
      const result = await run("check");
      if (result.code === 0) return Math.round(performance.now() - since);
      if (performance.now() - since > timeoutMs)
        throw new Error(`not healthy after ${timeoutMs} ms:\n${result.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const expectAllPresent = async (name: Name, prefix: string, writes: readonly AckedWrite[]) => {
    const data = await readAll(url(name), prefix, tls);
    expect(writes.filter((w) => data.get(w.key) !== w.value).map((w) => `${w.key}@${w.revision}`)).toEqual([]);
  };
  const writeSome = async (to: Name, prefix: string, count: number) => {
    const writer = new Writer([url(to)], prefix, 2, tls);
    await writer.waitFor(count);
    return writer.stop();
  };
  const lsState = () => execOn("beta", `ls ${STATE}`);
  const log = (text: string) => console.log(`${variant.title}: ${text}`);

  beforeAll(async () => {
    requireBuild(variant.build);
    await hosts("down");
    await hosts("up", "alpha", "beta");
    dir = await scratchDir("e2e-guard");
    ({ config } = await writeE2eConfig(dir, variant));
  });
  afterAll(async () => {
    await hosts("down");
  });

  it("up brings up the pair; the start approval it wrote was for that start only", async () => {
    const up = await run("--accept-new-host-keys", "up");
    expect(up.code, up.stderr).toBe(0);
    tls = await clientTlsFrom(dir);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    expect(await journal("alpha")).toContain("alpha starts: etcd-pair approved this start of generation e2e-");
    expect(await execOn("alpha", `ls ${STATE}`)).not.toContain("start-approved");
  });

  it("(a) the main loses power while its learner runs; powered on, it starts with no operator", async () => {
    const writer = new Writer([url("alpha")], "/guard-a/", 2, tls);
    await writer.waitFor(100);
    await hosts("poweroff", "alpha");
    const poweredOn = performance.now();
    await hosts("start", "alpha");
    await journalSays("alpha", "etcd-pair: alpha starts: its peer beta lists it as a member of its cluster");
    const healthyAfter = await healthyWithin(60_000, poweredOn);
    await writer.waitFor(writer.acked.length + 50);
    const acked = await writer.stop();
    await expectAllPresent("alpha", "/guard-a/", acked);
    await expectAllPresent("beta", "/guard-a/", acked);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    log(`(a) main powered on: healthy ${healthyAfter} ms after power on, ${acked.length} acknowledged writes kept`);
  });

  it("(b) both lose power and come back, the main first: healthy again with no operator", async () => {
    const acked = await writeSome("alpha", "/guard-b/", 100);
    await Promise.all([hosts("poweroff", "alpha"), hosts("poweroff", "beta")]);
    const poweredOn = performance.now();
    await hosts("start", "alpha");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await hosts("start", "beta");
    const healthyAfter = await healthyWithin(90_000, poweredOn);
    const said = await journal("alpha");
    expect(said).toContain("etcd-pair: alpha starts: its peer beta lists it as a member of its cluster");
    await expectAllPresent("alpha", "/guard-b/", acked);
    await expectAllPresent("beta", "/guard-b/", acked);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    log(
      `(b) both powered off, alpha on then beta 3 s later: healthy ${healthyAfter} ms after alpha's power on ` +
        `(alpha ${said.includes("alpha waits:") ? "waited for beta" : "did not wait"}), ${acked.length} writes kept`,
    );
  });

  let kept: AckedWrite[] = [];
  let generation = "";

  it("(c) after a failover to beta, the old main powered on while it can reach beta refuses", async () => {
    kept = await writeSome("alpha", "/guard-c/", 100);
    await hosts("poweroff", "alpha");
    const failover = await run("failover", "--yes", "--json");
    expect(failover.code, failover.stderr).toBe(0);
    generation = (JSON.parse(failover.stdout) as { token: string }).token;
    expect(generation).toMatch(/^e2e-\d+-[0-9a-f]+$/);
    // The failover's last step: beta is the only member of its cluster.
    expect(await execOn("beta", `cat ${STATE}/sole-member`)).toBe(`${generation}\n`);
    const poweredOn = performance.now();
    await hosts("start", "alpha");
    await journalSays("alpha", "etcd-pair: refusing to start alpha:");
    const refusedAfter = Math.round(performance.now() - poweredOn);
    const refusal = /etcd-pair: refusing to start alpha: ([^.(]*)/.exec(await journal("alpha"))?.[1]?.trim() ?? "";
    expect(refusal).toMatch(/newer cluster generation|its cluster does not include alpha/);
    expect(await unitState("alpha")).toMatchObject({ result: "exit-code", status: "78" });
    expect(await clientPortListeners("alpha")).toBe("");
    await expectNoWrite("alpha");
    expect(await roles()).toEqual({ alpha: "down", beta: "leader" });
    await expectAllPresent("beta", "/guard-c/", kept);
    log(`(c) old main powered on after the failover: refused ${refusedAfter} ms after power on (${refusal})`);
  });
  it("(e) the new main, the only member of its cluster, loses power while alpha is off: it starts on its own", async () => {
    await hosts("poweroff", "alpha");
    await hosts("poweroff", "beta");
    const poweredOn = performance.now();
    await hosts("start", "beta");
    await journalSays(
      "beta",
      `etcd-pair: beta starts: it is the only member of its cluster (generation ${generation}): no failover away from it can have happened`,
    );
    await until("beta leads", async () => (await roles()).beta === "leader", { timeoutMs: 30_000, intervalMs: 250 });
    const leaderAfter = Math.round(performance.now() - poweredOn);
    const more = await writeSome("beta", "/guard-e/", 50);
    await expectAllPresent("beta", "/guard-c/", kept);
    await expectAllPresent("beta", "/guard-e/", more);
    kept = [...kept, ...more];
    log(`(e) the sole-member new main powered on alone: leader ${leaderAfter} ms after power on, writes taken`);
  });

  it("(d) the old main powered on while cut off stays inert; healed, it hears beta and refuses; rejoin", async () => {
    await hosts("cut", "alpha");
    const poweredOn = performance.now();
    await hosts("start", "alpha");
    await journalSays("alpha", "etcd-pair: alpha waits: it was the main, and beta");
    const saidAfter = Math.round(performance.now() - poweredOn);
    expect(await journal("alpha")).toContain("etcd-pair start-alone alpha");
    expect((await unitState("alpha")).active).not.toBe("active");
    expect(await clientPortListeners("alpha")).toBe("");
    expect(await writeOnHost("alpha")).not.toContain("ACKED");
    const seen = await status();
    expect(seen.nodes.map((n) => [n.name, n.role, n.reachable])).toEqual([
      ["alpha", "unknown", false],
      ["beta", "leader", true],
    ]);
    // After its wait (30 s) it exits 79 and systemd starts it again 5 s later: it asks again, still inert.
    await until(
      "alpha's guard started again by systemd, waiting again",
      async () => {
        const said = await journal("alpha");
        return said.includes("status=79") && said.split("etcd-pair: alpha waits:").length > 2 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(await clientPortListeners("alpha")).toBe("");
    expect(await writeOnHost("alpha")).not.toContain("ACKED");
    const inertFor = Math.round(performance.now() - poweredOn);
    await hosts("heal", "alpha");
    const healed = performance.now();
    await journalSays("alpha", "etcd-pair: refusing to start alpha:");
    const refusedAfter = Math.round(performance.now() - healed);
    const refusal = /etcd-pair: refusing to start alpha: ([^.(]*)/.exec(await journal("alpha"))?.[1]?.trim();
    await until(
      "alpha's unit stopped, refused",
      async () => ((await unitState("alpha")).status === "78" ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(await unitState("alpha")).toMatchObject({ result: "exit-code", status: "78" });
    expect(await clientPortListeners("alpha")).toBe("");
    const rejoin = await run("rejoin", "alpha");
    expect(rejoin.code, rejoin.stderr).toBe(0);
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
    expect((await run("check")).code).toBe(0);
    await expectAllPresent("alpha", "/guard-", kept);
    // The rejoin's member add took beta's sole-member marker: the pair can fail over to alpha again.
    expect(await lsState()).not.toContain("sole-member");
    log(
      `(d) old main powered on cut off: said it waits ${saidAfter} ms after power on, inert through a restart by ` +
        `systemd (exit 79) for ${inertFor} ms; healed, refused ${refusedAfter} ms later (${refusal})`,
    );
  });

  it("(e) once alpha rejoined, beta powered on alone waits (inert) until start-alone; alpha back, healthy", async () => {
    const acked = await writeSome("beta", "/guard-e2/", 100);
    await Promise.all([hosts("poweroff", "alpha"), hosts("poweroff", "beta")]);
    await hosts("start", "beta");
    await journalSays("beta", "etcd-pair: beta waits: it was the main, and alpha");
    expect(await journal("beta")).toContain("etcd-pair start-alone beta");
    const inert = await run("status");
    expect(inert.code).toBe(3);
    expect(inert.stdout).toMatch(/^beta +INERT /m);
    expect(inert.stdout).toMatch(/^next: nothing, or 'etcd-pair start-alone beta': beta is inert, it waits for alpha/m);
    expect(await clientPortListeners("beta")).toBe("");
    await expectNoWrite("beta");
    const released = performance.now();
    const alone = await run("start-alone", "beta", "--yes");
    expect(alone.code, alone.stderr).toBe(0);
    const startedAfter = Math.round(performance.now() - released);
    expect(await journal("beta")).toContain(
      `etcd-pair: beta starts: etcd-pair approved this start of generation ${generation}`,
    );
    expect(await execOn("beta", `cat ${STATE}/started-alone`)).toMatch(
      /started alone by \S+@\S+: alpha's host cannot be reached \(.+\): etcd-pair cannot see whether the pair failed over to it\n$/,
    );
    expect(await lsState()).not.toContain("start-approved");
    expect((await roles()).beta).toBe("leader");
    await expectAllPresent("beta", "/guard-e2/", acked);
    const poweredOn = performance.now();
    await hosts("start", "alpha");
    const healthyAfter = await healthyWithin(60_000, poweredOn);
    expect((await run("up")).stderr).toContain("nothing to do");
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
    await expectAllPresent("alpha", "/guard-e2/", acked);
    log(
      `(e) after the rejoin: beta alone waits; start-alone took ${startedAfter} ms; alpha powered on, ` +
        `healthy ${healthyAfter} ms later with no operator`,
    );
  });
});
