import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Four files at a time on 2 cores: the integration tests mostly wait on etcd (elections, polls), so more
    // of them overlap (measured: see the README's npm test figure); each test pair has ports and dirs of its own.
    maxWorkers: 4,
  },
});
