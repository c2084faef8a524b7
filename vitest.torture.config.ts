import { defineConfig } from "vitest/config";

/**
 * Seeded fault sequences under load (test/torture), bounded by TORTURE_*: `npm run test:torture` on local
 * hosts, `npm run test:torture:e2e` (TORTURE_HOSTS=e2e) on the e2e hosts of scripts/e2e/hosts.sh.
 */
export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: [process.env.TORTURE_HOSTS === "e2e" ? "test/torture/e2e.test.ts" : "test/torture/local.test.ts"],
    testTimeout: 0,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
