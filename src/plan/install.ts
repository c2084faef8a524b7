import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { aptInstallCommand, parseTarballName, tarballInstallCommand } from "../etcd/install.js";
import { lastLine } from "../etcd/status.js";
import { judgeVersion, parseEtcdVersionOutput } from "../etcd/version.js";
import { shQuote } from "../shell/quote.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import { claimPairDirCommand } from "./pairDir.js";
import type { Expectation, Step } from "./step.js";
import type { Side } from "./stepIds.js";

/** The tarball as the controller holds it, checked against the config's sha256. */
export interface LocalTarball {
  path: string;
  sha256: string;
  fileName: string;
}

/** `etcd --version` passes the version gate (and names the tarball's version, when it has one). */
function versionAccepted(expected: string | undefined): Expectation {
  return {
    describe: expected ? `etcd ${expected}, accepted by the version gate` : "a version accepted by the version gate",
    check: ([outcome]) => {
      if (!outcome || outcome.code !== 0) return lastLine(outcome?.stderr ?? "") || "etcd --version failed";
      const version = parseEtcdVersionOutput(outcome.stdout);
      if (!version) return `no version in: ${lastLine(outcome.stdout)}`;
      if (expected && version.text !== expected) return `installed etcd is ${version.text}, not ${expected}`;
      return judgeVersion(version).refusal;
    },
  };
}

function versionStep(node: NodeSpec, side: Side, expected: string | undefined): Step {
  return {
    id: `${side}.install.version`,
    title: `etcd on ${node.name} runs and its version is accepted`,
    node: node.name,
    kind: "verify",
    actions: [
      {
        kind: "exec",
        node: node.name,
        command: `${shQuote(`${node.binDir}/etcd`)} --version`,
        expect: versionAccepted(expected),
      },
    ],
  };
}

/** Whether `up` installs etcd on this host: the config asks for it and the host lacks that etcd. */
export function needsInstall(pair: PairSpec, observation: NodeObservation): boolean {
  const install = pair.install;
  const present = observation.binaries.etcd && observation.binaries.etcdctl;
  if (install.kind === "apt") return !present;
  if (install.kind === "tarball") return !present || observation.installedTarball !== install.sha256;
  return false;
}

/**
 * Puts etcd on an SSH host when the config asks for it and the host lacks it: apt, or a release
 * tarball uploaded from the controller (hosts need no internet). Nothing when it is there already.
 */
export function installSteps(
  pair: PairSpec,
  node: NodeSpec,
  side: Side,
  observation: NodeObservation,
  tarball: LocalTarball | undefined,
): Step[] {
  const install = pair.install;
  if (!needsInstall(pair, observation)) return [];
  if (install.kind === "apt") {
    return [
      {
        id: `${side}.install.apt`,
        title: `install etcd on ${node.name} with apt (etcd-server, etcd-client)`,
        node: node.name,
        kind: "change",
        actions: [{ kind: "exec", node: node.name, command: aptInstallCommand(), timeoutMs: 600_000 }],
        hint: "The host's apt sources must offer etcd-server and etcd-client (Debian 12 ships 3.4.23).",
      },
      versionStep(node, side, undefined),
    ];
  }
  if (install.kind !== "tarball") return [];
  if (!tarball) throw new Error("install: tarball needs the controller's copy of the tarball");
  const layout = nodeLayout(node);
  const uploaded = `${layout.installDir}/${tarball.fileName}`;
  return [
    {
      id: `${side}.install.tarball`,
      title: `install etcd on ${node.name} from ${tarball.fileName} into ${node.binDir}`,
      node: node.name,
      kind: "change",
      actions: [
        // The tarball goes into the pair's dir: root's before root writes in it (systemd hosts).
        ...(layout.dataOwner ? [{ kind: "exec" as const, node: node.name, command: claimPairDirCommand(layout) }] : []),
        { kind: "copy", node: node.name, source: tarball.path, sha256: tarball.sha256, path: uploaded, mode: 0o600 },
        {
          kind: "exec",
          node: node.name,
          command: tarballInstallCommand({
            tarball: uploaded,
            sha256: tarball.sha256,
            unpackDir: `${layout.installDir}/unpacked`,
            binDir: node.binDir,
            markerFile: layout.installMarkerFile,
          }),
          timeoutMs: 120_000,
        },
      ],
      hint: "The tarball must have etcd's release layout: etcd-vX.Y.Z-linux-ARCH/{etcd,etcdctl,etcdutl}.",
    },
    versionStep(node, side, parseTarballName(tarball.fileName)?.version.text),
  ];
}
