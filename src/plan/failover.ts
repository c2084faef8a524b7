import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { endpointStatusArgs } from "../etcd/etcdctl.js";
import { restoreCommand, snapshotStatusCommand } from "../etcd/snapshot.js";
import type { EtcdVersion } from "../etcd/version.js";
import { shJoin, shQuote } from "../render/shell.js";
import { etcdProcessAlive } from "../service/local.js";
import type { ServiceManager } from "../service/types.js";
import { isLeader } from "./checks.js";
import { nodeLayout } from "./layout.js";
import type { NodeObservation } from "./observed.js";
import type { Step } from "./step.js";
import { archiveCommand, fileSteps, mainSmokeStep, readyStep, startStep, stopStep } from "./steps.js";

/** The node that runs commands on the controller itself, e.g. a fence command that powers a host off. */
export const CONTROLLER = "controller";

export interface FailoverInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  service: (node: NodeSpec) => ServiceManager;
  /** Run on the controller when the old main's host cannot be reached; must exit 0. */
  fenceCommand?: string;
  freshToken: string;
  canaryValue: string;
  /** Names archives and the fence marker, e.g. 20261127T143000Z. */
  stamp: string;
  now: string;
}

export type FenceMethod = "stopped-on-host" | "fence-command" | "operator-confirmed" | "already-fenced";

export interface FailoverPlan {
  /** Set when failover must not run; nothing else matters then. */
  refusal?: { message: string; hint: string };
  newMain: string;
  oldMain: string;
  token: string;
  fence: FenceMethod;
  /** The old main cannot be reached and no fence command is set: the operator's --yes is the fence. */
  needsOperatorWord: boolean;
  steps: Step[];
  /** The learner's applied index and revision as last seen before it was stopped, when it ran. */
  learnerBefore?: { appliedIndex: number; revision: number };
}

/**
 * The node to fail over to: one a failover already began on, else the one that says it is a learner, else the
 * one whose env file joined an existing cluster, else the one a finished failover restored and that leads the
 * generation it restored (a failover cut short after it archived its marker: a re-run only reports).
 */
export function findLearner(pair: PairSpec, observations: readonly NodeObservation[]): NodeSpec | undefined {
  const begun = pair.nodes.filter((n) => observations.find((o) => o.node === n.name)?.failoverToken);
  if (begun.length === 1) return begun[0];
  const byStatus = pair.nodes.find((n) => observations.find((o) => o.node === n.name)?.status?.isLearner);
  if (byStatus) return byStatus;
  const byEnv = pair.nodes.filter((n) => observations.find((o) => o.node === n.name)?.envState === "existing");
  if (byEnv.length === 1) return byEnv[0];
  const restored = pair.nodes.filter((n) => {
    const o = observations.find((x) => x.node === n.name);
    const leads = o?.status && !o.status.isLearner && o.status.leaderId === o.status.memberId;
    return leads && o.restoredFrom !== undefined && o.restoredFrom.token === o.generation;
  });
  return restored.length === 1 ? restored[0] : undefined;
}

const REVISION_PREFIX = "snapshot-status: ";

/** Seconds a crashed learner runs once before the restore, to apply what its WAL holds. */
const REPLAY_SETTLE_S = 2;

/** The restore step's output line carrying the restored db's status, for the report. */
export function restoredStatusLine(output: string): string | undefined {
  return output
    .split("\n")
    .find((l) => l.startsWith(REVISION_PREFIX))
    ?.slice(REVISION_PREFIX.length);
}

/**
 * The fence command as run: the node to fence and its address are exported first, so one command serves
 * whichever node is the main at the time (e.g. ipmitool -H "$ETCD_PAIR_FENCE_NODE-bmc" ... power off).
 */
export function fenceCommandFor(command: string, node: NodeSpec): string {
  return `export ETCD_PAIR_FENCE_NODE=${shQuote(node.name)} ETCD_PAIR_FENCE_ADDRESS=${shQuote(node.address)}; ${command}`;
}

/**
 * Crash failover: fence the old main, stop the learner cleanly (or start it once to apply its WAL), restore
 * its own db as a new one-member cluster with a new token, archive the old data dir, start, verify.
 */
