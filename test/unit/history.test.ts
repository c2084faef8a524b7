import { describe, expect, it } from "vitest";
import {
  checkCrashHistory,
  crashHistoryProblems,
  inFlightAt,
  reportConsistencyProblems,
  type CrashHistory,
  type LearnerCrashed,
  type LearnerRead,
} from "../helpers/history.js";
import type { AckedWrite } from "../helpers/writer.js";

/**
 * The checker the failover, e2e and torture suites rely on must fail on each kind of bad history. Write n has
 * key /k/n and revision n + 1, sent at time 10 n; the old main acknowledged writes 1..8 (revisions 2..9).
 */
const write = (n: number): AckedWrite => ({
  key: `/k/${n}`,
  value: `v${n}`,
  revision: n + 1,
  sentAt: 10 * n,
  ackedAt: 10 * n + 5,
  endpoint: "https://main:2379",
});
const acked = [1, 2, 3, 4, 5, 6, 7, 8].map(write);
const data = (ns: number[]) => new Map(ns.map((n) => [`/k/${n}`, `v${n}`]));
/** The learner had writes 1..5: revision 6. */
const learner: LearnerRead = { kind: "read", revision: 6, data: data([1, 2, 3, 4, 5]) };
const good: CrashHistory = {
  acked,
  inFlight: 1,
  learner,
  report: { restoredRevision: 6, lostRevisions: 3 },
  onNewMain: data([1, 2, 3, 4, 5]),
  loss: "measured",
};
const problems = (changes: Partial<CrashHistory>) => crashHistoryProblems({ ...good, ...changes }).problems;

describe("checkCrashHistory, the learner read before the failover", () => {
  it("passes a history where the new main has exactly what the learner had, and the loss is as measured", () => {
    const verdict = checkCrashHistory(good);
    expect(verdict.kept.map((w) => w.key)).toEqual(["/k/1", "/k/2", "/k/3", "/k/4", "/k/5"]);
    expect(verdict.lost.map((w) => w.key)).toEqual(["/k/6", "/k/7", "/k/8"]);
    expect(verdict.measuredLoss).toBe(3);
    // One write in flight at the crash may have been committed unacknowledged: one more revision, not two.
    expect(problems({ report: { restoredRevision: 6, lostRevisions: 4 } })).toEqual([]);
  });

  it("fails a failover that restored an older db and reported the larger loss (consistent with its own report)", () => {
    const broken = { report: { restoredRevision: 4, lostRevisions: 5 }, onNewMain: data([1, 2, 3]) };
    // All the old checker asked: consistent with the failover's own figures.
    expect(reportConsistencyProblems(acked, broken.report, broken.onNewMain, "measured", 1)).toEqual([]);
    const found = problems(broken);
    expect(found).toContainEqual(expect.stringContaining("(a) writes the learner had before the failover, missing"));
    expect(found).toContainEqual(expect.stringContaining("(b) writes the failover reports lost"));
    expect(found).toContainEqual(
      expect.stringContaining("(c) the failover reports restored revision 4, but the learner's own status said 6"),
    );
    expect(found).toContainEqual(expect.stringContaining("(c) reported loss 5 revision(s), but 3 measured"));
    expect(() => checkCrashHistory({ ...good, ...broken })).toThrow("/k/4@5, /k/5@6");
  });

  it("fails when a write the learner had is missing on the new main, even one never acknowledged", () => {
    expect(problems({ onNewMain: data([1, 2, 4, 5]) })).toContainEqual(
      expect.stringContaining("(a) writes the learner had before the failover, missing on the new main: /k/3@4"),
    );
    const unackedToo: LearnerRead = { ...learner, data: new Map([...learner.data, ["/k/x", "vx"]]) };
    expect(problems({ learner: unackedToo })).toContainEqual(expect.stringContaining("/k/x (never acknowledged)"));
  });

  it("fails when a value differs from the learner's", () => {
    const changed = new Map([...data([1, 2, 3, 4]), ["/k/5", "other"]]);
    expect(problems({ onNewMain: changed })).toContainEqual(expect.stringContaining("missing on the new main: /k/5@6"));
  });

  it("fails when a write the learner lacked is on the new main (two histories mixed)", () => {
    expect(problems({ onNewMain: data([1, 2, 3, 4, 5, 7]) })).toContainEqual(
      expect.stringContaining("(a) acknowledged writes the learner lacked before the failover, yet on the new main"),
    );
  });

  it("fails a restored revision above the learner's, even with the new main right", () => {
    const found = problems({ report: { restoredRevision: 7, lostRevisions: 2 } });
    expect(found).toContainEqual(expect.stringContaining("(c) the failover reports restored revision 7"));
    expect(found).toContainEqual(expect.stringContaining("by its own report: acknowledged writes up to the reported"));
  });

  it("fails a reported loss below the measured one, or above it by more than the requests in flight", () => {
    expect(problems({ report: { restoredRevision: 6, lostRevisions: 2 } })).toContainEqual(
      expect.stringContaining("(c) reported loss 2 revision(s), but 3 measured"),
    );
    expect(problems({ report: { restoredRevision: 6, lostRevisions: 5 } })).toContainEqual(
      expect.stringContaining("(allowed 3..4: 1 request(s) to the old main in flight at its crash)"),
    );
    expect(problems({ report: { restoredRevision: 6, lostRevisions: 5 }, inFlight: 2 })).toEqual([]);
    expect(problems({ report: { restoredRevision: 6, lostRevisions: 4 }, inFlight: 0 })).not.toEqual([]);
  });

  it("fails an unknown loss where it should have been measured, and allows it where it may be unknown", () => {
    const unknown = { report: { restoredRevision: 6, lostRevisions: null } };
    expect(problems(unknown)).toContainEqual(expect.stringContaining("the loss is reported unknown (null)"));
    expect(problems({ ...unknown, loss: "may-be-unknown" })).toEqual([]);
  });

  it("fails when the learner's read is not the history up to its own revision (the measurement is wrong)", () => {
    const holed: LearnerRead = { kind: "read", revision: 6, data: data([1, 2, 4, 5]) };
    expect(problems({ learner: holed, onNewMain: data([1, 2, 4, 5]) })).toContainEqual(
      expect.stringContaining("acknowledged writes up to 6 missing from it: /k/3@4"),
    );
    const ahead: LearnerRead = { kind: "read", revision: 5, data: data([1, 2, 3, 4, 5]) };
    expect(problems({ learner: ahead })).toContainEqual(expect.stringContaining("writes past 5 in it: /k/5@6"));
  });
});

