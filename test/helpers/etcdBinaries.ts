import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface EtcdBuild {
  /** What the tests expect `etcd --version` to start with. */
  series: string;
  binDir: string;
}

const cache = process.env.ETCD_PAIR_CACHE ?? path.join(os.homedir(), ".cache", "etcd-pair");

/**
 * The etcd builds scripts/install-etcd.sh provides, oldest first. A missing one fails the tests: it is never skipped.
 * Each series is the full version, so 3.5.16 (Debian trixie) and 3.5.30 (Debian sid) are told apart.
 */
export const ETCD_BUILDS: readonly EtcdBuild[] = [
  { series: "3.4.23", binDir: "/usr/bin" },
  { series: "3.5.16", binDir: path.join(cache, "etcd", "trixie", "bin") },
  { series: "3.5.30", binDir: path.join(cache, "etcd", "sid", "bin") },
  { series: "3.6.14", binDir: path.join(cache, "etcd", "v3.6.14", "bin") },
  { series: "3.7.1", binDir: path.join(cache, "etcd", "v3.7.1", "bin") },
];

/**
 * The builds `npm test` runs the per-version integration tests on when ETCD_PAIR_TEST_VERSIONS is not set: the
 * newest 3.5 (every 3.5 learner fix) and 3.6, the two a user most likely runs. CI runs the others after npm test.
 */
export const DEFAULT_TEST_SERIES: readonly string[] = ["3.5.30", "3.6.14"];

/**
 * The builds the per-version tests (describe.each) run on, from ETCD_PAIR_TEST_VERSIONS: unset or `default`,
 * the default builds only (npm test); `all`, every build; `others`, every build but the default (CI runs these
 * after npm test, so each version runs once); or a comma-separated list of versions or their leading parts
 * (`3.4`, `3.5.16`, `3.6`): `3.5` selects 3.5.16 and 3.5.30, `3.5.3` selects nothing (a part is whole numbers).
 * A value that names no build throws: a requested version is never skipped.
 */
export function selectBuilds(value: string | undefined, builds: readonly EtcdBuild[] = ETCD_BUILDS): EtcdBuild[] {
  const wanted = (value ?? "").trim();
  const isDefault = (b: EtcdBuild) => DEFAULT_TEST_SERIES.includes(b.series);
  if (wanted === "" || wanted === "default") return builds.filter(isDefault);
  if (wanted === "all") return [...builds];
  if (wanted === "others") return builds.filter((b) => !isDefault(b));
  const known = builds.map((b) => b.series).join(", ");
  const selected: EtcdBuild[] = [];
  for (const prefix of wanted.split(",").map((v) => v.trim())) {
    const matching = builds.filter((b) => seriesMatches(b.series, prefix));
    if (matching.length === 0) {
      throw new Error(
        `ETCD_PAIR_TEST_VERSIONS=${wanted}: no etcd build "${prefix}" (known: ${known}; or all, others, default)`,
      );
    }
    for (const b of matching) if (!selected.includes(b)) selected.push(b);
  }
  return selected;
}

/** `3.5` and `3.5.` name 3.5.16 and 3.5.30; `3.5.3` names neither: a version's parts are matched whole. */
function seriesMatches(series: string, prefix: string): boolean {
  if (prefix === "") return false;
  if (prefix.endsWith(".")) return series.startsWith(prefix);
  return series === prefix || series.startsWith(`${prefix}.`);
}

/** The builds this run's per-version tests use (ETCD_PAIR_TEST_VERSIONS; see selectBuilds). */
export const TEST_BUILDS: readonly EtcdBuild[] = selectBuilds(process.env.ETCD_PAIR_TEST_VERSIONS);

/**
 * The first of this run's builds, for integration tests whose subject does not change with etcd's version (the
 * CLI's own behaviour: locking, history, watch's decisions, TLS files, the demo). They run once per test command,
 * so `npm test` stays within its minutes: on 3.5.30 there, on 3.4.23 in CI's run of the other versions. Tests of
 * what etcd does (failover, rejoin, switchover, snapshots, resume, preconditions, dry runs) use TEST_BUILDS.
 */
export const PRIMARY_TEST_BUILDS: readonly EtcdBuild[] = TEST_BUILDS.slice(0, 1);

/**
 * Throws, with what to run, when a build's binaries are not there or are another version (Debian sid moves): a
 * test that needs a version never skips, and never runs on a version other than the one it reports.
 */
export function requireBuild(build: EtcdBuild): void {
  for (const tool of ["etcd", "etcdctl"]) {
    if (!existsSync(path.join(build.binDir, tool))) {
      throw new Error(
        `etcd ${build.series}: ${build.binDir}/${tool} is missing: run ./scripts/install-etcd.sh (or ./scripts/setup.sh)`,
      );
    }
  }
  const output = execFileSync(path.join(build.binDir, "etcd"), ["--version"], { encoding: "utf8" });
  const version = /^etcd Version: (\S+)/m.exec(output)?.[1] ?? "(none)";
  if (version !== build.series) {
    throw new Error(
      `etcd ${build.series} expected in ${build.binDir}, but it holds etcd ${version}: ` +
        "run ./scripts/install-etcd.sh, or name the version it installs in test/helpers/etcdBinaries.ts",
    );
  }
}