export function planFailover(inputs: FailoverInputs): FailoverPlan {
  const { pair, observations } = inputs;
  const learner = findLearner(pair, observations);
  const empty = {
    newMain: "",
    oldMain: "",
    token: "",
    fence: "operator-confirmed" as FenceMethod,
    needsOperatorWord: false,
    steps: [],
  };
  if (!learner) {
    return {
      ...empty,
      refusal: {
        message: "cannot tell which node is the learner: neither reports it and the env files do not say",
        hint: "run 'etcd-pair status'; a pair that was never brought up has nothing to fail over",
      },
    };
  }
  const oldMain = pair.nodes[0].name === learner.name ? pair.nodes[1] : pair.nodes[0];
  const b = observations.find((o) => o.node === learner.name);
  const m = observations.find((o) => o.node === oldMain.name);
  if (!b || !m) throw new Error("observations of both nodes are needed");
  const base = { ...empty, newMain: learner.name, oldMain: oldMain.name };

  if (m.reachable && m.running && m.status && m.status.leaderId === m.status.memberId && !m.status.isLearner) {
    return {
      ...base,
      refusal: {
        message: `${oldMain.name} is running and leads its cluster: this is not a crash`,
        hint: "for a planned role swap with no loss use 'etcd-pair switchover'",
      },
    };
  }
  const done = b.running && b.status && !b.status.isLearner && b.status.leaderId === b.status.memberId;
  if (!b.reachable) {
    return {
      ...base,
      refusal: {
        message: `${learner.name} cannot be reached (${b.error ?? "unknown error"}): there is nothing to fail over to`,
        hint: `bring ${learner.name}'s host back first; its data dir holds the pair's data`,
      },
    };
  }
  if (!done && b.dataDir !== "member" && !b.restoring) {
    return {
      ...base,
      refusal: {
        message: `${learner.name} holds no member data to restore (${nodeLayout(learner).dataDir})`,
        hint: "the learner never joined or its data is gone: restore a snapshot with 'etcd-pair snapshot restore'",
      },
    };
  }
  if (!b.version) {
    return {
      ...base,
      refusal: { message: `cannot read etcd's version on ${learner.name}`, hint: "run 'etcd-pair status'" },
    };
  }

  const steps: Step[] = [];
  const token = b.failoverToken ?? (done ? (b.generation ?? inputs.freshToken) : inputs.freshToken);
  const oldLayout = nodeLayout(oldMain);
  const layout = nodeLayout(learner);
  const learnerService = inputs.service(learner);

  // 1. Fence: a main that comes back with its old data is a one-voter cluster that accepts writes.
  let fence: FenceMethod;
  let needsOperatorWord = false;
  if (m.reachable) {
    if (m.fenced && !m.running) {
      fence = "already-fenced";
    } else {
      fence = "stopped-on-host";
      const service = inputs.service(oldMain);
      const marker = `failed over to ${learner.name} at ${inputs.now}, generation ${token}`;
      steps.push({
        id: "fence.main",
        title: `fence ${oldMain.name}: stop etcd, keep it from starting, mark it fenced`,
        node: oldMain.name,
        kind: "change",
        actions: [
          { kind: "exec", node: oldMain.name, command: service.stopAndDisable(), timeoutMs: 45_000 },
          { kind: "upload", node: oldMain.name, path: oldLayout.fencedFile, content: `${marker}\n`, mode: 0o644 },
        ],
        hint: `${oldMain.name} must not run its old data while ${learner.name} takes over: stop it by hand if this fails`,
      });
    }
  } else if (inputs.fenceCommand) {
    fence = "fence-command";
    steps.push({
      id: "fence.command",
      title: `fence ${oldMain.name} with the fence command (it cannot be reached)`,
      node: CONTROLLER,
      kind: "change",
      actions: [
        { kind: "exec", node: CONTROLLER, command: fenceCommandFor(inputs.fenceCommand, oldMain), timeoutMs: 120_000 },
      ],
      hint: "the fence command must power the old main off (or cut it off) and exit 0",
    });
  } else {
    fence = "operator-confirmed";
    needsOperatorWord = true;
  }

  if (!done) {
    // 2. Remember the generation this failover creates, so a re-run after an interruption reuses it.
    if (!b.failoverToken) {
      steps.push({
        id: "failover.begin",
        title: `record on ${learner.name} that a failover to generation ${token} began`,
        node: learner.name,
        kind: "change",
        actions: [
          { kind: "upload", node: learner.name, path: layout.failoverTokenFile, content: `${token}\n`, mode: 0o644 },
        ],
      });
    }
    // 3. A clean stop commits bbolt. A learner that crashed too first applies the committed entries of its
    // WAL: it starts once as it was and is stopped cleanly. It cannot serve clients without its leader, so
    // nothing can be asked when it is done, and it never becomes ready (so systemd's start would wait for
    // ever): it is launched and given a settle time. A learner this failover stopped itself
    // (its marker is there) was stopped cleanly and needs none of that.
    if (b.running && b.generation !== token) {
      steps.push(stopStep(learner, "learner", learnerService, `stop the learner ${learner.name} cleanly`));
    } else if (b.dataDir === "member" && b.generation !== token && !b.failoverToken) {
      steps.push({
        id: "learner.replay",
        title: `start ${learner.name} once as it was, let it apply its WAL for ${REPLAY_SETTLE_S} s, stop it cleanly`,
        node: learner.name,
        kind: "change",
        actions: [
          {
            kind: "exec",
            node: learner.name,
            command: `(${learnerService.launch()}) && sleep ${REPLAY_SETTLE_S} && (${learnerService.stop()})`,
            timeoutMs: 60_000,
          },
        ],
        diagnose: learnerService.logTail(30),
      });
    }
    // 4. Restore the learner's own db as a new one-member cluster, then swap it in; the old dir is archived.
    // Once the swap has recorded the new generation, the data dir is the restored one: never restore it again.
    if (b.generation !== token)
      steps.push(restoreStep(learner, b.version, token), swapStep(learner, inputs.stamp, token));
    // Only what differs is written (the env file, for the new cluster): an unchanged unit spares a systemd reload.
    steps.push(...fileSteps(pair, learner, "newmain", { as: "main", token }, b, learnerService));
    steps.push(
      startStep(learner, "newmain", learnerService),
      readyStep(learner, "newmain", learnerService, isLeader, 30_000),
    );
  }
  steps.push(mainSmokeStep(learner, "newmain", token, inputs.canaryValue));
  if (b.failoverToken || !done) {
    steps.push({
      id: "failover.finish",
      title: `archive the failover marker on ${learner.name}`,
      node: learner.name,
      kind: "change",
      actions: [
        {
          kind: "exec",
          node: learner.name,
          command: `if [ -e ${shQuote(layout.failoverTokenFile)} ]; then ${archiveCommand(layout.failoverTokenFile, layout.archiveDir, `failover-token-${inputs.stamp}`)}; fi`,
        },
      ],
    });
  }
  const learnerBefore =
    b.running && b.status ? { appliedIndex: b.status.appliedIndex, revision: b.status.revision } : undefined;
  return {
    newMain: learner.name,
    oldMain: oldMain.name,
    token,
    fence,
    needsOperatorWord,
    steps,
    ...(learnerBefore ? { learnerBefore } : {}),
  };
}

