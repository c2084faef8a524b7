import type { NodeSpec } from "../config/resolve.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import type { NodeLayout } from "../config/layout.js";
import { PAIR_DIR_MODES } from "./pairDir.js";
import { endOfLife, judgeVersion, parseEtcdVersionOutput, type EtcdVersion } from "../etcd/version.js";

const MARK = "@@etcd-pair-audit:";

/**
 * One read-only command that shows what an auditor looks at (as kube-bench does): the running etcd's
 * command line and environment, the user it runs as, and the modes and owners of its files.
 */
export function auditCommand(node: NodeSpec, layout: NodeLayout, service: ServiceManager): string {
  const tls = node.tls;
  const files = [
    layout.root,
    layout.stateDir,
    layout.dataDir,
    layout.envFile,
    ...(tls ? [tls.caFile, tls.certFile, tls.keyFile, tls.clientCertFile, tls.clientKeyFile] : []),
  ];
  const section = (name: string) => `echo '${MARK}${name}'`;
  return [
    `pid=$(${service.mainPid()} 2>/dev/null); case "$pid" in ''|0) pid=;; esac`,
    `${section("pid")}; echo "$pid"`,
    `if [ -n "$pid" ]; then ${section("cmdline")}; tr '\\0' '\\n' </proc/$pid/cmdline; ` +
      `${section("environ")}; tr '\\0' '\\n' </proc/$pid/environ | grep '^ETCD_'; ` +
      `${section("uid")}; sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/$pid/status; fi`,
    // The running binary's version (it may have been replaced since it started), else the installed one's.
    `${section("version")}; { [ -n "$pid" ] && /proc/$pid/exe --version 2>/dev/null | grep '^etcd Version:'; } || ` +
      `${shQuote(`${node.binDir}/etcd`)} --version 2>/dev/null | grep '^etcd Version:' || true`,
    `${section("files")}; stat -c '%a %U %G %n' ${files.map(shQuote).join(" ")} 2>&1 || true`,
  ].join("\n");
}

export interface AuditFacts {
  pid?: number;
  /** etcd's flags (--name=value, or --name value) and ETCD_* environment, as name -> value. */
  settings: Map<string, string>;
  uid?: number;
  /** path -> { mode (octal digits), owner, group }; a missing file is absent. */
  files: Map<string, { mode: string; owner: string; group: string }>;
  /** The running etcd's version (else the installed one's); absent when the output has no version section. */
  version?: EtcdVersion;
}

function sectionsOf(output: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split("\n")) {
    if (line.startsWith(MARK)) {
      current = [];
      result.set(line.slice(MARK.length), current);
    } else if (line !== "") {
      current?.push(line);
    }
  }
  return result;
}

/** Flags win over the environment, as in etcd; both are normalised to the flag name (cert-file). */
export function parseAudit(output: string): AuditFacts {
  const s = sectionsOf(output);
  const settings = new Map<string, string>();
  for (const line of s.get("environ") ?? []) {
    const eq = line.indexOf("=");
    if (eq > 0) settings.set(line.slice(5, eq).toLowerCase().replace(/_/g, "-"), line.slice(eq + 1));
  }
  const argv = (s.get("cmdline") ?? []).slice(1);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("-")) continue;
    const flag = arg.replace(/^--?/, "");
    const eq = flag.indexOf("=");
    if (eq >= 0) settings.set(flag.slice(0, eq), flag.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]?.startsWith("-")) settings.set(flag, argv[++i] ?? "");
    else settings.set(flag, "true");
  }
  const files = new Map<string, { mode: string; owner: string; group: string }>();
  for (const line of s.get("files") ?? []) {
    const match = /^([0-7]{3,4}) (\S+) (\S+) (.+)$/.exec(line);
    if (match?.[1] && match[2] && match[3] && match[4]) {
      files.set(match[4], { mode: match[1], owner: match[2], group: match[3] });
    }
  }
  const pid = Number(s.get("pid")?.[0]);
  const uid = Number(s.get("uid")?.[0]);
  const version = parseEtcdVersionOutput((s.get("version") ?? []).join("\n"));
  return {
    ...(pid > 0 ? { pid } : {}),
    settings,
    ...(s.has("uid") && Number.isInteger(uid) ? { uid } : {}),
    files,
    ...(version ? { version } : {}),
  };
}

export interface AuditCheck {
  id: string;
  title: string;
  /** warn: said, but the audit still passes (an end-of-life etcd). */
  result: "pass" | "fail" | "skip" | "warn";
  detail: string;
}

/** No permission bit beyond `max` (e.g. 0600 allows 0400 and 0600, not 0640). */
function modeAtMost(mode: string, max: number): boolean {
  return (parseInt(mode, 8) & ~max & 0o777) === 0;
}

/**
 * etcd's version against the version table: an end-of-life series is a warning (the audit still passes), a
 * version etcd-pair refuses fails; known bugs that are only warned of are left to `etcd-pair versions`.
 */
function versionCheck(version: EtcdVersion): AuditCheck {
  const title = "etcd is a supported, patched version";
  const verdict = judgeVersion(version);
  if (verdict.refusal) return { id: "version", title, result: "fail", detail: verdict.refusal };
  const eol = endOfLife(version);
  if (eol) return { id: "version", title, result: "warn", detail: `${eol.message}; see 'etcd-pair versions'` };
  const known = verdict.warnings.length + verdict.refusedOperations.length;
  const more = known > 0 ? ` (${known} known bug note(s): 'etcd-pair versions')` : "";
  return { id: "version", title, result: "pass", detail: `etcd ${version.text}${more}` };
}

