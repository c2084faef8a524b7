import { createHash } from "node:crypto";
import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { endpointStatusArgs, etcdctl, QUICK_TIMEOUTS } from "../etcd/etcdctl.js";
import { CANARY_KEY, GENERATION_KEY } from "../etcd/keys.js";
import { clientUrl, peerUrl } from "../etcd/urls.js";
import { renderEtcdctlEnv, renderEtcdEnv } from "../render/envFile.js";
import { shQuote } from "../shell/quote.js";
import { renderStartScript } from "../render/startScript.js";
import type { ServiceManager } from "../service/types.js";
import { lastLine } from "../etcd/status.js";
import { listening, PROCESS_GONE_EXIT, processGone, whileRunning } from "./checks.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { Action, Expectation, Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";
import { peerOf } from "./pairView.js";
import { pairDirNeedsSecuring, securePairDirCommand } from "./pairDir.js";

/** The building blocks every command's plan is made of: up, failover, rejoin, switchover. */

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** How a node's env file describes it: the main of a generation, or a learner that joined it. */
export type NodeRole = { as: "main"; token: string } | { as: "learner"; main: NodeSpec; token: string };

/** The node's env file as `role` makes it; `snapshotCount` only for a step that needs a raft snapshot now. */
export function envFileUpload(pair: PairSpec, node: NodeSpec, role: NodeRole, snapshotCount?: number) {
  const layout = nodeLayout(node);
  const peer = peerOf(pair, node);
  const common = { cluster: pair.cluster, token: role.token, peer, snapshotCount };
  const bootstrap =
    role.as === "main"
      ? { ...common, members: [node], state: "new" as const }
      : { ...common, members: [role.main, node], state: "existing" as const };
  return {
    path: layout.envFile,
    content: renderEtcdEnv(node, layout, bootstrap),
    mode: layout.envOwner ? 0o640 : 0o600,
    ...(layout.envOwner ? { owner: layout.envOwner } : {}),
  };
}

/** Writes the node's env file, etcdctl env file and start script where they differ from what is there. */
export function fileSteps(
  pair: PairSpec,
  node: NodeSpec,
  prefix: StepPrefix<"files">,
  role: NodeRole,
  observation: Pick<NodeObservation, "fileHashes" | "pairDir">,
  service: ServiceManager,
  /** false: leave the service's own files (the unit) to a later step, after the trial run. */
  withServiceFiles = true,
): Step[] {
  const layout = nodeLayout(node);
  const peer = peerOf(pair, node);
  const files = [
    envFileUpload(pair, node, role),
    { path: layout.ctlEnvFile, content: renderEtcdctlEnv(node, layout, pair.cluster), mode: 0o644 },
    {
      path: layout.startScript,
      content: renderStartScript(node, peer, layout, pair.cluster),
      mode: 0o755,
    },
    ...(withServiceFiles ? service.files() : []),
  ].filter((file) => observation.fileHashes[file.path] !== sha256(file.content));
  if (files.length === 0 && !pairDirNeedsSecuring(layout, observation.pairDir)) return [];
  // Only a changed unit needs systemd to reload (which takes ~0.5 s); a changed env file is read at start.
  const serviceFiles = new Set(service.files().map((f) => f.path));
  const after = files.some((f) => serviceFiles.has(f.path)) ? service.afterFilesChanged() : undefined;
  const actions: Action[] = [
    { kind: "exec", node: node.name, command: securePairDirCommand(layout, node.configDir) },
    ...files.map((file): Action => ({ kind: "upload", node: node.name, ...file })),
    ...(after ? [{ kind: "exec" as const, node: node.name, command: after }] : []),
  ];
  return [
    {
      id: `${prefix}.files`,
      title: `write ${node.name}'s env file and start script`,
      node: node.name,
      kind: "change",
      actions,
    },
  ];
}

export function startStep(node: NodeSpec, prefix: StepPrefix<"start">, service: ServiceManager): Step {
  return {
    id: `${prefix}.start`,
    title: `start etcd on ${node.name}`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command: service.start() }],
    diagnose: service.logTail(30),
  };
}

