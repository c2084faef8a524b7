import { pairVerificationSteps } from "../plan/checks.js";
import { derivePairState, type PairState } from "../plan/pairState.js";
import { runSteps, StepFailure, type Reporter } from "./runner.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { newCanaryValue } from "./tokens.js";

export interface CheckItem {
  id: string;
  title: string;
  ok: boolean;
  durationMs: number;
  detail?: string;
}

export interface CheckResult {
  healthy: boolean;
  state: PairState;
  checks: CheckItem[];
}

/** Roles as expected, then every pair verification: each one runs and is reported, pass or fail. */
export async function runCheck(hosts: Hosts, reporter: Reporter): Promise<CheckResult> {
  const state = derivePairState(hosts.pair, await observePair(hosts));
  const roles: CheckItem = {
    id: "pair.roles",
    title: "one leader and one learner",
    ok: state.healthy,
    durationMs: 0,
    ...(state.healthy ? {} : { detail: state.problems.join("; ") }),
  };
  const checks = [roles];
  const leader = state.nodes.find((n) => n.role === "leader");
  const learner = state.nodes.find((n) => n.role === "learner");
  if (leader && learner) {
    const steps = pairVerificationSteps(hosts.node(leader.name), hosts.node(learner.name), newCanaryValue());
    // Independent checks, run at once: each is a round trip and a ~40 ms etcdctl start on its host.
    const results = await Promise.all(
      steps.map(async (step): Promise<CheckItem> => {
        const started = performance.now();
        const durationMs = () => Math.round(performance.now() - started);
        try {
          await runSteps([step], hosts, reporter);
          return { id: step.id, title: step.title, ok: true, durationMs: durationMs() };
        } catch (err) {
          if (!(err instanceof StepFailure)) throw err;
          return { id: step.id, title: step.title, ok: false, durationMs: durationMs(), detail: err.reason };
        }
      }),
    );
    checks.push(...results);
  }
  return { healthy: checks.every((c) => c.ok), state, checks };
}
