import type { NodeSpec } from "../config/resolve.js";
import { endpointStatusArgs, etcdctl } from "../etcd/etcdctl.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "../service/types.js";
import { nodeLayout } from "../config/layout.js";
import type { NodeObservation } from "./observed.js";
import type { Action, Step } from "./step.js";
import type { StepPrefix } from "./stepIds.js";

/** How long the trial run waits for etcd to answer (a learner joining through a snapshot needs ~7 s). */
const TRIAL_SECONDS = 60;

/**
 * First setup of a host whose service is not installed yet: run the start script by hand once, in the
 * foreground as the service would, check that etcd answers, stop it, and only then install the service.
 */
export function needsTrialRun(service: ServiceManager, observation: Pick<NodeObservation, "running" | "fileHashes">) {
  return (
    service.foreground() !== undefined &&
    !observation.running &&
    service.files().some((file) => observation.fileHashes[file.path] === undefined)
  );
}

/** A main answers a linearizable health check; a learner only endpoint status, once it knows its leader. */
function answersCommand(node: NodeSpec, as: "main" | "learner"): string {
  if (as === "main") return etcdctl(node, ["endpoint", "health"]);
  return `${etcdctl(node, endpointStatusArgs)} | grep '"isLearner":true' | grep -Eq '"leader":[1-9]'`;
}

export function trialRunStep(
  node: NodeSpec,
  prefix: StepPrefix<"trial">,
  as: "main" | "learner",
  service: ServiceManager,
): Step {
  const foreground = service.foreground();
  if (!foreground) throw new Error(`${service.description} has no foreground run`);
  const log = shQuote(`${nodeLayout(node).root}/trial-run.log`);
  const command = [
    `cd /`,
    `${foreground} >${log} 2>&1 &`,
    `pid=$!; answered=; deadline=$(($(date +%s) + ${TRIAL_SECONDS}))`,
    `while [ "$(date +%s)" -lt $deadline ] && kill -0 $pid 2>/dev/null; do`,
    `  if ${answersCommand(node, as)} >/dev/null 2>&1; then answered=yes; break; fi`,
    `  sleep 0.1`,
    `done`,
    `kill -TERM $pid 2>/dev/null; wait $pid`,
    `if [ -z "$answered" ]; then echo "etcd did not answer; its output:" >&2; tail -n 40 ${log} >&2; exit 1; fi`,
    `echo "etcd answered, and was stopped again"`,
  ].join("\n");
  return {
    id: `${prefix}.trial`,
    title: `run ${node.name}'s start script by hand once: etcd answers, then stop it`,
    node: node.name,
    kind: "change",
    actions: [{ kind: "exec", node: node.name, command, timeoutMs: 120_000 }],
    hint: `Run it yourself to see more: ${foreground}`,
  };
}

/** The service's own files (the systemd unit) and its reload: installed after the trial run. */
export function serviceFilesStep(node: NodeSpec, prefix: StepPrefix<"service">, service: ServiceManager): Step {
  const after = service.afterFilesChanged();
  const actions: Action[] = [
    ...service.files().map((file): Action => ({ kind: "upload", node: node.name, ...file })),
    ...(after ? [{ kind: "exec" as const, node: node.name, command: after }] : []),
  ];
  return {
    id: `${prefix}.service`,
    title: `install ${service.description} on ${node.name}`,
    node: node.name,
    kind: "change",
    actions,
  };
}

/** Trial run then service install, when the host's service is not installed yet; nothing otherwise. */
export function trialThenInstallSteps(
  node: NodeSpec,
  prefix: StepPrefix<"trial"> & StepPrefix<"service">,
  as: "main" | "learner",
  observation: Pick<NodeObservation, "running" | "fileHashes">,
  service: ServiceManager,
): Step[] {
  if (!needsTrialRun(service, observation)) return [];
  return [trialRunStep(node, prefix, as, service), serviceFilesStep(node, prefix, service)];
}
