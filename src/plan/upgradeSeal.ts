import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { lastLine } from "../etcd/status.js";
import { newestSnapshotIndexCommand, parseSnapshotIndex } from "../etcd/snapFiles.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { shQuote } from "../shell/quote.js";
import { processGone, whileRunning } from "./checks.js";
import type { NodeObservation } from "./observed.js";
import { securePairDirCommand } from "./pairDir.js";
import type { Step } from "./step.js";
import { envFileUpload } from "./steps.js";
import type { UpgradeMarker } from "./upgradeMarker.js";
import { runningVersion } from "./upgradeRules.js";

/**
 * etcd 3.5 proposes v2 requests (its publish at every start, its cluster version); 3.6 still applies them, but
 * 3.7 applies every log entry as a v3 request and panics on one ("unmarshal should never fail"; etcd 3.7.1
 * server/etcdserver/apply/apply.go). A start replays the log after the newest raft snapshot, and etcd snapshots
 * only every 10,000 entries: a pair that ran 3.5 not long ago still has such entries to replay. So before a
 * learner on 3.6 restarts on 3.7 it is sealed: restarted once on 3.6 with --snapshot-count=1 until its newest
 * snapshot is at or past the raft index the upgrade began at (every later entry was proposed by 3.6). The old
 * main never replays its log on 3.7: it is archived and rejoins, and the new main sends it a snapshot.
 */

/** How long the sealing learner may take to come back and snapshot. */
const SEAL_WAIT_MS = 60_000;

/**
 * The raft index the learner's log must be sealed up to before it restarts on `target`; undefined when it needs
 * no seal (not a move to 3.7, or a snapshot already past it). The index is the marker's (a re-run keeps the first
 * one), else the main's now: the upgrade's begin step records it.
 */
export function sealIndex(
  learner: NodeObservation,
  main: NodeObservation,
  target: EtcdVersion,
  marker: UpgradeMarker | undefined,
): number | undefined {
  const running = runningVersion(learner);
  const crossesTo37 = target.major === 3 && target.minor >= 7 && running !== undefined && running.minor < 7;
  if (!crossesTo37) return undefined;
  const index = marker?.raftIndex ?? main.status?.raftIndex ?? learner.status?.raftIndex ?? 0;
  return (learner.snapshotIndex ?? -1) >= index ? undefined : index;
}

export interface Seal {
  pair: PairSpec;
  learner: NodeSpec;
  main: NodeSpec;
  token: string;
  service: ServiceManager;
  /** The version it runs now (the seal restarts it on the binaries it runs). */
  running: string;
  index: number;
}

/**
 * The seal as one step an operator could run by hand: the env file with ETCD_SNAPSHOT_COUNT=1, a clean stop, a
 * start on the binaries it runs (the start script is not rewritten yet), then wait for a snapshot file at or past
 * `index`. The learner restart that follows writes its env file back. A learner acknowledges no write: the main
 * serves all along.
 */
export function sealStep(s: Seal): Step {
  const layout = nodeLayout(s.learner);
  const snapDir = shQuote(`${layout.dataDir}/member/snap`);
  return {
    id: "upgrade.seal",
    title:
      `seal ${s.learner.name}'s log on etcd ${s.running}: restart it once with ETCD_SNAPSHOT_COUNT=1 until its newest ` +
      `raft snapshot is at index ${s.index} or later (etcd 3.7 cannot apply the v2 requests etcd 3.5 logged)`,
    node: s.learner.name,
    kind: "change",
    actions: [
      // Root takes the node's dir back before it writes there (README: Security), as every files step does.
      { kind: "exec", node: s.learner.name, command: securePairDirCommand(layout, s.learner.configDir) },
      {
        kind: "upload",
        node: s.learner.name,
        ...envFileUpload(s.pair, s.learner, { as: "learner", main: s.main, token: s.token }, 1),
      },
      { kind: "exec", node: s.learner.name, command: s.service.stop(), timeoutMs: 45_000 },
      { kind: "exec", node: s.learner.name, command: s.service.start() },
      {
        kind: "poll",
        probes: [{ node: s.learner.name, command: whileRunning(s.service, newestSnapshotIndexCommand(snapDir)) }],
        until: {
          describe: `a snapshot file at raft index ${s.index} or later in ${snapDir}`,
          check: ([outcome]) => {
            if (!outcome || outcome.code !== 0) return lastLine(outcome?.stderr ?? "") || "no answer";
            const newest = parseSnapshotIndex(outcome.stdout);
            if (newest === undefined) return "no snapshot file yet";
            return newest >= s.index ? undefined : `newest snapshot at index ${newest}`;
          },
        },
        abort: processGone,
        timeoutMs: SEAL_WAIT_MS,
        intervalMs: 250,
      },
    ],
    hint:
      `${s.learner.name} did not snapshot on etcd ${s.running} (its log is below); the main was not touched and ` +
      `serves on. Run 'etcd-pair upgrade' again (it seals again), or 'etcd-pair up' to write its usual env file back (etcd reads it at its next start).`,
    diagnose: s.service.logTail(30),
  };
}
