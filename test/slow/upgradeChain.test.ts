import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { etcdBuild, upgradeStatus as status, useEtcd, type UpgradeJson } from "../helpers/upgrade.js";
import { readAll } from "../helpers/writer.js";
import { RateWriter } from "../../bench/load.js";

/**
 * A pair born on 3.5 taken to 3.7 in two upgrades (local pair, real etcd, the bundled CLI). etcd 3.5 proposes v2
 * requests (its publish at every start, its cluster version), 3.6 still applies them, and 3.7 applies every entry
 * as a v3 request: a 3.7 member that replays one from its log panics ("unmarshal should never fail"). The
 * upgrade to 3.7 first makes the learner snapshot past every entry older than the upgrade (README: Upgrade).
 */
const BORN = etcdBuild("3.5.30");
const MIDDLE = etcdBuild("3.6.14");
const LAST = etcdBuild("3.7.1");

describe(`a pair born on ${BORN.series}, upgraded to ${MIDDLE.series}, then to ${LAST.series}`, () => {
  let pair: TestPair;
  beforeAll(async () => {
    for (const b of [BORN, MIDDLE, LAST]) requireBuild(b);
    pair = await TestPair.create(BORN.binDir);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    await useEtcd(pair, MIDDLE.binDir);
    const first = await pair.run(["upgrade", "--yes"], { timeoutMs: 180_000 });
    expect(first.code, first.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("the second upgrade seals the learner's log on 3.6 first, then ends on 3.7 with every acknowledged write", async () => {
    await useEtcd(pair, LAST.binDir);
    const dry = await pair.run(["upgrade", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("ETCD_SNAPSHOT_COUNT=1");

    const tls = await pair.clientTls();
    const prefix = "/chain/";
    const writer = new RateWriter({ endpoints: [pair.url("alpha"), pair.url("beta")], tls, perSecond: 200, prefix });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await pair.run(["upgrade", "--yes", "--keep-roles", "--json"], { timeoutMs: 180_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const samples = await writer.stop();
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as UpgradeJson;
    const ids = report.steps.map((s) => s.id);
    expect(ids).toContain("upgrade.seal");
    expect(ids.indexOf("upgrade.seal")).toBeLessThan(ids.indexOf("switch.promote"));
    // The first upgrade (without --keep-roles) left beta main; --keep-roles keeps it.
    expect(report).toMatchObject({ after: { alpha: LAST.series, beta: LAST.series }, main: "beta" });

    const acked = samples.filter((s) => s.ok);
    expect(acked.length).toBeGreaterThan(0);
    for (const node of ["alpha", "beta"] as const) {
      const data = await readAll(pair.url(node), prefix, tls);
      expect(acked.filter((s) => !data.has(s.key)).map((s) => `${node}: ${s.key}`)).toEqual([]);
    }
    const { code, state } = await status(pair);
    expect(code).toBe(0);
    expect(state).toMatchObject({ healthy: true, leader: "beta" });
    expect(state.clusterVersion?.startsWith("3.7.")).toBe(true);
    console.log(
      `upgrade ${BORN.series} -> ${MIDDLE.series} -> ${LAST.series}: ${acked.length} writes acknowledged during the ` +
        `second, 0 lost; its steps: ${ids.join(" ")}`,
    );
  }, 240_000);

  it("both nodes start again on 3.7 from their own logs (every entry they replay is a v3 request)", async () => {
    const down = await pair.run(["down"]);
    expect(down.code, down.stderr).toBe(0);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    const { code, state } = await status(pair);
    expect(code).toBe(0);
    expect(state).toMatchObject({ healthy: true });
  }, 120_000);
});
