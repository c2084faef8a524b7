import type { NodeSpec } from "../config/resolve.js";
import { archiveStamp } from "../plan/down.js";
import { ASSESS_LOSS_STEP_ID } from "../plan/failover.js";
import { planRejoin } from "../plan/rejoin.js";
import { runLossAssessment } from "./assessLoss.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { newCanaryValue } from "./tokens.js";

/** What the rejoined node's old data held past the revision the failover restored: the failover's loss. */
export interface RejoinLoss {
  restoredRevision: number;
  /** null when the copy of its data could not be read. */
  nodeRevision: number | null;
  lostRevisions: number | null;
}

export interface RejoinResult {
  node: string;
  main: string;
  steps: StepRecord[];
  durationMs: number;
  /** Measured when the node's data predates the main's failover (a powered-off old main's loss), else null. */
  loss: RejoinLoss | null;
}

/** Observes both hosts (read-only) and plans the rejoin; refuses when it must not run. */
export async function prepareRejoin(hosts: Hosts, node: NodeSpec) {
  const plan = planRejoin({
    pair: hosts.pair,
    observations: await observePair(hosts),
    node,
    service: (n) => hosts.service(n),
    stamp: archiveStamp(new Date()),
    canaryValue: newCanaryValue(),
  });
  if (plan.refusal) throw new StateError(plan.refusal.message, plan.refusal.hint);
  return plan;
}

export async function runRejoin(hosts: Hosts, reporter: Reporter, node: NodeSpec): Promise<RejoinResult> {
  const started = performance.now();
  const plan = await prepareRejoin(hosts, node);
  const at = plan.steps.findIndex((s) => s.id === ASSESS_LOSS_STEP_ID);
  const assess = plan.steps[at];
  let loss: RejoinLoss | null = null;
  let steps: StepRecord[];
  if (assess && plan.restoredRevision !== undefined) {
    // Reading the old data is best effort: it must not keep the node from rejoining.
    const before = await runSteps(plan.steps.slice(0, at), hosts, reporter);
    const { records, revision } = await runLossAssessment(assess, hosts, reporter);
    const after = await runSteps(plan.steps.slice(at + 1), hosts, reporter);
    steps = [...before, ...records, ...after];
    const lostRevisions = revision === null ? null : Math.max(0, revision - plan.restoredRevision);
    loss = { restoredRevision: plan.restoredRevision, nodeRevision: revision, lostRevisions };
  } else {
    steps = await runSteps(plan.steps, hosts, reporter);
  }
  return { node: node.name, main: plan.main, steps, durationMs: Math.round(performance.now() - started), loss };
}