export function stopStep(
  node: NodeSpec,
  prefix: StepPrefix<"stop">,
  service: ServiceManager,
  title = `stop etcd on ${node.name}`,
): Step {
  return {
    id: `${prefix}.stop`,
    title,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command: service.stop(), timeoutMs: 45_000 }],
    diagnose: service.logTail(20),
  };
}

/** Waits until etcd on `node` answers `endpoint status` as `ready` wants; gives up at once if it exits. */
export function readyStep(
  node: NodeSpec,
  prefix: StepPrefix<"ready">,
  service: ServiceManager,
  ready: Expectation,
  timeoutMs: number,
): Step {
  return {
    id: `${prefix}.ready`,
    title: `wait until etcd on ${node.name} answers`,
    node: node.name,
    kind: "change",
    actions: [
      {
        kind: "poll",
        probes: [
          {
            node: node.name,
            command: whileRunning(service, `${listening(node.clientPort)} && ${etcdctl(node, endpointStatusArgs)}`),
          },
        ],
        until: ready,
        abort: processGone,
        timeoutMs,
        intervalMs: 50,
      },
    ],
    hint: `etcd did not come up: read ${node.name}'s log (below) and run its start script by hand to see why.`,
    diagnose: service.logTail(30),
  };
}

/** How long a joining learner may take to receive its raft snapshot (a 1 GB db took 11-17 s here). */
const SNAPSHOT_WAIT_S = 120;

/**
 * A member that joins through a raft snapshot (every learner added to a main whose log was compacted, as after
 * any failover) loses its first "publish" to the snapshot, which resets its peer connections, and etcd retries
 * only after its request timeout: for ~7 s it serves no client (etcd #8608, #15929). Once the snapshot is saved
 * in member/snap, a restart publishes at once. This waits for the learner to serve; if instead a snapshot is
 * saved and the learner still does not serve about 1 s later, it restarts etcd once. The ready step follows.
 */
export function publishNudgeStep(node: NodeSpec, prefix: StepPrefix<"publish">, service: ServiceManager): Step {
  const q = shQuote;
  const snapshots = `${nodeLayout(node).dataDir}/member/snap`;
  const serving = `${etcdctl(node, endpointStatusArgs, clientUrl(node), QUICK_TIMEOUTS)} >/dev/null 2>&1`;
  const alive = `{ ${service.isRunning()} || { echo "etcd exited" >&2; exit ${PROCESS_GONE_EXIT}; }; }`;
  const command = [
    `end=$(($(date +%s) + ${SNAPSHOT_WAIT_S}))`,
    `while [ "$(date +%s)" -lt "$end" ]; do ${alive}; if ${serving}; then exit 0; fi`,
    `if ls ${q(snapshots)}/*.snap >/dev/null 2>&1; then ` +
      `for j in 1 2 3; do if ${serving}; then exit 0; fi; done; ` +
      `echo "etcd saved a raft snapshot but has not published itself: restarting it" >&2; ` +
      `(${service.stop()}) && (${service.start()}); exit $?; fi`,
    `sleep 0.1; done`,
  ].join("; ");
  return {
    id: `${prefix}.publish`,
    title: `wait until ${node.name} serves (restart it once if a raft snapshot held up its publish)`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command, timeoutMs: (SNAPSHOT_WAIT_S + 60) * 1000 }],
    hint:
      `etcd did not come up or does not serve: read ${node.name}'s log (below) and run its start script by hand to ` +
      `see why; a learner that never receives its snapshot may not reach its main's peer port`,
    diagnose: service.logTail(30),
  };
}

export function generationStep(node: NodeSpec, prefix: StepPrefix<"generation">, token: string): Step {
  return {
    id: `${prefix}.generation`,
    title: `record on ${node.name} that it is a member of generation ${token}`,
    node: node.name,
    kind: "change",
    actions: [
      { kind: "upload", node: node.name, path: nodeLayout(node).generationFile, content: `${token}\n`, mode: 0o644 },
    ],
  };
}

