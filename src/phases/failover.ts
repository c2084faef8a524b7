import { parseSnapshotStatus } from "../etcd/snapshot.js";
import { archiveStamp } from "../plan/down.js";
import { assessLossStep, planFailover, restoredStatusLine, type FenceMethod } from "../plan/failover.js";
import { StateError } from "./errors.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";
import { runLossAssessment } from "./assessLoss.js";
import { runSteps, type Reporter, type StepRecord } from "./runner.js";
import { newCanaryValue, newClusterToken } from "./tokens.js";

export interface FailoverReport {
  newMain: string;
  oldMain: string;
  token: string;
  fence: FenceMethod;
  steps: StepRecord[];
  durationMs: number;
  /** From the start of the command (less the wait for confirmation) to the new main's first acknowledged write. */
  writableAfterMs: number | null;
  /** The learner's applied index and revision when the failover found it running. */
  learnerBefore: { appliedIndex: number; revision: number } | null;
  /** Revision of the db the new main was restored from: every write up to it is kept. */
  restoredRevision: number | null;
  /** The old main's last committed revision, read from a copy of its data; null when it could not be read. */
  oldMainRevision: number | null;
  /** Revisions the old main had committed that the new main lacks; null when unknown (never guessed). */
  lostRevisions: number | null;
  loss: string;
  rejoinCommand: string;
}

export interface FailoverOptions {
  fenceCommand?: string;
  /** Shown what will happen; resolves to go ahead, throws to stop. */
  confirm: (summary: string, needsOperatorWord: boolean) => Promise<void>;
}

function summarize(plan: ReturnType<typeof planFailover>): string {
  const fence = {
    "stopped-on-host": `stop ${plan.oldMain}'s etcd on its host and mark it fenced`,
    "fence-command": `${plan.oldMain} cannot be reached: run the fence command`,
    "operator-confirmed": `${plan.oldMain} cannot be reached and no fence command is set: you confirm it is down`,
    "already-fenced": `${plan.oldMain} is already fenced`,
  }[plan.fence];
  return [
    `failover: ${plan.newMain} becomes the main of a new one-member cluster (generation ${plan.token}).`,
    `  1. ${fence}`,
    `  2. stop ${plan.newMain} cleanly, restore its own db with a new cluster token, archive its old data dir`,
    `  3. start ${plan.newMain} as the main and verify a write`,
    `Writes the old main acknowledged that ${plan.newMain} had not applied are lost; the report counts them.`,
  ].join("\n");
}

/** Observes both hosts (read-only) and plans the failover; refuses when it must not run. */
export async function prepareFailover(hosts: Hosts, fenceCommand?: string) {
  const now = new Date();
  const observations = await observePair(hosts);
  const plan = planFailover({
    pair: hosts.pair,
    observations,
    service: (node) => hosts.service(node),
    ...(fenceCommand ? { fenceCommand } : {}),
    freshToken: newClusterToken(hosts.pair.cluster),
    canaryValue: newCanaryValue(),
    stamp: archiveStamp(now),
    now: now.toISOString(),
  });
  if (plan.refusal) throw new StateError(plan.refusal.message, plan.refusal.hint);
  return { plan, observations, summary: summarize(plan) };
}

export async function runFailover(hosts: Hosts, reporter: Reporter, options: FailoverOptions): Promise<FailoverReport> {
  const started = performance.now();
  const { plan, observations, summary } = await prepareFailover(hosts, options.fenceCommand);
  const observedMs = performance.now() - started;
  await options.confirm(summary, plan.needsOperatorWord);
  const steps = await runSteps(plan.steps, hosts, reporter);
  const smoke = steps.findIndex((s) => s.id === "newmain.smoke");
  const writableAfterMs =
    smoke < 0 ? null : Math.round(observedMs + steps.slice(0, smoke + 1).reduce((sum, s) => sum + s.durationMs, 0));

  const restoreOutput = steps.find((s) => s.id === "newmain.restore")?.output;
  const statusLine = restoreOutput ? restoredStatusLine(restoreOutput) : undefined;
  const restoredRevision = statusLine ? parseSnapshotStatus(statusLine).revision : null;

  let oldMainRevision: number | null = null;
  let loss: string;
  const oldMainObs = observations.find((o) => o.node === plan.oldMain);
  if (oldMainObs?.reachable && oldMainObs.dataDir === "member" && restoredRevision !== null) {
    ({ revision: oldMainRevision } = await runLossAssessment(
      assessLossStep(hosts.node(plan.oldMain)),
      hosts,
      reporter,
    ));
  }
  const lostRevisions =
    oldMainRevision !== null && restoredRevision !== null ? Math.max(0, oldMainRevision - restoredRevision) : null;
  if (lostRevisions !== null) {
    loss =
      `${lostRevisions} revision(s) lost: the old main had committed up to ${oldMainRevision}, ` +
      `${plan.newMain} was restored at ${restoredRevision} (writes in flight at the crash count too)`;
  } else if (restoredRevision !== null) {
    loss =
      `unknown: ${plan.oldMain}'s data could not be read. Every write up to revision ${restoredRevision} is kept; ` +
      `writes the old main acknowledged after it are lost ('etcd-pair rejoin ${plan.oldMain}' measures them)`;
  } else {
    loss = "not measured: the failover had already restored the data in an earlier run";
  }
  return {
    newMain: plan.newMain,
    oldMain: plan.oldMain,
    token: plan.token,
    fence: plan.fence,
    steps,
    durationMs: Math.round(performance.now() - started),
    writableAfterMs,
    learnerBefore: plan.learnerBefore ?? null,
    restoredRevision,
    oldMainRevision,
    lostRevisions,
    loss,
    rejoinCommand: `etcd-pair rejoin ${plan.oldMain}`,
  };
}
