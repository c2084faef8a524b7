import { readFile, writeFile } from "node:fs/promises";
import { ETCD_BUILDS } from "../../test/helpers/etcdBinaries.js";
import type { Figure } from "../figures.js";
import type { BenchHosts } from "../pairs.js";
import { summarize } from "../stats.js";
import { underWrites, untilConverged, type Progress } from "./common.js";

/** The upgrade each tested version makes: to the tested build of the next minor version. */
const UPGRADE_TO: Record<string, string> = { "3.5.30": "3.6.14", "3.6.14": "3.7.1" };

/**
 * P9: `etcd-pair upgrade --yes` onto the next minor version under the same steady 500 writes/s as P2 (the
 * writer knows both endpoints): the longest gap between acknowledged writes from the command's start to its
 * end, and acknowledged writes missing from the new main afterwards. Local hosts only (a change of etcd.binDir
 * names the new version); one new pair per repetition, since an upgrade goes one way.
 */
export async function benchUpgrade(hosts: BenchHosts, reps: number, progress: Progress): Promise<Figure[]> {
  const to = ETCD_BUILDS.find((b) => b.series === UPGRADE_TO[hosts.build.series]);
  if (hosts.kind !== "local" || !to) {
    progress(`P9 upgrade: skipped (${hosts.kind} hosts, etcd ${hosts.build.series}: no tested next version here)`);
    return [];
  }
  const pauses: number[] = [];
  const lost: number[] = [];
  const durations: number[] = [];
  for (let i = 0; i < reps; i++) {
    const pair = await hosts.create();
    try {
      const config = await readFile(pair.configFile, "utf8");
      await writeFile(pair.configFile, config.replace(/^ {2}binDir: .*$/m, `  binDir: ${to.binDir}`));
      await untilConverged(pair);
      const prefix = `/bench/upgrade${i}/`;
      const run = await underWrites(pair, ["alpha", "beta"], prefix, ["upgrade", "--yes", "--json"], "beta");
      const { started, ended, acked, gap, missing } = run;
      pauses.push(gap);
      lost.push(missing);
      durations.push(ended - started);
      progress(
        `P9 upgrade ${hosts.build.series} -> ${to.series}: longest gap ${Math.round(gap)} ms, ${missing} of ` +
          `${acked.length} acknowledged writes missing, ${Math.round(ended - started)} ms in all`,
      );
    } finally {
      await pair.cleanup();
    }
  }
  return [
    {
      id: "P9",
      name: `upgrade to ${to.series}: write pause at 500 writes/s`,
      unit: "ms",
      tool: summarize(pauses),
      target: "≤ 1000 ms",
      details: { upgradeWallMs: summarize(durations) },
    },
    {
      id: "P9",
      name: `upgrade to ${to.series}: acknowledged writes lost`,
      unit: "writes",
      tool: summarize(lost),
      target: "0",
    },
  ];
}
