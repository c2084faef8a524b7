import os from "node:os";
import { consumingApproval, startAloneRefusal, startAloneSteps, type StartAlonePlan } from "../plan/bootGuard.js";
import { isLeader } from "../plan/checks.js";
import { pairView } from "../plan/pairView.js";
import { readyStep, startStep } from "../plan/steps.js";
import { StateError } from "../runtime/errors.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import { historySteps, recordableNodes } from "../plan/history.js";
import { historyEvent } from "../runtime/history.js";
import type { ChangeCommand } from "./command.js";
import { nodeNamed } from "./nodeNamed.js";

export interface StartAloneInput {
  node: string;
}

/**
 * A main whose boot guard waits for a peer that is gone for good (README: Boot guard): checked as far as it can
 * be, confirmed by a person (or --yes), recorded on the node, then started.
 */
export const startAlone: ChangeCommand<StartAloneInput, StartAlonePlan, StepRecord[]> = {
  path: ["start-alone"],
  description:
    "start a main that waits for its peer (inert), when the peer is gone for good and was not failed over to",
  arguments: [{ name: "<node>", description: "the main to start alone" }],
  changesHosts: true,
  steps: ["alone.record", "alone.approve", "alone.start", "alone.ready", "alone.history"],
  input: (args) => ({ node: args[0] ?? "" }),
  prepare: async (ctx, input) => {
    const hosts = await ctx.hosts();
    const node = nodeNamed(hosts.pair, input.node);
    const observations = await observePair(hosts);
    const view = pairView(hosts.pair, observations);
    const peer = view.peer(node);
    const [o, p] = [view.of(node), view.of(peer)];
    if (o.running) return { node: node.name, steps: [] };
    const refusal = startAloneRefusal(node, o, peer, p);
    if (refusal) throw new StateError(refusal.message, refusal.hint);
    const unchecked = p.reachable
      ? undefined
      : `${peer.name}'s host cannot be reached (${p.error ?? "no answer"}): etcd-pair cannot see whether the pair failed over to it`;
    const token = o.generation ?? o.envToken ?? "";
    const checked = unchecked ?? `${peer.name} reachable, not running, no newer generation`;
    const record = `${new Date().toISOString()} started alone by ${os.userInfo().username}@${os.hostname()}: ${checked}`;
    const service = hosts.service(node);
    const steps = [
      ...startAloneSteps(node, token, record),
      startStep(node, "alone", service),
      consumingApproval(readyStep(node, "alone", service, isLeader, 30_000), node),
      ...historySteps(
        recordableNodes(hosts.pair.nodes, observations),
        historyEvent("start-alone", { node: node.name, generation: token, note: checked }),
      ),
    ];
    return unchecked ? { node: node.name, steps, unchecked } : { node: node.name, steps };
  },
  intent: (plan) => ({
    summary:
      `start-alone: ${plan.node} starts as the only voter of its cluster and takes writes at once.` +
      (plan.unchecked ? `\nWARNING: ${plan.unchecked}. If it did, ${plan.node} becomes a second main.` : ""),
    steps: plan.steps,
    idle: `nothing to do: etcd runs on ${plan.node}`,
    question: `Start ${plan.node} alone?`,
  }),
  run: async (ctx, _input, plan) => {
    if (plan.steps.length === 0) ctx.reporter.info(`nothing to do: etcd runs on ${plan.node}`);
    return runSteps(plan.steps, await ctx.hosts(), ctx.reporter);
  },
  report: (steps, input) => ({
    json: { node: input.node, steps },
    stderr:
      steps.length > 0
        ? `start-alone: ${input.node} runs as the main; bring its learner back with 'etcd-pair up' or 'etcd-pair rejoin'`
        : "",
  }),
};
