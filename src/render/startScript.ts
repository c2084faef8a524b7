import type { NodeSpec } from "../config/resolve.js";
import { GENERATION_KEY } from "../etcd/keys.js";
import { clientUrl, peerUrl } from "../etcd/urls.js";
import type { NodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";

/** Exit status of a start refused by the guard; systemd units do not restart on it. */
export const GUARD_EXIT_STATUS = 78;
/** Exit status of a main that could not tell yet whether it is current: systemd starts it again after RestartSec. */
export const GUARD_WAIT_STATUS = 79;
/** How long one start of a main looks for its peer before it exits to wait (ETCD_PAIR_GUARD_WAIT_S overrides). */
export const GUARD_WAIT_S = 30;
/** An approval `up` or `start-alone` wrote is good for this long: a reboot later asks the peer again. */
export const APPROVAL_VALID_S = 300;

/** The command that prints the peer's member list, asked on its peer port as a member asks (mutual TLS). */
function askPeerMembers(node: NodeSpec, peer: NodeSpec): string {
  const request = "GET /members HTTP/1.0\\r\\nHost: etcd\\r\\n\\r\\n";
  const hostPort = `${peer.address.includes(":") ? `[${peer.address}]` : peer.address}:${peer.peerPort}`;
  if (!node.tls) {
    return (
      `timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "${request}" >&3 && cat <&3' etcd-pair ` +
      `${shQuote(peer.address)} ${peer.peerPort} 2>/dev/null`
    );
  }
  const tls = `-CAfile ${shQuote(node.tls.caFile)} -cert ${shQuote(node.tls.certFile)} -key ${shQuote(node.tls.keyFile)}`;
  return (
    `printf '${request}' | timeout 3 openssl s_client -quiet -verify_return_error -connect ${shQuote(hostPort)} ` +
    `${tls} 2>/dev/null`
  );
}

/**
 * The main's guard (README: Boot guard). A main is the only voter of its cluster: it acknowledges writes as soon as
 * it runs, so it starts only once it knows no failover happened while it was down: its peer, asked on the peer
 * port, lists it as a member of its cluster; or it is the only member of its cluster (a failover made it so and no
 * learner was added since: `state/sole-member` holds its generation), so no failover away from it can have happened;
 * or etcd-pair approved this start a moment ago (`up`, `start-alone`, after checking both hosts; read again while it
 * waits). A peer whose cluster does not include it means the pair moved on: refused. A peer that does not answer
 * proves nothing: it says at once that it waits, and exits to be started again (systemd) until the peer answers.
 */
function mainGuard(node: NodeSpec, peer: NodeSpec, layout: NodeLayout, refuse: (why: string) => string): string {
  const q = shQuote;
  const me = q(`"${peerUrl(node)}"`);
  return `  if [ "$role" = new ] && [ ! -e ${q(layout.failoverTokenFile)} ]; then
    ok=
    mine=\${own:-$settings_token}
    sole=$(cat ${q(layout.soleMemberFile)} 2>/dev/null || true)
    if [ -n "$mine" ] && [ "$sole" = "$mine" ]; then
      ok="it is the only member of its cluster (generation $mine): no failover away from it can have happened (a failover needs a learner of this cluster)"
    fi
    end=$(($(date +%s) + \${ETCD_PAIR_GUARD_WAIT_S:-${GUARD_WAIT_S}}))
    said=
    while [ -z "$ok" ]; do
      # Read at every turn: an approval written while it waits (start-alone) releases it without a restart.
      approved=$(cat ${q(layout.startApprovalFile)} 2>/dev/null || true)
      case "\${approved##* }" in ''|*[!0-9]*) approved= ;; esac
      if [ -n "$mine" ] && [ "\${approved% *}" = "$mine" ] && [ $(($(date +%s) - \${approved##* })) -le ${APPROVAL_VALID_S} ] 2>/dev/null; then
        ok="etcd-pair approved this start of generation $mine"
        break
      fi
      members=$(${askPeerMembers(node, peer)} || true)
      case "$members" in
        *${me}*) ok="its peer ${peer.name} lists it as a member of its cluster" ;;
        *'"peerURLs"'*)
${refuse(`its peer ${peer.name} answers and its cluster does not include ${node.name} (the pair failed over to ${peer.name}?)`).replace(/^/gm, "      ")} ;;
      esac
      [ -n "$ok" ] && break
      # Said once per start, at the first unanswered question: status shows the node INERT from then on.
      if [ -z "$said" ]; then
        echo "etcd-pair: ${node.name} waits: it was the main, and ${peer.name} (${peerUrl(peer)}) does not answer, so it cannot tell whether the pair failed over to ${peer.name}. It starts once ${peer.name} answers; if ${peer.name} is gone for good and was not failed over to: etcd-pair start-alone ${node.name}" >&2
        said=1
      fi
      if [ "$(date +%s)" -ge "$end" ]; then exit ${GUARD_WAIT_STATUS}; fi
      sleep 1
    done
    echo "etcd-pair: ${node.name} starts: $ok" >&2
  fi`;
}

/** How far ahead of this host's clock a peer's generation may be and still be trusted as newer (clock skew). */
export const GENERATION_MAX_AHEAD_S = 86_400;

/**
 * Any client of the pair can write the generation key: a token of another cluster, or one from the far future,
 * would make every restart of this node refuse. Such a value (or one of several lines) is not trusted: the journal says so, and the node
 * starts as if its peer had not answered. (Printed shortened and printable only: a client chose it.)
 */
function distrustAbsurdGeneration(peer: NodeSpec, cluster: string): string {
  const tokenPattern = shQuote(`${cluster}-[0-9]{1,12}-[0-9a-f]+`);
  return `  if [ -n "$theirs" ]; then
    distrust=
    if ! printf '%s' "$theirs" | tr '\\n' ' ' | grep -Eqx ${tokenPattern}; then distrust="it is not a generation of cluster ${cluster}"
    elif [ "$(epoch "$theirs")" -gt $(($(date +%s) + ${GENERATION_MAX_AHEAD_S})) ]; then distrust="it is more than a day ahead of this host's clock"; fi
    if [ -n "$distrust" ]; then
      echo "etcd-pair: ignoring the generation ${peer.name} serves ($(printf '%s' "$theirs" | tr -cd '[:print:]' | cut -c1-80)): $distrust; going on as if ${peer.name} had not answered." >&2
      theirs=
    fi
  fi`;
}

/**
 * The script every service manager runs to start etcd (systemd's ExecStart, the local supervisor's
 * setsid). It execs etcd, so the service's main pid is etcd's and sd_notify reaches systemd.
 *
 * It is also the boot guard against split brain: a node the pair failed over away from must not come back
 * as a voter of its old cluster, which would accept writes on its own.
 */
export function renderStartScript(node: NodeSpec, peer: NodeSpec, layout: NodeLayout, cluster: string): string {
  const q = shQuote;
  // It runs as user etcd: it asks the peer with the member's own certificate (it has clientAuth too).
  const tls = node.tls
    ? ` --cacert=${q(node.tls.caFile)} --cert=${q(node.tls.certFile)} --key=${q(node.tls.keyFile)}`
    : "";
  const refuse = (why: string) =>
    `  echo "etcd-pair: refusing to start ${node.name}: ${why}." "Run: etcd-pair rejoin ${node.name}" >&2\n  exit ${GUARD_EXIT_STATUS}`;
  return `#!/bin/sh
# Starts etcd member ${node.name} of etcd-pair cluster ${cluster}. Generated by etcd-pair: edits are overwritten.
# Run by the service manager; an operator may run it by hand in the foreground.
set -eu
set -a
. ${q(layout.envFile)}
set +a
# new: this node was made main (the only voter); existing: it joined as a learner, which acknowledges no write.
role=\${ETCD_INITIAL_CLUSTER_STATE:-}
# The generation this node's settings are for (state/generation is written once it first served it).
settings_token=\${ETCD_INITIAL_CLUSTER_TOKEN:-}
if [ -e ${q(layout.fencedFile)} ]; then
${refuse(`the pair failed over away from it ($(cat ${q(layout.fencedFile)}))`)}
fi
if [ -d "$ETCD_DATA_DIR/member" ]; then
  # Already a member: etcd ignores the bootstrap settings; drop them so nothing can bootstrap again.
  unset ETCD_INITIAL_CLUSTER ETCD_INITIAL_CLUSTER_STATE ETCD_INITIAL_CLUSTER_TOKEN
  # If the peer answers and serves a newer cluster generation, this node's data is stale (failed over).
  # Tokens are <cluster>-<unix seconds>-<hex>: the seconds order generations. A peer that does not
  # answer proves nothing: the node starts, as it must when its peer is down.
  # Skipped on the node a failover is promoting: its peer is the dead old main, and asking would only wait.
  own=$(cat ${q(layout.generationFile)} 2>/dev/null || true)
  theirs=
  if [ ! -e ${q(layout.failoverTokenFile)} ]; then
    theirs=$(ETCDCTL_API=3 ${q(`${node.binDir}/etcdctl`)} --endpoints=${q(clientUrl(peer))}${tls} --dial-timeout=500ms \\
      --command-timeout=1s get ${q(GENERATION_KEY)} --consistency=s --print-value-only 2>/dev/null || true)
  fi
  epoch() { echo "$1" | sed -n 's/^.*-\\([0-9][0-9]*\\)-[0-9a-f][0-9a-f]*$/\\1/p'; }
${distrustAbsurdGeneration(peer, cluster)}
  if [ -n "$own" ] && [ -n "$theirs" ] && [ "$(epoch "$theirs")" -gt "$(epoch "$own")" ] 2>/dev/null; then
${refuse(`its peer ${peer.name} serves a newer cluster generation ($theirs) than this node's ($own)`).replace(/^/gm, "  ")}
  fi
${mainGuard(node, peer, layout, refuse)}
elif [ -s ${q(layout.generationFile)} ]; then
${refuse(`it was a member of cluster generation $(cat ${q(layout.generationFile)}) but $ETCD_DATA_DIR holds no member data`)}
fi
exec ${q(`${node.binDir}/etcd`)}
`;
}
