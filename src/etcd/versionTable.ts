/**
 * What etcd-pair knows about etcd versions: the known bugs that matter to a pair (one voter + one permanent
 * learner), by version range, and what etcd-pair does about each. Pure data; src/etcd/version.ts reads it.
 *
 * Every entry was checked against etcd's own record before it was written here, and `verified` says what and
 * where: CHANGELOG/CHANGELOG-3.x.md at etcd's main branch (commit c34dc7ee, 2026-08-20), `git tag --contains` on
 * the merge commit of each fixing PR (the first release that carries it), the issue's own text, and what was
 * measured on this machine with the tested binaries (3.4.23, 3.5.16, 3.5.30, 3.6.14, 3.7.1).
 */

/** An operation that one entry can refuse on its own while the rest of etcd-pair runs. */
export type Operation = "switchover" | "upgrade-to-3.6";

export type Consequence =
  /** etcd-pair does not run this version at all (exit 2), and says which version to install. */
  | { kind: "refuse" }
  /** Only `operation` is refused (exit 2); everything else runs. */
  | { kind: "refuse-operation"; operation: Operation }
  /** A warning: wherever versions are judged, and before `before` when set. */
  | { kind: "warn"; before?: Operation }
  /** Known and checked, but nothing etcd-pair does can meet it: listed, never judged. */
  | { kind: "note" };

/** Versions of one minor series from `from` (inclusive) up to `fixed` (exclusive); no `fixed`: no fix there. */
export interface AffectedRange {
  from: string;
  fixed?: string;
  /** The PR that fixed it in this series, when it is not the entry's own number. */
  pr?: number;
}

export interface KnownIssue {
  /** A stable name for scripts (versions --json). */
  id: string;
  /** etcd's issue number (github.com/etcd-io/etcd); absent only where etcd has none (end of life). */
  issue?: number;
  title: string;
  affects: readonly AffectedRange[];
  /** What it does to a pair. */
  effect: string;
  consequence: Consequence;
  /** Why etcd-pair answers it that way. */
  why: string;
  /**
   * The sentence after "etcd X.Y.Z" in a refusal or warning. {ref} is the fixing PR of the version's series (or
   * the issue), {fix} "fixed in A.B.C" (or "no fix in A.B").
   */
  says: string;
  /** What was checked, and where. */
  verified: string;
}

/** The versions etcd-pair's tests run on (test/helpers/etcdBinaries.ts builds each from Debian or a release). */
export const TESTED_VERSIONS: readonly string[] = ["3.4.23", "3.5.16", "3.5.30", "3.6.14", "3.7.1"];

/** The minor series etcd-pair supports: learners arrived in 3.4. */
export const SUPPORTED_SERIES: readonly string[] = ["3.4", "3.5", "3.6", "3.7"];

/** Series etcd no longer patches (see the end-of-life entries below). */
export const END_OF_LIFE_SERIES: readonly string[] = ["3.4"];

