import type { NodeSpec, PairSpec } from "../config/resolve.js";
import type { ServiceManager } from "../service/types.js";
import { approveStartStep, consumingApproval, staleMainBlocker, tokenSeconds } from "./bootGuard.js";
import { isLeader, isLearnerWithLeader, pairVerificationSteps } from "./checks.js";
import { installSteps, type LocalTarball } from "./install.js";
import { certificateSteps, type ControllerPki } from "./pki.js";
import { PLAINTEXT_WARNING } from "./tlsState.js";
import { trialThenInstallSteps } from "./trialRun.js";
import type { NodeObservation } from "./observed.js";
import { pairView } from "./pairView.js";
import { preflight, type Blocker } from "./preflight.js";
import type { Step } from "./step.js";
import {
  fileSteps,
  generationStep,
  mainSmokeStep,
  memberAddStep,
  publishNudgeStep,
  readyStep,
  startStep,
} from "./steps.js";

export interface UpInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  /** Used when the main bootstraps a new cluster generation. */
  freshToken: string;
  canaryValue: string;
  /** The controller's checked copy of the release tarball, for install: tarball. */
  tarball?: LocalTarball;
  /** The CA and certificates on the controller, unless the pair runs in plain text. */
  pki?: ControllerPki;
  /** The hosts were not probed (plan --offline): preflight has nothing to judge, the plan is for fresh hosts. */
  offline?: boolean;
}

export type { Blocker } from "./preflight.js";

export interface UpPlan {
  main: string;
  learner: string;
  token: string;
  steps: Step[];
  blockers: Blocker[];
  warnings: string[];
}

/**
 * The current main: the node that leads; with none running, the one whose env file makes it the main of the
 * newest generation (after a failover and rejoin that is no longer the config's first node); else the first.
 */
export function chooseMain(pair: PairSpec, observations: readonly NodeObservation[]): NodeSpec {
  const leader = pairView(pair, observations).leader();
  if (leader) return leader;
  const mains = pair.nodes
    .map((node) => ({ node, o: observations.find((o) => o.node === node.name) }))
    .filter(({ o }) => o?.envState === "new" && !o.fenced)
    .sort((a, b) => (tokenSeconds(b.o?.envToken) ?? 0) - (tokenSeconds(a.o?.envToken) ?? 0));
  return mains[0]?.node ?? pair.nodes[0];
}

/** The learner half of the bring-up, shared with rejoin: add before start, then start on an empty dir. */
export function joinSteps(
  pair: PairSpec,
  main: NodeSpec,
  learner: NodeSpec,
  token: string,
  learnerObs: NodeObservation,
  alreadyMember: boolean,
  service: ServiceManager,
): Step[] {
  const steps: Step[] = [];
  if (!alreadyMember) steps.push(memberAddStep(main, learner, "learner"));
  const trial = trialThenInstallSteps(learner, "learner", "learner", learnerObs, service);
  const role = { as: "learner" as const, main, token };
  steps.push(...fileSteps(pair, learner, "learner", role, learnerObs, service, trial.length === 0), ...trial);
  if (!learnerObs.running) {
    steps.push(
      startStep(learner, "learner", service),
      publishNudgeStep(learner, "learner", service),
      readyStep(learner, "learner", service, isLearnerWithLeader, 60_000),
    );
  }
  if (learnerObs.generation !== token) steps.push(generationStep(learner, "learner", token));
  return steps;
}