describe("checkCrashHistory, the learner crashed first (a double failure)", () => {
  // Its status showed revision 4 (writes 1..3) before its crash; it was dead at time 55: writes 6..8 were sent after.
  const crashed: LearnerCrashed = { kind: "crashed", revisionBeforeCrash: 4, deadAt: 55 };
  const double = (changes: Partial<CrashHistory>) => problems({ learner: crashed, ...changes });

  it("passes a restore anywhere between its revision before the crash and the first write sent once it was dead", () => {
    expect(double({})).toEqual([]);
    expect(double({ report: { restoredRevision: 4, lostRevisions: 5 }, onNewMain: data([1, 2, 3]) })).toEqual([]);
    const verdict = checkCrashHistory({ ...good, learner: crashed });
    expect(verdict.learnerRevision).toEqual({ from: 4, to: 6 });
  });

  it("fails a restore below what the learner had applied before its crash (its WAL not replayed)", () => {
    expect(double({ report: { restoredRevision: 3, lostRevisions: 6 }, onNewMain: data([1, 2]) })).toContainEqual(
      expect.stringContaining("below the 4 the learner's own status showed before its crash"),
    );
  });

  it("fails a restore holding a write sent once the learner was dead", () => {
    const found = double({ report: { restoredRevision: 7, lostRevisions: 2 }, onNewMain: data([1, 2, 3, 4, 5, 6]) });
    expect(found).toContainEqual(expect.stringContaining("past revision 7, the first write sent once the learner"));
    expect(found).toContainEqual(
      expect.stringContaining("writes sent after the learner was dead, yet on the new main: /k/6@7"),
    );
  });

  it("fails a new main missing what the learner had before its crash, or inconsistent with the report", () => {
    expect(double({ onNewMain: data([1, 3, 4, 5]) })).toContainEqual(
      expect.stringContaining("acknowledged writes up to revision 4, which the learner had before its crash, missing"),
    );
    expect(double({ onNewMain: data([1, 2, 3, 4]) })).toContainEqual(
      expect.stringContaining("by its own report: acknowledged writes up to the reported restored revision 6, missing"),
    );
    expect(double({ report: { restoredRevision: 6, lostRevisions: 1 } })).toContainEqual(
      expect.stringContaining("by its own report: reported loss 1 revision(s), but 3 measured"),
    );
  });
});

describe("inFlightAt", () => {
  it("counts requests to the old main sent before its crash, unanswered and not refused at connect", () => {
    const at = (sentAt: number, endpoint = "https://main:2379", refused = false) => ({
      key: "/k",
      value: "v",
      sentAt,
      endpoint,
      refused,
    });
    const unacked = [at(90), at(95, "https://learner:2379"), at(99, undefined, true), at(100), at(120)];
    expect(inFlightAt(unacked, "https://main:2379", 100)).toBe(1);
  });
});
