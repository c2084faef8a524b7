import { archiveStamp, planDown } from "../plan/down.js";
import { chooseMain } from "../plan/up.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";

export async function runDown(hosts: Hosts, reporter: Reporter, purge: boolean): Promise<StepRecord[]> {
  const observations = await observePair(hosts);
  const main = chooseMain(hosts.pair, observations);
  const backup = hosts.pair.nodes.find((n) => n.name !== main.name) ?? hosts.pair.nodes[1];
  const steps = planDown({
    nodes: [backup, main],
    observations,
    service: (node) => hosts.service(node),
    purge,
    stamp: archiveStamp(new Date()),
  });
  if (steps.length === 0) reporter.info("nothing to do: etcd is not running on either node");
  return runSteps(steps, hosts, reporter);
}
