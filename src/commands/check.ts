import { pairVerificationSteps } from "../plan/checks.js";
import { derivePairState, type PairState } from "../plan/pairState.js";
import { runSteps, StepFailure, type Reporter } from "../runtime/runner.js";
import type { Hosts } from "../runtime/hosts.js";
import { observePair } from "../runtime/observe.js";
import { newCanaryValue } from "../runtime/tokens.js";
import { EXIT, type LookCommand } from "./command.js";
import { PAIR_TEST_STEPS } from "../plan/stepIds.js";

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
export async function runCheck(hosts: Hosts, reporter: Reporter, state: PairState): Promise<CheckResult> {
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

export function formatCheck(result: CheckResult): string {
  const lines = result.checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.title}${c.detail ? `: ${c.detail}` : ""}`);
  return `${lines.join("\n")}\n${result.healthy ? "check passed" : "check FAILED"}\n`;
}

export const check: LookCommand<object, PairState, CheckResult> = {
  path: ["check"],
  description:
    "write a canary on main, read it on the learner (serializable), indexes converge, no alarms; exit 3 on failure",
  changesHosts: false,
  quietSteps: true,
  steps: PAIR_TEST_STEPS,
  input: () => ({}),
  prepare: async (ctx) => {
    const hosts = await ctx.hosts();
    return derivePairState(hosts.pair, await observePair(hosts));
  },
  run: async (ctx, _input, state) => runCheck(await ctx.hosts(), ctx.reporter, state),
  report: (result) => ({
    json: result,
    stdout: formatCheck(result),
    exitCode: result.healthy ? EXIT.ok : EXIT.unhealthy,
  }),
};
