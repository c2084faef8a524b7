import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { jsonLine, lastLine, parseEndpointStatus } from "../etcd/status.js";
import { parseVersion, type EtcdVersion } from "../etcd/version.js";
import type { ServiceManager } from "../service/types.js";
import { shQuote } from "../shell/quote.js";
import { installSteps, type LocalTarball } from "./install.js";
import type { NodeObservation } from "./observed.js";
import { parseVersionEndpoint, versionRequestCommand } from "./probeSections.js";
import type { Expectation, Step } from "./step.js";
import { pairVerificationSteps } from "./checks.js";
import { archiveCommand, fileSteps, readyStep, startStep, stopStep } from "./steps.js";
import { upgradeMarkerFile } from "./upgradeMarker.js";

/** The step builders only `etcd-pair upgrade` uses; the role swap is switchover's own plan (src/plan/switchover.ts). */

/** How long a restarted learner may take to answer again on its new binaries. */
const LEARNER_READY_MS = 60_000;
/** etcd's leader checks its members' versions every ~4 s and raises the cluster version once all run the new one. */
const CLUSTER_VERSION_WAIT_MS = 60_000;

/**
 * Records on each node that lacks it that an upgrade to `target` began while `main` was main, at the main's
 * raft index `raftIndex` (when known: the seal before 3.7 needs it).
 */
export function beginStep(nodes: readonly NodeSpec[], target: EtcdVersion, main: string, raftIndex?: number): Step {
  const actions = nodes.map((node) => {
    const file = upgradeMarkerFile(node);
    const dir = nodeLayout(node).stateDir;
    const index = raftIndex === undefined ? "" : ` ${raftIndex}`;
    const line = `upgrade ${target.text} ${shQuote(main)} "$(date -u +%Y-%m-%dT%H:%M:%SZ)"${index}`;
    return {
      kind: "exec" as const,
      node: node.name,
      command: `mkdir -p ${shQuote(dir)} && echo ${line} >${shQuote(file)} && sync ${shQuote(file)}`,
    };
  });
  return {
    id: "upgrade.begin",
    title: `record on ${nodes.map((n) => n.name).join(" and ")} that an upgrade to etcd ${target.text} began with ${main} as main`,
    node: nodes[0]?.name ?? main,
    kind: "change",
    actions,
  };
}

/** A learner that knows its leader and runs `target`, as its own endpoint status says. */
export function learnerRunning(target: EtcdVersion): Expectation {
  return {
    describe: `endpoint status shows a learner that knows its leader and runs etcd ${target.text}`,
    check: ([outcome]) => {
      if (!outcome) return "no outcome";
      if (outcome.code !== 0) return lastLine(outcome.stderr) || `exit code ${outcome.code}`;
      try {
        const status = parseEndpointStatus(jsonLine(outcome.stdout, "["));
        if (!status.isLearner) return "not a learner";
        if (/^0+$/.test(status.leaderId)) return "has no leader yet";
        return status.version === target.text ? undefined : `runs etcd ${status.version}, not ${target.text}`;
      } catch (err) {
        return (err as Error).message;
      }
    },
  };
}

export interface LearnerRestart {
  pair: PairSpec;
  learner: NodeSpec;
  main: NodeSpec;
  /** The cluster token the learner's env file names (the main's generation). */
  token: string;
  observation: NodeObservation;
  service: ServiceManager;
  target: EtcdVersion;
  tarball: LocalTarball | undefined;
}

/**
 * Restarts a learner on the target's binaries: install them on its host (install: tarball or apt, when it lacks
 * them), rewrite its env file and start script (they carry binDir), stop it cleanly, start it, and wait until it
 * answers as a learner running the target. A learner acknowledges no write: the main serves all along.
 */
export function learnerRestartSteps(r: LearnerRestart): Step[] {
  const role = { as: "learner" as const, main: r.main, token: r.token };
  const steps: Step[] = [
    ...installSteps(r.pair, r.learner, "learner", r.observation, r.tarball),
    ...fileSteps(r.pair, r.learner, "learner", role, r.observation, r.service),
  ];
  if (r.observation.running) {
    steps.push(
      stopStep(
        r.learner,
        "learner",
        r.service,
        `stop the learner ${r.learner.name} cleanly to restart it on etcd ${r.target.text}`,
      ),
    );
  }
  const ready = readyStep(r.learner, "learner", r.service, learnerRunning(r.target), LEARNER_READY_MS);
  steps.push(startStep(r.learner, "learner", r.service), {
    ...ready,
    title: `wait until ${r.learner.name} answers as a learner on etcd ${r.target.text}`,
    hint:
      `${r.learner.name} did not come up on etcd ${r.target.text} (its log is below); the main was not touched and ` +
      `serves on. To go back: set the config to the version the main runs and run 'etcd-pair up' (it starts ` +
      `${r.learner.name} on it again); or fix the cause and run 'etcd-pair upgrade' again.`,
  });
  return steps;
}

/**
 * etcd removes a voter only once the leader has been connected to the other voter for 5 s (its strict reconfig
 * check): a switchover to a learner restarted a moment ago would wait that long with two voters (quorum 2) after
 * the promote. Waiting here, before it, until both members' processes have run 6 s keeps that window short.
 * Without ps(1) (or a pid) there is nothing to wait on: the remove step retries as it always does.
 */
