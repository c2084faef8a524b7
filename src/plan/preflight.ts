import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { peerUrl } from "../etcd/urls.js";
import { parseTarballName } from "../etcd/install.js";
import { needsInstall } from "./install.js";
import type { EtcdVersion } from "../etcd/version.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import { pairView } from "./pairView.js";
import { DISK_FULL_BYTES } from "./pairState.js";
import { peerOf } from "./pairView.js";
import { DATA_GUARDS, HOST_GUARDS } from "./nodeGuards.js";

/** Something that stops `up` before it touches any host. */
export interface Blocker {
  node: string;
  problem: string;
  fix: string;
}

export interface Preflight {
  blockers: Blocker[];
  /** Worth knowing, not worth stopping for. */
  warnings: string[];
}

/** Above this, etcd warns about the peers' clock difference, and generation tokens carry unix seconds. */
export const MAX_CLOCK_SKEW_MS = 1000;
/** etcd's default backend quota is 2 GiB; below this much free space, up refuses. */
export const MIN_FREE_BYTES = 1024 ** 3;
/** Below this much free space, up warns. */
export const LOW_FREE_BYTES = 4 * 1024 ** 3;

const ACTIVE_STATES = new Set(["active", "activating", "reloading"]);
const ENABLED_STATES = new Set(["enabled", "enabled-runtime"]);

