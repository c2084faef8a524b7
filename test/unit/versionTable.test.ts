import { describe, expect, it } from "vitest";
import {
  describeConsequence,
  describeRange,
  findingsFor,
  judgeVersion,
  operationRefusal,
  parseVersion,
  recommendedVersions,
  type EtcdVersion,
} from "../../src/etcd/version.js";
import { KNOWN_ISSUES, TESTED_VERSIONS } from "../../src/etcd/versionTable.js";
import { ETCD_BUILDS } from "../helpers/etcdBinaries.js";

const v = (text: string): EtcdVersion => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(text);
  return parsed;
};
const ids = (text: string) => findingsFor(v(text)).map((f) => f.issue.id);

/**
 * Each entry's boundaries, written out by hand from etcd's changelogs (see `verified` in the table): the first
 * and last affected version of each range, and the first fixed one and its neighbours outside the range. A change
 * of the table's data that moves a boundary fails here.
 */
const BOUNDARIES: Record<string, { affected: string[]; unaffected: string[] }> = {
  "one-voter-durability": {
    affected: ["3.4.0", "3.4.20", "3.5.0", "3.5.4"],
    unaffected: ["3.3.27", "3.4.21", "3.5.5", "3.6.0"],
  },
  "promote-unstarted-learner": {
    affected: ["3.4.0", "3.4.23", "3.5.0", "3.5.6"],
    unaffected: ["3.4.24", "3.5.7", "3.6.0"],
  },
  "promotion-not-persisted": { affected: ["3.5.1", "3.5.19"], unaffected: ["3.4.45", "3.5.0", "3.5.20", "3.6.0"] },
  "promotion-propagated": { affected: ["3.5.0", "3.5.23"], unaffected: ["3.4.45", "3.5.24", "3.6.0"] },
  "zombie-members": { affected: ["3.5.0", "3.5.25"], unaffected: ["3.4.45", "3.5.26", "3.6.0"] },
  "promotion-replay-panic": { affected: ["3.6.0", "3.6.3"], unaffected: ["3.5.33", "3.6.4", "3.7.0"] },
  "member-update-learner": {
    affected: ["3.4.0", "3.4.45", "3.5.0", "3.5.30", "3.6.0", "3.6.11"],
    unaffected: ["3.5.31", "3.6.12", "3.7.0"],
  },
  "learner-removes-itself": { affected: ["3.6.0", "3.6.14", "3.6.99"], unaffected: ["3.5.33", "3.7.0", "3.7.1"] },
  "force-new-cluster-learner": {
    affected: ["3.4.0", "3.4.45", "3.5.0", "3.5.24", "3.6.0", "3.6.5"],
    unaffected: ["3.5.25", "3.6.6", "3.7.0"],
  },
  "learner-rejoin-panic": { affected: ["3.6.0", "3.6.14"], unaffected: ["3.5.30", "3.7.1"] },
  "end-of-life-3.4": { affected: ["3.4.0", "3.4.45"], unaffected: ["3.5.0", "3.6.0"] },
};

describe("the version table", () => {
  it("has one boundary case per entry, and each entry says where it was verified", () => {
    expect(KNOWN_ISSUES.map((i) => i.id).sort()).toEqual(Object.keys(BOUNDARIES).sort());
    for (const issue of KNOWN_ISSUES) {
      expect(issue.verified.length, issue.id).toBeGreaterThan(40);
      expect(issue.effect.length, issue.id).toBeGreaterThan(20);
      expect(issue.why.length, issue.id).toBeGreaterThan(10);
      if (!issue.id.startsWith("end-of-life")) expect(issue.issue, issue.id).toBeGreaterThan(10000);
    }
  });

  it.each(Object.entries(BOUNDARIES))("%s: the exact versions it affects", (id, { affected, unaffected }) => {
    for (const text of affected) expect(ids(text), `${id} on ${text}`).toContain(id);
    for (const text of unaffected) expect(ids(text), `${id} on ${text}`).not.toContain(id);
  });

  it("keeps each range inside one minor series, its fix after its start", () => {
    for (const issue of KNOWN_ISSUES) {
      for (const range of issue.affects) {
        const from = v(range.from);
        if (!range.fixed) continue;
        const fixed = v(range.fixed);
        expect([fixed.major, fixed.minor], `${issue.id} ${range.from}`).toEqual([from.major, from.minor]);
        expect(fixed.patch, `${issue.id} ${range.from}`).toBeGreaterThan(from.patch);
      }
    }
  });

  it("lists the versions the tests run on, the same as the test builds", () => {
    expect(TESTED_VERSIONS).toEqual(ETCD_BUILDS.map((b) => b.series));
  });

  it("recommends the first version of each patched series with every fix (3.4 is end of life)", () => {
    expect(recommendedVersions()).toEqual(["3.5.31", "3.6.12", "3.7.0"]);
  });

  it("describes ranges and consequences for a person", () => {
    expect(describeRange({ from: "3.5.1", fixed: "3.5.20" })).toBe("3.5.1-3.5.19");
    expect(describeRange({ from: "3.6.0", fixed: "3.6.1" })).toBe("3.6.0");
    expect(describeRange({ from: "3.4.0" })).toBe("all 3.4");
    expect(describeRange({ from: "3.6.2" })).toBe("3.6.2 and later 3.6");
    const consequence = (id: string) => describeConsequence(KNOWN_ISSUES.find((i) => i.id === id)!);
    expect(consequence("one-voter-durability")).toBe("refuse");
    expect(consequence("zombie-members")).toBe("refuse upgrade-to-3.6");
    expect(consequence("promotion-not-persisted")).toBe("warn before switchover");
    expect(consequence("member-update-learner")).toBe("warn");
    expect(consequence("learner-rejoin-panic")).toBe("note");
  });
});