function restoreStep(node: NodeSpec, version: EtcdVersion, token: string): Step {
  const layout = nodeLayout(node);
  const db = `${layout.dataDir}/member/snap/db`;
  const q = shQuote;
  const restore = restoreCommand(node, version, { db, dataDir: layout.restoreDir, token, rawDb: true });
  // Our own scratch dir is replaced; the data dir is only read. A restored dir waiting to be swapped in is kept.
  // The db's status (its revision, for the loss report) is read while the restore runs: both only read the db,
  // and on a large db each takes as long as reading it.
  const statusFile = q(`${layout.restoredFromFile}.status`);
  const command =
    `if [ -d ${q(`${layout.dataDir}/member`)} ]; then ` +
    `rm -rf ${q(layout.restoreDir)} && { ${snapshotStatusCommand(node, version, db)} >${statusFile} & } && ` +
    `{ ${restore}; r=$?; wait $!; s=$?; [ $r -eq 0 ] && [ $s -eq 0 ]; } && st=$(cat ${statusFile}) && rm -f ${statusFile} && ` +
    `echo "${REVISION_PREFIX}$st" && printf '%s\\n%s\\n' ${q(token)} "$st" >${q(layout.restoredFromFile)}` +
    `${layout.dataOwner ? ` && chown -R ${layout.dataOwner} ${q(layout.restoreDir)}` : ""}; ` +
    `elif [ -d ${q(`${layout.restoreDir}/member`)} ]; then echo "restored data dir already there"; ` +
    `else echo ${q(`neither ${layout.dataDir} nor ${layout.restoreDir} holds member data`)} >&2; exit 1; fi`;
  return {
    id: "newmain.restore",
    title: `restore ${node.name}'s own db as a new one-member cluster (generation ${token})`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command, timeoutMs: 600_000 }],
    hint: "the learner's data dir is untouched: fix the cause and run failover again",
  };
}

