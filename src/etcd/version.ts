import {
  END_OF_LIFE_SERIES,
  KNOWN_ISSUES,
  SUPPORTED_SERIES,
  TESTED_VERSIONS,
  type AffectedRange,
  type KnownIssue,
  type Operation,
} from "./versionTable.js";

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

/** A known issue that applies to one version, with the sentence etcd-pair says about it. */
export interface Finding {
  issue: KnownIssue;
  range: AffectedRange;
  /** "etcd 3.5.16 may not persist ... (etcd #19563, fixed in 3.5.20)". */
  message: string;
  /** The first version of the same series without it; absent when that series has no fix. */
  fixed?: string;
}

export interface OperationRefusal {
  operation: Operation;
  message: string;
  /** The version to install first. */
  install: string;
}

export interface VersionVerdict {
  /** ok: nothing known; warn: known bugs etcd-pair works around or only warns of; refused: not run at all. */
  verdict: "ok" | "warn" | "refused";
  /** Set when etcd-pair must not run this version. */
  refusal?: string;
  /** With a refusal: the version to install instead. */
  install?: string;
  /** Known bugs of this version in learner promotion: said before a switchover. */
  promotionWarnings: string[];
  /** Every warning that applies to this version (the promotion ones too). */
  warnings: string[];
  /** Operations refused on this version while the rest runs. */
  refusedOperations: OperationRefusal[];
  /** The table's entries that apply (notes left out). */
  findings: Finding[];
}

function sameSeries(a: EtcdVersion, b: EtcdVersion): boolean {
  return a.major === b.major && a.minor === b.minor;
}

const must = (text: string): EtcdVersion => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

/** Whether `version` lies in `range`: the same minor series, from `from`, before `fixed`. */
export function inRange(version: EtcdVersion, range: AffectedRange): boolean {
  const from = must(range.from);
  if (!sameSeries(version, from) || compareVersions(version, from) < 0) return false;
  return range.fixed === undefined || compareVersions(version, must(range.fixed)) < 0;
}

function fillIn(issue: KnownIssue, range: AffectedRange, version: EtcdVersion): string {
  const text = issue.says
    .replace("{ref}", String(range.pr ?? issue.issue ?? ""))
    .replace("{fix}", range.fixed ? `fixed in ${range.fixed}` : `no fix in ${version.major}.${version.minor}`);
  return `etcd ${version.text} ${text}`;
}

/** The table's entries (notes too) that apply to `version`. */
export function findingsFor(version: EtcdVersion, table: readonly KnownIssue[] = KNOWN_ISSUES): Finding[] {
  const findings: Finding[] = [];
  for (const issue of table) {
    const range = issue.affects.find((r) => inRange(version, r));
    if (!range) continue;
    findings.push({
      issue,
      range,
      message: fillIn(issue, range, version),
      ...(range.fixed ? { fixed: range.fixed } : {}),
    });
  }
  return findings;
}

/** The newest of some versions. */
function newest(versions: readonly string[]): string | undefined {
  return [...versions].sort((a, b) => compareVersions(must(b), must(a)))[0];
}

/**
 * What to install, per supported series still patched: the newest fix any refusing or warning entry names in
 * that series (open issues have none), or its first release when none does.
 */
export function recommendedVersions(table: readonly KnownIssue[] = KNOWN_ISSUES): string[] {
  return SUPPORTED_SERIES.filter((series) => !END_OF_LIFE_SERIES.includes(series)).map((series) => {
    const fixes = table
      .filter((i) => i.consequence.kind !== "note")
      .flatMap((i) => i.affects)
      .filter((r) => r.from.startsWith(`${series}.`))
      .flatMap((r) => (r.fixed ? [r.fixed] : []));
    return newest(fixes) ?? `${series}.0`;
  });
}

function unsupported(version: EtcdVersion): VersionVerdict {
  const best = recommendedVersions();
  return {
    verdict: "refused",
    refusal:
      `etcd ${version.text} is not supported: learners need etcd 3.4 or later, and etcd-pair runs ` +
      `${SUPPORTED_SERIES[0]} to ${SUPPORTED_SERIES.at(-1)}: install ${best.map((v) => `${v}+`).join(", ")}`,
    install: best[0] ?? "",
    promotionWarnings: [],
    warnings: [],
    refusedOperations: [],
    findings: [],
  };
}

