import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { parseTarballName } from "../etcd/install.js";
import { compareVersions, judgeVersion, operationRefusal, parseVersion, type EtcdVersion } from "../etcd/version.js";
import type { NodeObservation } from "./observed.js";
import type { PairView } from "./pairView.js";
import type { Refusal } from "./refusal.js";
import type { UpgradeMarker } from "./upgradeMarker.js";

/**
 * etcd's upgrade rules, as `etcd-pair upgrade` checks them before it changes anything. Each question returns a
 * Refusal (why not, and what to do) or undefined. Sources: etcd's upgrade guides (docs/latest/upgrades:
 * "upgrading one minor version at a time"; upgrade_3_6: every 3.5 member on 3.5.26 or later first; upgrade_3_7:
 * every 3.6 member on 3.6.11 or later first) and etcd-pair's version table (src/etcd/versionTable.ts).
 */

/** The version the config asks for, and where it says so. */
export interface UpgradeTarget {
  version: EtcdVersion;
  /** For a person: "the tarball etcd-v3.6.14-linux-amd64.tar.gz", "etcd in /opt/etcd-3.6.14/bin". */
  source: string;
}

const text = (v: Pick<EtcdVersion, "major" | "minor" | "patch">) => `${v.major}.${v.minor}.${v.patch}`;
const series = (v: Pick<EtcdVersion, "major" | "minor">) => `${v.major}.${v.minor}`;

/**
 * The least patch release of a series that etcd supports upgrading to the next minor from. 3.5 is read from the
 * version table (its upgrade-to-3.6 entries: #20793 fixed in 3.5.24, #20967 in 3.5.26); 3.6 from etcd's
 * v3.6-to-v3.7 upgrade guide.
 */
const NEXT_MINOR_MINIMUM: Record<string, { minimum: string; why: string }> = {
  "3.6": {
    minimum: "3.6.11",
    why: "etcd's upgrade guide asks every 3.6 member to run 3.6.11 or later before a rolling upgrade to 3.7",
  },
};

/** The node's running etcd (its member's own endpoint status), or undefined when it does not run or answer. */
export function runningVersion(observation: NodeObservation): EtcdVersion | undefined {
  return observation.status ? parseVersion(observation.status.version) : undefined;
}

/** Whether a running version is the target (the whole version, patch included). */
export function sameVersion(a: EtcdVersion | undefined, b: EtcdVersion): boolean {
  return a !== undefined && compareVersions(a, b) === 0;
}

/**
 * The version the config names: a tarball's version from its file name (install: tarball), else the etcd each
 * node's binDir holds (etcd.binDir for local nodes, preinstalled or apt): both must hold the same one.
 */
export function upgradeTarget(pair: PairSpec, view: PairView): UpgradeTarget | Refusal {
  const install = pair.install;
  if (install.kind === "tarball") {
    const parsed = parseTarballName(install.fileName);
    if (!parsed) {
      return {
        message: `the tarball's name ${install.fileName} does not say its etcd version`,
        hint: "name it as etcd's releases are named: etcd-vX.Y.Z-linux-ARCH.tar.gz",
      };
    }
    return { version: parsed.version, source: `the tarball ${install.fileName}` };
  }
  const installed = pair.nodes.map((node) => ({ node, version: view.of(node).version }));
  const missing = installed.find((i) => !i.version);
  if (missing) {
    return {
      message: `no etcd binary in ${missing.node.binDir} on ${missing.node.name} answered 'etcd --version'`,
      hint: "set etcd.binDir (or the node's binDir) to where the etcd to upgrade to is installed",
    };
  }
  const [a, b] = installed as [{ node: NodeSpec; version: EtcdVersion }, { node: NodeSpec; version: EtcdVersion }];
  if (compareVersions(a.version, b.version) !== 0) {
    return {
      message:
        `the config names two etcd versions: ${a.node.binDir} on ${a.node.name} holds ${a.version.text}, ` +
        `${b.node.binDir} on ${b.node.name} holds ${b.version.text}`,
      hint: "install the version to upgrade to on both hosts (or point binDir at it) and run upgrade again",
    };
  }
  return { version: a.version, source: `etcd in ${a.node.binDir}` };
}

/** Why etcd does not support going from `running` to `target` on `node`; undefined when it does. */
export function versionStepRefusal(node: string, running: EtcdVersion, target: EtcdVersion): Refusal | undefined {
  const how = "set etcd.binDir (local nodes) or etcd.install (hosts) to it and run 'etcd-pair upgrade'";
  if (compareVersions(target, running) < 0) {
    return {
      message: `${node} runs etcd ${running.text}: going to ${target.text} is a downgrade, which upgrade does not do`,
      hint: `set the config back to etcd ${running.text} (or later); a downgrade needs etcd's own downgrade procedure`,
    };
  }
  if (target.major !== running.major || target.minor > running.minor + 1) {
    const next = `${running.major}.${running.minor + 1}`;
    return {
      message:
        `${node} runs etcd ${running.text}: going to ${target.text} skips a minor version; etcd upgrades one ` +
        `minor version at a time (${series(running)} -> ${next} -> ...)`,
      hint: `upgrade to the newest ${next} first (${how}), then to ${target.text}`,
    };
  }
  if (target.minor === running.minor + 1) return nextMinorRefusal(node, running, target, how);
  return undefined;
}

