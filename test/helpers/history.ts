import type { AckedWrite, UnackedWrite } from "./writer.js";

/** The figures under test: what `failover --json` (or `rejoin --json`, for the loss) reported. */
export interface FailoverFigures {
  restoredRevision: number;
  lostRevisions: number | null;
}

/**
 * What the learner had, measured by the test itself after the main died and before the failover began
 * (test/helpers/learnerRead.ts): its own applied revision from its status, and a serializable read of the
 * writer's keys at that same revision.
 */
export interface LearnerRead {
  kind: "read";
  revision: number;
  data: ReadonlyMap<string, string>;
}

/**
 * The learner crashed before the main (a double failure): it cannot be read before the failover, which starts
 * it once to apply what its WAL holds (BRIEF §3 step 2). What the test knows instead bounds what it had: its
 * revision read from its own status a moment before it was crashed (a WAL replay must give at least that back)
 * and the writes sent once it was dead (it cannot have any of them).
 */
export interface LearnerCrashed {
  kind: "crashed";
  revisionBeforeCrash: number;
  /** performance.now() once the learner was certainly dead. */
  deadAt: number;
}

export interface CrashHistory {
  /** The writes the old main acknowledged before its crash. */
  acked: readonly AckedWrite[];
  /** Requests to the old main sent before its crash and never acknowledged (see inFlightAt). */
  inFlight: number;
  learner: LearnerRead | LearnerCrashed;
  report: FailoverFigures;
  /** The writer's keys on the new main after the failover. */
  onNewMain: ReadonlyMap<string, string>;
  /** "may-be-unknown" where the old main's disk could not be read (powered off): null is then allowed. */
  loss: "measured" | "may-be-unknown";
}

export interface CrashVerdict {
  /** Acknowledged writes on the new main: those the learner had (or, for a crashed learner, up to the restore). */
  kept: AckedWrite[];
  lost: AckedWrite[];
  /** The loss in revisions as the test measured it: the old main's last acknowledged revision less the learner's. */
  measuredLoss: number;
  /** What the learner is known to have had: exactly one revision when it was read, a range when it had crashed. */
  learnerRevision: { from: number; to: number };
  problems: string[];
}

/**
 * Requests to `oldMain` sent before it crashed, never acknowledged, and not refused at connect. Each may have
 * been committed by the old main without its answer reaching the client, so the old main's last revision (what
 * the failover counts the loss from) may exceed the last acknowledged one by at most this many. A refused
 * connection never reached etcd; a request sent after the crash cannot have been committed (`crashedAt` is taken
 * once the crash is over, so this may over-count, never under-count).
 */
export function inFlightAt(unacked: readonly UnackedWrite[], oldMain: string, crashedAt: number): number {
  return unacked.filter((w) => w.endpoint === oldMain && w.sentAt < crashedAt && !w.refused).length;
}

/** The highest revision among `writes` (0 for none); no spread: a torture cycle acknowledges tens of thousands. */
const maxRevision = (writes: readonly AckedWrite[]) => writes.reduce((max, w) => Math.max(max, w.revision), 0);

const named = (writes: readonly AckedWrite[], max = 10) =>
  writes
    .slice(0, max)
    .map((w) => `${w.key}@${w.revision}`)
    .join(", ") + (writes.length > max ? `, … (${writes.length} in all)` : "");

/**
 * What the old checker asked, and all it could ask: is the new main consistent with the failover's own report?
 * Every acknowledged write up to the reported restored revision is there, none after it, and the reported loss
 * is the writes past it plus at most the requests in flight. A failover that restored an older db and reported
 * the larger loss passes this; checkCrashHistory does not.
 */
