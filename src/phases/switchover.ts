import type { NodeSpec } from "../config/resolve.js";
import { archiveStamp } from "../plan/down.js";
import { planSwitchover } from "../plan/switchover.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { newCanaryValue } from "./tokens.js";

export interface SwitchoverResult {
  newMain: string;
  oldMain: string;
  changed: boolean;
  steps: StepRecord[];
  durationMs: number;
  /** From promote to the old main's removal: the cluster had two voters (quorum 2). */
  twoVoterWindowMs: number | null;
  /** From the start of move-leader to the first write acknowledged by the new main. */
  leaderChangeToFirstWriteMs: number | null;
}

/** Milliseconds from the start of step `from` to the end of step `to`, when both ran. */
function span(steps: readonly StepRecord[], from: string, to: string): number | null {
  const start = steps.findIndex((s) => s.id === from);
  const end = steps.findIndex((s) => s.id === to);
  if (start < 0 || end < start) return null;
  return steps.slice(start, end + 1).reduce((sum, s) => sum + s.durationMs, 0);
}

export interface SwitchoverOptions {
  target?: NodeSpec;
  catchUpTimeoutMs: number;
}

/** Observes both hosts (read-only) and plans the switchover; refuses when it must not run. */
export async function prepareSwitchover(hosts: Hosts, options: SwitchoverOptions) {
  const plan = planSwitchover({
    pair: hosts.pair,
    observations: await observePair(hosts),
    ...(options.target ? { target: options.target } : {}),
    service: (n) => hosts.service(n),
    stamp: archiveStamp(new Date()),
    canaryValue: newCanaryValue(),
    catchUpTimeoutMs: options.catchUpTimeoutMs,
  });
  if (plan.refusal) throw new StateError(plan.refusal.message, plan.refusal.hint);
  return plan;
}

export async function runSwitchover(
  hosts: Hosts,
  reporter: Reporter,
  options: SwitchoverOptions & { confirm: (summary: string) => Promise<void> },
): Promise<SwitchoverResult> {
  const started = performance.now();
  const plan = await prepareSwitchover(hosts, options);
  plan.warnings.forEach((w) => reporter.warn(w));
  if (plan.steps.length === 0) {
    reporter.info(`nothing to do: ${plan.newMain} is main and ${plan.oldMain} its learner`);
  } else {
    await options.confirm(
      `switchover: ${plan.newMain} becomes main, ${plan.oldMain} its learner (no acknowledged write is lost; ` +
        `writes pause while the leadership moves).`,
    );
  }
  const steps = await runSteps(plan.steps, hosts, reporter);
  return {
    newMain: plan.newMain,
    oldMain: plan.oldMain,
    changed: steps.length > 0,
    steps,
    durationMs: Math.round(performance.now() - started),
    twoVoterWindowMs: span(steps, "switch.promote", "switch.remove"),
    leaderChangeToFirstWriteMs: span(steps, "switch.move-leader", "newmain.smoke"),
  };
}
