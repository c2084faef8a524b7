import path from "node:path";
import { archiveStamp } from "../plan/down.js";
import { pairView } from "../plan/pairView.js";
import { parseSnapshotStatus, snapshotVerifyCommand } from "../etcd/snapshot.js";
import { preflight } from "../plan/preflight.js";
import { judgeSnapshotFile, planSnapshotRestore } from "../plan/snapshot.js";
import type { Step } from "../plan/step.js";
import { PreflightError, StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps } from "../runtime/runner.js";
import { newClusterToken } from "../runtime/tokens.js";
import { execute, type ChangeCommand } from "./command.js";
import { formatBytes } from "./text.js";
import { up, type UpResult } from "./up.js";

export interface SnapshotRestoreResult {
  file: string;
  main: string;
  token: string;
  up: UpResult;
}

interface PreparedRestore {
  main: string;
  learner: string;
  token: string;
  steps: Step[];
  /** What the check of the file found, before anything changed. */
  verified: string;
}

/** A new pair from a snapshot file on the first node's host; every old data dir is archived. */
export const snapshotRestore: ChangeCommand<{ file: string }, PreparedRestore, SnapshotRestoreResult> = {
  path: ["snapshot", "restore"],
  description: "a new pair from FILE (on the first node's host): both data dirs archived, new cluster token",
  arguments: [{ name: "<file>", description: "a file written by 'snapshot save' (or etcdctl snapshot save)" }],
  changesHosts: true,
  steps: [
    "restore.learner.stop",
    "restore.learner.archive",
    "restore.main.stop",
    "restore.main.archive",
    "restore.snapshot",
    "newmain.swap",
    "restore.main.files",
    ...(up.steps ?? []),
  ],
  input: ([file]) => ({ file: path.resolve(file ?? "") }),
  prepare: async (ctx, input) => {
    const hosts = await ctx.hosts();
    const observations = await observePair(hosts);
    const [main, learner] = hosts.pair.nodes;
    // Everything the restore and the `up` after it need, before the first node is stopped.
    const { blockers } = preflight(hosts.pair, observations, { replacingData: true });
    if (blockers.length > 0) throw new PreflightError(blockers);
    const version = pairView(hosts.pair, observations).of(main).version;
    if (!version) throw new StateError(`cannot read etcd's version on ${main.name}`, "run 'etcd-pair plan' to see why");
    const check = snapshotVerifyCommand(main, version, input.file);
    const outcome = await hosts.transport(main.name).exec(check, { timeoutMs: 600_000 });
    const bad = judgeSnapshotFile(main, input.file, outcome);
    if (bad) throw new PreflightError([bad]);
    const status = parseSnapshotStatus(outcome.stdout);
    const verified =
      `${input.file} checked on ${main.name}: its sha256 matches, revision ${status.revision}, ` +
      `${status.totalKeys} keys, ${formatBytes(status.totalSizeBytes)}`;
    const token = newClusterToken(hosts.pair.cluster);
    const steps = planSnapshotRestore({
      pair: hosts.pair,
      observations,
      main,
      version,
      file: input.file,
      token,
      stamp: archiveStamp(new Date()),
      service: (node) => hosts.service(node),
    });
    return { main: main.name, learner: learner.name, token, steps, verified };
  },
  intent: (prepared, input) => ({
    summary:
      `snapshot restore: stop both nodes, archive both data dirs, restore ${input.file} as ${prepared.main}'s data ` +
      `(new cluster generation ${prepared.token}), then bring up the pair with ${prepared.learner} as learner ` +
      "(the steps of 'up', planned once the restore is done).\n" +
      prepared.verified,
    steps: prepared.steps,
    question: "Restore now?",
  }),
  run: async (ctx, input, prepared) => {
    await runSteps(prepared.steps, await ctx.hosts(), ctx.reporter);
    return {
      file: input.file,
      main: prepared.main,
      token: prepared.token,
      up: await execute(up, ctx, { offline: false }),
    };
  },
  report: (result) => ({
    json: result,
    stderr: `restored ${result.file}: ${result.main} is main of generation ${result.token}`,
  }),
};
