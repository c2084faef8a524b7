import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { UsageError } from "../runtime/errors.js";

/** The config's node of that name; a name it does not have is a usage error (exit 2). */
export function nodeNamed(pair: PairSpec, name: string): NodeSpec {
  const node = pair.nodes.find((n) => n.name === name);
  if (!node) {
    throw new UsageError(
      `no node named ${name}`,
      `the config's nodes are ${pair.nodes.map((n) => n.name).join(" and ")}`,
    );
  }
  return node;
}
