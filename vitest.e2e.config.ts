import { defineConfig } from "vitest/config";

/** The end-to-end suite on real systemd + sshd hosts (scripts/e2e/hosts.sh); run by `npm run test:e2e`. */
export default defineConfig({
  test: {
    setupFiles: ["test/setup/scratch.ts"],
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
