import type { NodeSpec } from "../config/resolve.js";
import { planCertsRenew, renewRoles } from "../plan/certs.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { ensurePki } from "./pki.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { runStatus, type StatusReport } from "./status.js";
import { newCanaryValue } from "./tokens.js";

export interface RenewResult {
  main: string;
  learner: string;
  steps: StepRecord[];
  certificates: StatusReport["tls"]["certificates"];
  durationMs: number;
}

/** Issues new member and client certificates (same CA) and rolls them out: learner first, then main. */
export async function runCertsRenew(hosts: Hosts, reporter: Reporter): Promise<RenewResult> {
  const started = performance.now();
  if (!hosts.pair.tls) {
    throw new StateError(
      "the pair runs in plain text (tls: false): there are no certificates to renew",
      "remove tls: false from the config and run up",
    );
  }
  const observations = await observePair(hosts);
  // Refuse before issuing anything when the pair cannot take a rolling restart.
  const roles = renewRoles(hosts.pair, observations);
  if ("refusal" in roles) throw new StateError(roles.refusal.message, roles.refusal.hint);
  const pki = await ensurePki(hosts.pair, observations, { write: true, renew: true });
  if (!pki) throw new Error("no certificates were issued");
  const service = (node: NodeSpec) => hosts.service(node);
  const plan = planCertsRenew({ pair: hosts.pair, observations, service, pki, canaryValue: newCanaryValue() });
  const steps = await runSteps(plan, hosts, reporter);
  const status = await runStatus(hosts);
  return {
    main: roles.main.name,
    learner: roles.learner.name,
    steps,
    certificates: status.tls.certificates,
    durationMs: Math.round(performance.now() - started),
  };
}
