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
  nodes: [localNode("alpha", 23791, 23801), localNode("beta", 23792, 23802)],
};
