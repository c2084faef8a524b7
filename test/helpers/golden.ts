import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../golden");

/** Compares with test/golden/NAME; UPDATE_GOLDEN=1 rewrites the file (review the diff before committing). */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    if (process.env.CI) throw new Error(`golden file ${name} is missing or being rewritten in CI`);
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}