export function reportConsistencyProblems(
  acked: readonly AckedWrite[],
  report: FailoverFigures,
  onNewMain: ReadonlyMap<string, string>,
  loss: "measured" | "may-be-unknown",
  inFlight: number,
): string[] {
  const problems: string[] = [];
  const kept = acked.filter((w) => w.revision <= report.restoredRevision);
  const lost = acked.filter((w) => w.revision > report.restoredRevision);
  const missing = kept.filter((w) => onNewMain.get(w.key) !== w.value);
  if (missing.length > 0) {
    problems.push(
      `acknowledged writes up to the reported restored revision ${report.restoredRevision}, missing on the new main: ${named(missing)}`,
    );
  }
  const mixed = lost.filter((w) => onNewMain.has(w.key));
  if (mixed.length > 0) {
    problems.push(
      `acknowledged writes past the reported restored revision ${report.restoredRevision}, yet on the new main (two histories mixed): ${named(mixed)}`,
    );
  }
  const lastAcked = maxRevision(acked);
  const against = `the reported restored revision (the old main acknowledged up to ${lastAcked})`;
  problems.push(...lossProblems(report, loss, Math.max(0, lastAcked - report.restoredRevision), inFlight, against));
  return problems;
}

/**
 * The reported loss against a measured one. The failover counts from the old main's last committed revision, which
 * may exceed its last acknowledged one by the requests in flight at the crash (committed, never answered): that
 * allowance, and only it, is above the measured loss; none is below it.
 */
function lossProblems(
  report: FailoverFigures,
  loss: "measured" | "may-be-unknown",
  measured: number,
  inFlight: number,
  against: string,
): string[] {
  if (report.lostRevisions === null) {
    return loss === "measured" ? ["the loss is reported unknown (null), but the old main's data could be read"] : [];
  }
  if (report.lostRevisions >= measured && report.lostRevisions <= measured + inFlight) return [];
  return [
    `reported loss ${report.lostRevisions} revision(s), but ${measured} measured against ${against} ` +
      `(allowed ${measured}..${measured + inFlight}: ${inFlight} request(s) to the old main in flight at its crash)`,
  ];
}

/**
 * The crash-failover check, on what the test measured itself rather than on the failover's figures.
 *
 * When the learner was read before the failover (its own revision L and its copy of the writer's keys):
 * - that read is a prefix of the old main's history: every acknowledged write up to L is in it, none after;
 * - (a) every write the learner had is on the new main, value for value (nothing that could be kept is lost),
 *   and no acknowledged write it lacked is (no two histories mixed);
 * - (b) no write the failover reports lost (past its restored revision) was on the learner;
 * - (c) the restored revision is L, and the reported loss is the old main's last acknowledged revision less L,
 *   plus at most the requests in flight at the crash (see lossProblems).
 *
 * When the learner had crashed first (LearnerCrashed), what it had lies between the revision its status showed
 * a moment before its crash and the first write sent once it was dead; the checker requires the restored
 * revision inside those bounds (so a failover that skipped the WAL replay, or kept a write the learner never got,
 * fails), every write sent after its death absent from the new main, and the new main and the loss consistent with
 * the restored revision. Where inside those bounds the truth lies cannot be told: that window (the writes
 * acknowledged around the learner's crash) is the only place a wrong figure could hide, and its width is returned.
 *
 * Besides, the new main must be consistent with the failover's own report (reportConsistencyProblems).
 */
