import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { newestSnapshotIndexCommand, parseSnapshotIndex } from "../../src/etcd/snapFiles.js";
import { shQuote } from "../../src/shell/quote.js";

describe("the newest raft snapshot in a data dir", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "snapfiles-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const newest = () =>
    parseSnapshotIndex(execFileSync("sh", ["-c", newestSnapshotIndexCommand(shQuote(dir))], { encoding: "utf8" }));

  it("is none in an empty or missing dir", () => {
    expect(newest()).toBeUndefined();
    expect(
      parseSnapshotIndex(
        execFileSync("sh", ["-c", newestSnapshotIndexCommand("/nonexistent/snap")], { encoding: "utf8" }),
      ),
    ).toBeUndefined();
  });

  it("is the highest index, as etcd names its files (<term>-<index>.snap, 16 hex digits each); others ignored", () => {
    mkdirSync(dir, { recursive: true });
    for (const name of [
      "0000000000000002-0000000000002711.snap",
      "0000000000000003-000000000000c350.snap",
      "0000000000000003-000000000000c351.snap.broken",
      "db",
    ])
      writeFileSync(path.join(dir, name), "");
    expect(newest()).toBe(0xc350);
  });
});
