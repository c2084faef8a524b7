import { afterEach, describe, expect, it } from "vitest";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { reportedSteps, runKilledAfterStep } from "../helpers/interrupt.js";
import { TestPair } from "../helpers/pair.js";
import { etcdBuild, upgradeStatus, useEtcd, type UpgradeJson } from "../helpers/upgrade.js";

/**
 * `etcd-pair upgrade --yes --keep-roles` (3.5.30 -> 3.6.14, local pair) SIGKILLed after its k-th step, for every
 * k, then run again: the re-run converges to both nodes on 3.6.14, the original main leading, the cluster version
 * 3.6, and a third run has nothing to do. About 24 s per boundary, ~52 boundaries (~22 min in all): test/slow,
 * not npm test; its own time limit, above the slow config's 15 min.
 * UPGRADE_SWEEP_STEPS=3,9,27 runs only those boundaries; UPGRADE_SWEEP_EVERY=6 every sixth and the last (CI).
 */
const FROM = etcdBuild("3.5.30");
const TO = etcdBuild("3.6.14");
const COMMAND = ["upgrade", "--yes", "--keep-roles", "--json"];

async function upgradablePair(): Promise<TestPair> {
  const pair = await TestPair.create(FROM.binDir);
  const up = await pair.run(["up"]);
  if (up.code !== 0) throw new Error(`up failed:\n${up.stderr}`);
  await useEtcd(pair, TO.binDir);
  return pair;
}

/** The number of steps a whole run reports (both rounds), from one uninterrupted run on a pair of its own. */
async function stepCount(): Promise<number> {
  const pair = await upgradablePair();
  try {
    const result = await pair.run(COMMAND, { timeoutMs: 180_000 });
    expect(result.code, result.stderr).toBe(0);
    return reportedSteps(result).length;
  } finally {
    await pair.cleanup();
  }
}

describe(`upgrade ${FROM.series} -> ${TO.series} --keep-roles killed at every step boundary converges on re-run`, () => {
  let pair: TestPair | undefined;
  afterEach(async () => {
    await pair?.cleanup();
    pair = undefined;
  });

  it("every boundary", async () => {
    for (const b of [FROM, TO]) requireBuild(b);
    const chosen = (process.env.UPGRADE_SWEEP_STEPS ?? "").split(",").filter(Boolean).map(Number);
    const total = chosen.length > 0 ? Math.max(...chosen) : await stepCount();
    // CI takes every EVERY-th boundary (and the last): the whole sweep is ~22 min.
    const every = Number(process.env.UPGRADE_SWEEP_EVERY ?? "1");
    const all = Array.from({ length: total - 1 }, (_, i) => i + 1);
    const boundaries = chosen.length > 0 ? chosen : all.filter((k) => k % every === 0 || k === total - 1);
    for (const k of boundaries) {
      pair = await upgradablePair();
      const { result, killedAfter } = await runKilledAfterStep(pair, COMMAND, k);
      expect(killedAfter, `step ${k} was never reached:\n${result.stderr}`).not.toBe("");
      const again = await pair.run(COMMAND, { timeoutMs: 180_000 });
      expect(again.code, `re-run after "${killedAfter}" (step ${k}):\n${again.stderr}`).toBe(0);
      const report = JSON.parse(again.stdout) as UpgradeJson;
      expect(report.after, `after step ${k}`).toEqual({ alpha: TO.series, beta: TO.series });
      const { code, state } = await upgradeStatus(pair);
      expect({ code, leader: state.leader, cluster: state.clusterVersion?.slice(0, 4) }, `after step ${k}`).toEqual({
        code: 0,
        leader: "alpha",
        cluster: "3.6.",
      });
      const third = await pair.run(COMMAND);
      expect(JSON.parse(third.stdout), `third run after step ${k}`).toMatchObject({ changed: false, steps: [] });
      console.log(`upgrade killed after step ${k} (${killedAfter}): the re-run converged`);
      await pair.cleanup();
      pair = undefined;
    }
  }, 2_700_000);
});