describe("verdicts read from the table", () => {
  it.each([
    ["3.4.20", "3.4.21", "#14370"],
    ["3.5.4", "3.5.5", "#14370"],
    ["3.6.3", "3.6.4", "#20340"],
  ])("refuses %s with the version to install (%s)", (text, install, issue) => {
    const verdict = judgeVersion(v(text));
    expect(verdict.verdict).toBe("refused");
    expect(verdict.install).toBe(install);
    expect(verdict.refusal).toContain(issue);
    expect(verdict.refusal).toContain(`install etcd ${install} or later`);
  });

  it("sends a refused 3.4 to 3.5 (3.4 is end of life), and an unsupported etcd to the patched series", () => {
    expect(judgeVersion(v("3.4.20")).refusal).toMatch(/3\.4 is end of life: better 3\.5\.31 or later/);
    expect(judgeVersion(v("3.3.27"))).toMatchObject({ verdict: "refused", install: "3.5.31" });
    expect(judgeVersion(v("3.3.27")).refusal).toContain("install 3.5.31+, 3.6.12+, 3.7.0+");
  });

  it("refuses the upgrade to 3.6 below 3.5.26, naming every reason and the newest fix", () => {
    const early = operationRefusal(v("3.5.16"), "upgrade-to-3.6");
    expect(early?.install).toBe("3.5.26");
    expect(early?.message).toContain("#20793");
    expect(early?.message).toContain("#20967");
    expect(operationRefusal(v("3.5.25"), "upgrade-to-3.6")?.install).toBe("3.5.26");
    expect(operationRefusal(v("3.5.26"), "upgrade-to-3.6")).toBeUndefined();
    expect(operationRefusal(v("3.6.14"), "upgrade-to-3.6")).toBeUndefined();
    expect(operationRefusal(v("3.4.23"), "upgrade-to-3.6")).toBeUndefined();
    for (const text of ["3.4.23", "3.5.0", "3.5.16", "3.6.4"]) {
      expect(operationRefusal(v(text), "switchover"), text).toBeUndefined();
    }
  });

  it("says the promotion warnings before a switchover, with the words the switchover plans print", () => {
    expect(judgeVersion(v("3.5.16")).promotionWarnings).toEqual([
      "etcd 3.5.16 may not persist a learner promotion in the v3 store (etcd #19563, fixed in 3.5.20)",
    ]);
    expect(judgeVersion(v("3.4.23")).promotionWarnings).toEqual([
      "etcd 3.4.23 can promote a learner that has not started (etcd #15097, fixed in 3.4.24)",
    ]);
    expect(judgeVersion(v("3.5.6")).promotionWarnings).toContain(
      "etcd 3.5.6 can promote a learner that has not started (etcd #15096, fixed in 3.5.7)",
    );
    expect(judgeVersion(v("3.5.20")).promotionWarnings).toEqual([]);
  });

  it("warns on the rest, leaves notes out, and is ok only with nothing known", () => {
    expect(judgeVersion(v("3.4.23")).warnings).toEqual([
      "etcd 3.4.23 can promote a learner that has not started (etcd #15097, fixed in 3.4.24)",
      "etcd 3.4.23 forgets a learner's role on member update (etcd #21694, no fix in 3.4)",
      "etcd 3.4.23 is end of life: 3.4.45 (2026-06-01) was the last 3.4 release",
    ]);
    expect(judgeVersion(v("3.5.30"))).toMatchObject({
      verdict: "warn",
      warnings: ["etcd 3.5.30 forgets a learner's role on member update (etcd #21694, fixed in 3.5.31)"],
    });
    const v365 = judgeVersion(v("3.6.5"));
    expect(ids("3.6.5")).toContain("force-new-cluster-learner");
    expect(v365.findings.map((f) => f.issue.id)).not.toContain("force-new-cluster-learner");
    expect(judgeVersion(v("3.5.31"))).toMatchObject({ verdict: "ok", warnings: [], refusedOperations: [] });
    expect(judgeVersion(v("3.6.14")).verdict).toBe("warn");
    expect(judgeVersion(v("3.7.1")).verdict).toBe("ok");
  });

  it("warns that a series newer than the tested ones is untested, and refuses another major version", () => {
    expect(judgeVersion(v("3.8.0"))).toMatchObject({ verdict: "warn" });
    expect(judgeVersion(v("3.8.0")).warnings.join()).toContain("newer than any etcd-pair is tested on");
    expect(judgeVersion(v("4.0.0")).verdict).toBe("refused");
  });
});
