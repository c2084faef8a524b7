import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../golden");

/** True when golden files may be written: UPDATE_GOLDEN=1, and never in CI (CI set), whatever UPDATE_GOLDEN says. */
export function goldenUpdateAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "0" && env.CI.toLowerCase() !== "false";
  return env.UPDATE_GOLDEN === "1" && !ci;
}

/**
 * Compares with test/golden/NAME. A missing or different golden file fails the test; UPDATE_GOLDEN=1 writes it
 * instead (review the diff before committing), except in CI, where nothing is ever written: it only compares.
 */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (goldenUpdateAllowed() && (!existsSync(file) || readFileSync(file, "utf8") !== actual)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  if (!existsSync(file)) {
    throw new Error(
      `golden file test/golden/${name} is missing: ` +
        (process.env.UPDATE_GOLDEN === "1"
          ? "CI is set, so UPDATE_GOLDEN=1 writes nothing; write it locally and commit it"
          : "run with UPDATE_GOLDEN=1 to write it, then review it"),
    );
  }
  expect(actual, `differs from test/golden/${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(file, "utf8"));
}
