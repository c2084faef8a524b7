import { expect } from "vitest";
import type { AckedWrite } from "./writer.js";

/**
 * The crash-failover check on a history of acknowledged writes: every write up to the restored revision is on
 * the new main, none after it (a lost write that is there anyway would mean split brain), and the reported
 * loss, when it could be measured, is the writes past the restore plus at most the writer's requests in flight
 * (committed by the old main, never acknowledged to the client).
 */
export function checkCrashHistory(
  acked: readonly AckedWrite[],
  report: { restoredRevision: number; lostRevisions: number | null },
  onNewMain: ReadonlyMap<string, string>,
  loss: "measured" | "may-be-unknown",
  inFlight = 1,
): { kept: AckedWrite[]; lost: AckedWrite[] } {
  const kept = acked.filter((w) => w.revision <= report.restoredRevision);
  const lost = acked.filter((w) => w.revision > report.restoredRevision);
  expect(kept.filter((w) => onNewMain.get(w.key) !== w.value).map((w) => `${w.key}@${w.revision}`)).toEqual([]);
  expect(lost.filter((w) => onNewMain.has(w.key)).map((w) => w.key)).toEqual([]);
  if (loss === "measured") expect(report.lostRevisions).not.toBeNull();
  if (report.lostRevisions !== null) {
    expect(report.lostRevisions).toBeGreaterThanOrEqual(lost.length);
    expect(report.lostRevisions).toBeLessThanOrEqual(lost.length + inFlight);
  }
  return { kept, lost };
}
