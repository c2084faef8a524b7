import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two files at a time: the integration tests mostly wait on etcd, so 2 cores run two of them in ~70% of the
    // time one at a time takes (measured: 197 s against 279 s); each test pair has ports and dirs of its own.
    maxWorkers: 2,
  },
});