/** Publishes the generation in the keyspace (for the peers' start scripts) and proves a write and a read. */
export function mainSmokeStep(main: NodeSpec, prefix: StepPrefix<"smoke">, token: string, canaryValue: string): Step {
  const put = etcdctl(main, ["put", GENERATION_KEY, token]);
  const canary = etcdctl(main, ["put", CANARY_KEY, canaryValue]);
  const read = etcdctl(main, ["get", CANARY_KEY, "--print-value-only"]);
  return {
    id: `${prefix}.smoke`,
    title: `write the generation and a canary on ${main.name}, read the canary back`,
    node: main.name,
    kind: "verify",
    actions: [
      {
        kind: "exec",
        node: main.name,
        command: `${put} && ${canary} && ${read}`,
        expect: {
          describe: `prints ${canaryValue}`,
          check: ([o]) =>
            o?.code === 0 && o.stdout.trim().endsWith(canaryValue)
              ? undefined
              : lastLine(o?.stderr ?? "") || `read back ${JSON.stringify(o?.stdout.trim() ?? "")}`,
        },
      },
    ],
  };
}

const memberAddAccepted: Expectation = {
  describe: "exit 0, or the member exists already",
  check: ([outcome]) => {
    if (!outcome) return "no outcome";
    if (outcome.code === 0 || /already exists?\b/i.test(outcome.stderr)) return undefined;
    return lastLine(outcome.stderr) || `exit code ${outcome.code}`;
  },
};

/**
 * etcd derives an added member's ID from its peer URLs and the current second: added again within the second
 * it was removed in (a rejoin or switchover re-run right after an interruption), it gets the removed ID back
 * and etcd answers "member not found" (measured on 3.4.23 and 3.5.16). Only that answer is worth a retry.
 */
const notARemovedId: Expectation = {
  describe: "etcd refused for another reason than a just-removed member's ID",
  check: ([outcome]) =>
    outcome && /member not found/i.test(outcome.stderr)
      ? undefined
      : lastLine(outcome?.stderr ?? "") || `exit code ${outcome?.code ?? "none"}`,
};

/**
 * Adds the learner to the main's cluster, before it starts. The main stops being the only member of its cluster: its
 * sole-member marker (README: Boot guard, case e) is removed, durably, in the same command and before `member add`,
 * so an interrupted step leaves no marker behind (fail closed: the main then waits for its peer at boot).
 */
export function memberAddStep(main: NodeSpec, learner: NodeSpec, prefix: StepPrefix<"add">): Step {
  const layout = nodeLayout(main);
  const q = shQuote;
  const add = etcdctl(main, ["member", "add", learner.name, "--learner", `--peer-urls=${peerUrl(learner)}`]);
  const unmark =
    `if [ -e ${q(layout.soleMemberFile)} ]; then ` +
    `rm -f ${q(layout.soleMemberFile)} && sync ${q(layout.stateDir)}; fi`;
  return {
    id: `${prefix}.add`,
    title: `add ${learner.name} as a learner of ${main.name}'s cluster (before it starts; first remove ${main.name}'s sole-member marker)`,
    node: main.name,
    kind: "change",
    actions: [
      {
        kind: "poll",
        probes: [
          {
            node: main.name,
            command: `${unmark} && ${add}`,
          },
        ],
        until: memberAddAccepted,
        abort: notARemovedId,
        timeoutMs: 3_000,
        intervalMs: 250,
      },
    ],
    hint: "etcd 3.4/3.5 allow one learner: 'etcdctl member list' on the main shows who holds the slot.",
  };
}

/** Moves `from` into the archive as `name` (or `name.2`, `name.3`, … when taken): never overwrites, never deletes. */
export function archiveCommand(from: string, archiveDir: string, name: string): string {
  const to = shQuote(`${archiveDir}/${name}`);
  return (
    `mkdir -p ${shQuote(archiveDir)} && to=${to} && n=1 && ` +
    `while [ -e "$to" ]; do n=$((n+1)); to=${to}.$n; done && mv ${shQuote(from)} "$to"`
  );
}