export const KNOWN_ISSUES: readonly KnownIssue[] = [
  {
    id: "one-voter-durability",
    issue: 14370,
    title: "a one-member cluster can lose acknowledged writes on a crash",
    affects: [
      { from: "3.4.0", fixed: "3.4.21", pr: 14423 },
      { from: "3.5.0", fixed: "3.5.5", pr: 14424 },
    ],
    effect:
      "The main is the only voter: etcd answered a write before it was in the WAL and bbolt, so a crash of " +
      "the main right after the answer could lose it, and the learner may not have it yet either.",
    consequence: { kind: "refuse" },
    why: "losing acknowledged writes is what the pair exists to prevent",
    says: "can lose acknowledged writes when a one-member cluster crashes (etcd issue #14370, {fix})",
    verified:
      "issue #14370 'Durability API guarantee broken in single node cluster' (closed); CHANGELOG-3.4 v3.4.21 and " +
      "CHANGELOG-3.5 v3.5.5 list the fix (PR #14423 first tagged v3.4.21, PR #14424 first tagged v3.5.5); 3.6.0 " +
      "carries the raft-side fix (PR #14413, etcd's 3.6 announcement)",
  },
  {
    id: "promote-unstarted-learner",
    issue: 15097,
    title: "member promote can promote a learner that has not started",
    affects: [
      { from: "3.4.0", fixed: "3.4.24" },
      { from: "3.5.0", fixed: "3.5.7", pr: 15096 },
    ],
    effect:
      "A promote that reaches the leader before it has applied the learner's addition skips the 'learner in " +
      "sync' check: the pair becomes two voters, one not running, and the main stops taking writes.",
    consequence: { kind: "warn", before: "switchover" },
    why:
      "switchover promotes only after the learner has applied everything the main has, so it never promotes " +
      "a learner that has not started; a promote by hand can",
    says: "can promote a learner that has not started (etcd #{ref}, {fix})",
    verified:
      "CHANGELOG-3.4 v3.4.24 and CHANGELOG-3.5 v3.5.7 'etcdserver might promote a non-started learner' link " +
      "PRs #15097 (3.4, first tagged v3.4.24) and #15096 (3.5, first tagged v3.5.7), backports of #15095; etcd " +
      "has no separate issue for it (changelog PR #15098 links only these PRs): 15097 is a PR number",
  },
  {
    id: "promotion-not-persisted",
    issue: 19557,
    title: "a learner's promotion is not recorded in the v3 store (bbolt)",
    affects: [{ from: "3.5.1", fixed: "3.5.20", pr: 19563 }],
    effect:
      "member promote updates the v2 store, which 3.5 reads, but not bbolt: after a switchover the new main's " +
      "bbolt still lists it as a learner. 3.5 runs on; 3.6 reads membership from bbolt, so an upgrade of that " +
      "data to 3.6.0-3.6.3 can fail ('membership: too many learner members in cluster').",
    consequence: { kind: "warn", before: "switchover" },
    why:
      "the switchover itself works on 3.5 (measured on 3.5.16); what it breaks is a later upgrade to 3.6, " +
      "which upgrade-to-3.6 refuses below 3.5.26",
    says: "may not persist a learner promotion in the v3 store (etcd #{ref}, {fix})",
    verified:
      "issue #19557 says only 3.5.1-3.5.19 are affected (introduced by PR #13348); CHANGELOG-3.5 v3.5.20 (PR " +
      "#19563, first tagged v3.5.20). Measured here: a switchover on 3.5.16 (promote, move-leader, remove), " +
      "then the new main started on 3.6.14: 3.6.14 logged 'Detected member only in v3store ... IsLearner:true' " +
      "and 'Forcibly apply member promotion request in v3store' and ran; the same on 3.5.30 recorded " +
      "IsLearner:false. Issue 16 says it breaks every switchover's promotion: on 3.5 it does not",
  },
  {
    id: "promotion-propagated",
    issue: 20793,
    title: "an unrecorded promotion is copied to a new member by a snapshot",
    affects: [{ from: "3.5.0", fixed: "3.5.24", pr: 20797 }],
    effect:
      "A learner that receives a snapshot from a member that ran 3.5.1-3.5.19 inherits its stale bbolt " +
      "membership, even when it runs a fixed 3.5: a rejoin after such a switchover carries the problem on.",
    consequence: { kind: "refuse-operation", operation: "upgrade-to-3.6" },
    why: "it breaks only the upgrade to 3.6; 3.5 itself runs",
    says: "can carry an unrecorded learner promotion into a new member (etcd #20793, {fix})",
    verified:
      "issue #20793 (closed; upgrade 3.5.19 -> 3.5.21 -> 3.6.4 failed); CHANGELOG-3.5 v3.5.24 (PR #20797, first " +
      "tagged v3.5.24)",
  },
  {
    id: "zombie-members",
    issue: 20967,
    title: "removed members come back after an upgrade to 3.6 ('zombie members')",
    affects: [{ from: "3.5.0", fixed: "3.5.26", pr: 20995 }],
    effect:
      "3.5 can keep members in bbolt that its v2 store removed; 3.6 reads membership from bbolt, so after the " +
      "upgrade they reappear as voters and the cluster may not work. A pair removes a member at every " +
      "switchover and rejoin.",
    consequence: { kind: "refuse-operation", operation: "upgrade-to-3.6" },
    why: "it breaks only the upgrade to 3.6; 3.5.26 cleans the v3 store from the v2 store",
    says: "must not be upgraded to 3.6: removed members can come back (etcd #20967, {fix})",
    verified:
      "issue #20967 'Upgrade to etcd 3.6 recovers old/duplicate members from store'; CHANGELOG-3.5 v3.5.26 " +
      "'Fix zombie members in v3store' (PR #20995, first tagged v3.5.26); etcd's upgrade guide (docs/latest " +
      "upgrade_3_6): all 3.5 members on 3.5.26 or later first (the v3.7 docs' copy asks 3.5.32, for v2 data " +
      "checks that matter only with --enable-v2, which etcd-pair never sets)",
  },
  {
    id: "promotion-replay-panic",
    issue: 20340,
    title: "a member of a cluster built by promotions may not restart after a removal",
    affects: [{ from: "3.6.0", fixed: "3.6.4", pr: 20387 }],
    effect:
      "Replaying a learner promotion missing from bbolt fails on start ('failed to nodeToMember', 'too many " +
      "learner members'): a pair's switchover (promote the learner, remove the old main) builds exactly that " +
      "cluster, and the next restart of the main can fail.",
    consequence: { kind: "refuse" },
    why: "a main that may not come back after a restart defeats the pair; the fix is a patch release",
    says: "may fail to restart after a switchover (etcd #20340, {fix})",
    verified:
      "CHANGELOG-3.6 v3.6.4 'Fix etcdserver bootstrap failure when replaying learner promotion operation' (PR " +
      "#20387 'fix #20340', first tagged v3.6.4); etcd's reproduction TestReproduce20340: a cluster made by " +
      "promoting members, one removed, another restarted. Not measured here (no 3.6.0-3.6.3 binary)",
  },
  {
    id: "member-update-learner",
    issue: 21694,
    title: "member update forgets that the member is a learner",
    affects: [
      { from: "3.4.0" },
      { from: "3.5.0", fixed: "3.5.31", pr: 21737 },
      { from: "3.6.0", fixed: "3.6.12", pr: 21736 },
    ],
    effect:
      "After `etcdctl member update` of the learner (say, a new peer URL), member list shows it as a voter " +
      "while raft still treats it as a learner: status misreads the pair, promote is rejected, and a second " +
      "learner can be added.",
    consequence: { kind: "warn" },
    why:
      "etcd-pair never runs member update; an operator who does should re-add the learner with " +
      "'etcd-pair rejoin' instead",
    says: "forgets a learner's role on member update (etcd #21694, {fix})",
    verified:
      "issue #21694 'MemberUpdate forgets that the member is a learner' (closed); CHANGELOG-3.5 v3.5.31 (PR " +
      "#21737) and CHANGELOG-3.6 v3.6.12 (PR #21736), both 'MemberUpdate implicitly and unexpectedly promotes " +
      "a learner'; main PR #21719 first tagged v3.7.0; v3.4.45's UpdateRaftAttributes still overwrites " +
      "IsLearner (3.4 has no fix)",
  },
  {
    id: "learner-removes-itself",
    issue: 21610,
    title: "a learner removed itself after receiving a snapshot (open)",
    affects: [{ from: "3.6.0" }],
    effect:
      "Reported on a three-member 3.6 cluster: the new learner left the member list and exited after the " +
      "leader sent it a snapshot. The pair would lose its standby until a rejoin.",
    consequence: { kind: "warn" },
    why: "open and not reproduced here; 'etcd-pair status' shows a missing learner and rejoin brings it back",
    says: "has an open report of a learner removing itself after a snapshot (etcd #21610, {fix})",
    verified:
      "issue #21610 is open; its log names raft v3.6.0, the raft of every etcd 3.6 (not the etcd patch " +
      "release). Not reproduced here on 3.5.30, 3.6.14 or 3.7.1: a main with --snapshot-count=100 and 10 " +
      "catch-up entries sent the new learner a snapshot, the learner applied it, stayed a learner, and stayed " +
      "one across a restart. No report on 3.7",
  },
  {
    id: "force-new-cluster-learner",
    issue: 20893,
    title: "--force-new-cluster keeps a learner after a snapshot",
    affects: [
      { from: "3.4.0" },
      { from: "3.5.0", fixed: "3.5.25", pr: 20897 },
      { from: "3.6.0", fixed: "3.6.6", pr: 20896 },
    ],
    effect: "A member forced into a one-member cluster still lists the learner it had.",
    consequence: { kind: "note" },
    why:
      "etcd-pair never uses --force-new-cluster: failover restores the learner's data as a new cluster, and " +
      "the loss assessment restarts a copy of the old main as the member it was",
    says: "keeps learners with --force-new-cluster (etcd #20893, {fix})",
    verified:
      "issue #20893 (labels release/v3.4, 3.5, 3.6); first tagged: PR #20897 in v3.5.25, #20896 in v3.6.6, " +
      "#20894 in v3.7.0. CHANGELOG-3.5 v3.5.25 links #20896, the 3.6 backport: the 3.5 one is #20897",
  },
  {
    id: "learner-rejoin-panic",
    issue: 21178,
    title: "a fresh learner panicked joining after a member remove/add (open)",
    affects: [{ from: "3.6.0" }],
    effect:
      "'tocommit(N) is out of range [lastIndex(0)]' on the new learner: a rejoin (remove, add --learner, " +
      "start empty) would fail to start the learner.",
    consequence: { kind: "note" },
    why:
      "open, with no etcd version established in what could be read of it; etcd-pair's rejoin and switchover " +
      "do exactly this on every tested version (3.4.23 to 3.7.1) in the integration tests, without it",
    says: "has an open report of a learner panic on rejoin (etcd #21178, {fix})",
    verified: "issue #21178 is open (last comment 2026-09-09); BRIEF.md places it on 3.6.0",
  },
  {
    id: "end-of-life-3.4",
    title: "etcd 3.4 is end of life",
    affects: [{ from: "3.4.0" }],
    effect: "No more fixes for 3.4: bugs fixed later in 3.5 and 3.6 (member update, #21694) stay in 3.4.",
    consequence: { kind: "warn" },
    why: "3.4 still works for a pair; plan a move to 3.5.31 or later, then 3.6",
    says: "is end of life: 3.4.45 (2026-06-01) was the last 3.4 release",
    verified:
      "CHANGELOG-3.4 v3.4.45 (2026-06-01): 'this release marks the end of support (EOL) for v3.4. No further " +
      "patches will be issued'; 3.5 is still patched (v3.5.33, 2026-07-23; v3.5.34 in progress)",
  },
];
