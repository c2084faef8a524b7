import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../../src/commands/check.js";
import type { StatusReport } from "../../src/commands/status.js";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";

/** What each build's learner says at /readyz: absent before 3.4.29/3.5.11, failing non_learner from 3.5.19 and 3.6. */
const LEARNER_READY: Record<string, "absent" | "ok" | "non_learner"> = {
  "3.4.23": "absent",
  "3.5.16": "ok",
  "3.5.30": "non_learner",
  "3.6.14": "non_learner",
  "3.7.1": "non_learner",
};

describe.each(TEST_BUILDS)("etcd /livez and /readyz on etcd $series", (build) => {
  // Under mutual TLS (openssl s_client with the client certificate) and in plain text (bash's /dev/tcp).
  const pairs: Record<"tls" | "plain", TestPair | undefined> = { tls: undefined, plain: undefined };
  const expected = LEARNER_READY[build.series];
  const allOk = { ok: true, failed: [] };
  const learnerHealth = {
    live: allOk,
    ready:
      expected === "ok"
        ? allOk
        : { ok: false, failed: [{ check: "non_learner", reason: "not supported for learner" }] },
  };

  beforeAll(async () => {
    requireBuild(build);
    pairs.tls = await TestPair.create(build.binDir);
    pairs.plain = await TestPair.create(build.binDir, { tls: false });
    const ups = await Promise.all([pairs.tls.run(["up"]), pairs.plain.run(["up"])]);
    for (const up of ups) expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await Promise.all([pairs.tls?.cleanup(), pairs.plain?.cleanup()]);
  });

  it.each(["tls", "plain"] as const)("status --json carries both nodes' verdicts (%s)", async (mode) => {
    const result = await pairs[mode]!.run(["status", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    const byName = new Map(report.nodes.map((n) => [n.name, n]));
    expect(byName.get("alpha")?.role).toBe("leader");
    expect(byName.get("beta")?.role).toBe("learner");
    if (expected === "absent") {
      expect(report.nodes.map((n) => n.health)).toEqual([null, null]);
      return;
    }
    expect(byName.get("alpha")?.health).toEqual({ live: allOk, ready: allOk });
    expect(byName.get("beta")?.health).toEqual(learnerHealth);
    const text = await pairs[mode]!.run(["status"]);
    expect(text.stdout).toContain("health alpha: live yes, ready yes\n");
    expect(text.stdout).toContain(
      `health beta: live yes, ready ${expected === "ok" ? "yes" : "no (non_learner: expected on a learner)"}\n`,
    );
  });

  it("check passes on the healthy pair, a row per member when its etcd serves the endpoints", async () => {
    const result = await pairs.tls!.run(["check", "--json"]);
    expect(result.code, result.stdout).toBe(0);
    const rows = (JSON.parse(result.stdout) as CheckResult).checks.filter((c) => c.id.startsWith("health."));
    expect(rows.map((r) => [r.id, r.ok])).toEqual(
      expected === "absent"
        ? []
        : [
            ["health.alpha", true],
            ["health.beta", true],
          ],
    );
  });

  it("with its main dead, the learner's /readyz answers at once: its linearizable read is not asked", async () => {
    await pairs.tls!.kill("alpha", "SIGKILL");
    const result = await pairs.tls!.run(["status", "--json"]);
    const beta = (JSON.parse(result.stdout) as StatusReport).nodes.find((n) => n.name === "beta");
    expect(beta?.role).toBe("learner");
    // Asked its linearizable read, it would wait on the dead leader past the probe's 2 s: "no answer within 2 s".
    expect(beta?.health).toEqual(expected === "absent" ? null : learnerHealth);
  });
});
