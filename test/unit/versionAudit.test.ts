import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { auditCommand, judgeAudit, parseAudit } from "../../src/plan/audit.js";
import { systemdService } from "../../src/service/systemd.js";
import { SSH_TLS_PAIR } from "../helpers/specs.js";

const [alpha] = SSH_TLS_PAIR.nodes;
const layout = nodeLayout(alpha);

/** A running etcd's audit output with only the version section that matters here. */
const withVersion = (lines: string[]) =>
  ["@@etcd-pair-audit:pid", "4242", "@@etcd-pair-audit:version", ...lines, "@@etcd-pair-audit:files"].join("\n");
const versionRow = (lines: string[]) =>
  judgeAudit(alpha, layout, parseAudit(withVersion(lines))).find((c) => c.id === "version");

describe("audit: etcd's version", () => {
  it("warns on an end-of-life 3.4 without failing, and names the last release", () => {
    const row = versionRow(["etcd Version: 3.4.23"]);
    expect(row?.result).toBe("warn");
    expect(row?.detail).toContain("etcd 3.4.23 is end of life: 3.4.45 (2026-06-01) was the last 3.4 release");
  });

  it("fails on a version etcd-pair refuses, with the version to install", () => {
    const row = versionRow(["etcd Version: 3.4.20"]);
    expect(row?.result).toBe("fail");
    expect(row?.detail).toContain("install etcd 3.4.21 or later");
    expect(versionRow(["etcd Version: 3.6.2"])?.result).toBe("fail");
  });

  it("passes a patched version, pointing at 'etcd-pair versions' for known bugs it only warns of", () => {
    expect(versionRow(["etcd Version: 3.7.1"])).toMatchObject({ result: "pass", detail: "etcd 3.7.1" });
    expect(versionRow(["etcd Version: 3.5.30"])?.detail).toMatch(
      /^etcd 3\.5\.30 \(1 known bug note\(s\): 'etcd-pair versions'\)$/,
    );
  });

  it("adds no row when the host printed no version (an older etcd-pair's output, or no etcd)", () => {
    expect(versionRow([])).toBeUndefined();
    const checks = judgeAudit(alpha, layout, parseAudit("@@etcd-pair-audit:pid\n4242\n@@etcd-pair-audit:files\n"));
    expect(checks.map((c) => c.id)).not.toContain("version");
  });

  it("asks the running binary first (it may have been replaced since it started), else the installed one", () => {
    const command = auditCommand(alpha, layout, systemdService(alpha, layout, "demo"));
    expect(command).toContain("/proc/$pid/exe --version");
    expect(command).toContain(`${alpha.binDir}/etcd --version`);
    expect(command).not.toMatch(/\b(rm|mv|chmod|chown|kill)\b/);
  });
});
