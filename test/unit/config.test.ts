import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/parse.js";
import { resolvePair } from "../../src/config/resolve.js";
import { STARTER_CONFIG } from "../../src/config/starter.js";

const GOOD = `cluster: demo
etcd:
  binDir: /usr/bin
nodes:
  - name: alpha
    address: 127.0.0.1
    clientPort: 23791
    peerPort: 23801
    local: { dir: .etcd-pair/alpha }
  - name: beta
    address: 127.0.0.1
    clientPort: 23792
    peerPort: 23802
    local: { dir: .etcd-pair/beta }
`;

function problemsOf(text: string): string[] {
  try {
    // With the config's dir: the paths it names are checked too.
    parseConfig(text, "etcd-pair.yaml", { configDir: "/srv/pair" });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split("\n");
  }
  throw new Error("config was accepted");
}

/** Replaces the first occurrence of `from` in the good config. */
const edit = (from: string, to: string) => {
  expect(GOOD).toContain(from);
  return GOOD.replace(from, to);
};

describe("config", () => {
  it("accepts the documented example and applies defaults", () => {
    const config = parseConfig(GOOD, "etcd-pair.yaml");
    expect(config.etcd).toEqual({ binDir: "/usr/bin", clientPort: 2379, peerPort: 2380, install: "preinstalled" });
    const pair = resolvePair(config, "/srv/pair");
    expect(pair.nodes[0]).toMatchObject({
      name: "alpha",
      clientPort: 23791,
      host: { kind: "local", dir: "/srv/pair/.etcd-pair/alpha" },
    });
  });

  it("accepts the starter config written by init", () => {
    expect(parseConfig(STARTER_CONFIG, "etcd-pair.yaml").cluster).toBe("demo");
  });

  it("uses etcd's default ports when nodes set none", () => {
    const text = `cluster: c\nnodes:\n  - { name: a, address: 127.0.0.1, local: { dir: a } }\n  - { name: b, address: 127.0.0.2, local: { dir: b } }\n`;
    const pair = resolvePair(parseConfig(text, "x"), "/x");
    expect([pair.nodes[1].clientPort, pair.nodes[1].peerPort]).toEqual([2379, 2380]);
  });

  const SHA = "a".repeat(64);
  const SSH_NODES = `nodes:
  - { name: a, address: 10.0.0.1, ssh: { user: root } }
  - { name: b, address: 10.0.0.2, ssh: { user: root } }
`;

  it("install: tarball defaults binDir to /usr/local/bin and resolves the file against the config's dir", () => {
    const text = `cluster: c\netcd:\n  install:\n    tarball: { file: dl/etcd-v3.5.16-linux-amd64.tar.gz, sha256: ${SHA} }\n${SSH_NODES}`;
    const pair = resolvePair(parseConfig(text, "x"), "/srv/pair");
    expect(pair.install).toEqual({
      kind: "tarball",
      source: { file: "/srv/pair/dl/etcd-v3.5.16-linux-amd64.tar.gz" },
      sha256: SHA,
      fileName: "etcd-v3.5.16-linux-amd64.tar.gz",
    });
    expect(pair.nodes.map((n) => n.binDir)).toEqual(["/usr/local/bin", "/usr/local/bin"]);
  });

  it("install: tarball from a URL takes the file name from its path; apt keeps /usr/bin", () => {
    const url = "https://example.org/v3.5.16/etcd-v3.5.16-linux-arm64.tar.gz?x=1";
    const text = `cluster: c\netcd:\n  install:\n    tarball: { url: "${url}", sha256: ${SHA} }\n${SSH_NODES}`;
    expect(resolvePair(parseConfig(text, "x"), "/x").install).toMatchObject({
      source: { url },
      fileName: "etcd-v3.5.16-linux-arm64.tar.gz",
    });
    const apt = resolvePair(parseConfig(`cluster: c\netcd: { install: apt }\n${SSH_NODES}`, "x"), "/x");
    expect([apt.install, apt.nodes[0].binDir]).toEqual([{ kind: "apt" }, "/usr/bin"]);
  });

  it.each([
    ["an unknown install kind", "install: yum", "etcd.install: must be preinstalled, apt, or"],
    [
      "a tarball with file and url",
      `install: { tarball: { file: a.tgz, url: "https://x.org/a.tgz", sha256: ${SHA} } }`,
      "needs exactly one of file or url",
    ],
    ["a tarball without sha256", "install: { tarball: { file: a.tgz } }", "etcd.install.tarball.sha256"],
    ["a short sha256", "install: { tarball: { file: a.tgz, sha256: abc } }", "must be 64 lowercase hex digits"],
    [
      "a tarball URL over ftp",
      `install: { tarball: { url: "ftp://x.org/a.tgz", sha256: ${SHA} } }`,
      "must be an http(s) URL",
    ],
    ["apt with another binDir", "install: apt\n  binDir: /opt/etcd", "etcd.binDir: install: apt puts etcd in /usr/bin"],
  ])("rejects %s", (_, etcd, message) => {
    const problems = problemsOf(`cluster: c\netcd:\n  ${etcd}\n${SSH_NODES}`);
    expect(problems.join("\n")).toContain(message);
  });

  it("TLS is on by default with the CA and certificates in ./pki; tls: false means plain text", () => {
    const pair = resolvePair(parseConfig(`cluster: c\n${SSH_NODES}`, "x"), "/srv/pair");
    expect(pair.tls).toEqual({ dir: "/srv/pair/pki" });
    expect(pair.nodes[0].tls).toEqual({
      caFile: "/etc/etcd-pair/c/pki/ca.crt",
      certFile: "/etc/etcd-pair/c/pki/member.crt",
      keyFile: "/etc/etcd-pair/c/pki/member.key",
      clientCertFile: "/etc/etcd-pair/c/pki/client.crt",
      clientKeyFile: "/etc/etcd-pair/c/pki/client.key",
    });
    const plain = resolvePair(parseConfig(`cluster: c\ntls: false\n${SSH_NODES}`, "x"), "/srv/pair");
    expect([plain.tls, plain.nodes[0].tls, plain.nodes[1].tls]).toEqual([undefined, undefined, undefined]);
    const own = `cluster: c\ntls: { dir: /etc/pki, ca: { cert: ca/ca.pem, key: ca/ca-key.pem } }\n${SSH_NODES}`;
    expect(resolvePair(parseConfig(own, "x"), "/srv/pair").tls).toEqual({
      dir: "/etc/pki",
      ca: { cert: "/srv/pair/ca/ca.pem", key: "/srv/pair/ca/ca-key.pem" },
    });
  });

  it.each([
    ["tls: true", "tls: must be false (plain text) or { dir, ca: { cert, key } }"],
    ["tls: { ca: { cert: a.pem } }", "tls.ca.key: is required"],
    ["tls: { directory: x }", 'tls.directory: unknown key "directory"'],
  ])("rejects %s", (tls, message) => {
    expect(problemsOf(`cluster: c\n${tls}\n${SSH_NODES}`).join("\n")).toContain(message);
  });

  it("rejects install on local nodes: they use etcd from binDir", () => {
    expect(problemsOf(edit("binDir: /usr/bin", "install: apt")).join("\n")).toContain(
      "etcd.install: installs etcd on SSH hosts only; nodes[0] (alpha) is local",
    );
  });

  const cases: [string, string, string][] = [
    [
      "cluster name with capitals",
      edit("cluster: demo", "cluster: Demo"),
      "etcd-pair.yaml:1:10: cluster: must be lowercase",
    ],
    [
      "cluster name with a space",
      edit("cluster: demo", 'cluster: "de mo"'),
      "etcd-pair.yaml:1:10: cluster: must be lowercase",
    ],
    ["missing cluster", edit("cluster: demo\n", ""), "cluster: is required"],
    [
      "port above 65535",
      edit("clientPort: 23791", "clientPort: 99999"),
      "etcd-pair.yaml:7:17: nodes[0].clientPort: must be at most 65535",
    ],
    [
      "port zero",
      edit("peerPort: 23802", "peerPort: 0"),
      "etcd-pair.yaml:13:15: nodes[1].peerPort: must be at least 1",
    ],
    [
      "port as text",
      edit("clientPort: 23792", "clientPort: high"),
      "etcd-pair.yaml:12:17: nodes[1].clientPort: must be a port number",
    ],
    ["fractional port", edit("clientPort: 23792", "clientPort: 2379.5"), "nodes[1].clientPort: must be a whole number"],
    [
      "misspelt key",
      edit("    address: 127.0.0.1\n    clientPort: 23792", "    adress: 127.0.0.1\n    clientPort: 23792"),
      "etcd-pair.yaml:11:5: nodes[1].adress: unknown key",
    ],
    ["unknown top-level key", GOOD + "extra: 1\n", "etcd-pair.yaml:15:1: extra: unknown key"],
    ["one node only", GOOD.slice(0, GOOD.indexOf("  - name: beta")), "nodes: must list exactly two nodes"],
    [
      "three nodes",
      GOOD + "  - { name: gamma, address: 127.0.0.1, local: { dir: g } }\n",
      "nodes: must list exactly two nodes",
    ],
    [
      "duplicate node names",
      edit("name: beta", "name: alpha"),
      "etcd-pair.yaml:10:11: nodes[1].name: duplicates nodes[0].name",
    ],
    ["node name with underscore", edit("name: beta", "name: be_ta"), "nodes[1].name: must be lowercase"],
    [
      "address with a scheme",
      edit("address: 127.0.0.1\n    clientPort: 23792", "address: http://127.0.0.1\n    clientPort: 23792"),
      "nodes[1].address: must be an IPv4/IPv6 address or a host name",
    ],
    [
      "address with a port",
      edit("address: 127.0.0.1", "address: 127.0.0.1:2379"),
      "nodes[0].address: must be an IPv4/IPv6 address or a host name",
    ],
    [
      "non-loopback address for a local node",
      edit("address: 127.0.0.1", "address: 10.1.2.3"),
      "nodes[0].address: a local node must use a loopback address",
    ],
    [
      "same client port on the same address",
      edit("clientPort: 23792", "clientPort: 23791"),
      "etcd-pair.yaml:12:17: nodes[1].clientPort: 127.0.0.1:23791 is already used by nodes[0].clientPort",
    ],
    [
      "client port equals peer port",
      edit("peerPort: 23801", "peerPort: 23791"),
      "nodes[0].peerPort: client and peer port are both 23791",
    ],
    [
      "relative binDir",
      edit("binDir: /usr/bin", "binDir: usr/bin"),
      "etcd-pair.yaml:3:11: etcd.binDir: must be an absolute path",
    ],
    [
      "binDir with shell metacharacters",
      edit("binDir: /usr/bin", 'binDir: "/usr/bin; rm -rf /"'),
      "etcd.binDir: may contain only",
    ],
    ["local dir with a quote", edit("dir: .etcd-pair/beta", `dir: "it's"`), "nodes[1].local.dir: may contain only"],
    [
      "both nodes in one dir",
      edit("dir: .etcd-pair/beta", "dir: .etcd-pair/alpha/"),
      "nodes[1].local.dir: both nodes use the same dir",
    ],
    [
      "neither local nor ssh",
      edit("    local: { dir: .etcd-pair/beta }\n", ""),
      "nodes[1]: needs exactly one of local",
    ],
    [
      "both local and ssh",
      edit("    local: { dir: .etcd-pair/beta }\n", "    local: { dir: b }\n    ssh: { user: root }\n"),
      "nodes[1]: needs exactly one of local",
    ],
    [
      "an ssh user with a space",
      edit("    local: { dir: .etcd-pair/beta }\n", "    ssh: { user: 'a b' }\n"),
      "nodes[1].ssh.user: must be a valid user name",
    ],
    ["nodes not a list", "cluster: demo\nnodes: alpha\n", "etcd-pair.yaml:2:8: nodes: must be a list of two nodes"],
    ["broken YAML", "cluster: demo\nnodes: [1\n", "YAML: Flow sequence"],
    ["duplicate YAML key", edit("cluster: demo", "cluster: demo\ncluster: other"), "YAML: Map keys must be unique"],
    ["empty file", "", "cluster: is required"],
  ];

  it.each(cases)("rejects %s with a located message", (_name, text, expected) => {
    const problems = problemsOf(text);
    expect(problems.join("\n")).toContain(expected);
    for (const problem of problems) expect(problem).toMatch(/^etcd-pair\.yaml:\d+:\d+: /);
  });

  it("reports every problem at once", () => {
    const text = edit("clientPort: 23791", "clientPort: 0").replace("name: beta", "name: BETA");
    expect(problemsOf(text)).toHaveLength(2);
  });
});
