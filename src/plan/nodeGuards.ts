import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { parseTarballName, releaseArch } from "../etcd/install.js";
import { judgeVersion } from "../etcd/version.js";
import { missingTools, toolsFor } from "./binaries.js";
import type { NodeObservation } from "./observed.js";
import { foreignMemberRefusal, nodeDirRefusal } from "./ownership.js";
import type { Blocker } from "./preflight.js";
import type { Refusal } from "./refusal.js";

/** Preflight's questions about one node, each answering with the problems it finds (none: fine). */

/** What the tarball's name says, judged before it is uploaded: the version gate and the host's architecture. */
function tarballProblems(pair: PairSpec, o: NodeObservation): Problem[] {
  if (pair.install.kind !== "tarball") return [];
  const name = parseTarballName(pair.install.fileName);
  if (!name) return []; // Not an official name: the version is checked on the host right after the install.
  const problems: Problem[] = [];
  const refusal = judgeVersion(name.version).refusal;
  if (refusal)
    problems.push(problem(`${pair.install.fileName}: ${refusal}`, "point etcd.install.tarball at a fixed release"));
  if (o.arch && releaseArch(o.arch) !== name.arch) {
    problems.push(
      problem(
        `${pair.install.fileName} is built for ${name.arch}, but the host is ${o.arch}`,
        `use the etcd-v${name.version.text}-linux-${releaseArch(o.arch)}.tar.gz release`,
      ),
    );
  }
  return problems;
}

/** What one node's guards look at. */
export interface NodeFacts {
  pair: PairSpec;
  node: NodeSpec;
  o: NodeObservation;
  /** `up` installs etcd here first: the binaries and version are judged after the install (the tarball's name now). */
  installing: boolean;
}

type Problem = Omit<Blocker, "node">;
export type NodeGuard = (facts: NodeFacts) => Problem[];

function problem(what: string, fix: string): Problem {
  return { problem: what, fix };
}

function fromRefusal(refusal: Refusal | undefined): Problem[] {
  return refusal ? [problem(refusal.message, refusal.hint)] : [];
}

/** Every binary a later command runs (etcdutl too on 3.5+), and a version the gate accepts. */
const binaryGuard: NodeGuard = ({ pair, node, o, installing }) => {
  if (installing) return tarballProblems(pair, o);
  const problems = missingTools(node, o, toolsFor(o.version)).map((b) => problem(b.problem, b.fix));
  if (o.binaries.etcd && !o.version) {
    problems.push(
      problem(`could not read the version of ${node.binDir}/etcd`, `run '${node.binDir}/etcd --version' on the host`),
    );
  }
  const verdict = o.version ? judgeVersion(o.version) : undefined;
  if (verdict?.refusal) {
    // The version table names the release that fixes what this one gets wrong.
    problems.push(
      problem(
        verdict.refusal,
        `install etcd ${verdict.install ?? "of a supported series"} or later, then run up again`,
      ),
    );
  }
  return problems;
};

/** A main's boot guard asks its peer's peer port with openssl s_client: without it a rebooted main only waits. */
const opensslGuard: NodeGuard = ({ node, o }) =>
  node.tls && o.openssl === false
    ? [
        problem(
          "openssl is not installed: the boot guard asks the peer with openssl s_client",
          "apt-get install openssl",
        ),
      ]
    : [];

const portGuard: NodeGuard = ({ node, o }) =>
  o.running
    ? []
    : (
        [
          ["client", node.clientPort],
          ["peer", node.peerPort],
        ] as const
      )
        .filter(([, port]) => o.listeningPorts.includes(port))
        .map(([what, port]) =>
          problem(
            `${what} port ${port} is in use by another process`,
            `stop that process (ss -ltnp 'sport = :${port}') or choose another ${what}Port in the config`,
          ),
        );

const sshHostGuard: NodeGuard = ({ pair, node, o }) => {
  if (node.host.kind !== "ssh") return [];
  const problems: Problem[] = [];
  if (!o.systemd)
    problems.push(problem("systemd is not the host's init", "etcd-pair runs etcd as a systemd service on SSH hosts"));
  // Debian's package creates the user; a tarball install creates it too.
  if (!o.etcdUser && pair.install.kind === "preinstalled") {
    problems.push(
      problem(
        "there is no user etcd",
        "create it: useradd --system --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd",
      ),
    );
  }
  return problems;
};

const nodeDirGuard: NodeGuard = ({ node, o }) => fromRefusal(nodeDirRefusal(node, o));

const fencedGuard: NodeGuard = ({ node, o }) =>
  o.fenced
    ? [
        problem(
          `the pair failed over away from ${node.name} (${o.fenced})`,
          `bring it back as the new learner with 'etcd-pair rejoin ${node.name}'`,
        ),
      ]
    : [];

const lostDataGuard: NodeGuard = ({ node, o }) =>
  o.generation && o.dataDir !== "member"
    ? [
        problem(
          `${node.name} was a member of cluster generation ${o.generation} but ${nodeLayout(node).dataDir} holds no member data`,
          `if the other node holds the data, bring this one back with 'etcd-pair rejoin ${node.name}'; ` +
            "to start over from nothing, 'etcd-pair down --purge' archives what is left",
        ),
      ]
    : [];

const foreignFilesGuard: NodeGuard = ({ node, o }) =>
  o.dataDir === "foreign"
    ? [
        problem(
          `${nodeLayout(node).dataDir} holds files that are not etcd member data`,
          "move them elsewhere (etcd-pair never deletes data) or choose another local.dir",
        ),
      ]
    : [];

const foreignMemberGuard: NodeGuard = ({ pair, node, o }) => fromRefusal(foreignMemberRefusal(pair, node, o));

/** What the host must offer, whatever its data dir holds. */
export const HOST_GUARDS: readonly NodeGuard[] = [binaryGuard, opensslGuard, portGuard, sshHostGuard, nodeDirGuard];
/** What its data dir and markers must be for `up` to start or join it as it is. */
export const DATA_GUARDS: readonly NodeGuard[] = [fencedGuard, lostDataGuard, foreignFilesGuard, foreignMemberGuard];
