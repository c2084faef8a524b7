import { describe, expect, it } from "vitest";
import { checkCrashHistory } from "../helpers/history.js";
import type { AckedWrite } from "../helpers/writer.js";

/** The checker the failover, e2e and torture suites rely on must fail on each kind of bad history. */
const write = (n: number): AckedWrite => ({
  key: `/k/${n}`,
  value: `v${n}`,
  revision: n + 1,
  ackedAt: n,
  endpoint: "https://main:2379",
});
const acked = [1, 2, 3, 4, 5].map(write); // revisions 2..6
const data = (ns: number[]) => new Map(ns.map((n) => [`/k/${n}`, `v${n}`]));

describe("checkCrashHistory", () => {
  it("passes a history where exactly the writes past the restored revision are gone, as reported", () => {
    const { kept, lost } = checkCrashHistory(
      acked,
      { restoredRevision: 4, lostRevisions: 2 },
      data([1, 2, 3]),
      "measured",
    );
    expect(kept.map((w) => w.key)).toEqual(["/k/1", "/k/2", "/k/3"]);
    expect(lost.map((w) => w.key)).toEqual(["/k/4", "/k/5"]);
  });

  it("fails when a write up to the restored revision is missing", () => {
    const report = { restoredRevision: 4, lostRevisions: 2 };
    expect(() => checkCrashHistory(acked, report, data([1, 3]), "measured")).toThrow();
  });

  it("fails when a write past the restored revision is there anyway (two histories mixed)", () => {
    const report = { restoredRevision: 4, lostRevisions: 2 };
    expect(() => checkCrashHistory(acked, report, data([1, 2, 3, 5]), "measured")).toThrow();
  });

  it("fails when the reported loss is below the writes lost, or above them plus the requests in flight", () => {
    expect(() =>
      checkCrashHistory(acked, { restoredRevision: 4, lostRevisions: 1 }, data([1, 2, 3]), "measured"),
    ).toThrow();
    expect(() =>
      checkCrashHistory(acked, { restoredRevision: 4, lostRevisions: 4 }, data([1, 2, 3]), "measured", 1),
    ).toThrow();
    expect(() =>
      checkCrashHistory(acked, { restoredRevision: 4, lostRevisions: 4 }, data([1, 2, 3]), "measured", 2),
    ).not.toThrow();
  });

  it("fails when the loss should have been measured but is reported unknown", () => {
    const report = { restoredRevision: 4, lostRevisions: null };
    expect(() => checkCrashHistory(acked, report, data([1, 2, 3]), "measured")).toThrow();
    expect(() => checkCrashHistory(acked, report, data([1, 2, 3]), "may-be-unknown")).not.toThrow();
  });
});
