import path from "node:path";
import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";

/**
 * The upgrade's own marker on each node (state/upgrade): `upgrade <target> <main> <ISO time> <raft index>`,
 * written before the upgrade's first change and archived after its last. It says an upgrade to <target> began
 * while <main> was main: a re-run after an interruption accepts the states the upgrade passes through, and
 * --keep-roles knows which node to end with even after the roles were swapped.
 */
export interface UpgradeMarker {
  target: string;
  main: string;
  at: string;
  /**
   * The main's raft index when it began: every later entry was proposed by the versions the pair ran then. An
   * upgrade to 3.7 seals the learner's log up to here (src/plan/upgradeSeal.ts). Absent in older markers.
   */
  raftIndex?: number;
}

export function upgradeMarkerFile(node: NodeSpec): string {
  return path.posix.join(nodeLayout(node).stateDir, "upgrade");
}

export function parseUpgradeMarker(text: string | undefined): UpgradeMarker | undefined {
  const [kind, target, main, at, index] = (text ?? "").trim().split(/\s+/);
  if (kind !== "upgrade" || !target || !main || !at) return undefined;
  return /^\d{1,15}$/.test(index ?? "") ? { target, main, at, raftIndex: Number(index) } : { target, main, at };
}
