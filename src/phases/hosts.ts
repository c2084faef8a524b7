import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { CONTROLLER } from "../plan/failover.js";
import { nodeLayout } from "../plan/layout.js";
import { localSupervisor } from "../service/local.js";
import type { ServiceManager } from "../service/types.js";
import { LocalTransport } from "../transport/local.js";
import type { HostTransport } from "../transport/types.js";

/** The transports and service managers of a pair's hosts, opened once and shared by all steps. */
export class Hosts {
  private readonly transports = new Map<string, HostTransport>();

  constructor(readonly pair: PairSpec) {}

  node(name: string): NodeSpec {
    const node = this.pair.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`unknown node ${name}`);
    return node;
  }

  transport(name: string): HostTransport {
    let transport = this.transports.get(name);
    if (!transport) {
      if (name !== CONTROLLER) this.node(name);
      transport = new LocalTransport(name);
      this.transports.set(name, transport);
    }
    return transport;
  }

  service(node: NodeSpec): ServiceManager {
    return localSupervisor(nodeLayout(node));
  }

  async close(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
  }
}
