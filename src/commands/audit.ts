import { auditCommand, judgeAudit, parseAudit, type AuditCheck } from "../plan/audit.js";
import { nodeLayout } from "../config/layout.js";
import type { Hosts } from "../runtime/hosts.js";
import { table } from "./text.js";
import { EXIT, type LookCommand } from "./command.js";

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
async function runAudit(hosts: Hosts): Promise<AuditReport> {
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

export function formatAudit(report: AuditReport): string {
  const rows = report.nodes.flatMap((n) =>
    n.error
      ? [[n.node, "-", "ERROR", n.error]]
      : n.checks.map((c) => [n.node, c.id, c.result.toUpperCase(), `${c.title}: ${c.detail}`]),
  );
  return `${table(["NODE", "CHECK", "RESULT", "DETAIL"], rows)}${report.passed ? "audit passed" : "audit FAILED"}\n`;
}

export const audit: LookCommand<object, null, AuditReport> = {
  path: ["audit"],
  description:
    "CIS etcd checks 2.1-2.7 on the running etcd's flags and environment, file modes, not root; exit 3 on a failure",
  changesHosts: false,
  input: () => ({}),
  prepare: async () => null,
  run: async (ctx) => runAudit(await ctx.hosts()),
  report: (report) => ({
    json: report,
    stdout: formatAudit(report),
    exitCode: report.passed ? EXIT.ok : EXIT.unhealthy,
  }),
};
