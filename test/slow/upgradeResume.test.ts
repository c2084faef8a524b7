import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { etcdBuild, upgradeStatus as status, useEtcd, type UpgradeJson } from "../helpers/upgrade.js";

/**
 * An interrupted `etcd-pair upgrade` (3.5.30 -> 3.6.14, local pair, real etcd, the bundled CLI) converges on
 * re-run: the CLI is killed by its pid right after the learner restarted on the new etcd.
 */
const FROM = etcdBuild("3.5.30");
const TO = etcdBuild("3.6.14");

describe(`upgrade ${FROM.series} -> ${TO.series}, interrupted`, () => {
  beforeAll(() => {
    for (const b of [FROM, TO]) requireBuild(b);
  });

  describe("killed and run again", () => {
    let pair: TestPair;
    beforeAll(async () => {
      pair = await TestPair.create(FROM.binDir);
      const up = await pair.run(["up"]);
      expect(up.code, up.stderr).toBe(0);
      await useEtcd(pair, TO.binDir);
    });
    afterAll(async () => {
      await pair?.cleanup();
    });

    it("killed by its pid right after the learner restarted, a re-run converges without restarting it again", async () => {
      let killed = false;
      const first = await pair.run(["upgrade", "--yes"], {
        onStderr: (text, kill) => {
          if (!killed && text.includes(`ok   [beta] wait until beta answers as a learner on etcd ${TO.series}`)) {
            killed = true;
            kill();
          }
        },
      });
      expect(killed, first.stderr).toBe(true);
      expect(first.code).toBe(137);
      const between = (await status(pair)).state;
      expect(between.nodes.map((n) => [n.name, n.role, n.serverVersion])).toEqual([
        ["alpha", "leader", FROM.series],
        ["beta", "learner", TO.series],
      ]);

      const again = await pair.run(["upgrade", "--yes", "--json"], { timeoutMs: 120_000 });
      expect(again.code, again.stderr).toBe(0);
      const report = JSON.parse(again.stdout) as UpgradeJson;
      const ids = report.steps.map((s) => s.id);
      // The learner already runs the new etcd: not restarted again; the swap is made once.
      expect(ids).not.toContain("learner.stop");
      expect(ids).not.toContain("upgrade.begin");
      expect(ids.filter((id) => id === "switch.promote")).toHaveLength(1);
      expect(report).toMatchObject({ after: { alpha: TO.series, beta: TO.series }, main: "beta" });

      const { code, state } = await status(pair);
      expect(code).toBe(0);
      expect(state).toMatchObject({ healthy: true, leader: "beta" });
      expect(state.clusterVersion?.startsWith("3.6.")).toBe(true);
      expect((await pair.run(["upgrade", "--yes", "--json"])).stdout).toContain('"changed": false');
    }, 180_000);
  });
});
