import type { NodeSpec } from "../config/resolve.js";
import { archiveStamp } from "../plan/down.js";
import { planRejoin } from "../plan/rejoin.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { newCanaryValue } from "./tokens.js";

export interface RejoinResult {
  node: string;
  main: string;
  steps: StepRecord[];
  durationMs: number;
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
  const steps = await runSteps(plan.steps, hosts, reporter);
  return { node: node.name, main: plan.main, steps, durationMs: Math.round(performance.now() - started) };
}
