import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import type { NodeObservation } from "./observed.js";
import type { Step } from "./step.js";

/**
 * Where a step runs on the controller itself, e.g. a fence command that powers a host off. The space keeps it
 * out of the node names the config allows (lowercase DNS labels): no node, whatever its name, is the controller.
 */
export const CONTROLLER = "the controller";

export type FenceMethod = "stopped-on-host" | "fence-command" | "operator-confirmed" | "already-fenced";

/** What each way of fencing means for the plan: a step to run, and whether the operator's word is the fence. */
const FENCES: Record<FenceMethod, { needsOperatorWord: boolean; summary: (oldMain: string) => string }> = {
  "already-fenced": { needsOperatorWord: false, summary: (m) => `${m} is already fenced` },
  "stopped-on-host": {
    needsOperatorWord: false,
    summary: (m) => `stop ${m}'s etcd on its host and mark it fenced`,
  },
  "fence-command": { needsOperatorWord: false, summary: (m) => `${m} cannot be reached: run the fence command` },
  "operator-confirmed": {
    needsOperatorWord: true,
    summary: (m) => `${m} cannot be reached and no fence command is set: you confirm it is down`,
  },
};

/**
 * How the old main is kept from coming back with its old data (a one-voter cluster that accepts writes): on its
 * own host when it answers, else by the fence command, else only by the operator's word.
 */
export function chooseFence(oldMain: NodeObservation, fenceCommand: string | undefined): FenceMethod {
  if (oldMain.reachable) return oldMain.fenced && !oldMain.running ? "already-fenced" : "stopped-on-host";
  return fenceCommand ? "fence-command" : "operator-confirmed";
}

export function fenceNeedsOperatorWord(method: FenceMethod): boolean {
  return FENCES[method].needsOperatorWord;
}

export function fenceSummary(method: FenceMethod, oldMain: string): string {
  return FENCES[method].summary(oldMain);
}

/**
 * The fence command as run: the node to fence and its address are exported first, so one command serves
 * whichever node is the main at the time (e.g. ipmitool -H "$ETCD_PAIR_FENCE_NODE-bmc" ... power off).
 */
export function fenceCommandFor(command: string, node: NodeSpec): string {
  return `export ETCD_PAIR_FENCE_NODE=${shQuote(node.name)} ETCD_PAIR_FENCE_ADDRESS=${shQuote(node.address)}; ${command}`;
}

export interface FenceInputs {
  method: FenceMethod;
  oldMain: NodeSpec;
  oldMainService: ServiceManager;
  learner: NodeSpec;
  fenceCommand: string | undefined;
  token: string;
  now: string;
}

/** The step the chosen fence runs, if any. */
export function fenceSteps(inputs: FenceInputs): Step[] {
  const { method, oldMain, learner } = inputs;
  if (method === "stopped-on-host") {
    const marker = `failed over to ${learner.name} at ${inputs.now}, generation ${inputs.token}`;
    return [
      {
        id: "fence.main",
        title: `fence ${oldMain.name}: stop etcd, keep it from starting, mark it fenced`,
        node: oldMain.name,
        kind: "change",
        actions: [
          { kind: "exec", node: oldMain.name, command: inputs.oldMainService.stopAndDisable(), timeoutMs: 45_000 },
          {
            kind: "upload",
            node: oldMain.name,
            path: nodeLayout(oldMain).fencedFile,
            content: `${marker}\n`,
            mode: 0o644,
          },
        ],
        hint: `${oldMain.name} must not run its old data while ${learner.name} takes over: stop it by hand if this fails`,
      },
    ];
  }
  if (method === "fence-command" && inputs.fenceCommand) {
    return [
      {
        id: "fence.command",
        title: `fence ${oldMain.name} with the fence command (it cannot be reached)`,
        node: CONTROLLER,
        kind: "change",
        actions: [
          {
            kind: "exec",
            node: CONTROLLER,
            command: fenceCommandFor(inputs.fenceCommand, oldMain),
            timeoutMs: 120_000,
          },
        ],
        hint: "the fence command must power the old main off (or cut it off) and exit 0",
      },
    ];
  }
  return [];
}
