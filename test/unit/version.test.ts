import { describe, expect, it } from "vitest";
import { hasEtcdutl, judgeVersion, parseEtcdVersionOutput, parseVersion } from "../../src/etcd/version.js";

const v = (text: string) => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(text);
  return parsed;
};

describe("etcd version gate", () => {
  it("reads `etcd --version`", () => {
    const out = "etcd Version: 3.5.16\nGit SHA: Not provided\nGo Version: go1.24.0\n";
    expect(parseEtcdVersionOutput(out)).toMatchObject({ major: 3, minor: 5, patch: 16 });
    expect(parseEtcdVersionOutput("Go Version: go1.24.0")).toBeUndefined();
  });

  it.each(["3.4.20", "3.5.4", "3.4.0"])("refuses %s: acknowledged writes lost on crash (#14370)", (text) => {
    expect(judgeVersion(v(text)).refusal).toContain("#14370");
  });

  it.each(["3.3.27", "2.3.8", "4.0.0"])("refuses %s: not a version with learners that we support", (text) => {
    expect(judgeVersion(v(text)).refusal).toContain("learners need etcd 3.4");
  });

  it.each(["3.6.0", "3.6.3"])("refuses %s: may not restart after a switchover (#20340), install 3.6.4", (text) => {
    const verdict = judgeVersion(v(text));
    expect(verdict.refusal).toContain("#20340");
    expect(verdict.install).toBe("3.6.4");
  });

  it.each(["3.4.21", "3.4.23", "3.5.5", "3.5.16", "3.5.30", "3.6.4", "3.6.6", "3.6.14", "3.7.1"])(
    "accepts %s",
    (text) => {
      expect(judgeVersion(v(text)).refusal).toBeUndefined();
    },
  );

  it("names the promotion bugs of the tested versions, and none for fixed ones", () => {
    expect(judgeVersion(v("3.4.23")).promotionWarnings.join()).toContain("#15097");
    expect(judgeVersion(v("3.5.16")).promotionWarnings.join()).toContain("#19563");
    expect(judgeVersion(v("3.5.30")).promotionWarnings).toEqual([]);
    expect(judgeVersion(v("3.6.6")).promotionWarnings).toEqual([]);
  });

  it("knows etcdutl arrives with 3.5", () => {
    expect(hasEtcdutl(v("3.4.23"))).toBe(false);
    expect(hasEtcdutl(v("3.5.0"))).toBe(true);
    expect(hasEtcdutl(v("3.6.1"))).toBe(true);
  });
});
