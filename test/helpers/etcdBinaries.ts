import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface EtcdBuild {
  /** What the tests expect `etcd --version` to start with. */
  series: string;
  binDir: string;
}

const cache = process.env.ETCD_PAIR_CACHE ?? path.join(os.homedir(), ".cache", "etcd-pair");

/** The etcd builds scripts/install-etcd.sh provides. A missing one fails the tests: it is never skipped. */
export const ETCD_BUILDS: readonly EtcdBuild[] = [
  { series: "3.4.23", binDir: "/usr/bin" },
  { series: "3.5.", binDir: path.join(cache, "etcd", "trixie", "bin") },
];

/** The build `npm test` runs the per-version integration tests on when ETCD_PAIR_TEST_VERSIONS is not set. */
export const DEFAULT_TEST_SERIES = "3.5.";

/**
 * The builds the per-version tests (describe.each) run on, from ETCD_PAIR_TEST_VERSIONS: unset or `default`,
 * the default build only (npm test); `all`, every build; `others`, every build but the default (CI runs these
 * after npm test, so each version runs once); or a comma-separated list of series prefixes (`3.4`, `3.5.16`).
 * A value that names no build throws: a requested version is never skipped.
 */
export function selectBuilds(value: string | undefined, builds: readonly EtcdBuild[] = ETCD_BUILDS): EtcdBuild[] {
  const wanted = (value ?? "").trim();
  const isDefault = (b: EtcdBuild) => b.series === DEFAULT_TEST_SERIES;
  if (wanted === "" || wanted === "default") return builds.filter(isDefault);
  if (wanted === "all") return [...builds];
  if (wanted === "others") return builds.filter((b) => !isDefault(b));
  const known = builds.map((b) => b.series).join(", ");
  const selected: EtcdBuild[] = [];
  for (const prefix of wanted.split(",").map((v) => v.trim())) {
    const matching = builds.filter(
      (b) => prefix !== "" && (b.series.startsWith(prefix) || prefix.startsWith(b.series)),
    );
    if (matching.length === 0) {
      throw new Error(
        `ETCD_PAIR_TEST_VERSIONS=${wanted}: no etcd build "${prefix}" (known: ${known}; or all, others, default)`,
      );
    }
    for (const b of matching) if (!selected.includes(b)) selected.push(b);
  }
  return selected;
}

/** The builds this run's per-version tests use (ETCD_PAIR_TEST_VERSIONS; see selectBuilds). */
export const TEST_BUILDS: readonly EtcdBuild[] = selectBuilds(process.env.ETCD_PAIR_TEST_VERSIONS);

export function requireBuild(build: EtcdBuild): void {
  for (const tool of ["etcd", "etcdctl"]) {
    if (!existsSync(path.join(build.binDir, tool))) {
      throw new Error(`${build.binDir}/${tool} is missing: run ./scripts/install-etcd.sh (or ./scripts/setup.sh)`);
    }
  }
}
