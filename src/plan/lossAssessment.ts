import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { endpointStatusArgs } from "../etcd/etcdctl.js";
import { shJoin, shQuote } from "../shell/quote.js";
import { AS_ETCD_USER } from "../service/systemd.js";
import type { Step } from "./step.js";

/** How long the throwaway etcd of the loss assessment may take to answer. */
const ASSESS_DEADLINE_S = 20;

/**
 * The throwaway's client and peer sockets, relative to its own dir (its working dir): etcd 3.4 refuses an
 * absolute unix URL ("does not have the form host:port"), and both 3.4 and 3.5, etcd and etcdctl, take
 * unix://<file>:<port> as the file <file>:<port> in the working dir. No TCP port: nothing else can reach it.
 */
const CLIENT_SOCKET = "unix://client.sock:0";
const PEER_SOCKET = "unix://peer.sock:0";

/**
 * Run by the throwaway's own user in its dir ($1): records its pid, then becomes etcd ($2) on the copy, restarted
 * plainly as the member ($3) it was, only its sockets changed (a restart takes its cluster from the WAL, so no
 * --initial-* flag applies). Not --force-new-cluster: that keeps only the entries the WAL's last saved commit
 * index covers, and from 3.6 on (*measured*: 3.6.14, killed -9) an acknowledged write can lie past it; a plain
 * restart of the only voter commits its whole log again. Paths come in as arguments, so this text never needs
 * quoting inside its quotes.
 */
const START_THROWAWAY =
  'cd "$1" && echo $$ >etcd.pid && exec "$2" --name="$3" --data-dir="$1/data" ' +
  `--listen-client-urls=${CLIENT_SOCKET} --advertise-client-urls=${CLIENT_SOCKET} ` +
  `--listen-peer-urls=${PEER_SOCKET} >etcd.log 2>&1`;

const CTL_FLAGS = shJoin([`--endpoints=${CLIENT_SOCKET}`, "--dial-timeout=1s", "--command-timeout=2s"]);

/**
 * Asks the throwaway in dir $1 for its status with etcdctl ($2), once a linearizable read has passed: the leader
 * serves one only after it committed an entry of its own term, so the whole log it restarted with is applied.
 */
const ASK_THROWAWAY =
  `cd "$1" && export ETCDCTL_API=3 && "$2" ${CTL_FLAGS} get --keys-only assess >/dev/null && ` +
  `exec "$2" ${CTL_FLAGS} ${shJoin(endpointStatusArgs)}`;

/** Where the assessment works on the old main's host: a dir of its own, 0700, owned by the user etcd runs as. */
export function throwawayDir(node: NodeSpec): string {
  return `${nodeLayout(node).root}/data.inspect`;
}

/** The user etcd runs as, with an empty environment (no ETCD_* or ETCDCTL_* setting of the caller applies). */
function asOwner(node: NodeSpec): string {
  return nodeLayout(node).dataOwner ? `${AS_ETCD_USER} env -i PATH="$PATH"` : `env -i PATH="$PATH"`;
}

/**
 * The shell functions the assessment uses. `as_owner` runs a command as the user etcd runs as (systemd hosts:
 * etcd; local hosts: whoever runs etcd-pair), with an empty environment, so root never works inside the
 * throwaway's dir and only that user's processes can be signalled. `is_throwaway` tells the etcd of a pid file
 * left by an interrupted run from an unrelated process that reused its pid.
 */
function functions(node: NodeSpec): string[] {
  return [
    `as_owner() { ${asOwner(node)} "$@"; }`,
    // A process is running while one of its threads is (etcd's first thread can be a zombie before the others
    // end). Our own throwaway's pid cannot be reused before the `wait` that reaps it.
    `alive() { cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1 | grep -q '[^ZX]'; }`,
    `is_throwaway() { alive "$1" && tr '\\000' '\\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "--data-dir=$d/data"; }`,
    `signal() { as_owner /bin/sh -c 'kill -s "$1" "$2"' sh "$1" "$2" 2>/dev/null; }`,
    // A copy is all it has, so SIGKILL after a 5 s grace is safe.
    `stop_throwaway() { signal TERM "$1"; j=0; while alive "$1"; do ` +
      `if [ $j -eq 100 ]; then signal KILL "$1"; fi; ` +
      `if [ $j -ge 200 ]; then echo "throwaway etcd (pid $1) did not exit" >&2; return 1; fi; ` +
      `sleep 0.05; j=$((j+1)); done; }`,
  ];
}

