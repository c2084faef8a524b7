import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Action, Step, StepId } from "../plan/step.js";
import { exitZero } from "../plan/step.js";
import type { ExecOutcome } from "../transport/types.js";
import type { Hosts } from "./hosts.js";
import { CONTROLLER } from "../plan/fence.js";

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

export interface StepRecord {
  id: StepId;
  title: string;
  node: string;
  kind: Step["kind"];
  /** "failed" only for a step whose failure is reported and passed (onFailure: "warn"); see `reason`. */
  status: "ok" | "failed";
  /** Why a passed-over step failed. */
  reason?: string;
  durationMs: number;
  /** stdout of the step's last command, for phases that read a result (e.g. a restored revision). */
  output?: string;
}

export interface Reporter {
  stepStarted(step: Step): void;
  stepFinished(record: StepRecord): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface StepFailureDetails {
  step: Step;
  /** The transport's label of the host the failed command ran on. */
  host: string;
  /** The command (or file write) that failed, as an operator would run it. */
  command: string;
  reason: string;
  outcome?: ExecOutcome;
  /** Output of the step's diagnose command, e.g. etcd's log tail. */
  diagnostics?: string;
}

/** A step that did not do what it should: everything an operator needs to act on it at 3 a.m. */
export class StepFailure extends Error {
  readonly step: Step;
  readonly host: string;
  readonly command: string;
  readonly reason: string;
  readonly outcome: ExecOutcome | undefined;
  readonly diagnostics: string | undefined;

  constructor(details: StepFailureDetails) {
    super(`step "${details.step.title}" failed on ${details.host}: ${details.reason}`);
    this.name = "StepFailure";
    this.step = details.step;
    this.host = details.host;
    this.command = details.command;
    this.reason = details.reason;
    this.outcome = details.outcome;
    this.diagnostics = details.diagnostics;
  }
}

function describeCommand(action: Action): string {
  switch (action.kind) {
    case "exec":
      return action.command;
    case "upload":
      return `write ${action.path} (mode ${action.mode.toString(8).padStart(4, "0")})`;
    case "copy":
      return `copy ${action.source} to ${action.path}`;
    case "poll":
      return action.probes.map((p) => p.command).join("\n");
  }
}

function actionNode(action: Action): string {
  return action.kind === "poll" ? (action.probes[0]?.node ?? "") : action.node;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

interface ActionResult {
  /** Set when the action did not do what it should. */
  reason?: string;
  outcome?: ExecOutcome;
}

async function runAction(action: Action, hosts: Hosts): Promise<ActionResult> {
  switch (action.kind) {
    case "upload":
      await hosts.transport(action.node).upload(action.path, action.content, action.mode, action.owner);
      return {};
    case "copy": {
      const content = await readFile(action.source);
      const actual = createHash("sha256").update(content).digest("hex");
      if (actual !== action.sha256) return { reason: `${action.source} changed: its sha256 is now ${actual}` };
      await hosts.transport(action.node).upload(action.path, content, action.mode, action.owner);
      return {};
    }
    case "exec": {
      const outcome = await hosts
        .transport(action.node)
        .exec(action.command, { timeoutMs: action.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS });
      const reason = (action.expect ?? exitZero).check([outcome]);
      return reason === undefined ? { outcome } : { reason, outcome };
    }
    case "poll": {
      const deadline = Date.now() + action.timeoutMs;
      for (;;) {
        const outcomes = await Promise.all(
          action.probes.map((probe) =>
            hosts.transport(probe.node).exec(probe.command, { timeoutMs: Math.max(action.timeoutMs, 1000) }),
          ),
        );
        const reason = action.until.check(outcomes);
        if (reason === undefined) return { outcome: outcomes[0] };
        const hopeless = action.abort?.check(outcomes);
        if (hopeless !== undefined) return { reason: hopeless, outcome: outcomes[0] };
        if (Date.now() + action.intervalMs > deadline) {
          const failed = outcomes.find((o) => o.code !== 0) ?? outcomes[0];
          return {
            reason: `${action.until.describe}: not reached within ${action.timeoutMs} ms (${reason})`,
            outcome: failed,
          };
        }
        await sleep(action.intervalMs);
      }
    }
  }
}

async function diagnose(step: Step, hosts: Hosts): Promise<string | undefined> {
  if (!step.diagnose) return undefined;
  try {
    const outcome = await hosts.transport(step.node).exec(step.diagnose, { timeoutMs: 10_000 });
    return (outcome.stdout + outcome.stderr).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs one step's actions in order; a failed action ends it with a StepFailure. */
async function runStep(step: Step, hosts: Hosts): Promise<string | undefined> {
  let output: string | undefined;
  for (const action of step.actions) {
    let result: ActionResult;
    // A command that lost a node's lock must not change that node: another command may hold it now.
    const lost = actionNode(action) === CONTROLLER ? undefined : hosts.lockLost(actionNode(action));
    try {
      result = lost === undefined ? await runAction(action, hosts) : { reason: lost };
    } catch (err) {
      result = { reason: (err as Error).message };
    }
    if (result.outcome) output = result.outcome.stdout;
    if (result.reason !== undefined) {
      const diagnostics = await diagnose(step, hosts);
      throw new StepFailure({
        step,
        host: hosts.transport(actionNode(action)).label,
        command: describeCommand(action),
        reason: result.reason,
        ...(result.outcome ? { outcome: result.outcome } : {}),
        ...(diagnostics === undefined ? {} : { diagnostics }),
      });
    }
  }
  return output;
}

/**
 * Runs steps in order. A failed step stops the run with its StepFailure, unless the step says its failure is
 * to be reported and passed (onFailure: "warn"): then it is recorded as failed, warned about, and the run goes on.
 */
export async function runSteps(steps: readonly Step[], hosts: Hosts, reporter: Reporter): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  for (const step of steps) {
    reporter.stepStarted(step);
    const started = performance.now();
    const record = (status: StepRecord["status"], extra: Partial<StepRecord>): StepRecord => ({
      id: step.id,
      title: step.title,
      node: step.node,
      kind: step.kind,
      status,
      durationMs: Math.round(performance.now() - started),
      ...extra,
    });
    let done: StepRecord;
    try {
      const output = await runStep(step, hosts);
      done = record("ok", output === undefined ? {} : { output });
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      const failed = record("failed", { reason: err.reason });
      reporter.stepFinished(failed);
      records.push(failed);
      if (step.onFailure !== "warn") throw err;
      reporter.warn(`${step.title} failed on ${err.host} (passed over): ${err.reason}`);
      continue;
    }
    reporter.stepFinished(done);
    records.push(done);
  }
  return records;
}
