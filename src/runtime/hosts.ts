import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { CONTROLLER } from "../plan/fence.js";
import { nodeLayout } from "../config/layout.js";
import { localSupervisor } from "../service/local.js";
import { systemdService } from "../service/systemd.js";
import type { ServiceManager } from "../service/types.js";
import { LocalTransport } from "../transport/local.js";
import { SshTransport } from "../transport/ssh.js";
import type { HostTransport } from "../transport/types.js";
import { takePairLock, type LockNotice, type PairLock } from "./lock.js";

export interface HostsOptions {
  /** Record unknown SSH host keys instead of refusing them. */
  acceptNewHostKeys?: boolean;
}

/** The transports and service managers of a pair's hosts, opened once and shared by all steps. */
export class Hosts {
  private readonly transports = new Map<string, HostTransport>();
  private pairLock?: PairLock;

  constructor(
    readonly pair: PairSpec,
    private readonly options: HostsOptions = {},
  ) {}

  node(name: string): NodeSpec {
    const node = this.pair.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`unknown node ${name}`);
    return node;
  }

  /** The transport of a node, or the controller's own (CONTROLLER, a key no node name can take). */
  transport(name: string): HostTransport {
    let transport = this.transports.get(name);
    if (!transport) {
      transport = name === CONTROLLER ? new LocalTransport(name) : this.open(this.node(name));
      this.transports.set(name, transport);
    }
    return transport;
  }

  private open(node: NodeSpec): HostTransport {
    if (node.host.kind === "local") return new LocalTransport(node.name);
    const { kind, ...ssh } = node.host;
    return new SshTransport({ ...ssh, node: node.name, acceptNewHostKeys: this.options.acceptNewHostKeys ?? false });
  }

  service(node: NodeSpec): ServiceManager {
    const layout = nodeLayout(node);
    return node.host.kind === "ssh" ? systemdService(node, layout, this.pair.cluster) : localSupervisor(layout);
  }

  /** The same pair and options over connections of its own (watch: a look or a failover apart from the ticks). */
  reopen(): Hosts {
    return new Hosts(this.pair, this.options);
  }

  /** Takes the pair lock on every node it reaches (see runtime/lock.ts); close() releases it. */
  async lock(command: string): Promise<LockNotice[]> {
    const { lock, notices } = await takePairLock(this.pair.nodes, (name) => this.transport(name), command);
    this.pairLock = lock;
    return notices;
  }

  /** Why this command may no longer change `node`: it lost the node's lock. */
  lockLost(node: string): string | undefined {
    return this.pairLock?.lost(node);
  }

  async close(): Promise<void> {
    await this.pairLock?.release();
    await Promise.all([...this.transports.values()].map((t) => t.close()));
    this.transports.clear();
  }
}
