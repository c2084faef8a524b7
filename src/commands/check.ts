import { pairVerificationSteps } from "../plan/checks.js";
import { derivePairState, type PairState } from "../plan/pairState.js";
import { runSteps, StepFailure, type Reporter } from "../runtime/runner.js";
import type { Hosts } from "../runtime/hosts.js";
import { observePair } from "../runtime/observe.js";
import { newCanaryValue } from "../runtime/tokens.js";
import { EXIT, type LookCommand } from "./command.js";
import { PAIR_TEST_STEPS } from "../plan/stepIds.js";
import { runFenceCheck } from "../runtime/fenceCheck.js";
import type { NodeObservation } from "../plan/observed.js";
import { describeHealth, healthProblems } from "../plan/memberHealth.js";

/**
 * The fence path of the main (the node a failover would fence), through failover.fenceCheckCommand: a row that
 * fails the check when the command fails, and says "not configured" (without failing) when there is none.
 */
async function fenceItem(hosts: Hosts, state: PairState): Promise<CheckItem> {
  const title = "fence path of the main (failover.fenceCheckCommand)";
  const command = hosts.pair.fenceCheckCommand;
  if (!command) return { id: "fence", title, ok: true, skipped: true, durationMs: 0, detail: "not configured" };
  const main = state.nodes.find((n) => n.role === "leader");
  if (!main) return { id: "fence", title, ok: true, skipped: true, durationMs: 0, detail: "no main to fence" };
  let result;
  try {
    result = await runFenceCheck(hosts, command, hosts.node(main.name));
  } catch (err) {
    return { id: "fence", title, ok: false, durationMs: 0, detail: `could not run it: ${(err as Error).message}` };
  }
  const last = result.output.split("\n").at(-1) ?? "";
  return {
    id: "fence",
    title: `fence path of ${main.name} (failover.fenceCheckCommand)`,
    ok: result.ok,
    durationMs: result.durationMs,
    detail: `exit ${result.exitCode}${last ? `: ${last}` : ""}`,
  };
}

export interface CheckItem {
  id: string;
  title: string;
  ok: boolean;
  /** Not run (the fence check without a fenceCheckCommand): shown as SKIP, does not fail the check. */
  skipped?: boolean;
  durationMs: number;
  detail?: string;
}

export interface CheckResult {
  healthy: boolean;
  state: PairState;
  checks: CheckItem[];
}

/** What check looks at before it runs anything: the pair's state and what each node's probe saw. */
export interface CheckInput {
  state: PairState;
  observations: NodeObservation[];
}

/** One row per running member whose etcd serves /livez and /readyz: a learner may fail non_learner. */
function healthItems(observations: readonly NodeObservation[]): CheckItem[] {
  return observations.flatMap((o) => {
    if (!o.health) return [];
    const isLearner = o.status?.isLearner === true;
    const problems = healthProblems(o.health, isLearner);
    const title = `etcd /livez and /readyz of ${o.node}${isLearner ? " (learner)" : ""}`;
    return [
      {
        id: `health.${o.node}`,
        title,
        ok: problems.length === 0,
        durationMs: 0,
        detail: describeHealth(o.health, isLearner),
      },
    ];
  });
}

/** Roles as expected, then every pair verification: each one runs and is reported, pass or fail. */
export async function runCheck(hosts: Hosts, reporter: Reporter, input: CheckInput): Promise<CheckResult> {
  const { state } = input;
  const roles: CheckItem = {
    id: "pair.roles",
    title: "one leader and one learner",
    ok: state.healthy,
    durationMs: 0,
    ...(state.healthy ? {} : { detail: state.problems.join("; ") }),
  };
  const checks = [roles, ...healthItems(input.observations)];
  const fence = fenceItem(hosts, state);
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
  checks.push(await fence);
  return { healthy: checks.every((c) => c.ok), state, checks };
}

export function formatCheck(result: CheckResult): string {
  const verdict = (c: CheckItem) => (c.skipped ? "SKIP" : c.ok ? "PASS" : "FAIL");
  const lines = result.checks.map((c) => `${verdict(c)}  ${c.title}${c.detail ? `: ${c.detail}` : ""}`);
  return `${lines.join("\n")}\n${result.healthy ? "check passed" : "check FAILED"}\n`;
}

export const check: LookCommand<object, CheckInput, CheckResult> = {
  path: ["check"],
  description:
    "etcd's /livez and /readyz where served, write a canary on main, read it on the learner (serializable), " +
    "indexes converge, no alarms, the main's fence " +
    "path (failover.fenceCheckCommand, when set); exit 3 on failure",
  changesHosts: false,
  quietSteps: true,
  steps: PAIR_TEST_STEPS,
  input: () => ({}),
  prepare: async (ctx) => {
    const hosts = await ctx.hosts();
    const observations = await observePair(hosts);
    return { state: derivePairState(hosts.pair, observations), observations };
  },
  run: async (ctx, _input, prepared) => runCheck(await ctx.hosts(), ctx.reporter, prepared),
  report: (result) => ({
    json: result,
    stdout: formatCheck(result),
    exitCode: result.healthy ? EXIT.ok : EXIT.unhealthy,
  }),
};
