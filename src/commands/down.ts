import { archiveStamp, planDown } from "../plan/down.js";
import { pairView } from "../plan/pairView.js";
import type { Step } from "../plan/step.js";
import { chooseMain } from "../plan/up.js";
import { observePair } from "../runtime/observe.js";
import { runSteps, type StepRecord } from "../runtime/runner.js";
import type { ChangeCommand } from "./command.js";

export interface DownInput {
  purge: boolean;
}

export const down: ChangeCommand<DownInput, Step[], StepRecord[]> = {
  path: ["down"],
  description: "stop both nodes (learner first); --purge also moves their data dirs into a timestamped archive",
  options: [
    { flags: "--purge", description: "archive the data dirs (never deleted) so the next 'up' starts a new cluster" },
  ],
  changesHosts: true,
  steps: ["down.learner.stop", "down.learner.archive", "down.main.stop", "down.main.archive"],
  input: (_args, options) => ({ purge: options.purge === true }),
  prepare: async (ctx, input) => {
    const hosts = await ctx.hosts();
    const observations = await observePair(hosts);
    const main = chooseMain(hosts.pair, observations);
    return planDown({
      nodes: [
        { node: pairView(hosts.pair, observations).peer(main), side: "learner" },
        { node: main, side: "main" },
      ],
      observations,
      service: (node) => hosts.service(node),
      purge: input.purge,
      stamp: archiveStamp(new Date()),
    });
  },
  intent: (steps, input) => ({
    summary: input.purge
      ? "down --purge stops both nodes and moves their data dirs into archive/ (a new, empty cluster on the next up)."
      : "down: stop both nodes, the learner first; they stay stopped across reboots until 'etcd-pair up'.",
    steps,
    idle: "nothing to do: etcd is not running on either node",
    ...(input.purge ? { question: "Archive both data dirs?" } : {}),
  }),
  run: async (ctx, _input, steps) => {
    if (steps.length === 0) ctx.reporter.info("nothing to do: etcd is not running on either node");
    return runSteps(steps, await ctx.hosts(), ctx.reporter);
  },
  report: (steps) => ({ json: { steps } }),
};
