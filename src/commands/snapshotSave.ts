import path from "node:path";
import { parseSnapshotStatus, type SnapshotStatus } from "../etcd/snapshot.js";
import { archiveStamp } from "../plan/down.js";
import { pairView } from "../plan/pairView.js";
import { defaultSnapshotFile, planSnapshotSave } from "../plan/snapshot.js";
import type { Step } from "../plan/step.js";
import { StateError, UsageError } from "../runtime/errors.js";
import type { Hosts } from "../runtime/hosts.js";
import { shQuote } from "../shell/quote.js";
import type { NodeSpec } from "../config/resolve.js";
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

/** FILE as the main's host reads it: relative to this dir on a local host; an SSH host needs it absolute. */
function fileOnHost(main: NodeSpec, file: string): string {
  if (main.host.kind === "local") return path.resolve(file);
  if (!file.startsWith("/")) {
    throw new UsageError(
      `snapshot save: ${file} is relative, and ${main.name} is a remote host`,
      `give the path on ${main.name} in full, e.g. /var/backups/${path.basename(file)}`,
    );
  }
  return file;
}

/**
 * One read-only look on the host: FILE must not exist, its nearest existing ancestor must be a directory, and
 * (unless a dry run) a file must be creatable there: tried, and removed at once.
 */
function targetCheckCommand(file: string, tryWrite: boolean): string {
  const q = shQuote;
  return [
    `f=${q(file)}`,
    `if [ -e "$f" ] || [ -L "$f" ]; then echo exists; exit 0; fi`,
    `d=$(dirname "$f"); while [ ! -e "$d" ]; do d=$(dirname "$d"); done`,
    `if [ ! -d "$d" ]; then echo "notdir $d"; exit 0; fi`,
    tryWrite
      ? `t="$d/.etcd-pair-probe-$$"; if (: >"$t") 2>/dev/null; then rm -f "$t"; echo ok; else echo "unwritable $d"; fi`
      : "echo ok",
  ].join("; ");
}

async function refuseTarget(hosts: Hosts, main: NodeSpec, file: string, tryWrite: boolean): Promise<void> {
  const outcome = await hosts.transport(main.name).exec(targetCheckCommand(file, tryWrite));
  const [answer = "", at = ""] = outcome.stdout.trim().split(/ (.*)/s);
  if (outcome.code !== 0 || answer === "ok") return;
  const where = `${file} on ${main.name}`;
  if (answer === "exists") {
    throw new StateError(
      `${file} exists already on ${main.name}`,
      "snapshot save never overwrites a file: name a new one, or none for a dated file in the archive dir",
    );
  }
  const why = answer === "notdir" ? `${at} is not a directory` : `nothing can be written in ${at}`;
  throw new UsageError(`snapshot save: cannot write ${where}: ${why}`, "name a file in a directory the host can write");
}

/** Saves a snapshot from the main (a 3.4 learner cannot serve one) on the main's host. */
export const snapshotSave: ChangeCommand<{ file?: string }, PreparedSave, SnapshotSaveResult> = {
  path: ["snapshot", "save"],
  description: "save a snapshot from the main on its host (default: its archive dir) and verify it",
  arguments: [{ name: "[file]", description: "path on the main's host; never overwritten" }],
  changesHosts: true,
  steps: ["snapshot.save", "snapshot.verify"],
  input: ([file]) => {
    if (file !== undefined && file !== "" && !file.trim()) throw new UsageError("snapshot save needs a file name");
    return file ? { file } : {};
  },
  prepare: async (ctx, input) => {
    const hosts = await ctx.hosts();
    const view = pairView(hosts.pair, await observePair(hosts));
    const main = view.leader();
    const version = main ? view.of(main).version : undefined;
    if (!main || !version)
      throw new StateError("no node leads a cluster: nothing to snapshot", "run 'etcd-pair status'");
    const file = input.file
      ? fileOnHost(main, input.file)
      : defaultSnapshotFile(main, hosts.pair.cluster, archiveStamp(new Date()));
    // Refused before etcd is asked for anything: the file exists, or its place takes no file.
    await refuseTarget(hosts, main, file, !ctx.dryRun);
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
