import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe(".ci/run", () => {
  it("fails, naming the stage, as soon as any stage fails, and runs no later stage (scripts/ci-selftest.sh)", () => {
    const selftest = spawnSync("bash", [path.join(ROOT, "scripts/ci-selftest.sh")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(selftest.status, selftest.stderr).toBe(0);
    expect(selftest.stderr).toMatch(/ci-selftest: ok \(\d+ stages/);
  });
});
