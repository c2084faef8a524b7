import type { NodeObservation } from "../plan/observed.js";
import { planUp, type UpPlan } from "../plan/up.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { ensurePki } from "./pki.js";
import { controllerTarball } from "./tarball.js";
import { newCanaryValue, newClusterToken } from "./tokens.js";

/** Hosts as `up` finds them on first use: nothing running, no data, etcd only if the config says it is preinstalled. */
function freshObservation(node: string, etcdPresent: boolean): NodeObservation {
  return {
    node,
    reachable: true,
    binaries: { etcd: etcdPresent, etcdctl: etcdPresent, etcdutl: etcdPresent },
    running: false,
    dataDir: "absent",
    restoring: false,
    fileHashes: {},
    listeningPorts: [],
  };
}

/** What `up` would run. Observing is one read-only command per host; `offline` skips even that. */
export async function runPlan(hosts: Hosts, offline: boolean): Promise<UpPlan> {
  const observations = offline
    ? hosts.pair.nodes.map((n) => freshObservation(n.name, hosts.pair.install.kind === "preinstalled"))
    : await observePair(hosts);
  const plan = planUp({
    pair: hosts.pair,
    observations,
    service: (node) => hosts.service(node),
    freshToken: newClusterToken(hosts.pair.cluster),
    canaryValue: newCanaryValue(),
    // A plan creates no key: it shows what up would copy.
    pki: await ensurePki(hosts.pair, observations, { write: false }),
    // A plan prints the upload from the download cache; only `up` downloads.
    tarball: await controllerTarball(hosts.pair.install, { fetch: false }),
  });
  // Preflight judges real hosts; an offline plan has none to judge.
  return offline ? { ...plan, blockers: [], warnings: [] } : plan;
}
