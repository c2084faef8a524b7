import path from "node:path";
import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";

/**
 * The upgrade's own marker on each node (state/upgrade): `upgrade <target> <main> <ISO time>`, written before the
 * upgrade's first change and archived after its last. It says an upgrade to <target> began while <main> was main:
 * a re-run after an interruption accepts the states the upgrade passes through, and --keep-roles knows which
 * node to end with even after the roles were swapped.
 */
export interface UpgradeMarker {
  target: string;
  main: string;
  at: string;
}

export function upgradeMarkerFile(node: NodeSpec): string {
  return path.posix.join(nodeLayout(node).stateDir, "upgrade");
}

export function parseUpgradeMarker(text: string | undefined): UpgradeMarker | undefined {
  const [kind, target, main, at] = (text ?? "").trim().split(/\s+/);
  return kind === "upgrade" && target && main && at ? { target, main, at } : undefined;
}
