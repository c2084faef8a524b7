import { defineConfig } from "vitest/config";

/** Seeded fault sequences under load (test/torture); run by `npm run test:torture`, bounded by TORTURE_*. */
export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: ["test/torture/**/*.test.ts"],
    testTimeout: 0,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
