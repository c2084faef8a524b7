import path from "node:path";
import type { Config } from "./schema.js";

/** A node as the rest of the tool sees it: every default applied, every path absolute. */
export interface NodeSpec {
  name: string;
  address: string;
  clientPort: number;
  peerPort: number;
  binDir: string;
  host: LocalHost;
}

export interface LocalHost {
  kind: "local";
  /** Absolute directory holding this node's data, scripts, logs and pidfile. */
  dir: string;
}

export interface PairSpec {
  cluster: string;
  /** In config order: the first is the initial main. */
  nodes: readonly [NodeSpec, NodeSpec];
  /** Run on the controller by failover when the old main cannot be reached. */
  fenceCommand?: string;
}

/** Applies defaults and makes local dirs absolute, relative to the directory of the config file. */
export function resolvePair(config: Config, configDir: string): PairSpec {
  const toSpec = (index: 0 | 1): NodeSpec => {
    const node = config.nodes[index];
    if (!node) throw new Error(`config has no nodes[${index}]`);
    return {
      name: node.name,
      address: node.address,
      clientPort: node.clientPort ?? config.etcd.clientPort,
      peerPort: node.peerPort ?? config.etcd.peerPort,
      binDir: node.binDir ?? config.etcd.binDir,
      host: { kind: "local", dir: path.resolve(configDir, node.local.dir) },
    };
  };
  const fenceCommand = config.failover?.fenceCommand;
  return { cluster: config.cluster, nodes: [toSpec(0), toSpec(1)], ...(fenceCommand ? { fenceCommand } : {}) };
}