export function crashHistoryProblems(history: CrashHistory): CrashVerdict {
  const { acked, inFlight, learner, report, onNewMain, loss } = history;
  const problems: string[] = [];
  const lastAcked = maxRevision(acked);
  const restored = report.restoredRevision;
  let verdict: Omit<CrashVerdict, "problems">;
  if (learner.kind === "read") {
    const L = learner.revision;
    const had = (w: AckedWrite) => learner.data.get(w.key) === w.value;
    const gap = acked.filter((w) => w.revision <= L && !had(w));
    const ahead = acked.filter((w) => w.revision > L && had(w));
    if (gap.length > 0 || ahead.length > 0) {
      problems.push(
        `the learner's read is not the old main's history up to its own revision ${L}` +
          (gap.length > 0 ? `; acknowledged writes up to ${L} missing from it: ${named(gap)}` : "") +
          (ahead.length > 0 ? `; writes past ${L} in it: ${named(ahead)}` : ""),
      );
    }
    const byKey = new Map(acked.map((w) => [w.key, w]));
    const dropped = [...learner.data].filter(([key, value]) => onNewMain.get(key) !== value);
    if (dropped.length > 0) {
      const shown = dropped.slice(0, 10).map(([key]) => {
        const w = byKey.get(key);
        return w ? `${key}@${w.revision}` : `${key} (never acknowledged)`;
      });
      problems.push(
        `(a) writes the learner had before the failover, missing on the new main: ${shown.join(", ")}` +
          (dropped.length > 10 ? `, … (${dropped.length} in all)` : ""),
      );
    }
    const lost = acked.filter((w) => !had(w));
    const mixed = lost.filter((w) => onNewMain.has(w.key));
    if (mixed.length > 0) {
      problems.push(
        `(a) acknowledged writes the learner lacked before the failover, yet on the new main (two histories mixed): ${named(mixed)}`,
      );
    }
    const reportedLostButHad = acked.filter((w) => w.revision > restored && had(w));
    if (reportedLostButHad.length > 0) {
      problems.push(
        `(b) writes the failover reports lost (past its restored revision ${restored}), yet the learner had them ` +
          `before the failover: ${named(reportedLostButHad)}`,
      );
    }
    if (restored !== L) {
      problems.push(
        `(c) the failover reports restored revision ${restored}, but the learner's own status said ${L} before it`,
      );
    }
    const measuredLoss = Math.max(0, lastAcked - L);
    const against = `the learner's revision ${L} (the old main acknowledged up to ${lastAcked})`;
    problems.push(...lossProblems(report, loss, measuredLoss, inFlight, against).map((p) => `(c) ${p}`));
    verdict = { kept: acked.filter(had), lost, measuredLoss, learnerRevision: { from: L, to: L } };
  } else {
    const lo = learner.revisionBeforeCrash;
    const afterDeath = acked.filter((w) => w.sentAt > learner.deadAt);
    const hi = afterDeath.reduce((min, w) => Math.min(min, w.revision - 1), Infinity);
    if (restored < lo) {
      problems.push(
        `the failover reports restored revision ${restored}, below the ${lo} the learner's own status showed before ` +
          `its crash: what it had applied was not given back (its WAL is replayed by starting it once)`,
      );
    }
    if (restored > hi) {
      problems.push(
        `the failover reports restored revision ${restored}, past revision ${hi + 1}, the first write sent once the ` +
          `learner was dead: it cannot have had it`,
      );
    }
    const lostForSure = afterDeath.filter((w) => onNewMain.has(w.key));
    if (lostForSure.length > 0) {
      problems.push(`writes sent after the learner was dead, yet on the new main: ${named(lostForSure)}`);
    }
    const hadForSure = acked.filter((w) => w.revision <= lo && onNewMain.get(w.key) !== w.value);
    if (hadForSure.length > 0) {
      problems.push(
        `acknowledged writes up to revision ${lo}, which the learner had before its crash, missing on the new main: ${named(hadForSure)}`,
      );
    }
    const within = Math.min(Math.max(restored, lo), hi);
    verdict = {
      kept: acked.filter((w) => w.revision <= restored),
      lost: acked.filter((w) => w.revision > restored),
      measuredLoss: Math.max(0, lastAcked - within),
      learnerRevision: { from: lo, to: hi === Infinity ? lastAcked : hi },
    };
  }
  problems.push(
    ...reportConsistencyProblems(acked, report, onNewMain, loss, inFlight).map((p) => `by its own report: ${p}`),
  );
  return { ...verdict, problems };
}

/** crashHistoryProblems, throwing one error that lists every problem; returns the verdict when there is none. */
export function checkCrashHistory(history: CrashHistory): CrashVerdict {
  const verdict = crashHistoryProblems(history);
  if (verdict.problems.length > 0) {
    throw new Error(
      `crash failover history: ${verdict.problems.length} problem(s), with the learner measured at revision ` +
        `${verdict.learnerRevision.from}${verdict.learnerRevision.to !== verdict.learnerRevision.from ? `..${verdict.learnerRevision.to}` : ""} ` +
        `and the failover reporting restored revision ${history.report.restoredRevision}, ` +
        `lost ${history.report.lostRevisions} revision(s):\n- ${verdict.problems.join("\n- ")}`,
    );
  }
  return verdict;
}
