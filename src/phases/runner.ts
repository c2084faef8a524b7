import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Action, ExecOutcome, Step } from "../plan/step.js";
import { exitZero } from "../plan/step.js";
import type { Hosts } from "./hosts.js";

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

export interface StepRecord {
  id: string;
  title: string;
  node: string;
  kind: Step["kind"];
  status: "ok" | "failed";
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

/** A step that did not do what it should: everything an operator needs to act on it at 3 a.m. */
export class StepFailure extends Error {
  constructor(
    readonly step: Step,
    readonly host: string,
    readonly command: string,
    readonly reason: string,
    readonly outcome: ExecOutcome | undefined,
    readonly diagnostics: string | undefined,
  ) {
    super(`step "${step.title}" failed on ${host}: ${reason}`);
    this.name = "StepFailure";
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

/** Runs steps in order; stops at the first failure with a StepFailure. */
export async function runSteps(steps: readonly Step[], hosts: Hosts, reporter: Reporter): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  for (const step of steps) {
    reporter.stepStarted(step);
    const started = performance.now();
    let output: string | undefined;
    const record = (status: StepRecord["status"]): StepRecord => ({
      id: step.id,
      title: step.title,
      node: step.node,
      kind: step.kind,
      status,
      durationMs: Math.round(performance.now() - started),
      ...(output === undefined ? {} : { output }),
    });
    for (const action of step.actions) {
      let result: ActionResult;
      try {
        result = await runAction(action, hosts);
      } catch (err) {
        result = { reason: (err as Error).message };
      }
      if (result.outcome) output = result.outcome.stdout;
      const failure = result.reason === undefined ? undefined : { reason: result.reason, outcome: result.outcome };
      if (failure) {
        const failed = record("failed");
        reporter.stepFinished(failed);
        records.push(failed);
        const node = actionNode(action);
        throw new StepFailure(
          step,
          hosts.transport(node).label,
          describeCommand(action),
          failure.reason,
          failure.outcome,
          await diagnose(step, hosts),
        );
      }
    }
    const done = record("ok");
    reporter.stepFinished(done);
    records.push(done);
  }
  return records;
}
