import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { restoreCommand, snapshotSaveCommand, snapshotStatusCommand } from "../etcd/snapshot.js";
import { lastLine } from "../etcd/status.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { ExecOutcome } from "../transport/types.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { swapStep } from "./failoverSteps.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { Blocker } from "./preflight.js";
import { pairView } from "./pairView.js";
import { archiveNodeStateStep } from "./rejoin.js";
import type { Step } from "./step.js";
import { fileSteps, stopStep } from "./steps.js";

export function defaultSnapshotFile(main: NodeSpec, cluster: string, stamp: string): string {
  return `${nodeLayout(main).archiveDir}/snapshot-${cluster}-${stamp}.db`;
}

/** Saves a snapshot on the main's host (never over an existing file) and verifies it with snapshot status. */
export function planSnapshotSave(main: NodeSpec, version: EtcdVersion, file: string): Step[] {
  const q = shQuote;
  const dir = file.slice(0, file.lastIndexOf("/")) || "/";
  return [
    {
      id: "snapshot.save",
      title: `save a snapshot of ${main.name} to ${file}`,
      node: main.name,
      kind: "change",
      actions: [
        {
          kind: "exec",
          node: main.name,
          command: `if [ -e ${q(file)} ]; then echo ${q(`${file} exists already`)} >&2; exit 1; fi && mkdir -p ${q(dir)} && ${snapshotSaveCommand(main, file)}`,
          timeoutMs: 600_000,
        },
      ],
    },
    {
      id: "snapshot.verify",
      title: `verify ${file} with snapshot status`,
      node: main.name,
      kind: "verify",
      actions: [{ kind: "exec", node: main.name, command: snapshotStatusCommand(main, version, file) }],
    },
  ];
}

/**
 * What the read-only check of FILE on the main's host (snapshotVerifyCommand) says is wrong with it, if anything:
 * judged before any node is stopped.
 */
export function judgeSnapshotFile(main: NodeSpec, file: string, outcome: ExecOutcome): Blocker | undefined {
  if (outcome.code === 0 && outcome.stdout.includes('{"hash"')) return undefined;
  const why = lastLine(outcome.stderr) || `could not be checked (exit code ${outcome.code})`;
  return {
    node: main.name,
    problem: `snapshot ${file}: ${why}`,
    fix: /^no such file/.test(why)
      ? `check the path: the file is read on ${main.name}'s host (the first node's), relative paths from the current directory`
      : "use a complete file written by 'etcd-pair snapshot save' (or 'etcdctl snapshot save'); copied, it must keep every byte",
  };
}

export interface SnapshotRestoreInputs {
  pair: PairSpec;
  observations: readonly NodeObservation[];
  /** The node that becomes main of the restored pair: the first in the config. */
  main: NodeSpec;
  version: EtcdVersion;
  file: string;
  token: string;
  stamp: string;
  service: (node: NodeSpec) => ServiceManager;
}

/**
 * A new pair from a snapshot: stop both, archive both data dirs, restore the file as the main's new data
 * dir with a new token; `up` then starts the main and joins the other node as its learner.
 */
export function planSnapshotRestore(inputs: SnapshotRestoreInputs): Step[] {
  const { pair, main, file, token, stamp } = inputs;
  const layout = nodeLayout(main);
  const steps: Step[] = [];
  const sides = [
    { node: pair.nodes[1], prefix: "restore.learner" as const },
    { node: pair.nodes[0], prefix: "restore.main" as const },
  ];
  for (const { node, prefix } of sides) {
    if (pairView(pair, inputs.observations).of(node).running) {
      steps.push(stopStep(node, prefix, inputs.service(node)));
    }
    steps.push(archiveNodeStateStep(node, prefix, stamp));
  }
  const q = shQuote;
  const restore = restoreCommand(main, inputs.version, { db: file, dataDir: layout.restoreDir, token, rawDb: false });
  steps.push({
    id: "restore.snapshot",
    title: `restore ${file} as ${main.name}'s data (new cluster generation ${token})`,
    node: main.name,
    kind: "change",
    actions: [
      {
        kind: "exec",
        node: main.name,
        command: `${snapshotStatusCommand(main, inputs.version, file)} && mkdir -p ${q(layout.root)} && rm -rf ${q(layout.restoreDir)} && ${restore}${layout.dataOwner ? ` && chown -R ${layout.dataOwner} ${q(layout.restoreDir)}` : ""}`,
        timeoutMs: 600_000,
      },
    ],
    hint: "both data dirs are in their archive dirs: nothing was deleted",
  });
  steps.push(swapStep(main, stamp, token));
  steps.push(...fileSteps(pair, main, "restore.main", { as: "main", token }, { fileHashes: {} }, inputs.service(main)));
  return steps;
}
