import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { restoreCommand, snapshotStatusCommand } from "../etcd/snapshot.js";
import type { EtcdVersion } from "../etcd/version.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import type { Step } from "./step.js";
import { archiveCommand } from "./steps.js";

// The loss assessment (failover and rejoin) lives in a file of its own.
export { assessLossStep } from "./lossAssessment.js";

/** The failover's own steps; the shared ones (files, start, ready, smoke) come from steps.ts. */

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

/** Remembers the generation this failover creates, so a re-run after an interruption reuses it. */
export function beginStep(learner: NodeSpec, token: string): Step {
  return {
    id: "failover.begin",
    title: `record on ${learner.name} that a failover to generation ${token} began`,
    node: learner.name,
    kind: "change",
    actions: [
      {
        kind: "upload",
        node: learner.name,
        path: nodeLayout(learner).failoverTokenFile,
        content: `${token}\n`,
        mode: 0o644,
      },
    ],
  };
}

/**
 * A learner that crashed too first applies the committed entries of its WAL: it starts once as it was and is
 * stopped cleanly. It cannot serve clients without its leader, so nothing can be asked when it is done, and it
 * never becomes ready (so systemd's start would wait for ever): it is launched and given a settle time.
 */
export function replayStep(learner: NodeSpec, service: ServiceManager): Step {
  return {
    id: "learner.replay",
    title: `start ${learner.name} once as it was, let it apply its WAL for ${REPLAY_SETTLE_S} s, stop it cleanly`,
    node: learner.name,
    kind: "change",
    actions: [
      {
        kind: "exec",
        node: learner.name,
        command: `(${service.launch()}) && sleep ${REPLAY_SETTLE_S} && (${service.stop()})`,
        timeoutMs: 60_000,
      },
    ],
    diagnose: service.logTail(30),
  };
}

/**
 * Ends the failover: the new main is the only member of its cluster, so its generation (the failover's token) is
 * recorded as `state/sole-member`, durably, before the failover's marker is archived, in one command: its boot guard
 * always finds one of the two and starts on its own (README: Boot guard, case e). Adding a member removes it.
 */
export function finishStep(learner: NodeSpec, stamp: string): Step {
  const layout = nodeLayout(learner);
  const q = shQuote;
  const token = q(layout.failoverTokenFile);
  return {
    id: "failover.finish",
    title: `record on ${learner.name} that it is the only member of its cluster, archive the failover marker`,
    node: learner.name,
    kind: "change",
    actions: [
      {
        kind: "exec",
        node: learner.name,
        command:
          `if [ -e ${token} ]; then cp ${token} ${q(layout.soleMemberFile)} && ` +
          `sync ${q(layout.soleMemberFile)} ${q(layout.stateDir)} && ` +
          `${archiveCommand(layout.failoverTokenFile, layout.archiveDir, `failover-token-${stamp}`)}; fi`,
      },
    ],
  };
}

export function restoreStep(node: NodeSpec, version: EtcdVersion, token: string): Step {
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
    `mv ${q(layout.restoreDir)} ${q(layout.dataDir)} && printf '%s\\n' ${q(token)} >${q(layout.generationFile)} && ` +
    // Durable before the step reports ok: a power loss must not leave the new data without its generation.
    `sync ${q(layout.generationFile)} ${q(layout.root)}; fi`;
  return {
    id: "newmain.swap",
    title: `archive ${node.name}'s data dir, swap the restored one in, record generation ${token}`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command }],
  };
}
