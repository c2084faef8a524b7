import { parseSnapshotStatus, type SnapshotStatus } from "../etcd/snapshot.js";
import { archiveStamp } from "../plan/down.js";
import { pairView } from "../plan/pairView.js";
import { defaultSnapshotFile, planSnapshotSave } from "../plan/snapshot.js";
import type { Step } from "../plan/step.js";
import { StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps } from "../runtime/runner.js";
import { formatBytes } from "./text.js";
import type { ChangeCommand } from "./command.js";

export interface SnapshotSaveResult extends SnapshotStatus {
  node: string;
  file: string;
}

interface PreparedSave {
  node: string;
  file: string;
  steps: Step[];
}

/** Saves a snapshot from the main (a 3.4 learner cannot serve one) on the main's host. */
export const snapshotSave: ChangeCommand<{ file?: string }, PreparedSave, SnapshotSaveResult> = {
  path: ["snapshot", "save"],
  description: "save a snapshot from the main on its host (default: its archive dir) and verify it",
  arguments: [{ name: "[file]", description: "path on the main's host; never overwritten" }],
  changesHosts: true,
  steps: ["snapshot.save", "snapshot.verify"],
  input: ([file]) => (file ? { file } : {}),
  prepare: async (ctx, input) => {
    const hosts = await ctx.hosts();
    const view = pairView(hosts.pair, await observePair(hosts));
    const main = view.leader();
    const version = main ? view.of(main).version : undefined;
    if (!main || !version)
      throw new StateError("no node leads a cluster: nothing to snapshot", "run 'etcd-pair status'");
    const file = input.file ?? defaultSnapshotFile(main, hosts.pair.cluster, archiveStamp(new Date()));
    return { node: main.name, file, steps: planSnapshotSave(main, version, file) };
  },
  intent: ({ node, file, steps }) => ({ summary: `snapshot save: ${node}'s keyspace to ${file} on its host`, steps }),
  run: async (ctx, _input, { node, file, steps }) => {
    const records = await runSteps(steps, await ctx.hosts(), ctx.reporter);
    return { node, file, ...parseSnapshotStatus(records.at(-1)?.output ?? "") };
  },
  report: (result) => ({
    json: result,
    stdout: `${result.file} on ${result.node}: revision ${result.revision}, ${result.totalKeys} keys, ${formatBytes(result.totalSizeBytes)}`,
  }),
};