/** Who is main and what stops `up`: judged before anything is prepared, even on the controller. */
export function assessUp(
  pair: PairSpec,
  observations: readonly NodeObservation[],
  freshToken: string,
  offline = false,
) {
  const view = pairView(pair, observations);
  const main = chooseMain(pair, observations);
  const learner = view.peer(main);
  const mainObs = view.of(main);
  const learnerObs = view.of(learner);
  const { blockers, warnings: preflightWarnings } = offline
    ? { blockers: [], warnings: [] }
    : preflight(pair, observations);

  const mainIsLeader = view.leads(main);
  const token = mainObs.dataDir === "member" ? (mainObs.envToken ?? mainObs.generation ?? freshToken) : freshToken;
  if (mainObs.running && !mainIsLeader) {
    blockers.push({
      node: main.name,
      problem: `etcd runs on ${main.name} but it is not a leader (${mainObs.statusError ?? "see status"})`,
      fix: "run 'etcd-pair status' to see the pair's state before running up again",
    });
  }
  const learnerMember = view.memberEntry(main, learner);
  if (learnerMember && !learnerMember.isLearner) {
    blockers.push({
      node: learner.name,
      problem: `${learner.name} is a voting member of ${main.name}'s cluster, not a learner`,
      fix: "a switchover was interrupted: run 'etcd-pair status' and finish it",
    });
  }
  if (mainIsLeader && !learnerMember && learnerObs.dataDir === "member" && !learnerObs.fenced) {
    blockers.push({
      node: learner.name,
      problem: `${learner.name} holds member data of a cluster it is no longer a member of`,
      fix: `archive it and join again as a learner with 'etcd-pair rejoin ${learner.name}'`,
    });
  }
  if (mainObs.dataDir !== "member" && learnerObs.dataDir === "member" && !mainObs.running) {
    blockers.push({
      node: learner.name,
      problem: `${learner.name} holds member data but ${main.name} has none: starting ${main.name} would create a new, empty cluster`,
      fix: `if ${learner.name} holds the data to keep, run 'etcd-pair failover'; else archive it with 'etcd-pair down --purge'`,
    });
  }
  const stale = staleMainBlocker(main, mainObs, learner, learnerObs);
  if (stale) blockers.push(stale);
  return { view, main, learner, mainObs, learnerObs, token, blockers, preflightWarnings, learnerMember };
}

/** Config + what the hosts look like now -> the steps that bring up the pair, nothing more. */
export function planUp(inputs: UpInputs): UpPlan {
  const { pair, observations } = inputs;
  const assessed = assessUp(pair, observations, inputs.freshToken, inputs.offline);
  const { view, main, learner, mainObs, learnerObs, token, blockers } = assessed;
  const hostWarnings = [...assessed.preflightWarnings, ...(pair.tls ? [] : [PLAINTEXT_WARNING])];
  const names = { main: main.name, learner: learner.name, token };
  // A blocked plan has no steps: what it would need (a tarball, certificates) may not be there.
  if (blockers.length > 0) return { ...names, steps: [], blockers, warnings: hostWarnings };

  const mainService = inputs.service(main);
  const sides = [
    { node: main, side: "main" as const },
    { node: learner, side: "learner" as const },
  ];
  const steps: Step[] = [
    ...sides.flatMap(({ node, side }) => installSteps(pair, node, side, view.of(node), inputs.tarball)),
    ...sides.flatMap(({ node, side }) => certificateSteps(node, side, view.of(node), inputs.pki)),
  ];
  const mainTrial = trialThenInstallSteps(main, "main", "main", mainObs, mainService);
  steps.push(...fileSteps(pair, main, "main", { as: "main", token }, mainObs, mainService, mainTrial.length === 0));
  // Both hosts were looked at (no newer generation on the learner's, else a blocker): its boot guard may start it.
  // Also on a fresh host: the trial run below leaves member data, and the start after it meets the guard.
  // The approval is for this start only: the ready step removes it (a reboot later asks the peer again).
  if (!mainObs.running) steps.push(approveStartStep(main, "main", token));
  steps.push(...mainTrial);
  if (!mainObs.running) {
    const ready = readyStep(main, "main", mainService, isLeader, 30_000);
    steps.push(startStep(main, "main", mainService), consumingApproval(ready, main));
  }
  if (mainObs.generation !== token) steps.push(generationStep(main, "main", token));
  if (steps.length > 0) steps.push(mainSmokeStep(main, "main", token, inputs.canaryValue));
  const learnerService = inputs.service(learner);
  steps.push(
    ...joinSteps(pair, main, learner, token, learnerObs, assessed.learnerMember !== undefined, learnerService),
  );
  if (steps.length > 0) steps.push(...pairVerificationSteps(main, learner, inputs.canaryValue));

  const warnings = steps
    .filter((step) => (step.id.endsWith(".files") || step.id.endsWith(".certificates")) && view.of(step.node).running)
    .map(
      (step) =>
        `${step.node} runs while its env file, start script or certificates change: restart it to apply them ` +
        "(etcd-pair does not restart a running member on its own)",
    );
  return { ...names, steps, blockers, warnings: [...hostWarnings, ...warnings] };
}