function unreachableFix(error: string): string {
  if (/host key/.test(error))
    return "compare the key with the host's own (ssh-keyscan on a trusted path), then fix known_hosts";
  if (/authentication|identity file/.test(error))
    return "check ssh.user and ssh.identityFile (or the keys in your SSH agent)";
  if (/sudo/.test(error)) return "give the SSH user passwordless sudo, or connect as root";
  return "check that the host is up and its sshd reachable";
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function signedMs(ms: number): string {
  return `${ms >= 0 ? "+" : ""}${Math.round(ms)} ms`;
}

/** Free space, peer port, the packaged etcd.service: what one host's own probe tells. */
function hostChecks(
  pair: PairSpec,
  node: NodeSpec,
  o: NodeObservation,
  block: (problem: string, fix: string) => void,
  warn: (warning: string) => void,
): void {
  if (o.disk) {
    const where = `${o.disk.mountPoint} (the filesystem of ${o.disk.path})`;
    const why = "etcd's backend may grow to its default quota of 2 GiB, plus WAL files and snapshots";
    // A new member needs room to grow; a member that exists already only needs room to restart.
    const existing = o.dataDir === "member";
    const minimum = existing ? DISK_FULL_BYTES : MIN_FREE_BYTES;
    if (o.disk.availableBytes < minimum) {
      block(
        `only ${gib(o.disk.availableBytes)} free on ${where}, less than ${existing ? "64 MiB" : "1 GiB"}: ${why}`,
        node.host.kind === "local"
          ? "free space there, or set local.dir to a directory on a larger filesystem"
          : `free space there, or mount a larger filesystem at ${nodeLayout(node).root}`,
      );
    } else if (o.disk.availableBytes < LOW_FREE_BYTES) {
      warn(`${node.name}: only ${gib(o.disk.availableBytes)} free on ${where}: ${why}`);
    }
  }
  const peer = peerOf(pair, node);
  const target = `${peer.name}'s peer URL ${peerUrl(peer)}`;
  if (o.peerReach?.result === "unreachable") {
    block(
      `${node.name} cannot connect to ${target}${o.peerReach.detail ? ` (${o.peerReach.detail})` : ""}`,
      `let TCP port ${peer.peerPort} through between the hosts, both ways (firewall, security groups, routes); ` +
        "only the peer ports need to be open between them, not the client ports",
    );
  } else if (o.peerReach?.result === "unknown") {
    warn(
      `${node.name}: could not test the connection to ${target}` +
        `${o.peerReach.detail ? ` (${o.peerReach.detail})` : ""}; make sure the hosts reach each other on the peer ports`,
    );
  }
  if (node.host.kind === "ssh" && o.packagedUnit) {
    if (ACTIVE_STATES.has(o.packagedUnit.active)) {
      block(
        `etcd.service (the etcd package's own unit) is ${o.packagedUnit.active}: a second etcd, on ports 2379/2380 by default`,
        "systemctl disable --now etcd.service (disable, do not mask: a masked unit is a link to /dev/null)",
      );
    } else if (ENABLED_STATES.has(o.packagedUnit.enabled)) {
      warn(
        `${node.name}: etcd.service (the etcd package's own unit) is enabled: it would start at boot and compete ` +
          "for port 2379; run 'systemctl disable etcd.service' (disable, do not mask)",
      );
    }
  }
}

/** Checks that compare the two hosts: clocks and architectures. */
function pairChecks(pair: PairSpec, observations: readonly NodeObservation[], result: Preflight): void {
  const [a, b] = pair.nodes.map((n) => pairView(pair, observations).of(n)) as [NodeObservation, NodeObservation];
  if (!a.reachable || !b.reachable) return;
  if (
    a.clockOffsetMs !== undefined &&
    b.clockOffsetMs !== undefined &&
    a.clockRttMs !== undefined &&
    b.clockRttMs !== undefined
  ) {
    const difference = Math.abs(a.clockOffsetMs - b.clockOffsetMs);
    const uncertainty = (a.clockRttMs + b.clockRttMs) / 2;
    if (difference - uncertainty > MAX_CLOCK_SKEW_MS) {
      // The one further from the controller's clock is the likelier culprit.
      const [off, other] = Math.abs(a.clockOffsetMs) >= Math.abs(b.clockOffsetMs) ? [a, b] : [b, a];
      result.blockers.push({
        node: off.node,
        problem:
          `the clocks of ${a.node} and ${b.node} differ by ${(difference / 1000).toFixed(1)} s ` +
          `(±${Math.round(uncertainty)} ms; against this machine: ${off.node} ${signedMs(off.clockOffsetMs ?? 0)}, ` +
          `${other.node} ${signedMs(other.clockOffsetMs ?? 0)}); etcd warns above 1 s and the boot guard's ` +
          "generation tokens carry unix seconds",
        fix: "enable time sync on both hosts (timedatectl set-ntp true with systemd-timesyncd, or chrony) and check 'timedatectl'",
      });
    }
  }
  if (a.arch && b.arch && a.arch !== b.arch) {
    result.warnings.push(
      `${a.node} is ${a.arch} and ${b.node} is ${b.arch}: etcd members may differ in architecture, ` +
        "but a mixed pair is the less tested setup; install each host's own etcd build",
    );
  }
}

/** The version the host will run: the tarball's (from its name) when up installs it, else what is there. */
function expectedVersion(pair: PairSpec, o: NodeObservation): EtcdVersion | undefined {
  if (!needsInstall(pair, o)) return o.version;
  return pair.install.kind === "tarball" ? parseTarballName(pair.install.fileName)?.version : undefined;
}

export interface PreflightOptions {
  /**
   * snapshot restore: both data dirs are archived first (what they hold is no obstacle), and the restore runs the
   * host's own etcd binaries before `up` could install any (so every one must be there already).
   */
  replacingData?: boolean;
}

export function preflight(
  pair: PairSpec,
  observations: readonly NodeObservation[],
  options: PreflightOptions = {},
): Preflight {
  const result: Preflight = { blockers: [], warnings: [] };
  const { blockers } = result;
  const view = pairView(pair, observations);
  const guards = options.replacingData ? HOST_GUARDS : [...HOST_GUARDS, ...DATA_GUARDS];
  for (const node of pair.nodes) {
    const o = view.of(node);
    const block = (problem: string, fix: string) => blockers.push({ node: node.name, problem, fix });
    if (!o.reachable) {
      block(`host cannot be probed: ${o.error ?? "unknown error"}`, unreachableFix(o.error ?? ""));
      continue;
    }
    const facts = { pair, node, o, installing: !options.replacingData && needsInstall(pair, o) };
    for (const guard of guards) blockers.push(...guard(facts).map((p) => ({ node: node.name, ...p })));
    hostChecks(pair, node, o, block, (warning) => result.warnings.push(warning));
  }
  const versions = new Set(
    observations.flatMap((o) => {
      const version = expectedVersion(pair, o);
      return version ? [`${version.major}.${version.minor}`] : [];
    }),
  );
  if (versions.size > 1) {
    blockers.push({
      node: pair.nodes[1].name,
      problem: `the nodes run different etcd minor versions (${[...versions].join(", ")})`,
      fix: "install the same etcd version on both hosts",
    });
  }
  pairChecks(pair, observations, result);
  return result;
}