/**
 * Archives the data dir and moves the restored one in; the generation file is written in the same command,
 * so a re-run never mistakes the restored data for the learner's and restores it again.
 */
export function swapStep(node: NodeSpec, stamp: string, token: string): Step {
  const layout = nodeLayout(node);
  const q = shQuote;
  const command =
    `if [ -d ${q(`${layout.restoreDir}/member`)} ]; then ` +
    `if [ -e ${q(layout.dataDir)} ]; then ${archiveCommand(layout.dataDir, layout.archiveDir, `data-${stamp}`)}; fi && ` +
    `mv ${q(layout.restoreDir)} ${q(layout.dataDir)} && printf '%s\\n' ${q(token)} >${q(layout.generationFile)}; fi`;
  return {
    id: "newmain.swap",
    title: `archive ${node.name}'s data dir, swap the restored one in, record generation ${token}`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command }],
  };
}

/**
 * Reads the old main's last revision from a copy of its data: a throwaway etcd on loopback replays the
 * copy's WAL (--force-new-cluster: it was the only voter), answers one status, and is stopped. The old
 * main's own data dir is only read. Prints the status JSON.
 */
export const ASSESS_LOSS_STEP_ID = "assess.loss";
const ASSESS_DEADLINE_S = 20;

export function assessLossStep(oldMain: NodeSpec): Step {
  const layout = nodeLayout(oldMain);
  const copy = `${layout.root}/data.inspect`;
  const q = shQuote;
  const loopbackClient = `http://127.0.0.1:${oldMain.clientPort}`;
  const loopbackPeer = `http://127.0.0.1:${oldMain.peerPort}`;
  const etcd = shJoin([
    `${oldMain.binDir}/etcd`,
    "--name=inspect",
    `--data-dir=${copy}`,
    "--force-new-cluster",
    `--listen-client-urls=${loopbackClient}`,
    `--advertise-client-urls=${loopbackClient}`,
    `--listen-peer-urls=${loopbackPeer}`,
    `--initial-advertise-peer-urls=${loopbackPeer}`,
  ]);
  const status = shJoin([
    `${oldMain.binDir}/etcdctl`,
    `--endpoints=${loopbackClient}`,
    "--dial-timeout=1s",
    "--command-timeout=2s",
    ...endpointStatusArgs,
  ]);
  const command = [
    `rm -rf ${q(copy)} && cp -a ${q(layout.dataDir)} ${q(copy)}`,
    `(env -i PATH="$PATH" setsid ${etcd} >${q(`${copy}.log`)} 2>&1 </dev/null & echo $! >${q(`${copy}.pid`)})`,
    // Bounded by time: an etcd that listens but never serves (no quorum in that data) makes each try wait.
    `end=$(($(date +%s) + ${ASSESS_DEADLINE_S})); st=; while [ "$(date +%s)" -lt "$end" ]; do st=$(ETCDCTL_API=3 ${status} 2>/dev/null) && break; st=; sleep 0.05; done`,
    // It must be gone before the step ends: it holds the node's own ports, which the node's etcd needs next.
    // A copy is all it has, so SIGKILL after a 5 s grace is safe.
    `p=$(cat ${q(`${copy}.pid`)}); kill "$p" 2>/dev/null; j=0; while ${etcdProcessAlive('"$p"')}; do ` +
      `if [ $j -eq 100 ]; then kill -9 "$p" 2>/dev/null; fi; if [ $j -ge 200 ]; then echo "throwaway etcd (pid $p) did not exit" >&2; exit 1; fi; sleep 0.05; j=$((j+1)); done`,
    `rm -rf ${q(copy)} ${q(`${copy}.pid`)} ${q(`${copy}.log`)}`,
    `[ -n "$st" ] && echo "$st"`,
  ].join("; ");
  return {
    id: ASSESS_LOSS_STEP_ID,
    title: `read the old main ${oldMain.name}'s last revision from a copy of its data`,
    node: oldMain.name,
    kind: "verify",
    actions: [{ kind: "exec", node: oldMain.name, command, timeoutMs: 120_000 }],
    hint: `the report will say the loss is unknown; ${oldMain.name}'s data dir was only read`,
  };
}
