import { readFile, writeFile } from "node:fs/promises";
import { ETCD_BUILDS, type EtcdBuild } from "./etcdBinaries.js";
import { fingerprint } from "./fingerprint.js";
import type { TestPair } from "./pair.js";

/** What the upgrade tests read from `status --json`. */
export interface UpgradeStatusNode {
  name: string;
  role: string;
  serverVersion: string | null;
  installedVersion: string | null;
  clusterVersion: string | null;
}
export interface UpgradeStatusJson {
  healthy: boolean;
  leader: string | null;
  clusterVersion: string | null;
  nodes: UpgradeStatusNode[];
}

/** What they read from `upgrade --json`. */
export type { UpgradeResult as UpgradeJson } from "../../src/commands/upgrade.js";

/** A build by its exact version, whatever ETCD_PAIR_TEST_VERSIONS selects: the upgrade tests are about the move. */
export function etcdBuild(series: string): EtcdBuild {
  const found = ETCD_BUILDS.find((b) => b.series === series);
  if (!found) throw new Error(`no etcd build ${series} in test/helpers/etcdBinaries.ts`);
  return found;
}

/** Points the pair's config at another etcd: what an operator edits before `etcd-pair upgrade`. */
export async function useEtcd(pair: TestPair, binDir: string): Promise<void> {
  const config = await readFile(pair.configFile, "utf8");
  await writeFile(pair.configFile, config.replace(/^ {2}binDir: .*$/m, `  binDir: ${binDir}`));
}

/** What upgrade may change on the hosts: every file of both nodes but etcd's own (its data dir and its log). */
export async function nodeFiles(pair: TestPair): Promise<string[]> {
  const files = await Promise.all(
    ["alpha", "beta"].map(async (node) =>
      (await fingerprint(pair.nodeDir(node), ["etcd.log"])).filter((f) => !f.startsWith("data/")),
    ),
  );
  return files.flat();
}

/** `status --json` and the table. */
export async function upgradeStatus(pair: TestPair): Promise<{ code: number; state: UpgradeStatusJson; text: string }> {
  const json = await pair.run(["status", "--json"]);
  const text = await pair.run(["status"]);
  return { code: json.code, state: JSON.parse(json.stdout) as UpgradeStatusJson, text: text.stdout };
}
