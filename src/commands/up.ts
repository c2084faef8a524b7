import { needsInstall } from "../plan/install.js";
import type { NodeObservation } from "../plan/observed.js";
import { assessUp, planUp, type UpPlan } from "../plan/up.js";
import { ensurePki } from "../runtime/controllerPki.js";
import { PreflightError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { controllerTarball } from "../runtime/tarball.js";
import { newCanaryValue, newClusterToken } from "../runtime/tokens.js";
import { formatMs } from "./text.js";
import { EXIT, type ChangeCommand, type CommandContext } from "./command.js";
import { LEARNER_JOIN_STEPS, PAIR_TEST_STEPS } from "../plan/stepIds.js";
import { UsageError } from "../runtime/errors.js";

export interface UpInput {
  /** Plan as for fresh hosts without probing them (dry runs only). */
  offline: boolean;
}

export interface UpResult {
  changed: boolean;
  main: string;
  learner: string;
  token: string;
  warnings: string[];
  steps: StepRecord[];
  durationMs: number;
}

/** Hosts as `up` finds them on first use: nothing running, no data, etcd only if the config says it is preinstalled. */
function freshObservation(node: string, etcdPresent: boolean): NodeObservation {
  return {
    node,
    reachable: true,
    binaries: { etcd: etcdPresent, etcdctl: etcdPresent, etcdutl: etcdPresent },
    running: false,
    dataDir: "absent",
    restoring: false,
    fileHashes: {},
    listeningPorts: [],
  };
}

interface PreparedUp {
  plan: UpPlan;
  offline: boolean;
  cluster: string;
  started: number;
}

/**
 * Looks at both hosts and plans. A real run refuses (nothing prepared, not even certificates on this machine)
 * when preflight says no; a dry run shows the blockers instead and creates no key and downloads nothing.
 */
async function prepare(ctx: CommandContext, input: UpInput): Promise<PreparedUp> {
  const started = performance.now();
  const pair = await ctx.pair();
  const hosts = await ctx.hosts();
  const observations = input.offline
    ? pair.nodes.map((n) => freshObservation(n.name, pair.install.kind === "preinstalled"))
    : await observePair(hosts);
  const freshToken = newClusterToken(pair.cluster);
  if (!ctx.dryRun) {
    const { blockers } = assessUp(pair, observations, freshToken);
    if (blockers.length > 0) throw new PreflightError(blockers);
  }
  const plan = planUp({
    pair,
    observations,
    service: (node) => hosts.service(node),
    freshToken,
    canaryValue: newCanaryValue(),
    offline: input.offline,
    pki: await ensurePki(pair, observations, { write: !ctx.dryRun }),
    // The tarball is checked (and downloaded once) only when a host still needs it; a plan shows the cache's copy.
    tarball:
      ctx.dryRun || observations.some((o) => needsInstall(pair, o))
        ? await controllerTarball(pair.install, { fetch: !ctx.dryRun })
        : undefined,
  });
  if (!ctx.dryRun && plan.blockers.length > 0) throw new PreflightError(plan.blockers);
  return { plan, offline: input.offline, cluster: pair.cluster, started };
}

async function run(ctx: CommandContext, _input: UpInput, { plan, started }: PreparedUp): Promise<UpResult> {
  plan.warnings.forEach((w) => ctx.reporter.warn(w));
  if (plan.steps.length === 0) {
    ctx.reporter.info(
      `nothing to do: ${plan.main} is main, ${plan.learner} is its learner (run 'etcd-pair check' to test)`,
    );
  }
  const steps = await runSteps(plan.steps, await ctx.hosts(), ctx.reporter);
  return {
    changed: steps.some((s) => s.kind === "change"),
    main: plan.main,
    learner: plan.learner,
    token: plan.token,
    warnings: plan.warnings,
    steps,
    durationMs: Math.round(performance.now() - started),
  };
}

function summary({ plan, offline, cluster }: PreparedUp): string {
  return [
    `etcd-pair plan for cluster ${cluster}: ${plan.main} is main, ${plan.learner} its learner ` +
      `(cluster token ${plan.token})${offline ? " [offline: hosts assumed fresh]" : ""}`,
    ...plan.blockers.map((b) => `BLOCKED on ${b.node}: ${b.problem}\n  fix: ${b.fix}`),
    ...plan.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

export const up: ChangeCommand<UpInput, PreparedUp, UpResult> = {
  path: ["up"],
  description:
    "bring up the pair: preflight, start main as a one-member cluster, test it, add the learner before\n" +
    "starting it, start it, test the pair. Re-running converges; nothing to do is said so.",
  options: [{ flags: "--offline", description: "with --dry-run: do not probe the hosts, plan as for fresh hosts" }],
  changesHosts: true,
  steps: [
    "main.install.apt",
    "main.install.tarball",
    "main.install.version",
    "learner.install.apt",
    "learner.install.tarball",
    "learner.install.version",
    "main.certificates",
    "learner.certificates",
    "main.files",
    "main.approve",
    "main.trial",
    "main.service",
    "main.start",
    "main.ready",
    "main.generation",
    "main.smoke",
    ...LEARNER_JOIN_STEPS,
    ...PAIR_TEST_STEPS,
  ],
  input: (_args, options) => ({ offline: options.offline === true }),
  prepare: async (ctx, input) => {
    if (input.offline && !ctx.dryRun) {
      throw new UsageError(
        "--offline only plans",
        "use 'etcd-pair plan --offline' or 'etcd-pair up --dry-run --offline'",
      );
    }
    return prepare(ctx, input);
  },
  run,
  intent: (prepared) => ({
    summary: summary(prepared),
    steps: prepared.plan.steps,
    idle:
      prepared.plan.blockers.length > 0
        ? "nothing will run until the blockers above are fixed"
        : "nothing to do: the pair is up",
    details: {
      main: prepared.plan.main,
      learner: prepared.plan.learner,
      token: prepared.plan.token,
      blockers: prepared.plan.blockers,
      warnings: prepared.plan.warnings,
    },
    exitCode: prepared.plan.blockers.length > 0 ? EXIT.usage : EXIT.ok,
  }),
  report: (result) => ({
    json: result,
    stderr: `up: ${result.main} is main, ${result.learner} its learner (${formatMs(result.durationMs)})`,
  }),
};

/** `plan` is the dry run of `up`: one code path, the same output as `up --dry-run`. */
export const plan: ChangeCommand<UpInput, PreparedUp, UpResult> = {
  ...up,
  path: ["plan"],
  description: "print every command and file 'up' would run or write, per host (same as 'up --dry-run')",
  options: [
    { flags: "--offline", description: "do not probe the hosts (one read-only command each): plan as for fresh hosts" },
  ],
  dryRunOnly: true,
};
