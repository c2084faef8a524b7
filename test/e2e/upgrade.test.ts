import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../helpers/cli.js";
import { hostAddress, hosts, onHost } from "../helpers/e2eHosts.js";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { sharedReleaseTarball, writeE2eConfig } from "../helpers/e2ePair.js";
import { clientTlsFrom } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";
import { etcdBuild, type UpgradeStatusJson } from "../helpers/upgrade.js";
import { readAll, Writer } from "../helpers/writer.js";

/**
 * `etcd-pair upgrade` on real systemd + sshd hosts, exactly as an operator runs it: the pair installed by `up`
 * from a 3.5.30 release tarball, the config pointed at etcd's 3.6.14 release tarball, `upgrade --yes
 * --keep-roles` under writes; then on to etcd's 3.7.1 release tarball, which first seals the learner's log on 3.6
 * (3.7 cannot apply the v2 requests 3.5 logged). The local tests (test/slow/upgrade*.test.ts) cover the same on
 * loopback.
 */
const FROM = etcdBuild("3.5.30");
const TO = etcdBuild("3.6.14");
const NEXT = etcdBuild("3.7.1");

describe(`upgrade ${FROM.series} -> ${TO.series} on real systemd + sshd hosts, installed from release tarballs`, () => {
  let config: string;
  let dir: string;
  const run = (...args: string[]): Promise<CliResult> => cli(["-c", config, ...args], { timeoutMs: 300_000 });
  const url = (n: 1 | 2) => `https://${hostAddress(n).address}:2379`;
  /** Points the config's etcd.install at a release tarball from ../shared/etcd. */
  const installFrom = async (build: typeof TO) => {
    const target = await sharedReleaseTarball(build);
    const text = await readFile(config, "utf8");
    await writeFile(
      config,
      text.replace(
        /tarball: \{ file: .*, sha256: .* \}/,
        `tarball: { file: ${target.file}, sha256: ${target.sha256} }`,
      ),
    );
  };

  beforeAll(async () => {
    for (const b of [FROM, TO, NEXT]) requireBuild(b);
    await hosts("down");
    await hosts("up", "alpha", "beta");
    dir = await scratchDir("e2e-upgrade");
    ({ config } = await writeE2eConfig(dir, { build: FROM, tarball: true, fenceCommand: false }));
  });
  afterAll(async () => {
    await hosts("down");
  });

  it("moves the pair to the new release under writes: both nodes on it, original roles, 0 acknowledged writes lost", async () => {
    const up = await run("--accept-new-host-keys", "up");
    expect(up.code, up.stderr).toBe(0);
    const tls = await clientTlsFrom(dir);
    await installFrom(TO);
    const writer = new Writer([url(1), url(2)], "/upgrade/", 2, tls);
    await writer.waitFor(100);
    const upgrade = await run("upgrade", "--yes", "--keep-roles");
    expect(upgrade.code, upgrade.stderr).toBe(0);
    await writer.waitFor(writer.acked.length + 50);
    const acked = await writer.stop();
    for (const n of [1, 2] as const) {
      const data = await readAll(url(n), "/upgrade/", tls);
      expect(acked.filter((w) => data.get(w.key) !== w.value).map((w) => w.key)).toEqual([]);
    }
    for (const n of [1, 2]) {
      expect(await onHost(n, "/usr/local/bin/etcd --version")).toContain(`etcd Version: ${TO.series}`);
    }
    const status = JSON.parse((await run("status", "--json")).stdout) as UpgradeStatusJson;
    expect(status.leader).toBe("alpha");
    expect(status.clusterVersion?.startsWith("3.6")).toBe(true);
    expect(status.nodes.map((n) => [n.name, n.serverVersion])).toEqual([
      ["alpha", TO.series],
      ["beta", TO.series],
    ]);
    expect((await run("check")).code).toBe(0);
    expect((await run("upgrade", "--yes")).stderr).toMatch(/nothing to do/i);
    console.log(
      `upgrade on systemd hosts ${FROM.series} -> ${TO.series} (--keep-roles): ${acked.length} writes acknowledged, ` +
        `0 lost, longest gap ${writer.longestGapMs()} ms`,
    );
  });

  it("then on to 3.7 (the learner's log sealed on 3.6 first): 0 lost, and both start again from their own logs", async () => {
    const tls = await clientTlsFrom(dir);
    await installFrom(NEXT);
    const writer = new Writer([url(1), url(2)], "/upgrade37/", 2, tls);
    await writer.waitFor(100);
    const upgrade = await run("upgrade", "--yes", "--json");
    expect(upgrade.code, upgrade.stderr).toBe(0);
    await writer.waitFor(writer.acked.length + 50);
    const acked = await writer.stop();
    const ids = (JSON.parse(upgrade.stdout) as { steps: { id: string }[] }).steps.map((step) => step.id);
    expect(ids.slice(0, 2)).toEqual(["upgrade.begin", "upgrade.seal"]);
    for (const n of [1, 2] as const) {
      const data = await readAll(url(n), "/upgrade37/", tls);
      expect(acked.filter((w) => data.get(w.key) !== w.value).map((w) => w.key)).toEqual([]);
      expect(await onHost(n, "/usr/local/bin/etcd --version")).toContain(`etcd Version: ${NEXT.series}`);
      // The usual env file is back, with its owner and mode (the seal wrote ETCD_SNAPSHOT_COUNT=1).
      const env = await onHost(n, "cd /etc/etcd-pair/e2e && stat -c '%a %U:%G' etcd.env && grep SNAPSHOT etcd.env");
      expect(env).toMatch(/^640 root:etcd\nETCD_SNAPSHOT_COUNT=10000$/m);
    }
    const down = await run("down", "--yes");
    expect(down.code, down.stderr).toBe(0);
    const up = await run("up");
    expect(up.code, up.stderr).toBe(0);
    const status = JSON.parse((await run("status", "--json")).stdout) as UpgradeStatusJson;
    expect(status.clusterVersion?.startsWith("3.7")).toBe(true);
    expect((await run("check")).code).toBe(0);
    console.log(
      `upgrade on systemd hosts ${TO.series} -> ${NEXT.series} (a pair born on ${FROM.series}): ` +
        `${acked.length} writes acknowledged, 0 lost, longest gap ${writer.longestGapMs()} ms; steps ${ids.join(" ")}`,
    );
  });
});
