import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { peerUrl } from "../etcd/urls.js";
import type { ServiceManager } from "../service/types.js";
import { isLeader, isLearnerWithLeader, pairVerificationSteps } from "./checks.js";
import { installSteps, type LocalTarball } from "./install.js";
import { certificateSteps, type ControllerPki } from "./pki.js";
import { PLAINTEXT_WARNING } from "./tlsState.js";
import { trialThenInstallSteps } from "./trialRun.js";
import { observationOf, type NodeObservation } from "./observed.js";
import { leadingNode } from "./pairState.js";
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
}

export type { Blocker } from "./preflight.js";
export { preflight } from "./preflight.js";
export { observationOf } from "./observed.js";

export interface UpPlan {
  main: string;
  backup: string;
  token: string;
  steps: Step[];
  blockers: Blocker[];
  warnings: string[];
}

/** The current main: the node that leads, else the first in the config. */
export function chooseMain(pair: PairSpec, observations: readonly NodeObservation[]): NodeSpec {
  return leadingNode(pair, observations) ?? pair.nodes[0];
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
  if (!alreadyMember) steps.push(memberAddStep(main, learner, "backup"));
  const trial = trialThenInstallSteps(learner, "backup", "learner", learnerObs, service);
  const role = { as: "learner" as const, main, token };
  steps.push(...fileSteps(pair, learner, "backup", role, learnerObs, service, trial.length === 0), ...trial);
  if (!learnerObs.running) {
    steps.push(
      startStep(learner, "backup", service),
      publishNudgeStep(learner, "backup", service),
      readyStep(learner, "backup", service, isLearnerWithLeader, 60_000),
    );
  }
  if (learnerObs.generation !== token) steps.push(generationStep(learner, "backup", token));
  return steps;
}

/** Who is main and what stops `up`: judged before anything is prepared, even on the controller. */
export function assessUp(pair: PairSpec, observations: readonly NodeObservation[], freshToken: string) {
  const main = chooseMain(pair, observations);
  const backup = pair.nodes[0].name === main.name ? pair.nodes[1] : pair.nodes[0];
  const mainObs = observationOf(observations, main.name);
  const backupObs = observationOf(observations, backup.name);
  const { blockers, warnings: preflightWarnings } = preflight(pair, observations);

  const mainIsLeader = mainObs.status !== undefined && mainObs.status.leaderId === mainObs.status.memberId;
  const token = mainObs.dataDir === "member" ? (mainObs.envToken ?? mainObs.generation ?? freshToken) : freshToken;
  if (mainObs.running && !mainIsLeader) {
    blockers.push({
      node: main.name,
      problem: `etcd runs on ${main.name} but it is not a leader (${mainObs.statusError ?? "see status"})`,
      fix: "run 'etcd-pair status' to see the pair's state before running up again",
    });
  }
  const members = mainObs.members?.members ?? [];
  const backupMember = members.find((m) => m.peerUrls.includes(peerUrl(backup)) || m.name === backup.name);
  if (backupMember && !backupMember.isLearner) {
    blockers.push({
      node: backup.name,
      problem: `${backup.name} is a voting member of ${main.name}'s cluster, not a learner`,
      fix: "a switchover was interrupted: run 'etcd-pair status' and finish it",
    });
  }
  if (mainIsLeader && !backupMember && backupObs.dataDir === "member" && !backupObs.fenced) {
    blockers.push({
      node: backup.name,
      problem: `${backup.name} holds member data of a cluster it is no longer a member of`,
      fix: `archive it and join again as a learner with 'etcd-pair rejoin ${backup.name}'`,
    });
  }
  if (mainObs.dataDir !== "member" && backupObs.dataDir === "member" && !mainObs.running) {
    blockers.push({
      node: backup.name,
      problem: `${backup.name} holds member data but ${main.name} has none: starting ${main.name} would create a new, empty cluster`,
      fix: `if ${backup.name} holds the data to keep, run 'etcd-pair failover'; else archive it with 'etcd-pair down --purge'`,
    });
  }
  return { main, backup, mainObs, backupObs, token, blockers, preflightWarnings, backupMember };
}

/** Config + what the hosts look like now -> the steps that bring up the pair, nothing more. */
export function planUp(inputs: UpInputs): UpPlan {
  const { pair, observations } = inputs;
  const { main, backup, mainObs, backupObs, token, blockers, preflightWarnings, backupMember } = assessUp(
    pair,
    observations,
    inputs.freshToken,
  );
  const hostWarnings = [...preflightWarnings, ...(pair.tls ? [] : [PLAINTEXT_WARNING])];
  // A blocked plan has no steps: what it would need (a tarball, certificates) may not be there.
  if (blockers.length > 0) {
    return { main: main.name, backup: backup.name, token, steps: [], blockers, warnings: hostWarnings };
  }

  const mainService = inputs.service(main);
  const steps: Step[] = [
    ...pair.nodes.flatMap((node) => installSteps(pair, node, observationOf(observations, node.name), inputs.tarball)),
    ...pair.nodes.flatMap((node) => certificateSteps(node, observationOf(observations, node.name), inputs.pki)),
  ];
  const mainTrial = trialThenInstallSteps(main, "main", "main", mainObs, mainService);
  steps.push(
    ...fileSteps(pair, main, "main", { as: "main", token }, mainObs, mainService, mainTrial.length === 0),
    ...mainTrial,
  );
  if (!mainObs.running) {
    steps.push(startStep(main, "main", mainService), readyStep(main, "main", mainService, isLeader, 30_000));
  }
  if (mainObs.generation !== token) steps.push(generationStep(main, "main", token));
  if (steps.length > 0) steps.push(mainSmokeStep(main, "main", token, inputs.canaryValue));
  steps.push(...joinSteps(pair, main, backup, token, backupObs, backupMember !== undefined, inputs.service(backup)));
  if (steps.length > 0) steps.push(...pairVerificationSteps(main, backup, inputs.canaryValue));

  const warnings = steps
    .filter(
      (step) =>
        (step.id.endsWith(".files") || step.id.endsWith(".certificates")) &&
        observationOf(observations, step.node).running,
    )
    .map(
      (step) =>
        `${step.node} runs while its env file, start script or certificates change: restart it to apply them ` +
        "(etcd-pair does not restart a running member on its own)",
    );
  warnings.unshift(...hostWarnings);
  return { main: main.name, backup: backup.name, token, steps, blockers, warnings };
}
