import { chmod, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ETCD_BUILDS, requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";

/** `up` killed at two chosen boundaries; test/slow/upSweep.test.ts (npm run test:slow) kills it after every step. */
describe.each(TEST_BUILDS)("up is resumable on etcd $series", (build) => {
  let pair: TestPair | undefined;
  afterEach(async () => {
    await pair?.cleanup();
  });

  /** Runs up and SIGKILLs it as soon as `line` appears on its stderr; then up again must converge. */
  async function interruptAfter(line: string) {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    const first = await pair.run(["up"], { onStderr: (text, kill) => text.includes(line) && kill() });
    expect(first.code).toBe(137);
    const second = await pair.run(["up", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    const status = await pair.run(["status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ healthy: true, leader: "alpha" });
    return (JSON.parse(second.stdout) as { steps: { id: string }[] }).steps.map((s) => s.id);
  }

  it("killed right after main started: the re-run picks up there", async () => {
    const steps = await interruptAfter("start etcd on alpha");
    expect(steps[0]).not.toBe("main.start");
    expect(steps).toContain("learner.add");
  });

  it("killed right after the learner was added: the re-run does not add it twice", async () => {
    const steps = await interruptAfter("add beta as a learner");
    expect(steps).not.toContain("learner.add");
    expect(steps.slice(0, 2)).toEqual(["learner.files", "learner.start"]);
  });
});

describe("a failing step", () => {
  let pair: TestPair | undefined;
  afterEach(async () => {
    await pair?.cleanup();
  });

  it("says which host, which step, the command, the exit code, a hint and etcd's log", async () => {
    const build = ETCD_BUILDS[0]!;
    requireBuild(build);
    // An etcd that starts on alpha but dies on beta, as a broken host would.
    const bin = await scratchDir("bin");
    await writeFile(
      path.join(bin, "etcd"),
      `#!/bin/sh\nif [ "\${ETCD_NAME:-}" = beta ]; then echo "cannot access data dir: simulated disk failure" >&2; exit 1; fi\nexec ${build.binDir}/etcd "$@"\n`,
    );
    await chmod(path.join(bin, "etcd"), 0o755);
    await symlink(path.join(build.binDir, "etcdctl"), path.join(bin, "etcdctl"));
    pair = await TestPair.create(bin);
    const result = await pair.run(["up"]);
    expect(result.code).toBe(1);
    // The first step after the start that looks at beta's etcd finds it gone.
    expect(result.stderr).toContain(`error: step "wait until beta serves`);
    expect(result.stderr).toContain("failed on beta (local)");
    expect(result.stderr).toContain("step:      learner.publish");
    expect(result.stderr).toContain("endpoint status -w json");
    expect(result.stderr).toMatch(/exit code: \d+/);
    expect(result.stderr).toContain("etcd exited");
    expect(result.stderr).toContain("hint:      etcd did not come up or does not serve");
    expect(result.stderr).toContain("cannot access data dir: simulated disk failure");
  });
});
