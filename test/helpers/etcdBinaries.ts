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

export function requireBuild(build: EtcdBuild): void {
  for (const tool of ["etcd", "etcdctl"]) {
    if (!existsSync(path.join(build.binDir, tool))) {
      throw new Error(`${build.binDir}/${tool} is missing: run ./scripts/install-etcd.sh (or ./scripts/setup.sh)`);
    }
  }
}
