import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoConfig } from "../../src/commands/demo.js";
import { cli } from "../helpers/cli.js";
import { ETCD_BUILDS, requireBuild } from "../helpers/etcdBinaries.js";
import { fingerprint } from "../helpers/fingerprint.js";
import { freePorts } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";

const build = ETCD_BUILDS[0];

/**
 * The bad-input corpus: config fields, flags, hosts, binaries and data that must each stop etcd-pair with a
 * message naming what is wrong and where, the right exit code, and no change on any host (every file under
 * the hosts' dirs is fingerprinted before and after).
 */
interface Case {
  name: string;
  /** The config text (GOOD edited), or a function of the work dir for cases that need files. */
  config?: (good: string) => string;
  args: string[];
  code: number;
  message: RegExp | string;
  /** Extra setup in the work dir (files, a listening port); returns a cleanup. */
  setup?: (dir: string) => Promise<(() => Promise<void>) | void>;
}

const edit = (from: string, to: string) => (good: string) => {
  if (!good.includes(from)) throw new Error(`corpus: "${from}" is not in the config`);
  return good.replace(from, to);
};
const SHA = "ab".repeat(32);

function cases(ports: number[], binDir: string): Case[] {
  const [a1, a2, b1, b2] = ports;
  return [
    // Config: every field, with file:line:column.
    {
      name: "cluster with capitals",
      config: edit("cluster: demo", "cluster: Demo"),
      args: ["up"],
      code: 2,
      message: /etcd-pair\.yaml:2:10: cluster: must be lowercase/,
    },
    {
      name: "cluster missing",
      config: edit("cluster: demo\n", ""),
      args: ["up"],
      code: 2,
      message: "cluster: is required",
    },
    {
      name: "cluster too long",
      config: edit("cluster: demo", `cluster: ${"c".repeat(64)}`),
      args: ["up"],
      code: 2,
      message: "cluster: must be lowercase",
    },
    {
      name: "nodes missing",
      config: (g) => g.slice(0, g.indexOf("nodes:")),
      args: ["up"],
      code: 2,
      message: "nodes: is required",
    },
    {
      name: "one node",
      config: (g) => g.slice(0, g.indexOf("  - name: beta")),
      args: ["up"],
      code: 2,
      message: "must list exactly two nodes",
    },
    {
      name: "three nodes",
      config: (g) => `${g}  - { name: gamma, address: 127.0.0.3, local: { dir: gamma } }\n`,
      args: ["up"],
      code: 2,
      message: "must list exactly two nodes",
    },
    {
      name: "duplicate node names",
      config: edit("name: beta", "name: alpha"),
      args: ["up"],
      code: 2,
      message: 'nodes[1].name: duplicates nodes[0].name "alpha"',
    },
    {
      name: "node name with a space",
      config: edit("name: beta", 'name: "be ta"'),
      args: ["up"],
      code: 2,
      message: "nodes[1].name: must be lowercase",
    },
    {
      name: "port above 65535",
      config: edit(`clientPort: ${a1}`, "clientPort: 70000"),
      args: ["up"],
      code: 2,
      message: "nodes[0].clientPort: must be at most 65535",
    },
    {
      name: "port zero",
      config: edit(`peerPort: ${b2}`, "peerPort: 0"),
      args: ["up"],
      code: 2,
      message: "nodes[1].peerPort: must be at least 1",
    },
    {
      name: "port as text",
      config: edit(`clientPort: ${b1}`, "clientPort: high"),
      args: ["up"],
      code: 2,
      message: "nodes[1].clientPort: must be a port number",
    },
    {
      name: "fractional port",
      config: edit(`clientPort: ${b1}`, "clientPort: 2379.5"),
      args: ["up"],
      code: 2,
      message: "must be a whole number",
    },
    {
      name: "client port equals peer port",
      config: edit(`peerPort: ${a2}`, `peerPort: ${a1}`),
      args: ["up"],
      code: 2,
      message: "client and peer port are both",
    },
    {
      name: "two nodes on one socket",
      config: edit(`clientPort: ${b1}`, `clientPort: ${a1}`),
      args: ["up"],
      code: 2,
      message: "is already used by nodes[0].clientPort",
    },
    {
      name: "address with a scheme",
      config: edit("address: 127.0.0.1\n    clientPort", "address: http://127.0.0.1\n    clientPort"),
      args: ["up"],
      code: 2,
      message: "nodes[0].address: must be an IPv4/IPv6 address or a host name",
    },
    {
      name: "address with a port",
      config: edit("address: 127.0.0.1\n    clientPort", "address: 127.0.0.1:2379\n    clientPort"),
      args: ["up"],
      code: 2,
      message: "(no scheme, no port)",
    },
    {
      name: "local node off loopback",
      config: edit("address: 127.0.0.1\n    clientPort", "address: 10.0.0.1\n    clientPort"),
      args: ["up"],
      code: 2,
      message: "a local node must use a loopback address",
    },
    {
      name: "node with local and ssh",
      config: edit("local: { dir: beta }", "local: { dir: beta }\n    ssh: { user: root }"),
      args: ["up"],
      code: 2,
      message: "needs exactly one of local",
    },
    {
      name: "node with neither local nor ssh",
      config: edit("    local: { dir: beta }\n", ""),
      args: ["up"],
      code: 2,
      message: "needs exactly one of local",
    },
    {
      name: "misspelt node key",
      config: edit("peerPort: " + b2, "perPort: " + b2),
      args: ["up"],
      code: 2,
      message: 'nodes[1].perPort: unknown key "perPort"',
    },
    {
      name: "unknown top-level key",
      config: (g) => `${g}extra: 1\n`,
      args: ["up"],
      code: 2,
      message: 'extra: unknown key "extra"',
    },
    {
      name: "relative binDir",
      config: edit(`binDir: ${binDir}`, "binDir: usr/bin"),
      args: ["up"],
      code: 2,
      message: "etcd.binDir: must be an absolute path",
    },
    {
      name: "binDir with shell metacharacters",
      config: edit(`binDir: ${binDir}`, 'binDir: "/usr/bin; rm -rf /"'),
      args: ["up"],
      code: 2,
      message: "etcd.binDir: may contain only",
    },
    {
      name: "local dir with a quote",
      config: edit("dir: beta", `dir: "it's"`),
      args: ["up"],
      code: 2,
      message: "nodes[1].local.dir: may contain only",
    },
    {
      name: "both nodes in one dir",
      config: edit("dir: beta", "dir: alpha"),
      args: ["up"],
      code: 2,
      message: "both nodes use the same dir",
    },
    {
      name: "install on local nodes",
      config: edit(`binDir: ${binDir}`, `binDir: ${binDir}\n  install: apt`),
      args: ["up"],
      code: 2,
      message: "etcd.install: installs etcd on SSH hosts only",
    },
    {
      name: "install of an unknown kind",
      config: edit(`binDir: ${binDir}`, `binDir: ${binDir}\n  install: yum`),
      args: ["up"],
      code: 2,
      message: "etcd.install: must be preinstalled, apt, or",
    },
    {
      name: "tarball without sha256",
      config: edit(`binDir: ${binDir}`, `binDir: ${binDir}\n  install: { tarball: { file: e.tgz } }`),
      args: ["up"],
      code: 2,
      message: "etcd.install.tarball.sha256: is required",
    },
    {
      name: "tarball with file and url",
      config: edit(
        `binDir: ${binDir}`,
        `binDir: ${binDir}\n  install: { tarball: { file: e.tgz, url: "https://x.org/e.tgz", sha256: ${SHA} } }`,
      ),
      args: ["up"],
      code: 2,
      message: "needs exactly one of file or url",
    },
    {
      name: "tls: true",
      config: (g) => `tls: true\n${g}`,
      args: ["up"],
      code: 2,
      message: "tls: must be false (plain text) or { dir, ca: { cert, key } }",
    },
    {
      name: "tls CA without its key",
      config: (g) => `tls: { ca: { cert: ca.pem } }\n${g}`,
      args: ["up"],
      code: 2,
      message: "tls.ca.key: is required",
    },
    {
      name: "empty fence command",
      config: (g) => `failover: { fenceCommand: "" }\n${g}`,
      args: ["up"],
      code: 2,
      message: "failover.fenceCommand: must not be empty",
    },
    {
      name: "YAML syntax error",
      config: edit("nodes:", "nodes: ["),
      args: ["up"],
      code: 2,
      message: /etcd-pair\.yaml:\d+:\d+: YAML:/,
    },
    {
      name: "duplicate YAML key",
      config: (g) => `cluster: other\n${g}`,
      args: ["up"],
      code: 2,
      message: "Map keys must be unique",
    },
    { name: "an empty config", config: () => "", args: ["up"], code: 2, message: "invalid config" },
    { name: "a config that is a list", config: () => "- a\n- b\n", args: ["up"], code: 2, message: "invalid config" },
    {
      name: "ssh port out of range",
      config: edit("    local: { dir: beta }\n", "    ssh: { port: 0 }\n"),
      args: ["up"],
      code: 2,
      message: "nodes[1].ssh.port: must be at least 1",
    },
    {
      name: "ssh user with a space",
      config: edit("    local: { dir: beta }\n", "    ssh: { user: 'a b' }\n"),
      args: ["up"],
      code: 2,
      message: "nodes[1].ssh.user: must be a valid user name",
    },
    {
      name: "ssh become not a boolean",
      config: edit("    local: { dir: beta }\n", "    ssh: { become: sure }\n"),
      args: ["up"],
      code: 2,
      message: "nodes[1].ssh.become: must be true or false",
    },
    // Flags and arguments.
    { name: "unknown command", args: ["fly"], code: 2, message: "unknown command 'fly'" },
    { name: "unknown flag", args: ["up", "--bogus"], code: 2, message: "unknown option '--bogus'" },
    { name: "rejoin without a node", args: ["rejoin"], code: 2, message: "missing required argument 'node'" },
    {
      name: "rejoin of a node that does not exist",
      args: ["rejoin", "gamma"],
      code: 2,
      message: "no node named gamma",
    },
    {
      name: "switchover to a node that does not exist",
      args: ["switchover", "--yes", "--to", "gamma"],
      code: 2,
      message: "no node named gamma",
    },
    { name: "plan --write-files without a dir", args: ["plan", "--write-files"], code: 2, message: "argument missing" },
    {
      name: "snapshot restore without a file",
      args: ["snapshot", "restore"],
      code: 2,
      message: "missing required argument 'file'",
    },
    {
      name: "a config file that does not exist",
      args: ["-c", "/nonexistent/etcd-pair.yaml", "up"],
      code: 2,
      message: "/nonexistent/etcd-pair.yaml",
    },
    { name: "down --purge without --yes (no terminal)", args: ["down", "--purge"], code: 2, message: "pass --yes" },
    // Hosts, binaries, data.
    {
      name: "a bin dir without etcd",
      config: edit(`binDir: ${binDir}`, "binDir: /nonexistent/bin"),
      args: ["up"],
      code: 2,
      message: "alpha: /nonexistent/bin/etcd is missing or not executable",
    },
    {
      name: "an etcd that loses acknowledged writes (3.4.20)",
      config: (g) => g.replace(`binDir: ${binDir}`, "binDir: BIN3420"),
      args: ["up"],
      code: 2,
      message: "etcd 3.4.20 can lose acknowledged writes",
    },
    {
      name: "an etcd whose version cannot be read",
      config: (g) => g.replace(`binDir: ${binDir}`, "binDir: BINGARBLED"),
      args: ["up"],
      code: 2,
      message: "could not read the version of",
    },
    {
      name: "a client port in use",
      args: ["up"],
      code: 2,
      message: `beta: client port ${b1} is in use by another process`,
      setup: async () => listen(b1 ?? 0),
    },
    {
      name: "a peer port in use",
      args: ["up"],
      code: 2,
      message: `alpha: peer port ${a2} is in use by another process`,
      setup: async () => listen(a2 ?? 0),
    },
    {
      name: "a foreign data dir",
      args: ["up"],
      code: 2,
      message: "holds files that are not etcd member data",
      setup: async (dir) => {
        await mkdir(path.join(dir, "beta", "data"), { recursive: true });
        await writeFile(path.join(dir, "beta", "data", "notes.txt"), "someone else's\n");
      },
    },
    {
      name: "an SSH host that refuses connections",
      config: edit("    local: { dir: beta }\n", `    ssh: { host: 127.0.0.1, port: ${b2}, knownHostsFile: kh }\n`),
      args: ["up"],
      code: 2,
      message: /beta: host cannot be probed: .*ECONNREFUSED/,
    },
    {
      name: "a tarball that is not there",
      config: (g) =>
        g
          .replace("    local: { dir: alpha }\n", "    ssh: { host: 127.0.0.1, port: 1, knownHostsFile: kh }\n")
          .replace("    local: { dir: beta }\n", "    ssh: { host: 127.0.0.1, port: 1, knownHostsFile: kh }\n")
          .replace(`binDir: ${binDir}`, `install: { tarball: { file: missing.tar.gz, sha256: ${SHA} } }`),
      args: ["plan", "--offline"],
      code: 2,
      message: /cannot read .*missing\.tar\.gz/,
    },
  ];
}

