import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { peerUrl } from "../etcd/urls.js";
import { judgeVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { isLeader, isLearnerWithLeader, pairVerificationSteps } from "./checks.js";
import { nodeLayout } from "./layout.js";
import type { NodeObservation } from "./observed.js";
import { leadingNode } from "./pairState.js";
import type { Step } from "./step.js";
import { fileSteps, generationStep, mainSmokeStep, memberAddStep, readyStep, startStep } from "./steps.js";

export interface UpInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  /** Used when the main bootstraps a new cluster generation. */
  freshToken: string;
  canaryValue: string;
}

/** Something that stops `up` before it touches any host. */
export interface Blocker {
  node: string;
  problem: string;
  fix: string;
}

export interface UpPlan {
  main: string;
  backup: string;
  token: string;
  steps: Step[];
  blockers: Blocker[];
  warnings: string[];
}

export function observationOf(observations: readonly NodeObservation[], name: string): NodeObservation {
  const found = observations.find((o) => o.node === name);
  if (!found) throw new Error(`no observation of node ${name}`);
  return found;
}

/** The current main: the node that leads, else the first in the config. */
export function chooseMain(pair: PairSpec, observations: readonly NodeObservation[]): NodeSpec {
  return leadingNode(pair, observations) ?? pair.nodes[0];
}

function unreachableFix(error: string): string {
  if (/host key/.test(error))
    return "compare the key with the host's own (ssh-keyscan on a trusted path), then fix known_hosts";
  if (/authentication|identity file/.test(error))
    return "check ssh.user and ssh.identityFile (or the keys in your SSH agent)";
  if (/sudo/.test(error)) return "give the SSH user passwordless sudo, or connect as root";
  return "check that the host is up and its sshd reachable";
}

export function preflight(pair: PairSpec, observations: readonly NodeObservation[]): Blocker[] {
  const blockers: Blocker[] = [];
  for (const node of pair.nodes) {
    const o = observationOf(observations, node.name);
    const block = (problem: string, fix: string) => blockers.push({ node: node.name, problem, fix });
    if (!o.reachable) {
      block(`host cannot be probed: ${o.error ?? "unknown error"}`, unreachableFix(o.error ?? ""));
      continue;
    }
    for (const tool of ["etcd", "etcdctl"] as const) {
      if (!o.binaries[tool]) {
        block(
          `${node.binDir}/${tool} is missing or not executable`,
          `install etcd 3.4.21+/3.5.5+ there, or set etcd.binDir (or nodes[].binDir) to where ${tool} is`,
        );
      }
    }
    if (o.binaries.etcd && !o.version) {
      block(`could not read the version of ${node.binDir}/etcd`, `run '${node.binDir}/etcd --version' on the host`);
    }
    if (o.version) {
      const verdict = judgeVersion(o.version);
      if (verdict.refusal) block(verdict.refusal, "install a fixed etcd (3.4.21+, 3.5.5+ or 3.6) and run up again");
    }
    if (!o.running) {
      for (const [what, portNumber] of [
        ["client", node.clientPort],
        ["peer", node.peerPort],
      ] as const) {
        if (o.listeningPorts.includes(portNumber)) {
          block(
            `${what} port ${portNumber} is in use by another process`,
            `stop that process (ss -ltnp 'sport = :${portNumber}') or choose another ${what}Port in the config`,
          );
        }
      }
    }
    if (node.host.kind === "ssh") {
      if (!o.systemd) block("systemd is not the host's init", "etcd-pair runs etcd as a systemd service on SSH hosts");
      if (!o.etcdUser) {
        block(
          "there is no user etcd",
          "create it: useradd --system --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd",
        );
      }
    }
    if (o.fenced) {
      block(
        `the pair failed over away from ${node.name} (${o.fenced})`,
        `bring it back as the new learner with 'etcd-pair rejoin ${node.name}'`,
      );
    }
    if (o.generation && o.dataDir !== "member") {
      block(
        `${node.name} was a member of cluster generation ${o.generation} but ${nodeLayout(node).dataDir} holds no member data`,
        `if the other node holds the data, bring this one back with 'etcd-pair rejoin ${node.name}'; ` +
          "to start over from nothing, 'etcd-pair down --purge' archives what is left",
      );
    }
    if (o.dataDir === "foreign") {
      block(
        `${nodeLayout(node).dataDir} holds files that are not etcd member data`,
        "move them elsewhere (etcd-pair never deletes data) or choose another local.dir",
      );
    }
  }
  const versions = new Set(observations.flatMap((o) => (o.version ? [`${o.version.major}.${o.version.minor}`] : [])));
  if (versions.size > 1) {
    blockers.push({
      node: pair.nodes[1].name,
      problem: `the nodes run different etcd minor versions (${[...versions].join(", ")})`,
      fix: "install the same etcd version on both hosts",
    });
  }
  return blockers;
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
  steps.push(...fileSteps(pair, learner, "backup", { as: "learner", main, token }, learnerObs, service));
  if (!learnerObs.running) {
    steps.push(
      startStep(learner, "backup", service),
      readyStep(learner, "backup", service, isLearnerWithLeader, 60_000),
    );
  }
  if (learnerObs.generation !== token) steps.push(generationStep(learner, "backup", token));
  return steps;
}

/** Config + what the hosts look like now -> the steps that bring up the pair, nothing more. */
export function planUp(inputs: UpInputs): UpPlan {
  const { pair, observations } = inputs;
  const main = chooseMain(pair, observations);
  const backup = pair.nodes[0].name === main.name ? pair.nodes[1] : pair.nodes[0];
  const mainObs = observationOf(observations, main.name);
  const backupObs = observationOf(observations, backup.name);
  const blockers = preflight(pair, observations);

  const mainIsLeader = mainObs.status !== undefined && mainObs.status.leaderId === mainObs.status.memberId;
  const token =
    mainObs.dataDir === "member" ? (mainObs.envToken ?? mainObs.generation ?? inputs.freshToken) : inputs.freshToken;
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

  const mainService = inputs.service(main);
  const steps: Step[] = [...fileSteps(pair, main, "main", { as: "main", token }, mainObs, mainService)];
  if (!mainObs.running) {
    steps.push(startStep(main, "main", mainService), readyStep(main, "main", mainService, isLeader, 30_000));
  }
  if (mainObs.generation !== token) steps.push(generationStep(main, "main", token));
  if (steps.length > 0) steps.push(mainSmokeStep(main, "main", token, inputs.canaryValue));
  steps.push(...joinSteps(pair, main, backup, token, backupObs, backupMember !== undefined, inputs.service(backup)));
  if (steps.length > 0) steps.push(...pairVerificationSteps(main, backup, inputs.canaryValue));

  const warnings = steps
    .filter((step) => step.id.endsWith(".files") && observationOf(observations, step.node).running)
    .map(
      (step) =>
        `${step.node} runs while its env file or start script changes: restart it to apply them ` +
        "(etcd-pair does not restart a running member on its own)",
    );
  return { main: main.name, backup: backup.name, token, steps, blockers, warnings };
}