export function settleStep(target: NodeSpec, other: NodeSpec, services: (node: NodeSpec) => ServiceManager): Step {
  const upFor = (node: NodeSpec) =>
    `pid=$(${services(node).mainPid()} 2>/dev/null); t=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' '); ` +
    `case "$t" in ''|*[!0-9]*) exit 0;; esac; [ "$t" -ge ${SETTLE_S} ] || { echo "etcd has run $t s" >&2; exit 1; }`;
  return {
    id: "upgrade.settle",
    title: `wait until etcd has run ${SETTLE_S} s on ${target.name} and ${other.name} (keeps the two-voter window short)`,
    node: target.name,
    kind: "verify",
    actions: [
      {
        kind: "poll",
        probes: [
          { node: target.name, command: upFor(target) },
          { node: other.name, command: upFor(other) },
        ],
        until: {
          describe: `both have run ${SETTLE_S} s (or their age cannot be read)`,
          check: (outcomes) => {
            const young = outcomes.find((o) => o.code !== 0);
            return young ? lastLine(young.stderr) || `exit code ${young.code}` : undefined;
          },
        },
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    ],
  };
}

/** How long both members' processes must have run before a promote: etcd's 5 s, and a margin to connect. */
const SETTLE_S = 6;

/** The cluster version etcd reports has reached the target's minor version. */
export function clusterVersionReached(target: EtcdVersion): Expectation {
  const wanted = `${target.major}.${target.minor}`;
  return {
    describe: `the cluster version is ${wanted}`,
    check: ([outcome]) => {
      const answer = parseVersionEndpoint(outcome?.stdout);
      if (!answer) return lastLine(outcome?.stderr ?? "") || "no answer from GET /version";
      const cluster = parseVersion(answer.cluster);
      if (!cluster) return `cluster version ${answer.cluster}`;
      return `${cluster.major}.${cluster.minor}` === wanted ? undefined : `cluster version ${answer.cluster}`;
    },
  };
}

/** Waits until etcd has raised the cluster version to the target (all members run it). */
export function clusterVersionStep(main: NodeSpec, target: EtcdVersion): Step {
  return {
    id: "upgrade.cluster-version",
    title: `wait until ${main.name} reports the cluster version ${target.major}.${target.minor}`,
    node: main.name,
    kind: "verify",
    actions: [
      {
        kind: "poll",
        probes: [{ node: main.name, command: versionRequestCommand(main) }],
        until: clusterVersionReached(target),
        timeoutMs: CLUSTER_VERSION_WAIT_MS,
        intervalMs: 250,
      },
    ],
    hint:
      "etcd raises the cluster version once every member runs the new version: check with 'etcd-pair status' " +
      "that both nodes run it, and read the main's log for 'cluster version'",
  };
}

/** Archives the upgrade's marker on each node (never deleted): the upgrade is done. */
export function finishStep(nodes: readonly NodeSpec[], target: EtcdVersion, stamp: string): Step {
  return {
    id: "upgrade.finish",
    title: `record that the upgrade to etcd ${target.text} is done (archive its marker on ${nodes.map((n) => n.name).join(" and ")})`,
    node: nodes[0]?.name ?? "",
    kind: "change",
    actions: nodes.map((node) => {
      const file = upgradeMarkerFile(node);
      return {
        kind: "exec" as const,
        node: node.name,
        command: `if [ -e ${shQuote(file)} ]; then ${archiveCommand(file, nodeLayout(node).archiveDir, `upgrade-${stamp}`)}; fi`,
      };
    }),
  };
}

/** The cluster version `obs` reports is the target's minor version. */
function clusterAt(obs: NodeObservation, target: EtcdVersion): boolean {
  const [major, minor] = (obs.versions?.cluster ?? "").split(".");
  return major === String(target.major) && minor === String(target.minor);
}

/** The pair test (unless a switchover just ran it), the cluster version, and the marker archived. */
export function closingSteps(
  inputs: { pair: PairSpec; observations: readonly NodeObservation[]; canaryValue: string; stamp: string },
  progress: { main: NodeSpec; steps: readonly Step[]; observations: readonly NodeObservation[]; warnings: string[] },
  target: EtcdVersion,
  worked: boolean,
  marked: boolean,
): Step[] {
  const main = progress.main;
  const learner = inputs.pair.nodes.find((n) => n.name !== main.name) ?? main;
  const steps: Step[] = [];
  const tested = progress.steps.map((s) => s.id).lastIndexOf("pair.converged");
  const changedAfterTest = progress.steps
    .slice(tested + 1)
    .some((s) => s.kind === "change" && !s.id.endsWith(".history"));
  if (worked && (tested < 0 || changedAfterTest))
    steps.push(...pairVerificationSteps(main, learner, inputs.canaryValue));
  // Only where the main's /version can be read (under TLS its host needs openssl): else the wait could never end.
  const versionsRead = !main.tls || inputs.observations.find((o) => o.node === main.name)?.openssl === true;
  const mainObs = progress.observations.find((o) => o.node === main.name);
  if (versionsRead && (worked || !mainObs || !clusterAt(mainObs, target))) steps.push(clusterVersionStep(main, target));
  if (!versionsRead && worked) {
    progress.warnings.push(
      `${main.name}'s host has no openssl: the cluster version cannot be read there, and is not waited for`,
    );
  }
  if (worked || marked) steps.push(finishStep(inputs.pair.nodes, target, inputs.stamp));
  return steps;
}
