import type { NodeObservation } from "../plan/observed.js";
import { planUp, type UpPlan } from "../plan/up.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { newCanaryValue, newClusterToken } from "./tokens.js";

/** Hosts as `up` finds them on first use: nothing running, no data, etcd where the config says. */
function freshObservation(node: string): NodeObservation {
  return {
    node,
    reachable: true,
    binaries: { etcd: true, etcdctl: true, etcdutl: true },
    running: false,
    dataDir: "absent",
    restoring: false,
    fileHashes: {},
    listeningPorts: [],
  };
}

/** What `up` would run. Observing is one read-only command per host; `offline` skips even that. */
export async function runPlan(hosts: Hosts, offline: boolean): Promise<UpPlan> {
  const observations = offline ? hosts.pair.nodes.map((n) => freshObservation(n.name)) : await observePair(hosts);
  const plan = planUp({
    pair: hosts.pair,
    observations,
    service: (node) => hosts.service(node),
    freshToken: newClusterToken(hosts.pair.cluster),
    canaryValue: newCanaryValue(),
  });
  // Preflight judges real hosts; an offline plan has none to judge.
  return offline ? { ...plan, blockers: [], warnings: [] } : plan;
}
