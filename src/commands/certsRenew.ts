import { planCertsRenew, renewRoles } from "../plan/certs.js";
import type { Step } from "../plan/step.js";
import { ensurePki } from "../runtime/controllerPki.js";
import { StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { newCanaryValue } from "../runtime/tokens.js";
import type { ChangeCommand } from "./command.js";
import { readStatus, type StatusReport } from "./status.js";
import { PAIR_TEST_STEPS } from "../plan/stepIds.js";

export interface RenewResult {
  main: string;
  learner: string;
  steps: StepRecord[];
  certificates: StatusReport["tls"]["certificates"];
  durationMs: number;
}

interface PreparedRenew {
  main: string;
  learner: string;
  steps: Step[];
  started: number;
}

/** Issues new member and client certificates (same CA) and rolls them out: learner first, then main. */
export const certsRenew: ChangeCommand<object, PreparedRenew, RenewResult> = {
  path: ["certs", "renew"],
  description:
    "issue new member and client certificates (same CA) and roll them out: learner first, then main; no data is lost",
  changesHosts: true,
  steps: [
    "renew.learner.certificates",
    "renew.learner.stop",
    "renew.learner.start",
    "renew.learner.ready",
    "renew.main.certificates",
    "renew.main.stop",
    "renew.main.start",
    "renew.main.ready",
    ...PAIR_TEST_STEPS,
  ],
  input: () => ({}),
  prepare: async (ctx) => {
    const started = performance.now();
    const hosts = await ctx.hosts();
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
    // A dry run issues nothing: it shows the copies and restarts the renewal makes.
    const pki = await ensurePki(hosts.pair, observations, { write: !ctx.dryRun, renew: true });
    if (!pki) throw new Error("no certificates were issued");
    const service = (node: Parameters<typeof hosts.service>[0]) => hosts.service(node);
    const steps = planCertsRenew({ pair: hosts.pair, observations, service, pki, canaryValue: newCanaryValue() });
    return { main: roles.main.name, learner: roles.learner.name, steps, started };
  },
  intent: ({ main, learner, steps }) => ({
    summary: `certs renew: new certificates for ${learner} (restarted first), then ${main} (writes pause while it restarts)`,
    steps,
  }),
  run: async (ctx, _input, { main, learner, steps, started }) => {
    const hosts = await ctx.hosts();
    const records = await runSteps(steps, hosts, ctx.reporter);
    const status = await readStatus(hosts);
    return {
      main,
      learner,
      steps: records,
      certificates: status.tls.certificates,
      durationMs: Math.round(performance.now() - started),
    };
  },
  report: (result) => ({
    json: result,
    stdout: result.certificates
      .map((c) => `${c.label}: valid until ${c.notAfter?.slice(0, 10) ?? "?"} (${c.daysLeft ?? "?"} days)`)
      .join("\n"),
  }),
};
