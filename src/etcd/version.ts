export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

export function parseVersion(text: string): EtcdVersion | undefined {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]), text: match[0] };
}

/** Reads the version from the output of `etcd --version`. */
export function parseEtcdVersionOutput(output: string): EtcdVersion | undefined {
  const line = output.split("\n").find((l) => l.startsWith("etcd Version:"));
  return line ? parseVersion(line) : undefined;
}

export function compareVersions(a: EtcdVersion, b: Pick<EtcdVersion, "major" | "minor" | "patch">): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export interface VersionVerdict {
  /** Set when etcd-pair must not run this version. */
  refusal?: string;
  /** Known bugs of this version in learner promotion: said before a switchover. */
  promotionWarnings: string[];
}

/**
 * The version gate. Learners exist from 3.4; before 3.4.21 / 3.5.5 a one-voter cluster can lose
 * acknowledged writes on a crash (etcd #14370), which is exactly the shape of the pair's main.
 */
export function judgeVersion(version: EtcdVersion): VersionVerdict {
  const v = version.text;
  if (version.major !== 3 || version.minor < 4) {
    return {
      refusal: `etcd ${v} is not supported: learners need etcd 3.4 or later (3.4.21+, 3.5.5+ or 3.6)`,
      promotionWarnings: [],
    };
  }
  const lossFixed = version.minor === 4 ? 21 : version.minor === 5 ? 5 : 0;
  if (version.patch < lossFixed) {
    return {
      refusal:
        `etcd ${v} can lose acknowledged writes when a one-member cluster crashes (etcd issue #14370, ` +
        `fixed in 3.4.21 and 3.5.5): upgrade etcd on this host`,
      promotionWarnings: [],
    };
  }
  const promotionWarnings: string[] = [];
  if (version.minor === 4 && version.patch < 24) {
    promotionWarnings.push(`etcd ${v} can promote a learner that has not started (etcd #15097, fixed in 3.4.24)`);
  }
  if (version.minor === 5 && version.patch < 20) {
    promotionWarnings.push(
      `etcd ${v} may not persist a learner promotion in the v3 store (etcd #19563, fixed in 3.5.20)`,
    );
  }
  return { promotionWarnings };
}

/** etcdutl carries the offline snapshot/restore commands from 3.5; 3.4 has them in etcdctl. */
export function hasEtcdutl(version: EtcdVersion): boolean {
  return compareVersions(version, { major: 3, minor: 5, patch: 0 }) >= 0;
}
