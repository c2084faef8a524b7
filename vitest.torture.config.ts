import { defineConfig } from "vitest/config";

/**
 * The long-running suites under test/torture, one per run, chosen by TORTURE_SUITE: `local` (default; seeded
 * fault sequences on local hosts, `npm run test:torture`), `e2e` (the same on scripts/e2e/hosts.sh hosts,
 * `npm run test:torture:e2e`), `interrupt` (failover, rejoin, switchover killed at every step boundary,
 * `npm run test:torture:interrupt`).
 */
const SUITE = process.env.TORTURE_SUITE ?? "local";
const FILES: Record<string, string> = {
  local: "test/torture/local.test.ts",
  e2e: "test/torture/e2e.test.ts",
  interrupt: "test/torture/interrupt.test.ts",
};
const file = FILES[SUITE];
if (!file) throw new Error(`TORTURE_SUITE must be one of ${Object.keys(FILES).join(", ")}, not ${SUITE}`);

export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: [file],
    testTimeout: 0,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
