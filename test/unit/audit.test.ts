import { describe, expect, it } from "vitest";
import { auditCommand, judgeAudit, parseAudit } from "../../src/plan/audit.js";
import { nodeLayout } from "../../src/config/layout.js";
import { systemdService } from "../../src/service/systemd.js";
import { SSH_TLS_PAIR } from "../helpers/specs.js";

const [alpha] = SSH_TLS_PAIR.nodes;
const layout = nodeLayout(alpha);
const PKI = "/etc/etcd-pair/demo/pki";

/** The modes and owners up leaves, as the audit's stat prints them. */
const UP_FILES = [
  "711 root root /var/lib/etcd-pair/demo",
  "750 root etcd /var/lib/etcd-pair/demo/state",
  "700 etcd etcd /var/lib/etcd-pair/demo/data",
  "640 root etcd /etc/etcd-pair/demo/etcd.env",
  `644 root root ${PKI}/ca.crt`,
  `644 root root ${PKI}/member.crt`,
  `600 etcd etcd ${PKI}/member.key`,
  `644 root root ${PKI}/client.crt`,
  `600 root root ${PKI}/client.key`,
];

/** UP_FILES with lines replaced (`<mode> <owner> <group>`) or left out (null), by path. */
function upFilesWith(changes: Record<string, string | null>): string[] {
  return UP_FILES.flatMap((line) => {
    const file = line.split(" ")[3] ?? "";
    const change = changes[file];
    if (change === undefined) return [line];
    return change === null ? [] : [`${change} ${file}`];
  });
}

/** What the audit command prints on a host set up by up (the env file carries the settings). */
function hostOutput(overrides: { environ?: string[]; cmdline?: string[]; uid?: string; files?: string[] } = {}) {
  const environ = overrides.environ ?? [
    `ETCD_CERT_FILE=${PKI}/member.crt`,
    `ETCD_KEY_FILE=${PKI}/member.key`,
    `ETCD_TRUSTED_CA_FILE=${PKI}/ca.crt`,
    "ETCD_CLIENT_CERT_AUTH=true",
    `ETCD_PEER_CERT_FILE=${PKI}/member.crt`,
    `ETCD_PEER_KEY_FILE=${PKI}/member.key`,
    `ETCD_PEER_TRUSTED_CA_FILE=${PKI}/ca.crt`,
    "ETCD_PEER_CLIENT_CERT_AUTH=true",
  ];
  const files = overrides.files ?? UP_FILES;
  return [
    "@@etcd-pair-audit:pid",
    "4242",
    "@@etcd-pair-audit:cmdline",
    ...(overrides.cmdline ?? ["/usr/bin/etcd"]),
    "@@etcd-pair-audit:environ",
    ...environ,
    "@@etcd-pair-audit:uid",
    overrides.uid ?? "108",
    "@@etcd-pair-audit:files",
    ...files,
  ].join("\n");
}

const failed = (output: string) =>
  judgeAudit(alpha, layout, parseAudit(output))
    .filter((c) => c.result === "fail")
    .map((c) => c.id);

describe("audit", () => {
  it("a host as up leaves it passes every check", () => {
    const checks = judgeAudit(alpha, layout, parseAudit(hostOutput()));
    expect(checks.map((c) => [c.id, c.result])).toEqual([
      ["running", "pass"],
      ["2.1", "pass"],
      ["2.2", "pass"],
      ["2.3", "pass"],
      ["2.4", "pass"],
      ["2.5", "pass"],
      ["2.6", "pass"],
      ["2.7", "pass"],
      ["user", "pass"],
      ["node-dir", "pass"],
      ["state-dir", "pass"],
      ["data-dir", "pass"],
      ["env-file", "pass"],
      ["member-key", "pass"],
      ["client-key", "pass"],
      ["ca-cert", "pass"],
      ["member-cert", "pass"],
      ["client-cert", "pass"],
    ]);
  });

  it("flags on the command line count, and win over the environment (as in etcd)", () => {
    const output = hostOutput({
      cmdline: ["/usr/bin/etcd", "--client-cert-auth=false", "--auto-tls", "--peer-auto-tls", "true"],
    });
    expect(failed(output)).toEqual(["2.2", "2.3", "2.6"]);
  });

  it("plain text fails 2.1, 2.2, 2.4, 2.5 and 2.7; root fails the user check", () => {
    expect(failed(hostOutput({ environ: ["ETCD_NAME=alpha"], uid: "0" }))).toEqual([
      "2.1",
      "2.2",
      "2.4",
      "2.5",
      "2.7",
      "user",
    ]);
  });

  it("file modes and owners: a group-readable key, a world-readable data dir, a missing cert", () => {
    const files = upFilesWith({
      "/var/lib/etcd-pair/demo/data": "755 etcd etcd",
      "/etc/etcd-pair/demo/etcd.env": "644 root etcd",
      [`${PKI}/member.key`]: "640 etcd etcd",
      [`${PKI}/member.crt`]: null,
      [`${PKI}/client.crt`]: "600 root root",
    });
    expect(failed(hostOutput({ files }))).toEqual(["data-dir", "env-file", "member-key", "member-cert"]);
    expect(failed(hostOutput({ files: [`600 root root ${PKI}/member.key`] }))).toContain("member-key");
  });

  it("a node dir etcd owns (the older layout, or changed since) fails, as does a state dir etcd may write", () => {
    const files = upFilesWith({
      "/var/lib/etcd-pair/demo": "700 etcd etcd",
      "/var/lib/etcd-pair/demo/state": "770 root etcd",
    });
    expect(failed(hostOutput({ files }))).toEqual(["node-dir", "state-dir"]);
    const detail = judgeAudit(alpha, layout, parseAudit(hostOutput({ files }))).find((c) => c.id === "node-dir");
    expect(detail?.detail).toBe("/var/lib/etcd-pair/demo: 700 etcd:etcd");
  });

  it("a stopped etcd fails the audit and leaves the flag checks unanswered (skip), never passed", () => {
    const checks = judgeAudit(alpha, layout, parseAudit("@@etcd-pair-audit:pid\n\n@@etcd-pair-audit:files\n"));
    expect(checks[0]).toMatchObject({ id: "running", result: "fail" });
    const flagChecks = checks.filter((c) => c.id.startsWith("2."));
    expect(flagChecks.map((c) => c.id)).toEqual(["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]);
    expect(flagChecks.every((c) => c.result === "skip")).toBe(true);
  });

  it("the command only reads, and quotes the paths", () => {
    const command = auditCommand(alpha, layout, systemdService(alpha, layout, "demo"));
    expect(command).toContain("systemctl show -p MainPID --value etcd-pair-demo.service");
    expect(command).toContain(
      `stat -c '%a %U %G %n' /var/lib/etcd-pair/demo /var/lib/etcd-pair/demo/state /var/lib/etcd-pair/demo/data`,
    );
    expect(command).not.toMatch(/\b(rm|mv|chmod|chown|kill)\b/);
  });
});
