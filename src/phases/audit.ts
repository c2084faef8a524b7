import { auditCommand, judgeAudit, parseAudit, type AuditCheck } from "../plan/audit.js";
import { nodeLayout } from "../plan/layout.js";
import type { Hosts } from "./hosts.js";

export interface NodeAudit {
  node: string;
  /** Set when the host could not be asked. */
  error?: string;
  checks: AuditCheck[];
}

export interface AuditReport {
  passed: boolean;
  nodes: NodeAudit[];
}

/** The CIS etcd checks and file modes on both hosts, read-only, in one round trip each. */
export async function runAudit(hosts: Hosts): Promise<AuditReport> {
  const nodes = await Promise.all(
    hosts.pair.nodes.map(async (node): Promise<NodeAudit> => {
      const layout = nodeLayout(node);
      try {
        const outcome = await hosts
          .transport(node.name)
          .exec(auditCommand(node, layout, hosts.service(node)), { timeoutMs: 20_000 });
        if (outcome.code !== 0) return { node: node.name, error: outcome.stderr.trim(), checks: [] };
        return { node: node.name, checks: judgeAudit(node, layout, parseAudit(outcome.stdout)) };
      } catch (err) {
        return { node: node.name, error: (err as Error).message, checks: [] };
      }
    }),
  );
  const passed = nodes.every((n) => !n.error && n.checks.every((c) => c.result !== "fail"));
  return { passed, nodes };
}
