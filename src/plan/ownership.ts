import path from "node:path";
import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { peerUrl } from "../etcd/urls.js";
import { bootstrapClusterId } from "../etcd/wal.js";
import type { NodeObservation } from "./observed.js";
import { firstRefusal, type Refusal } from "./refusal.js";

/** Whether a node's dir and the member in its data dir are this pair's own: what `up` may write into. */

/**
 * What may be in a local node's dir besides the layout's paths: etcd-pair's step logs and scratch copies, and the
 * lost+found of a file system mounted there (a disk of the node's own).
 */
const OWN_SCRATCH = ["trial-run.log", "data.inspect", "data.inspect.pid", "data.inspect.log", "lost+found"];

/** The names etcd-pair itself keeps directly in a node's dir. */
export function ownEntries(node: NodeSpec): Set<string> {
  const layout = nodeLayout(node);
  const tls = node.tls ? Object.values(node.tls) : [];
  const paths = [...Object.values(layout), ...tls].filter((p): p is string => typeof p === "string");
  const names = paths
    .filter((p) => p.startsWith(`${layout.root}/`))
    .map((p) => p.slice(layout.root.length + 1).split("/")[0] ?? "");
  return new Set([...names, ...OWN_SCRATCH]);
}

/** A local node's dir must be its own: `up` makes it 0700 and etcd writes into it. */
export function nodeDirRefusal(node: NodeSpec, o: NodeObservation): Refusal | undefined {
  if (node.host.kind !== "local" || !o.nodeDir) return undefined;
  const root = nodeLayout(node).root;
  if (!o.nodeDir.isDirectory) {
    return {
      message: `${root} (${node.name}'s local.dir) exists and is not a directory`,
      hint: `set ${node.name}'s local.dir to a directory of its own (up creates it)`,
    };
  }
  const own = ownEntries(node);
  const others = o.nodeDir.entries.filter((entry) => entry !== "" && !own.has(entry));
  if (others.length === 0) return undefined;
  const shown = others.slice(0, 5).join(", ") + (others.length > 5 ? ", …" : "");
  return {
    message:
      `${root} (${node.name}'s local.dir) holds files that are not etcd-pair's (${shown}): a node's dir must be ` +
      "its own, since up makes it 0700 and etcd writes into it",
    hint: `set ${node.name}'s local.dir to a new or empty directory (e.g. ${path.posix.join(root, node.name)}), or move those files out`,
  };
}

/** The cluster name in a token `<cluster>-<unix seconds>-<hex>`, when it has that shape. */
function clusterOfToken(token: string): string {
  return /^(.+)-\d+-[0-9a-f]+$/.exec(token)?.[1] ?? token;
}

/**
 * A data dir that holds a member must hold this pair's: one its markers claim (state/generation or the env file's
 * token), of this cluster's name, and whose WAL names the cluster those tokens bootstrap (from either node's peer
 * URL: either may have been the generation's first main). Anything else is another cluster's member, never adopted.
 */
export function foreignMemberRefusal(pair: PairSpec, node: NodeSpec, o: NodeObservation): Refusal | undefined {
  if (o.dataDir !== "member") return undefined;
  const layout = nodeLayout(node);
  const tokens = [...new Set([o.generation, o.envToken].filter((t): t is string => Boolean(t)))];
  const hint =
    `move ${layout.dataDir} out of the way (etcd-pair never deletes data) and run up again, ` +
    `or point ${node.name} at another directory`;
  return firstRefusal([
    () =>
      tokens.length > 0
        ? undefined
        : {
            message:
              `${layout.dataDir} holds an etcd member that this pair did not create: ${node.name} has no ` +
              `${layout.generationFile} and no cluster token in ${layout.envFile}`,
            hint,
          },
    () =>
      tokens.some((t) => t.startsWith(`${pair.cluster}-`))
        ? undefined
        : {
            message:
              `${node.name}'s files belong to etcd-pair cluster ${clusterOfToken(tokens[0] ?? "")}, not ${pair.cluster} ` +
              `(cluster token ${tokens.join(", ")})`,
            hint: `run that cluster's own config against it, or ${hint}`,
          },
    () => {
      const onDisk = o.walIdentity?.clusterId;
      if (!onDisk) return undefined;
      const expected = tokens.flatMap((t) => pair.nodes.map((n) => bootstrapClusterId(peerUrl(n), t)));
      if (expected.includes(onDisk)) return undefined;
      return {
        message:
          `${layout.dataDir} holds a member of cluster ${onDisk}, but this pair's generation ${tokens[0]} is cluster ` +
          `${expected[0]} (etcd derives it from the token and the first main's peer URL): another cluster's data, ` +
          "or this pair's from before a node's address or peer port changed",
        hint,
      };
    },
  ]);
}