function nextMinorRefusal(node: string, running: EtcdVersion, target: EtcdVersion, how: string): Refusal | undefined {
  if (series(running) === "3.5") {
    const refused = operationRefusal(running, "upgrade-to-3.6");
    if (!refused) return undefined;
    return {
      message: `${node} runs etcd ${running.text}, which etcd does not upgrade to ${series(target)} from: ${refused.message}`,
      hint: `upgrade to etcd ${refused.install} or later 3.5 first (${how}), then to ${target.text}`,
    };
  }
  const rule = NEXT_MINOR_MINIMUM[series(running)];
  const minimum = rule ? parseVersion(rule.minimum) : undefined;
  if (!rule || !minimum || compareVersions(running, minimum) >= 0) return undefined;
  return {
    message: `${node} runs etcd ${running.text}: ${rule.why}`,
    hint: `upgrade to etcd ${rule.minimum} or later ${series(running)} first (${how}), then to ${target.text}`,
  };
}

/** The target itself: a version etcd-pair refuses to run is never upgraded to. */
export function targetRefusal(target: UpgradeTarget): Refusal | undefined {
  const refusal = judgeVersion(target.version).refusal;
  return refusal
    ? { message: `${target.source} is etcd ${target.version.text}: ${refusal}`, hint: "name a version etcd-pair runs" }
    : undefined;
}

/**
 * The cluster version (the lowest every member runs, as etcd decided it) and the storage version (3.6+, what the
 * data was last migrated to): the target must be at most one minor version above the cluster version, and an
 * upgrade to the next minor waits until the last one's storage migration is done.
 */
export function clusterVersionRefusal(
  observation: NodeObservation | undefined,
  target: EtcdVersion,
): Refusal | undefined {
  const cluster = parseVersion(observation?.versions?.cluster ?? "");
  if (!cluster) return undefined;
  if (target.major !== cluster.major || target.minor > cluster.minor + 1) {
    return {
      message: `the cluster version is ${series(cluster)}: going to ${target.text} skips a minor version`,
      hint: `etcd upgrades one minor version at a time: upgrade to the newest ${cluster.major}.${cluster.minor + 1} first`,
    };
  }
  if (target.minor < cluster.minor) {
    return {
      message: `the cluster version is ${series(cluster)}: going to ${target.text} is a downgrade, which upgrade does not do`,
      hint: "set the config back to the version the pair runs",
    };
  }
  const storage = parseVersion(observation?.versions?.storage ?? "");
  if (storage && target.minor > cluster.minor && compareVersions(storage, { ...cluster, patch: 0 }) < 0) {
    return {
      message:
        `the storage version is ${text(storage)}, behind the cluster version ${series(cluster)}: etcd has not ` +
        "finished migrating its data to the last upgrade",
      hint: "wait a few seconds (etcd migrates within one version check) and run upgrade again",
    };
  }
  return undefined;
}

/** Both nodes run different versions and neither is the target: not a state an upgrade to it leaves. */
export function mixedVersionsRefusal(
  running: readonly { node: string; version: EtcdVersion | undefined }[],
  target: EtcdVersion,
): Refusal | undefined {
  const versions = running.flatMap((r) => (r.version ? [{ node: r.node, version: r.version }] : []));
  const [a, b] = versions;
  if (!a || !b || compareVersions(a.version, b.version) === 0) return undefined;
  if (versions.some((r) => compareVersions(r.version, target) === 0)) return undefined;
  return {
    message:
      `${a.node} runs etcd ${a.version.text} and ${b.node} runs ${b.version.text}; neither is ${target.text}, ` +
      "the version the config names",
    hint: "name the version one of them runs (finish that upgrade first), then upgrade on from there",
  };
}

/**
 * A fresh upgrade (no marker of one under way) starts only from a healthy pair: a main that leads and a learner of
 * its cluster that runs and answers. A resumed upgrade also accepts the states the upgrade passes through.
 */
export function pairHealthRefusal(view: PairView, leader: NodeSpec | undefined): Refusal | undefined {
  const hint = "run 'etcd-pair status'; make the pair healthy ('etcd-pair up', 'rejoin' or 'failover') first";
  if (!leader) return { message: "the pair is not healthy: no node leads a cluster", hint };
  const other = view.peer(leader);
  const entry = view.memberEntry(leader, other);
  const obs = view.of(other);
  if (!entry)
    return { message: `the pair is not healthy: ${other.name} is not a member of ${leader.name}'s cluster`, hint };
  if (!entry.isLearner) {
    return {
      message: `the pair is not healthy: ${other.name} is a voter of ${leader.name}'s cluster (an interrupted switchover?)`,
      hint: "finish it with 'etcd-pair switchover', then upgrade",
    };
  }
  if (!obs.running || !obs.status?.isLearner) {
    const why = obs.running ? (obs.statusError ?? "it does not answer") : "etcd is not running";
    return { message: `the pair is not healthy: ${other.name} is not a running learner (${why})`, hint };
  }
  return undefined;
}

/** The marker of an upgrade to `target` that began, from either node. */
export function markerFor(observations: readonly NodeObservation[], target: EtcdVersion): UpgradeMarker | undefined {
  return observations.find((o) => o.upgrade?.target === target.text)?.upgrade;
}
