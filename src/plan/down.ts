import type { NodeSpec } from "../config/resolve.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { Step } from "./step.js";
import type { Side } from "./stepIds.js";

export interface DownInputs {
  /** Stopped in this order: the learner first, so the main never sees its standby as a failed peer mid-write. */
  nodes: readonly { node: NodeSpec; side: Side }[];
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  purge: boolean;
  /** Names the archive folders, e.g. 20261127T143000Z. */
  stamp: string;
}

export function archiveStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** Stops both nodes; with purge, moves their data and generation marker into the archive (never deletes). */
export function planDown(inputs: DownInputs): Step[] {
  const steps: Step[] = [];
  for (const { node, side } of inputs.nodes) {
    const o = inputs.observations.find((obs) => obs.node === node.name);
    const service = inputs.service(node);
    if (o?.running) {
      steps.push({
        id: `down.${side}.stop`,
        title: `stop etcd on ${node.name}`,
        node: node.name,
        kind: "change",
        // Down stays down across reboots; `up` enables and starts it again.
        actions: [{ kind: "exec", node: node.name, command: service.stopAndDisable(), timeoutMs: 45_000 }],
        diagnose: service.logTail(20),
      });
    }
    if (!inputs.purge || !o) continue;
    const layout = nodeLayout(node);
    const moves: string[] = [];
    if (o.dataDir !== "absent") moves.push(archiveMove(layout.dataDir, `${layout.archiveDir}/data-${inputs.stamp}`));
    if (o.generation) {
      moves.push(archiveMove(layout.generationFile, `${layout.archiveDir}/generation-${inputs.stamp}`));
    }
    if (moves.length === 0) continue;
    steps.push({
      id: `down.${side}.archive`,
      title: `archive ${node.name}'s data dir into ${layout.archiveDir}`,
      node: node.name,
      kind: "change",
      actions: [
        { kind: "exec", node: node.name, command: [`mkdir -p ${shQuote(layout.archiveDir)}`, ...moves].join(" && ") },
      ],
    });
  }
  return steps;
}

/** mv that refuses to overwrite: an archive is never replaced. */
function archiveMove(from: string, to: string): string {
  return `if [ -e ${shQuote(to)} ]; then echo ${shQuote(`${to} exists already`)} >&2; exit 1; fi && mv ${shQuote(from)} ${shQuote(to)}`;
}