type FileCheck = (id: string, title: string, file: string, max: number, owner?: string) => void;

/** Root writes in the node's dir and its state dir: on a systemd host neither may be etcd's (README: Security). */
function pairDirChecks(layout: NodeLayout, fileCheck: FileCheck): void {
  if (!layout.dataOwner) {
    fileCheck("node-dir", "node dir is 0700", layout.root, 0o700);
    return;
  }
  const { root, state } = PAIR_DIR_MODES;
  const title = (what: string, m: { mode: string; owner: string }) => `${what} is ${m.owner}, at most 0${m.mode}`;
  fileCheck("node-dir", title("node dir", root), layout.root, parseInt(root.mode, 8), root.owner);
  fileCheck("state-dir", title("state dir", state), layout.stateDir, parseInt(state.mode, 8), state.owner);
}

/** The CIS etcd checks (2.1-2.7, as kube-bench reads them) and etcd's file modes, for one node. */
export function judgeAudit(node: NodeSpec, layout: NodeLayout, facts: AuditFacts): AuditCheck[] {
  const checks: AuditCheck[] = [];
  const add = (id: string, title: string, ok: boolean | undefined, detail: string) =>
    checks.push({ id, title, result: ok === undefined ? "skip" : ok ? "pass" : "fail", detail });
  const running = facts.pid !== undefined;
  const setting = (name: string) => facts.settings.get(name);
  const flag = (name: string) => (running ? setting(name) : undefined);
  const set = (name: string) => (running ? Boolean(setting(name)) : undefined);
  const is = (name: string, value: string) => (running ? setting(name) === value : undefined);
  const not = (name: string, value: string) => (running ? setting(name) !== value : undefined);
  add(
    "running",
    "etcd runs (its flags and environment can be read)",
    running,
    running ? `pid ${facts.pid}` : "not running",
  );
  const show = (name: string) => (running ? `${name}=${setting(name) ?? "(unset)"}` : "etcd is not running");
  add(
    "2.1",
    "cert-file and key-file are set",
    running ? set("cert-file") && set("key-file") : undefined,
    `${show("cert-file")}, ${show("key-file")}`,
  );
  add("2.2", "client-cert-auth is true", is("client-cert-auth", "true"), show("client-cert-auth"));
  add("2.3", "auto-tls is not true", not("auto-tls", "true"), show("auto-tls"));
  add(
    "2.4",
    "peer-cert-file and peer-key-file are set",
    running ? set("peer-cert-file") && set("peer-key-file") : undefined,
    `${show("peer-cert-file")}, ${show("peer-key-file")}`,
  );
  add("2.5", "peer-client-cert-auth is true", is("peer-client-cert-auth", "true"), show("peer-client-cert-auth"));
  add("2.6", "peer-auto-tls is not true", not("peer-auto-tls", "true"), show("peer-auto-tls"));
  const ca = node.tls?.caFile;
  add(
    "2.7",
    "a CA only for etcd: trusted-ca-file and peer-trusted-ca-file are the pair's own CA",
    running ? Boolean(ca) && flag("trusted-ca-file") === ca && flag("peer-trusted-ca-file") === ca : undefined,
    `${show("trusted-ca-file")}, ${show("peer-trusted-ca-file")}`,
  );
  if (node.host.kind === "ssh") {
    add(
      "user",
      "etcd does not run as root",
      running ? facts.uid !== undefined && facts.uid !== 0 : undefined,
      running ? `uid ${facts.uid ?? "unknown"}` : "etcd is not running",
    );
  } else {
    checks.push({
      id: "user",
      title: "etcd does not run as root",
      result: "skip",
      detail: "a local node runs as the user who runs etcd-pair",
    });
  }
  if (facts.version) checks.push(versionCheck(facts.version));
  const fileCheck: FileCheck = (id, title, file, max, owner) => {
    const found = facts.files.get(file);
    if (!found) return add(id, title, false, `${file} is missing`);
    const ok = modeAtMost(found.mode, max) && (!owner || `${found.owner}:${found.group}` === owner);
    add(id, title, ok, `${file}: ${found.mode} ${found.owner}:${found.group}`);
  };
  const etcdOwner = layout.dataOwner;
  pairDirChecks(layout, fileCheck);
  fileCheck("data-dir", `data dir is 0700${etcdOwner ? ` ${etcdOwner}` : ""}`, layout.dataDir, 0o700, etcdOwner);
  fileCheck("env-file", "env file is not world-readable", layout.envFile, 0o640);
  const tls = node.tls;
  if (tls) {
    fileCheck("member-key", `member key is 0600${etcdOwner ? ` ${etcdOwner}` : ""}`, tls.keyFile, 0o600, etcdOwner);
    fileCheck("client-key", "etcd-pair's client key is 0600", tls.clientKeyFile, 0o600);
    for (const [id, file] of [
      ["ca-cert", tls.caFile],
      ["member-cert", tls.certFile],
      ["client-cert", tls.clientCertFile],
    ] as const) {
      fileCheck(id, `${id.replace("-", " ")} is at most 0644`, file, 0o644);
    }
  }
  return checks;
}
