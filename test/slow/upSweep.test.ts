import { afterEach, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { reportedSteps, runKilledAfterStep } from "../helpers/interrupt.js";
import { TestPair } from "../helpers/pair.js";

/**
 * `up` SIGKILLed after each of its steps in turn, on a fresh pair each time, then run again: every re-run must
 * converge to a healthy pair. About 40 s per etcd version, so `npm run test:slow` runs it (CI: every version);
 * npm test keeps the two chosen boundaries of test/integration/resume.test.ts.
 */
describe.each(TEST_BUILDS)("up is resumable at every step boundary on etcd $series", (build) => {
  let pair: TestPair | undefined;
  afterEach(async () => {
    await pair?.cleanup();
    pair = undefined;
  });

  it(
    "killed after each step of up in turn: every re-run converges to a healthy pair",
    { timeout: 900_000 },
    async () => {
      requireBuild(build);
      const boundaries: string[] = [];
      for (let k = 1; ; k++) {
        pair = await TestPair.create(build.binDir);
        const { result: first, killedAfter } = await runKilledAfterStep(pair, ["up", "--json"], k);
        if (!killedAfter) {
          // up ran to its end with fewer than k steps: every boundary has been tried, one per step it reports.
          expect(first.code, first.stderr).toBe(0);
          const steps = reportedSteps(first);
          expect(
            boundaries.length,
            `up reports ${steps.length} steps (${steps.join(", ")}) but was killed after ${boundaries.length}: ` +
              `are its step lines still "  ok …"?`,
          ).toBe(steps.length);
          expect(steps.length, "up reports its steps").toBeGreaterThanOrEqual(15);
          break;
        }
        const again = await pair.run(["up"]);
        expect(again.code, `re-run after a kill following "${killedAfter}":\n${again.stderr}`).toBe(0);
        expect((await pair.run(["check"])).code, `check after "${killedAfter}"`).toBe(0);
        boundaries.push(killedAfter);
        await pair.cleanup();
        pair = undefined;
      }
      console.log(
        `etcd ${build.series}: up killed after each of its ${boundaries.length} steps; every re-run converged`,
      );
    },
  );
});
