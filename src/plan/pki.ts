import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { CopyAction, Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";

/** A file on the controller and what it hashes to. */
export interface ControllerFile {
  path: string;
  sha256: string;
}

/** The pair's CA certificate, each member's certificate and key, and etcd-pair's client certificate. */
export interface ControllerPki {
  ca: ControllerFile;
  members: Record<string, { cert: ControllerFile; key: ControllerFile }>;
  client: { cert: ControllerFile; key: ControllerFile };
}

/**
 * Copies the node's certificates to its host where they differ: the member key readable by etcd only,
 * etcd-pair's client key by root only (etcdctl runs as root there), certificates world-readable.
 */
export function certificateSteps(
  node: NodeSpec,
  prefix: StepPrefix<"certificates">,
  observation: Pick<NodeObservation, "fileHashes">,
  pki: ControllerPki | undefined,
): Step[] {
  const tls = node.tls;
  const member = pki?.members[node.name];
  if (!tls || !pki || !member) return [];
  const etcdOwned = nodeLayout(node).dataOwner;
  const files: [ControllerFile, string, number, string | undefined][] = [
    [pki.ca, tls.caFile, 0o644, undefined],
    [member.cert, tls.certFile, 0o644, undefined],
    [member.key, tls.keyFile, 0o600, etcdOwned],
    [pki.client.cert, tls.clientCertFile, 0o644, undefined],
    [pki.client.key, tls.clientKeyFile, 0o600, undefined],
  ];
  const actions = files
    .filter(([source, target]) => observation.fileHashes[target] !== source.sha256)
    .map(([source, target, mode, owner]): CopyAction => ({
      kind: "copy",
      node: node.name,
      source: source.path,
      sha256: source.sha256,
      path: target,
      mode,
      ...(owner ? { owner } : {}),
    }));
  if (actions.length === 0) return [];
  return [
    {
      id: `${prefix}.certificates`,
      title: `copy ${node.name}'s TLS certificates and keys to its host`,
      node: node.name,
      kind: "change",
      actions,
      hint: "The files come from the tls.dir on the controller; etcd-pair never prints a private key.",
    },
  ];
}
