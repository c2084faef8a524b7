import { needsInstall } from "../plan/install.js";
import { assessUp, planUp } from "../plan/up.js";
import { PreflightError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { ensurePki } from "./pki.js";
import { controllerTarball } from "./tarball.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { newCanaryValue, newClusterToken } from "./tokens.js";

export interface UpResult {
  changed: boolean;
  main: string;
  backup: string;
  token: string;
  warnings: string[];
  steps: StepRecord[];
  durationMs: number;
}

export async function runUp(hosts: Hosts, reporter: Reporter): Promise<UpResult> {
  const started = performance.now();
  const observations = await observePair(hosts);
  const freshToken = newClusterToken(hosts.pair.cluster);
  // Nothing is prepared, not even certificates on this machine, when preflight says no.
  const { blockers } = assessUp(hosts.pair, observations, freshToken);
  if (blockers.length > 0) throw new PreflightError(blockers);
  const plan = planUp({
    pair: hosts.pair,
    observations,
    service: (node) => hosts.service(node),
    freshToken,
    canaryValue: newCanaryValue(),
    pki: await ensurePki(hosts.pair, observations, { write: true }),
    // The tarball is checked (and downloaded once) only when a host still needs it.
    tarball: observations.some((o) => needsInstall(hosts.pair, o))
      ? await controllerTarball(hosts.pair.install, { fetch: true })
      : undefined,
  });
  if (plan.blockers.length > 0) throw new PreflightError(plan.blockers);
  plan.warnings.forEach((w) => reporter.warn(w));
  if (plan.steps.length === 0) {
    reporter.info(`nothing to do: ${plan.main} is main, ${plan.backup} is its learner (run 'etcd-pair check' to test)`);
  }
  const steps = await runSteps(plan.steps, hosts, reporter);
  return {
    changed: steps.some((s) => s.kind === "change"),
    main: plan.main,
    backup: plan.backup,
    token: plan.token,
    warnings: plan.warnings,
    steps,
    durationMs: Math.round(performance.now() - started),
  };
}
