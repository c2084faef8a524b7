import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../helpers/cli.js";
import { CONTROLLER_ADDRESS, execOn, hostAddress, hosts } from "../helpers/e2eHosts.js";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { E2E_VARIANTS, writeE2eConfig } from "../helpers/e2ePair.js";
import { type ClientTls } from "../helpers/etcdHttp.js";
import { clientTlsFrom } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";
import { RunningWatch } from "../helpers/watching.js";
import { makeWitness, WITNESS_CLI, WITNESS_HOME } from "../helpers/e2eWitness.js";
import { readAll, Writer } from "../helpers/writer.js";

const DETECT_AFTER_S = 4;

/**
 * `etcd-pair watch`, the witness, on real systemd + sshd hosts (README: Automatic failover). The witness is this
 * machine (on the hosts' bridge); the fence command powers the old main's container off. One path cut (`hosts.sh
 * drop`) makes one view lose the main; `hosts.sh cut` takes a host off the network and SSH together.
 */
describe.each(E2E_VARIANTS)("watch on real systemd + sshd hosts: $title", (variant) => {
  let dir: string;
  let config: string;
  let tls: ClientTls;
  let watch: RunningWatch;
  const url = (n: 1 | 2) => `https://${hostAddress(n).address}:2379`;
  const run = (...args: string[]): Promise<CliResult> => cli(["-c", config, ...args], { timeoutMs: 170_000 });
  const roles = async () => {
    const status = JSON.parse((await run("status", "--json")).stdout) as { nodes: { name: string; role: string }[] };
    return Object.fromEntries(status.nodes.map((n) => [n.name, n.role]));
  };
  const failoversStarted = () =>
    watch.events.filter((e) => e.kind === "failover" && e.message.startsWith("failing over"));
  /** Holds for detectAfter and a margin: watch must report `seen` and start no failover meanwhile. */
  const noFailoverWhile = async (seen: string) => {
    const from = watch.events.length;
    const before = failoversStarted().length;
    await watch.waitFor((e) => e.message.includes(seen), 20_000, from);
    await new Promise((resolve) => setTimeout(resolve, (DETECT_AFTER_S + 3) * 1000));
    expect(failoversStarted().length, watch.transcript()).toBe(before);
  };

  beforeAll(async () => {
    requireBuild(variant.build);
    await hosts("down");
    await hosts("up", "alpha", "beta", "gamma");
    dir = await scratchDir("e2e-watch");
    ({ config } = await writeE2eConfig(dir, { ...variant, fenceCommand: true }));
    const yaml = await readFile(config, "utf8");
    await writeFile(
      config,
      yaml.replace("failover:\n", `failover:\n  detectAfter: ${DETECT_AFTER_S}s\n  minInterval: 5s\n`),
    );
    const up = await run("--accept-new-host-keys", "up");
    expect(up.code, up.stderr).toBe(0);
    tls = await clientTlsFrom(dir);
    watch = new RunningWatch(["-c", config]);
    await watch.waitFor((e) => e.message.startsWith("alpha serves"), 30_000);
  });
  afterAll(async () => {
    await watch?.stop();
    await hosts("down");
  });

  it("watch --install on a third machine with systemd: the unit watches over real SSH and stops cleanly", async () => {
    const witnessConfig = await makeWitness("gamma", dir, config);
    const onWitness = (args: string) =>
      execOn(
        "gamma",
        `cd ${WITNESS_HOME} && /usr/local/bin/node ${WITNESS_CLI} -c ${witnessConfig} ${args}; echo "exit=$?"`,
      );
    expect(await onWitness("--accept-new-host-keys status >/dev/null")).toContain("exit=0");
    expect(await onWitness("watch --print-unit")).toContain(
      `ExecStart=/usr/local/bin/node ${WITNESS_CLI} --config ${witnessConfig} watch`,
    );
    expect(await onWitness("watch --install 2>&1")).toMatch(/exit=0\s*$/);
    const journal = () => execOn("gamma", "journalctl -u etcd-pair-watch-e2e.service -o cat --no-pager");
    for (let i = 0; i < 30 && !(await journal()).includes("alpha serves"); i++)
      await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await journal()).toContain("alpha serves: the witness and beta's host reach it");
    await execOn("gamma", "systemctl stop etcd-pair-watch-e2e.service");
    expect(await journal()).toContain("watch stopped");
    expect((await execOn("gamma", "systemctl show -p Result --value etcd-pair-watch-e2e.service")).trim()).toBe(
      "success",
    );
  });

  it("only the witness loses the main (the cluster link stays up): reported, no failover", async () => {
    await hosts("drop", "alpha", CONTROLLER_ADDRESS);
    try {
      await noFailoverWhile("alpha is lost by the witness only");
    } finally {
      await hosts("undrop", "alpha", CONTROLLER_ADDRESS);
    }
    await watch.waitFor((e) => e.message.startsWith("alpha serves"), 20_000, watch.events.length - 1);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
  });

  it("only the learner's host loses the main: reported, no failover", async () => {
    const [a, b] = [hostAddress(1).address, hostAddress(2).address];
    await hosts("drop", "beta", a);
    await hosts("drop", "alpha", b);
    try {
      await noFailoverWhile("alpha is lost by beta's host only");
    } finally {
      await hosts("undrop", "beta", a);
      await hosts("undrop", "alpha", b);
    }
    expect((await roles()).alpha).toBe("leader");
  });

  it("the main loses power under writes: watch fails over, the new main acknowledges writes, loss reported", async () => {
    const writer = new Writer([url(1), url(2)], "/watch-power/", 2, tls);
    await writer.waitFor(100);
    const from = watch.events.length;
    await hosts("poweroff", "alpha");
    const deadAt = performance.now();
    const deadWall = Date.now();
    const done = await watch.waitFor((e) => e.message.startsWith("beta is the main"), 90_000, from);
    await writer.waitFor(writer.acked.length + 50, 30_000);
    const acked = await writer.stop();
    const firstOnBeta = acked.find((w) => w.endpoint === url(2) && w.sentAt > deadAt);
    expect(firstOnBeta).toBeDefined();
    const details = done.details as { restoredRevision: number; lostRevisions: number | null; fence: string };
    expect(details.fence).toBe("fence-command");
    // Every write the learner had applied is kept; what is missing is above the restored revision, and no more.
    const onBeta = await readAll(url(2), "/watch-power/", tls);
    const missing = acked.filter((w) => onBeta.get(w.key) !== w.value);
    expect(missing.filter((w) => w.revision <= details.restoredRevision)).toEqual([]);
    const started = failoversStarted().at(-1);
    console.log(
      `${variant.title}: watch, main powered off: failover began ${Date.parse(started?.at ?? "") - deadWall} ms ` +
        `after the power loss (detectAfter ${DETECT_AFTER_S} s); first acknowledged write on beta ` +
        `${Math.round((firstOnBeta?.ackedAt ?? 0) - deadAt)} ms after it; ${acked.length} acknowledged, ${missing.length} lost ` +
        `(reported: ${details.lostRevisions ?? "unknown"} revisions, restored ${details.restoredRevision})`,
    );
    expect((await roles()).beta).toBe("leader");
  });

  it("the old main powered on again refuses (newer generation); rejoin gives the pair its learner; watch watches beta", async () => {
    await hosts("start", "alpha");
    const journal = await execOn("alpha", "journalctl -b -u etcd-pair-e2e.service -o cat --no-pager");
    expect(journal).toContain("refusing to start alpha");
    const from = watch.events.length;
    const rejoin = await run("rejoin", "alpha");
    expect(rejoin.code, rejoin.stderr).toBe(0);
    await watch.waitFor((e) => e.message.startsWith("the pair has a learner again (alpha)"), 30_000, from);
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
  });

  it("paused: the main lost by both, no failover until resume", async () => {
    expect((await run("pause", "--reason", "e2e maintenance")).code).toBe(0);
    await hosts("cut", "beta");
    try {
      await noFailoverWhile("no automatic failover: the pair is paused");
    } finally {
      await hosts("heal", "beta");
    }
    await watch.waitFor((e) => e.message.startsWith("beta serves"), 30_000, watch.events.length - 1);
    expect((await run("resume")).code).toBe(0);
    expect(await roles()).toEqual({ alpha: "learner", beta: "leader" });
  });

  it("the main cut off from everything while running: watch fences it (power off) and fails over; powered on still cut off it acknowledges nothing; after the heal it refuses, and rejoin makes the pair whole", async () => {
    const from = watch.events.length;
    await hosts("cut", "beta");
    const done = await watch.waitFor((e) => e.message.startsWith("alpha is the main"), 90_000, from);
    expect((done.details as { fence: string }).fence).toBe("fence-command");
    expect((await roles()).alpha).toBe("leader");
    // Powered on, still cut off: its boot guard cannot see alpha, so etcd never serves.
    await hosts("start", "beta");
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const state = await execOn("beta", "systemctl show -p ActiveState --value etcd-pair-e2e.service");
    expect(state.trim()).not.toBe("active");
    const served = await execOn(
      "beta",
      `set -a; . /etc/etcd-pair/e2e/etcdctl.env; ${variant.tarball ? "/usr/local/bin" : "/usr/bin"}/etcdctl put /cut/stale 1 --command-timeout=2s 2>&1; echo "exit=$?"`,
    );
    expect(served).not.toMatch(/^OK$/m);
    expect(await execOn("beta", "journalctl -b -u etcd-pair-e2e.service -o cat --no-pager")).toContain(
      "etcd-pair start-alone beta",
    );
    await hosts("heal", "beta");
    const refused = async () =>
      (await execOn("beta", "journalctl -b -u etcd-pair-e2e.service -o cat --no-pager")).includes(
        "refusing to start beta",
      );
    for (let i = 0; i < 60 && !(await refused()); i++) await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await refused()).toBe(true);
    const rejoin = await run("rejoin", "beta");
    expect(rejoin.code, rejoin.stderr).toBe(0);
    await watch.waitFor((e) => e.message.startsWith("the pair has a learner again (beta)"), 30_000, from);
    expect(await roles()).toEqual({ alpha: "leader", beta: "learner" });
    expect(failoversStarted()).toHaveLength(2);
  });
});
