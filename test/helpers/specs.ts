import type { NodeSpec, PairSpec } from "../../src/config/resolve.js";

export function localNode(
  name: string,
  clientPort: number,
  peerPort: number,
  dir = `/srv/etcd-pair/${name}`,
): NodeSpec {
  return {
    name,
    address: "127.0.0.1",
    clientPort,
    peerPort,
    binDir: "/usr/bin",
    host: { kind: "local", dir },
    configDir: dir,
    stateDir: dir,
  };
}

/** The pair of the documented example config, with fixed paths for golden files. */
export const DEMO_PAIR: PairSpec = {
  cluster: "demo",
  install: { kind: "preinstalled" },
  nodes: [localNode("alpha", 23791, 23801), localNode("beta", 23792, 23802)],
  autoFailover: { detectAfterMs: 10_000, minIntervalMs: 3_600_000 },
};

/** The same node as a real host over SSH, at the paths etcd-pair uses there. */
export function sshNode(node: NodeSpec, address: string): NodeSpec {
  return {
    ...node,
    address,
    peerPort: 2380,
    host: { kind: "ssh", host: address, port: 22, user: "root", knownHostsFile: "/k", become: false },
    configDir: "/etc/etcd-pair/demo",
    stateDir: "/var/lib/etcd-pair/demo",
  };
}

/** The demo pair on two SSH hosts. */
export const SSH_PAIR: PairSpec = {
  ...DEMO_PAIR,
  nodes: [sshNode(DEMO_PAIR.nodes[0], "10.0.0.1"), sshNode(DEMO_PAIR.nodes[1], "10.0.0.2")],
};

/** The SSH pair with mutual TLS, as a config without `tls:` gives it (certificates under /etc/etcd-pair/demo/pki). */
export const SSH_TLS_PAIR: PairSpec = {
  ...SSH_PAIR,
  tls: { dir: "/srv/pair/pki" },
  nodes: [withTls(SSH_PAIR.nodes[0]), withTls(SSH_PAIR.nodes[1])],
};

function withTls(node: NodeSpec): NodeSpec {
  const at = (file: string) => `${node.configDir}/pki/${file}`;
  return {
    ...node,
    tls: {
      caFile: at("ca.crt"),
      certFile: at("member.crt"),
      keyFile: at("member.key"),
      clientCertFile: at("client.crt"),
      clientKeyFile: at("client.key"),
    },
  };
}
