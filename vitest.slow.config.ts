import { defineConfig } from "vitest/config";

/**
 * Tests too slow for npm test (test/slow): `up` killed at every step boundary; the crash checker on broken
 * failovers; power loss on loop-mounted disks.
 * Run by `npm run test:slow`, on every etcd version unless ETCD_PAIR_TEST_VERSIONS says otherwise; CI runs it.
 */
export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: ["test/slow/**/*.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