/** A series etcd-pair has not been tested on (3.8 and later): said, not refused. */
function untestedWarning(version: EtcdVersion): string[] {
  if (SUPPORTED_SERIES.includes(`${version.major}.${version.minor}`)) return [];
  return [`etcd ${version.text} is newer than any etcd-pair is tested on (${TESTED_VERSIONS.join(", ")})`];
}

/**
 * The version gate: a reader of the version table (src/etcd/versionTable.ts). Learners exist from 3.4; what
 * each version gets wrong for a pair decides whether etcd-pair refuses it, refuses one operation, or warns.
 */
export function judgeVersion(version: EtcdVersion): VersionVerdict {
  if (version.major !== 3 || version.minor < 4) return unsupported(version);
  const findings = findingsFor(version).filter((f) => f.issue.consequence.kind !== "note");
  const refusing = findings.filter((f) => f.issue.consequence.kind === "refuse");
  const warnings = findings.filter((f) => f.issue.consequence.kind === "warn").map((f) => f.message);
  const promotionWarnings = findings
    .filter((f) => f.issue.consequence.kind === "warn" && f.issue.consequence.before === "switchover")
    .map((f) => f.message);
  const refusedOperations = operationRefusals(findings);
  const common = {
    promotionWarnings,
    warnings: [...warnings, ...untestedWarning(version)],
    refusedOperations,
    findings,
  };
  if (refusing.length > 0) {
    const install = newest(refusing.flatMap((f) => (f.fixed ? [f.fixed] : []))) ?? recommendedVersions()[0] ?? "";
    const series = `${version.major}.${version.minor}`;
    const better = END_OF_LIFE_SERIES.includes(series)
      ? ` (${series} is end of life: better ${recommendedVersions()[0]} or later)`
      : "";
    const refusal = `${refusing.map((f) => f.message).join("; ")}: install etcd ${install} or later on this host${better}`;
    return { verdict: "refused", refusal, install, ...common };
  }
  const quiet = common.warnings.length === 0 && refusedOperations.length === 0;
  return { verdict: quiet ? "ok" : "warn", ...common };
}

function operationRefusals(findings: readonly Finding[]): OperationRefusal[] {
  const byOperation = new Map<Operation, Finding[]>();
  for (const f of findings) {
    const c = f.issue.consequence;
    if (c.kind === "refuse-operation") byOperation.set(c.operation, [...(byOperation.get(c.operation) ?? []), f]);
  }
  return [...byOperation].map(([operation, found]) => {
    const install = newest(found.flatMap((f) => (f.fixed ? [f.fixed] : []))) ?? "";
    return {
      operation,
      message: `${found.map((f) => f.message).join("; ")}: install etcd ${install} or later first`,
      install,
    };
  });
}

/** Why `operation` must not run on `version` (with the version to install first); undefined: it may. */
export function operationRefusal(version: EtcdVersion, operation: Operation): OperationRefusal | undefined {
  return judgeVersion(version).refusedOperations.find((r) => r.operation === operation);
}

/** etcdutl carries the offline snapshot/restore commands from 3.5; 3.4 has them in etcdctl. */
export function hasEtcdutl(version: EtcdVersion): boolean {
  return compareVersions(version, { major: 3, minor: 5, patch: 0 }) >= 0;
}

/** "3.5.1-3.5.19", "3.5.0-3.5.4", "all 3.6", "3.6.2 and later 3.6": the versions a range covers, for a person. */
export function describeRange(range: AffectedRange): string {
  if (!range.fixed) {
    const from = must(range.from);
    const series = `${from.major}.${from.minor}`;
    return from.patch === 0 ? `all ${series}` : `${range.from} and later ${series}`;
  }
  const fixed = must(range.fixed);
  const last = `${fixed.major}.${fixed.minor}.${fixed.patch - 1}`;
  return last === range.from ? range.from : `${range.from}-${last}`;
}

/** "refuse", "refuse upgrade-to-3.6", "warn before switchover", "warn", "note": an entry's consequence in a word or three. */
export function describeConsequence(issue: KnownIssue): string {
  const c = issue.consequence;
  if (c.kind === "refuse-operation") return `refuse ${c.operation}`;
  if (c.kind === "warn") return c.before ? `warn before ${c.before}` : "warn";
  return c.kind;
}

/** The end-of-life entry that applies to `version` (its series gets no more fixes), if any. */
export function endOfLife(version: EtcdVersion): Finding | undefined {
  if (!END_OF_LIFE_SERIES.includes(`${version.major}.${version.minor}`)) return undefined;
  return findingsFor(version).find((f) => f.issue.id.startsWith("end-of-life"));
}
