/**
 * Every step a plan can hold, by id, with the line `--help` shows for it. The ids are what `--json`, the
 * interrupt tests and timings key on: a step builder can only produce an id listed here, so a renamed id breaks
 * the build instead of silently dropping a figure.
 */
export const STEP_CATALOG = {
  "main.install.version": "check the etcd binaries already on the main's host (install: preinstalled)",
  "main.install.apt": "install etcd on the main's host with apt (install: apt)",
  "main.install.tarball": "copy the checked release tarball to the main's host and install it (install: tarball)",
  "main.certificates": "copy the main's certificate, key, the CA and the client certificate to its host",
  "main.files": "write the main's env file, etcdctl env file and start script (only what differs)",
  "main.trial": "run the main's start script once in the foreground as the service would, then stop it",
  "main.service": "write the main's systemd unit (after the trial run)",
  "main.approve": "approve the main's start for its boot guard (both hosts checked: no newer generation)",
  "main.start": "start etcd on the main",
  "alone.record": "record on the node who started it alone, when, and what could be checked",
  "alone.approve": "approve its start for its boot guard",
  "alone.start": "start etcd on the node",
  "alone.ready": "wait until it answers as the leader of its cluster, then remove its start approval (single use)",
  "main.ready": "wait until the main answers as the leader of its cluster, then remove its start approval (single use)",
  "main.generation": "record the cluster generation on the main's host",
  "main.smoke": "write the generation and a canary on the main, read the canary back",
  "learner.install.version": "check the etcd binaries already on the learner's host (install: preinstalled)",
  "learner.install.apt": "install etcd on the learner's host with apt (install: apt)",
  "learner.install.tarball": "copy the checked release tarball to the learner's host and install it",
  "learner.certificates": "copy the learner's certificate, key, the CA and the client certificate to its host",
  "learner.add": "remove the main's sole-member marker, then add the learner (member add --learner) before it starts",
  "learner.files": "write the learner's env file, etcdctl env file and start script (only what differs)",
  "learner.trial": "run the learner's start script once in the foreground as the service would, then stop it",
  "learner.service": "write the learner's systemd unit (after the trial run)",
  "learner.start": "start etcd on the learner",
  "learner.publish": "wait until the learner serves; restart it once if a raft snapshot held up its publish",
  "learner.ready": "wait until the learner answers as a learner that sees its leader",
  "learner.generation": "record the cluster generation on the learner's host",
  "learner.stop": "stop the learner cleanly (a clean stop commits its db)",
  "learner.replay": "a crashed learner: start it once as it was to apply its WAL, then stop it cleanly",
  "pair.members": "the main's member list shows the learner as a learner",
  "pair.alarms": "no alarm (NOSPACE, CORRUPT) is raised",
  "pair.canary": "a canary written on the main is read on the learner (serializable read)",
  "pair.converged": "the learner's applied index reaches the main's",
  "fence.main": "fence the old main on its host: stop etcd, keep it from starting at boot, mark it fenced",
  "fence.command": "fence the unreachable old main with the fence command, run on this machine",
  "failover.begin": "record on the learner's host the generation this failover creates (a re-run reuses it)",
  "newmain.restore": "restore the learner's own db as a new one-member cluster with a new cluster token",
  "newmain.swap": "archive the data dir, move the restored one in, record the new generation",
  "newmain.files": "write the new main's env file for its own cluster (only what differs)",
  "newmain.start": "start etcd on the new main",
  "newmain.ready": "wait until the new main answers as the leader of its cluster",
  "newmain.smoke": "write the generation and a canary on the new main, read the canary back",
  "failover.finish": "record that the new main is its cluster's only member, then archive the failover's marker",
  "assess.loss": "read the old main's last revision from a copy of its data (reported, never fatal)",
  "rejoin.stop": "stop etcd on the node that rejoins",
  "rejoin.remove": "remove the node's stale member entry from the main's cluster",
  "rejoin.archive": "archive the node's old data dir and markers (never deleted)",
  "switch.caught-up": "wait until the learner has applied everything the main has (else refuse, nothing changed)",
  "switch.promote": "promote the learner to a voter (two voters from here until the old main is removed)",
  "switch.move-leader": "move the leadership to the promoted member",
  "switch.record": "record on the new main when it took over and from whom (status shows it)",
  "switch.remove": "remove the old main from the cluster, through the new leader",
  "upgrade.begin":
    "record on both nodes that an upgrade began, to which version and with which main (a re-run resumes it)",
  "upgrade.seal":
    "3.6 to 3.7: restart the learner on 3.6 with --snapshot-count=1 until it snapshots past the upgrade's start",
  "upgrade.settle":
    "wait until etcd has run 6 s on both nodes (etcd removes a voter only after 5 s connected: keeps two voters short)",
  "upgrade.cluster-version": "wait until etcd reports the cluster version of the new release (all members run it)",
  "upgrade.finish": "archive the upgrade's marker on both nodes (never deleted): the upgrade is done",
  "oldmain.stop": "stop etcd on the old main (it exits by itself once removed) and keep it stopped",
  "oldmain.archive": "archive the old main's data dir and markers (never deleted)",
  "down.learner.stop": "stop etcd on the learner and keep it from starting at boot",
  "down.learner.archive": "--purge: archive the learner's data dir (never deleted)",
  "down.main.stop": "stop etcd on the main and keep it from starting at boot",
  "down.main.archive": "--purge: archive the main's data dir (never deleted)",
  "snapshot.save": "save a snapshot from the main to a new file on its host (never over an existing file)",
  "snapshot.verify": "verify the saved file with snapshot status",
  "restore.learner.stop": "stop etcd on the second node",
  "restore.learner.archive": "archive the second node's data dir and markers",
  "restore.main.stop": "stop etcd on the first node",
  "restore.main.archive": "archive the first node's data dir and markers",
  "restore.snapshot": "check the snapshot file, restore it as the first node's data with a new cluster token",
  "restore.main.files": "write the first node's env file for the restored cluster",
  "renew.learner.certificates": "copy the learner's new certificate and key to its host",
  "renew.learner.stop": "restart the learner with its new certificate: stop",
  "renew.learner.start": "restart the learner with its new certificate: start",
  "renew.learner.ready": "wait until the learner answers again",
  "renew.main.certificates": "copy the main's new certificate and key to its host",
  "renew.main.stop": "restart the main with its new certificate: stop (writes pause)",
  "renew.main.start": "restart the main with its new certificate: start",
  "renew.main.ready": "wait until the main leads again",
  "watch.unit": "watch --install: write the witness's systemd unit on this machine",
  "watch.enable": "watch --install: systemctl daemon-reload, then enable and start the unit",
  "failover.history": "append the failover to the pair's history on each reachable node (state/history.jsonl)",
  "switch.history": "append the switchover to the pair's history on each reachable node (state/history.jsonl)",
  "rejoin.history": "append the rejoin to the pair's history on each reachable node (state/history.jsonl)",
  "alone.history": "append the start-alone to the pair's history on each reachable node (state/history.jsonl)",
  "watch.history": "append what watch did to the pair's history on each reachable node (state/history.jsonl)",
  "pause.mark": "write the pause marker on the node: who paused the pair, when and why (state/paused)",
  "pause.history": "append the pause to the pair's history on each reachable node (state/history.jsonl)",
  "resume.clear": "archive the node's pause marker (never deleted)",
  "resume.history": "append the resume to the pair's history on each reachable node (state/history.jsonl)",
} as const satisfies Record<string, string>;

export type StepId = keyof typeof STEP_CATALOG;

/** The learner half of a bring-up, shared by up, rejoin and switchover: added before it starts, empty. */
export const LEARNER_JOIN_STEPS = [
  "learner.add",
  "learner.files",
  "learner.trial",
  "learner.service",
  "learner.start",
  "learner.publish",
  "learner.ready",
  "learner.generation",
] as const satisfies readonly StepId[];

/** The pair test that ends every command that leaves a main and a learner. */
export const PAIR_TEST_STEPS = [
  "pair.members",
  "pair.alarms",
  "pair.canary",
  "pair.converged",
] as const satisfies readonly StepId[];

/** The main and its learner as step ids name them. */
export type Side = "main" | "learner";

/** The prefixes P for which `${P}.${S}` is a step id: what a shared step builder may be given. */
export type StepPrefix<S extends string> = StepId extends infer I ? (I extends `${infer P}.${S}` ? P : never) : never;
