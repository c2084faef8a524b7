import type { NodeSpec, PairSpec } from "../config/resolve.js";
import type { ServiceManager } from "../service/types.js";
import { isLeader, isLearnerWithLeader, pairVerificationSteps } from "./checks.js";
import type { NodeObservation } from "./observed.js";
import { pairView } from "./pairView.js";
import type { Refusal } from "./refusal.js";
import { readyStep, startStep, stopStep } from "./steps.js";
import { certificateSteps, type ControllerPki } from "./pki.js";
import type { Step } from "./step.js";

export interface RenewInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  /** The controller's certificates, already issued anew. */
  pki: ControllerPki;
  canaryValue: string;
}

/** New certificates onto one node's host, then a restart so every connection uses them. */
function rollNode(
  node: NodeSpec,
  prefix: "renew.learner" | "renew.main",
  inputs: RenewInputs,
  ready: typeof isLeader,
  timeoutMs: number,
) {
  const service = inputs.service(node);
  return [
    ...certificateSteps(node, prefix, pairView(inputs.pair, inputs.observations).of(node), inputs.pki),
    stopStep(node, prefix, service, `restart etcd on ${node.name} with its new certificate: stop`),
    startStep(node, prefix, service),
    readyStep(node, prefix, service, ready, timeoutMs),
  ];
}

/** Who is main and learner for a rolling renewal, or why the pair cannot take one now. */
export function renewRoles(
  pair: PairSpec,
  observations: readonly NodeObservation[],
): { main: NodeSpec; learner: NodeSpec } | { refusal: Refusal } {
  const view = pairView(pair, observations);
  const main = view.leader();
  if (!main) {
    return {
      refusal: {
        message: "no node leads the pair: certificates are renewed on a running pair only",
        hint: "run 'etcd-pair status'; 'etcd-pair up' also issues certificates that are missing or close to expiry",
      },
    };
  }
  const learner = view.peer(main);
  if (!view.of(learner).status?.isLearner) {
    return {
      refusal: {
        message: `${learner.name} is not a running learner of ${main.name}`,
        hint: "bring the pair back to health first (etcd-pair status, then up or rejoin)",
      },
    };
  }
  return { main, learner };
}

/**
 * Rolling renewal of the member and client certificates: the learner first (the main serves on), then the
 * main (a restart of the only voter: writes pause for about a second, nothing is lost), then the pair test.
 */
export function planCertsRenew(inputs: RenewInputs): Step[] {
  const roles = renewRoles(inputs.pair, inputs.observations);
  if ("refusal" in roles) return [];
  const { main, learner } = roles;
  return [
    ...rollNode(learner, "renew.learner", inputs, isLearnerWithLeader, 60_000),
    ...rollNode(main, "renew.main", inputs, isLeader, 30_000),
    ...pairVerificationSteps(main, learner, inputs.canaryValue),
  ];
}
