import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { etcdBuild, nodeFiles, upgradeStatus as status, useEtcd, type UpgradeJson } from "../helpers/upgrade.js";
import { readAll } from "../helpers/writer.js";
import { RateWriter } from "../../bench/load.js";
import { longestGap } from "../../bench/stats.js";

/**
 * `etcd-pair upgrade` on a local pair with real etcd and the bundled CLI: 3.5.30 -> 3.6.14 (the upgrade a user of
 * the newest 3.5 makes) under a writer, whatever ETCD_PAIR_TEST_VERSIONS selects: the test is about the move
 * between them. A change of etcd.binDir in the config is what names the new version for local nodes. The
 * interrupted upgrade is in upgradeResume.test.ts (its own pair, run alongside).
 */
const FROM = etcdBuild("3.5.30");
const TO = etcdBuild("3.6.14");
const SKIP = etcdBuild("3.7.1");

describe(`upgrade ${FROM.series} -> ${TO.series} on local pairs`, () => {
  beforeAll(() => {
    for (const b of [FROM, TO, SKIP]) requireBuild(b);
  });

  describe("under a writer, --keep-roles", () => {
    let pair: TestPair;
    beforeAll(async () => {
      pair = await TestPair.create(FROM.binDir);
      const up = await pair.run(["up"]);
      expect(up.code, up.stderr).toBe(0);
    });
    afterAll(async () => {
      await pair?.cleanup();
    });

    it("status shows each node's server version and the cluster version", async () => {
      const { code, state, text } = await status(pair);
      expect(code).toBe(0);
      expect(state.clusterVersion).toBe("3.5.0");
      expect(state.nodes.map((n) => [n.name, n.serverVersion, n.installedVersion, n.clusterVersion])).toEqual([
        ["alpha", FROM.series, FROM.series, "3.5.0"],
        ["beta", FROM.series, FROM.series, "3.5.0"],
      ]);
      expect(text).toMatch(/^cluster version 3\.5\.0$/m);
    });

    it(`a skipped minor version (${FROM.series} -> ${SKIP.series}) is refused: exit 2, no file changed`, async () => {
      await useEtcd(pair, SKIP.binDir);
      const before = await nodeFiles(pair);
      const result = await pair.run(["upgrade", "--yes"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`going to ${SKIP.series} skips a minor version`);
      expect(result.stderr).toContain("nothing was changed");
      expect(await nodeFiles(pair)).toEqual(before);
    });

    it("--dry-run prints every step, the switch back's too, and changes nothing", async () => {
      await useEtcd(pair, TO.binDir);
      const before = await nodeFiles(pair);
      const result = await pair.run(["upgrade", "--dry-run", "--keep-roles"]);
      expect(result.code, result.stderr).toBe(0);
      for (const step of [
        "[change: upgrade.begin]",
        "[change: learner.stop]",
        "[change: switch.promote]",
        "member promote NEW-ID-OF-alpha",
        "[verify: upgrade.cluster-version]",
        "[change: upgrade.finish]",
      ]) {
        expect(result.stdout).toContain(step);
      }
      expect(await nodeFiles(pair)).toEqual(before);
      const { state, text } = await status(pair);
      expect(state.nodes.map((n) => n.installedVersion)).toEqual([TO.series, TO.series]);
      expect(text).toContain(`alpha runs etcd ${FROM.series}; its binDir holds ${TO.series}`);
    });

    it("loses no acknowledged write, ends with both on the new etcd, cluster version 3.6, the original main", async () => {
      const tls = await pair.clientTls();
      const prefix = "/upgrade/";
      // An open-loop writer at 500 writes/s that knows both endpoints (bench/load.ts, as the switchover bench).
      const writer = new RateWriter({ endpoints: [pair.url("alpha"), pair.url("beta")], tls, perSecond: 500, prefix });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const started = performance.now();
      const result = await pair.run(["upgrade", "--yes", "--keep-roles", "--json"], { timeoutMs: 180_000 });
      const ended = performance.now();
      expect(result.code, result.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const samples = await writer.stop();
      const report = JSON.parse(result.stdout) as UpgradeJson;
      expect(report).toMatchObject({
        target: TO.series,
        before: { alpha: FROM.series, beta: FROM.series },
        after: { alpha: TO.series, beta: TO.series },
        main: "alpha",
        changed: true,
      });
      expect(report.clusterVersion?.startsWith("3.6.")).toBe(true);
      expect(report.swaps.map((s) => [s.from, s.to])).toEqual([
        ["alpha", "beta"],
        ["beta", "alpha"],
      ]);

      // Every acknowledged write is on the main, and on the learner once it caught up.
      const acked = samples.filter((s) => s.ok);
      const during = acked.filter((s) => s.doneAt >= started && s.doneAt <= ended);
      expect(during.length).toBeGreaterThan(0);
      for (const node of ["alpha", "beta"] as const) {
        const data = await readAll(pair.url(node), prefix, tls);
        const missing = acked.filter((s) => !data.has(s.key));
        expect(missing.map((s) => `${node}: ${s.key}@${s.revision}`)).toEqual([]);
      }
      const rate = Math.round(
        samples.length / ((samples.at(-1)?.sentAt ?? 0) / 1000 - (samples[0]?.sentAt ?? 0) / 1000),
      );
      const gap = Math.round(longestGap(during.map((s) => s.doneAt)).gap);
      console.log(
        `upgrade ${FROM.series} -> ${TO.series} --keep-roles under ${rate} writes/s: ${acked.length} writes ` +
          `acknowledged (${during.length} during the upgrade), 0 lost, ${samples.length - acked.length} not ` +
          `acknowledged; longest gap between acknowledged writes during it ${gap} ms; the CLI reported ` +
          report.swaps
            .map(
              (s) =>
                `${s.from}->${s.to} two voters ${s.twoVoterWindowMs} ms, leader change to first write ` +
                `${s.leaderChangeToFirstWriteMs} ms`,
            )
            .join("; ") +
          `; ${((ended - started) / 1000).toFixed(1)} s in all`,
      );

      const { code, state, text } = await status(pair);
      expect(code).toBe(0);
      expect(state).toMatchObject({ healthy: true, leader: "alpha" });
      expect(state.clusterVersion?.startsWith("3.6.")).toBe(true);
      expect(state.nodes.map((n) => [n.name, n.role, n.serverVersion])).toEqual([
        ["alpha", "leader", TO.series],
        ["beta", "learner", TO.series],
      ]);
      expect(text).toMatch(/^cluster version 3\.6\.0 \(storage 3\.6\.0\)$/m);
    }, 240_000);

    it("a second upgrade has nothing to do", async () => {
      const result = await pair.run(["upgrade", "--yes", "--json"]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ changed: false, steps: [] });
    });
  });
});