/** Stops what an interrupted run left, then makes the dir afresh with a copy of the data dir in it. */
function prepare(node: NodeSpec): string[] {
  const layout = nodeLayout(node);
  const chown = layout.dataOwner ? ` && chown -h ${layout.dataOwner} "$d"` : "";
  return [
    `left=$(as_owner cat "$d/etcd.pid" 2>/dev/null); case "$left" in ''|*[!0-9]*) left= ;; esac`,
    `if [ -n "$left" ] && is_throwaway "$left"; then stop_throwaway "$left" || exit 1; fi`,
    // data.inspect.{pid,log}: what etcd-pair versions that ran the throwaway as root left next to it.
    `rm -rf "$d" "$d.pid" "$d.log" && mkdir -m 0700 "$d"${chown} || exit 1`,
    `if ! as_owner cp -a ${shQuote(layout.dataDir)} "$d/data"; then rm -rf "$d"; exit 1; fi`,
  ];
}

/** Starts the throwaway and waits, bounded, until it answers or exits; the status JSON ends up in $st. */
function startAndAsk(node: NodeSpec): string[] {
  const etcd = shQuote(`${node.binDir}/etcd`);
  const etcdctl = shQuote(`${node.binDir}/etcdctl`);
  return [
    // Not through the as_owner function: a function run in the background is a subshell, and $! its pid.
    `${asOwner(node)} /bin/sh -c ${shQuote(START_THROWAWAY)} sh "$d" ${etcd} ${shQuote(node.name)} </dev/null >/dev/null 2>&1 &`,
    `pid=$!; st=; end=$(($(date +%s) + ${ASSESS_DEADLINE_S}))`,
    // Bounded by time: an etcd that listens but never serves (no quorum in that data) makes each try wait.
    // An etcd that exited ends the wait at once.
    `while [ "$(date +%s)" -lt "$end" ] && alive "$pid"; do ` +
      `st=$(as_owner /bin/sh -c ${shQuote(ASK_THROWAWAY)} sh "$d" ${etcdctl} 2>/dev/null) && break; st=; sleep 0.05; done`,
    `if [ -z "$st" ]; then as_owner tail -n 20 "$d/etcd.log" >&2; ` +
      `if alive "$pid"; then echo "the throwaway etcd did not answer within ${ASSESS_DEADLINE_S} s" >&2; ` +
      `else echo "the throwaway etcd exited before it answered" >&2; fi; fi`,
  ];
}

/**
 * The assessment as one shell script, run as root on systemd hosts: every step inside the throwaway's dir as
 * the user etcd runs as. Nothing of it is left when it ends: the throwaway is stopped, its dir removed.
 */
export function assessLossCommand(node: NodeSpec): string {
  return [
    `d=${shQuote(throwawayDir(node))}`,
    ...functions(node),
    ...prepare(node),
    ...startAndAsk(node),
    `stop_throwaway "$pid"; stopped=$?; wait "$pid" 2>/dev/null`,
    `rm -rf "$d"`,
    `[ $stopped -eq 0 ] && [ -n "$st" ] && echo "$st"`,
  ].join("\n");
}

/**
 * Reads the old main's last revision from a copy of its data: a throwaway etcd restarts on the copy (it was the
 * only voter, so it leads alone and commits the copy's whole WAL), answers one status on a unix socket in a dir only its user can
 * enter, and is stopped. It runs as the user etcd runs as, never as root, on no TCP port. It may dial the peer
 * URL the copy's member list gives its learner: a failover always makes a new cluster token, so what answers
 * there now is another cluster and refuses it by cluster ID. The old main's own
 * data dir is only read. Prints the status JSON.
 */
export function assessLossStep(oldMain: NodeSpec): Step {
  return {
    id: "assess.loss",
    title: `read the old main ${oldMain.name}'s last revision from a copy of its data`,
    node: oldMain.name,
    kind: "verify",
    actions: [{ kind: "exec", node: oldMain.name, command: assessLossCommand(oldMain), timeoutMs: 120_000 }],
    hint: `the report will say the loss is unknown; ${oldMain.name}'s data dir was only read`,
    // Reading the old data must never keep the pair from recovering: the loss is then reported as unknown.
    onFailure: "warn",
  };
}
