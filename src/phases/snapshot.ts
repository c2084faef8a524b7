import { parseSnapshotStatus, type SnapshotStatus } from "../etcd/snapshot.js";
import { archiveStamp } from "../plan/down.js";
import { leadingNode } from "../plan/pairState.js";
import { defaultSnapshotFile, planSnapshotRestore, planSnapshotSave } from "../plan/snapshot.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runSteps, type Reporter } from "./runner.js";
import { newClusterToken } from "./tokens.js";
import { runUp, type UpResult } from "./up.js";

export interface SnapshotSaveResult extends SnapshotStatus {
  node: string;
  file: string;
}

/** Saves a snapshot from the main (a 3.4 learner cannot serve one) on the main's host. */
export async function runSnapshotSave(hosts: Hosts, reporter: Reporter, file?: string): Promise<SnapshotSaveResult> {
  const observations = await observePair(hosts);
  const main = leadingNode(hosts.pair, observations);
  const version = observations.find((o) => o.node === main?.name)?.version;
  if (!main || !version) throw new StateError("no node leads a cluster: nothing to snapshot", "run 'etcd-pair status'");
  const target = file ?? defaultSnapshotFile(main, hosts.pair.cluster, archiveStamp(new Date()));
  const steps = await runSteps(planSnapshotSave(main, version, target), hosts, reporter);
  return { node: main.name, file: target, ...parseSnapshotStatus(steps.at(-1)?.output ?? "") };
}

export interface SnapshotRestoreResult {
  file: string;
  main: string;
  token: string;
  up: UpResult;
}

/** A new pair from a snapshot file on the first node's host; every old data dir is archived. */
export async function runSnapshotRestore(
  hosts: Hosts,
  reporter: Reporter,
  file: string,
  confirm: (summary: string) => Promise<void>,
): Promise<SnapshotRestoreResult> {
  const observations = await observePair(hosts);
  const main = hosts.pair.nodes[0];
  const version = observations.find((o) => o.node === main.name)?.version;
  if (!version) throw new StateError(`cannot read etcd's version on ${main.name}`, "run 'etcd-pair plan' to see why");
  const token = newClusterToken(hosts.pair.cluster);
  await confirm(
    `snapshot restore: stop both nodes, archive both data dirs, restore ${file} as ${main.name}'s data ` +
      `(new cluster generation ${token}), then bring up the pair with ${hosts.pair.nodes[1].name} as learner.`,
  );
  const steps = planSnapshotRestore({
    pair: hosts.pair,
    observations,
    main,
    version,
    file,
    token,
    stamp: archiveStamp(new Date()),
    service: (node) => hosts.service(node),
  });
  await runSteps(steps, hosts, reporter);
  return { file, main: main.name, token, up: await runUp(hosts, reporter) };
}