let server: Server | undefined;
async function listen(port: number): Promise<() => Promise<void>> {
  server = createServer();
  await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
  return async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  };
}

const PORTS = await freePorts(4);
const BIN_DIR = build?.binDir ?? "/usr/bin";
const CASES = cases(PORTS, BIN_DIR);

describe("bad-input corpus: a clear message, the right exit code, nothing changed", () => {
  let dir: string;
  const fakeBins: Record<string, string> = {};

  beforeAll(async () => {
    if (!build) throw new Error("no etcd build");
    requireBuild(build);
    dir = await scratchDir("corpus");
    for (const [name, script] of [
      ["BIN3420", `if [ "$1" = --version ]; then echo "etcd Version: 3.4.20"; exit 0; fi; exec ${BIN_DIR}/etcd "$@"`],
      ["BINGARBLED", `echo "something else"`],
    ] as const) {
      const bin = path.join(dir, name.toLowerCase());
      await mkdir(bin);
      await writeFile(path.join(bin, "etcd"), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      await writeFile(path.join(bin, "etcdctl"), `#!/bin/sh\nexec ${BIN_DIR}/etcdctl "$@"\n`, { mode: 0o755 });
      fakeBins[name] = bin;
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it("has at least 50 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const work = await mkdtemp(path.join(dir, "case-"));
    // The demo's own config: two local nodes on free ports.
    const good = demoConfig(BIN_DIR, PORTS);
    let text = c.config ? c.config(good) : good;
    for (const [name, bin] of Object.entries(fakeBins)) text = text.replace(`binDir: ${name}`, `binDir: ${bin}`);
    const config = path.join(work, "etcd-pair.yaml");
    await writeFile(config, text);
    const cleanup = await c.setup?.(work);
    const before = await fingerprint(work);
    const args = c.args[0] === "-c" ? c.args : ["-c", config, ...c.args];
    const result = await cli(args, { cwd: work, timeoutMs: 60_000 }).finally(async () => cleanup?.());
    const output = result.stderr + result.stdout;
    if (typeof c.message === "string") expect(output).toContain(c.message);
    else expect(output).toMatch(c.message);
    expect(result.code).toBe(c.code);
    expect(await fingerprint(work)).toEqual(before);
  });
});
