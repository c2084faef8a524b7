import path from "node:path";
import { shQuote } from "../shell/quote.js";
import { parseVersion, type EtcdVersion } from "./version.js";

/** What an official release tarball's name says: etcd-v3.5.16-linux-amd64.tar.gz. */
export interface TarballName {
  version: EtcdVersion;
  /** Debian-style architecture: amd64, arm64, ppc64le, s390x. */
  arch: string;
}

export function parseTarballName(fileName: string): TarballName | undefined {
  const match = /^etcd-v(\d+\.\d+\.\d+)-linux-([a-z0-9]+)\.tar\.gz$/.exec(fileName);
  const version = match?.[1] ? parseVersion(match[1]) : undefined;
  return version && match?.[2] ? { version, arch: match[2] } : undefined;
}

const UNAME_TO_RELEASE_ARCH: Record<string, string> = {
  x86_64: "amd64",
  aarch64: "arm64",
  arm64: "arm64",
  ppc64le: "ppc64le",
  s390x: "s390x",
};

/** `uname -m` in the naming of etcd's release tarballs (x86_64 -> amd64). */
export function releaseArch(unameMachine: string): string {
  return UNAME_TO_RELEASE_ARCH[unameMachine] ?? unameMachine;
}

/**
 * Installs etcd-server and etcd-client from the host's apt sources, then disables (never masks) the
 * package's own etcd.service: Debian starts it on install, and it would compete for port 2379 at boot.
 */
export function aptInstallCommand(): string {
  return (
    "export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && " +
    "apt-get install -y -qq etcd-server etcd-client && " +
    "if systemctl cat etcd.service >/dev/null 2>&1; then systemctl disable --now etcd.service; fi"
  );
}

export interface TarballInstall {
  /** The uploaded tarball on the host. */
  tarball: string;
  sha256: string;
  /** Scratch dir next to it, removed afterwards. */
  unpackDir: string;
  binDir: string;
  markerFile: string;
}

/**
 * Checks the uploaded tarball against its sha256 on the host, unpacks it (official layout:
 * etcd-vX.Y.Z-linux-ARCH/{etcd,etcdctl,etcdutl}), installs the binaries into binDir and records the
 * sha256 so a re-run knows it is done. `install` replaces a binary by a new file, so a running etcd is
 * not disturbed; it runs the new one from its next start.
 */
export function tarballInstallCommand(t: TarballInstall): string {
  const q = shQuote;
  const unpacked = (tool: string) => q(`${t.unpackDir}/${tool}`);
  return [
    `printf '%s  %s\\n' ${q(t.sha256)} ${q(t.tarball)} | sha256sum -c --quiet -`,
    `rm -rf ${q(t.unpackDir)}`,
    `mkdir -p ${q(t.unpackDir)} ${q(t.binDir)} ${q(path.posix.dirname(t.markerFile))}`,
    `tar -xzf ${q(t.tarball)} -C ${q(t.unpackDir)} --strip-components=1 --no-same-owner`,
    `test -f ${unpacked("etcd")} -a -f ${unpacked("etcdctl")}`,
    `for tool in etcd etcdctl etcdutl; do if [ -f ${q(t.unpackDir)}/$tool ]; then install -m 0755 ${q(t.unpackDir)}/$tool ${q(t.binDir)}/$tool || exit 1; fi; done`,
    // etcd runs as its own system user: Debian's package makes it, a tarball does not.
    "{ id -u etcd >/dev/null 2>&1 || useradd --system --home-dir /var/lib/etcd-pair --no-create-home --shell /usr/sbin/nologin etcd; }",
    `printf '%s\\n' ${q(t.sha256)} > ${q(t.markerFile)}`,
    `rm -rf ${q(t.unpackDir)} ${q(t.tarball)}`,
  ].join(" && \\\n  ");
}
