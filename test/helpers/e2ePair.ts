import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { E2E_CACHE, hostAddress } from "./e2eHosts.js";
import { ETCD_BUILDS, type EtcdBuild } from "./etcdBinaries.js";
import { buildReleaseTarball, type ReleaseTarball } from "./releaseTarball.js";

const HOSTS_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/e2e/hosts.sh");

function build(series: string): EtcdBuild {
  const found = ETCD_BUILDS.find((b) => b.series === series);
  if (!found) throw new Error(`no etcd build ${series} in test/helpers/etcdBinaries.ts`);
  return found;
}

/** The release tarballs of etcd 3.6 and 3.7 (../shared/etcd/README.md), as scripts/install-etcd.sh finds them. */
const SHARED_ETCD =
  process.env.ETCD_PAIR_SHARED_ETCD ?? path.resolve(path.dirname(HOSTS_SCRIPT), "../../../shared/etcd");

/**
 * The two ways etcd gets onto the e2e hosts, one per tested version: Debian's 3.4.23 already in the root fs,
 * and 3.5 from a release tarball that `up` uploads (the hosts have no route to any download).
 * The second also fences through a fence command (a power-off of the old main) instead of the operator's word.
 */
const DEBIAN_VARIANTS = [
  { title: "etcd 3.4.23 preinstalled from Debian", build: build("3.4.23"), tarball: false, fenceCommand: false },
  { title: "etcd 3.5 installed from a release tarball", build: build("3.5.16"), tarball: true, fenceCommand: true },
] as const;

/**
 * etcd 3.6.14 and 3.7.1 installed by `up` from the release tarballs themselves (`shared`: the file in
 * ../shared/etcd), exactly as a user installs an official one. CI runs a subset of the pair's tests on them
 * (.ci/run, stage e2e-released).
 */
const RELEASED_VARIANTS = [
  {
    title: "etcd 3.6.14 installed from its release tarball",
    build: build("3.6.14"),
    tarball: true,
    shared: "etcd-v3.6.14-linux-amd64.tar.gz",
    fenceCommand: true,
  },
  {
    title: "etcd 3.7.1 installed from its release tarball",
    build: build("3.7.1"),
    tarball: true,
    shared: "etcd-v3.7.1-linux-amd64.tar.gz",
    fenceCommand: false,
  },
] as const;

/** ETCD_PAIR_E2E_VARIANTS: `debian` (unset: 3.4.23 and 3.5.16) or `released` (3.6.14 and 3.7.1). */
export const E2E_VARIANTS: readonly E2eVariant[] =
  process.env.ETCD_PAIR_E2E_VARIANTS === "released" ? RELEASED_VARIANTS : DEBIAN_VARIANTS;
export type E2eVariant = (typeof DEBIAN_VARIANTS)[number] | (typeof RELEASED_VARIANTS)[number];

/**
 * The tarball `up` installs: a shared release tarball with the sha256 scripts/install-etcd.sh checked it against
 * when it unpacked the tested binaries (beside them), or one built from the tested binaries.
 */
async function tarballOf(variant: Pick<E2eVariant, "build"> & { shared?: string }): Promise<ReleaseTarball> {
  if (!variant.shared) return buildReleaseTarball(variant.build.binDir, path.join(E2E_CACHE, "releases"));
  const file = path.join(SHARED_ETCD, variant.shared);
  if (!existsSync(file)) throw new Error(`${file} is missing: see ../shared/etcd/README.md`);
  const sha256 = (await readFile(path.join(variant.build.binDir, "..", "sha256"), "utf8")).trim();
  return { file, sha256, version: variant.build.series };
}

/** etcd's own release tarball of a tested build, from ../shared/etcd (3.6 and later). */
export function sharedReleaseTarball(build: EtcdBuild): Promise<ReleaseTarball> {
  return tarballOf({ build, shared: `etcd-v${build.series}-linux-amd64.tar.gz` });
}

/**
 * Writes dir/etcd-pair.yaml for hosts 1 (alpha, SSH as root) and 2 (beta, a sudo user) of scripts/e2e/hosts.sh;
 * returns its path and the etcd version the hosts will run.
 */
export async function writeE2eConfig(
  dir: string,
  variant: Pick<E2eVariant, "build" | "tarball"> & { fenceCommand: boolean; shared?: string },
): Promise<{ config: string; version: string }> {
  const [a, b] = [hostAddress(1), hostAddress(2)];
  const key = path.join(E2E_CACHE, "id_ed25519");
  let etcd = "etcd: { binDir: /usr/bin }";
  let version = "3.4.23";
  if (variant.tarball) {
    const tarball = await tarballOf(variant);
    version = tarball.version;
    etcd = `etcd:\n  install:\n    tarball: { file: ${tarball.file}, sha256: ${tarball.sha256} }`;
  }
  const fence = variant.fenceCommand
    ? `failover:\n  fenceCommand: ${HOSTS_SCRIPT} poweroff "$ETCD_PAIR_FENCE_NODE"\n`
    : "";
  const config = path.join(dir, "etcd-pair.yaml");
  await writeFile(
    config,
    `cluster: e2e
${etcd}
${fence}nodes:
  - name: alpha
    address: ${a.address}
    ssh: { host: 127.0.0.1, port: ${a.sshPort}, user: root, identityFile: ${key}, knownHostsFile: known_hosts }
  - name: beta
    address: ${b.address}
    ssh: { host: 127.0.0.1, port: ${b.sshPort}, user: deploy, become: true, identityFile: ${key}, knownHostsFile: known_hosts }
`,
  );
  return { config, version };
}
