import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { TestPair } from "../helpers/pair.js";
import { storageVersionsSettled } from "../helpers/settled.js";

/**
 * Every command that changes hosts has --dry-run: it prints the steps it would run (the same ids --help lists)
 * and changes nothing, not even on this machine (the config's dir holds the controller's certificates too).
 */
const LOGS = ["alpha/etcd.log", "beta/etcd.log"];

describe.each(PRIMARY_TEST_BUILDS)("--dry-run changes nothing, on etcd $series", (build) => {
  let pair: TestPair;
  let snapshotFile: string;

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    const up = await pair.run(["up"]);
    expect(up.code, up.stderr).toBe(0);
    const saved = await pair.run(["snapshot", "save", "--json"]);
    expect(saved.code, saved.stderr).toBe(0);
    snapshotFile = (JSON.parse(saved.stdout) as { file: string }).file;
    await storageVersionsSettled(pair);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it.each([
    [["up", "--dry-run"], "# nothing to do: the pair is up"],
    [["plan"], "# nothing to do: the pair is up"],
    [["down", "--dry-run"], "[change: down.learner.stop]"],
    [["down", "--purge", "--dry-run"], "[change: down.main.archive]"],
    [["switchover", "--dry-run"], "[change: switch.promote]"],
    [["certs", "renew", "--dry-run"], "[change: renew.learner.certificates]"],
    [["snapshot", "save", "--dry-run"], "[change: snapshot.save]"],
    [["snapshot", "restore", "SNAPSHOT", "--dry-run"], "[change: restore.snapshot]"],
    [["rejoin", "beta", "--dry-run"], "[verify: pair.canary]"],
    [["pause", "--reason", "maintenance", "--dry-run"], "[change: pause.history]"],
    [["resume", "--dry-run"], "# nothing to do: the pair is not paused"],
  ])("%j prints its plan, exits 0 and leaves every file of both nodes as it was", async (args, shown) => {
    const before = await fingerprint(pair.dir, LOGS);
    const result = await pair.run(args.map((a) => (a === "SNAPSHOT" ? snapshotFile : a)));
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(shown);
    expect(await fingerprint(pair.dir, LOGS)).toEqual(before);
  });

  it("--dry-run --json gives the same steps as data", async () => {
    const result = await pair.run(["down", "--purge", "--dry-run", "--json"]);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { summary: string; steps: { id: string }[] };
    expect(plan.summary).toContain("down --purge");
    expect(plan.steps.map((s) => s.id)).toEqual([
      "down.learner.stop",
      "down.learner.archive",
      "down.main.stop",
      "down.main.archive",
    ]);
  });

  it("--help lists the steps a command can run, with what each does", async () => {
    const result = await pair.run(["failover", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Steps \(each runs only when needed[^\n]*\n {2}fence\.main +fence the old main/);
    expect(result.stdout).toContain("assess.loss");
    for (const flag of ["--dry-run", "--json", "--yes"]) expect(result.stdout).toContain(flag);
  });
});
