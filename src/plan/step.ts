import type { ExecOutcome } from "../transport/types.js";
import type { StepId } from "./stepIds.js";

export type { ExecOutcome } from "../transport/types.js";
export type { StepId } from "./stepIds.js";

/** Judges an outcome: undefined when it is what the step wants, else why not. */
export interface Expectation {
  /** Shown in plans, e.g. "exit 0" or "alpha is a learner". */
  describe: string;
  check(outcomes: readonly ExecOutcome[]): string | undefined;
}

export interface ExecAction {
  kind: "exec";
  node: string;
  command: string;
  /** Defaults to "exit 0". */
  expect?: Expectation;
  timeoutMs?: number;
}

export interface UploadAction {
  kind: "upload";
  node: string;
  path: string;
  content: string;
  mode: number;
  /** user:group, set where etcd runs as its own user. */
  owner?: string;
}

/** Copies a file from the controller to a host (as scp would), e.g. an etcd release tarball. */
export interface CopyAction {
  kind: "copy";
  node: string;
  /** Path on the controller. */
  source: string;
  /** What the source must hash to; the runner refuses a file that changed since it was checked. */
  sha256: string;
  path: string;
  mode: number;
  /** user:group, e.g. for a key only etcd may read. */
  owner?: string;
}

/** Runs each probe (in parallel) until `until` accepts all outcomes together, or time runs out. */
export interface PollAction {
  kind: "poll";
  probes: readonly { node: string; command: string }[];
  until: Expectation;
  /** Stops the wait early when it can no longer succeed (e.g. the process exited); says why. */
  abort?: Expectation;
  timeoutMs: number;
  intervalMs: number;
}

export type Action = ExecAction | UploadAction | CopyAction | PollAction;

export interface Step {
  /** Stable id for --json, interruption tests and timings, e.g. "main.start"; listed in STEP_CATALOG. */
  id: StepId;
  title: string;
  /** The node the step is about (for display). */
  node: string;
  /** "change" steps alter a host; "verify" steps only read and write canaries. */
  kind: "change" | "verify";
  actions: readonly Action[];
  /** What an operator should look at or do when the step fails. */
  hint?: string;
  /** A command on `node` whose output helps explain a failure (e.g. etcd's log tail). */
  diagnose?: string;
  /**
   * What a failure of this step does: "stop" (the default) ends the command with the failure; "warn" reports it
   * as a warning and goes on (a measurement that must not keep the pair from recovering).
   */
  onFailure?: "stop" | "warn";
}

export const exitZero: Expectation = {
  describe: "exit 0",
  check: ([outcome]) => (outcome && outcome.code === 0 ? undefined : `exit code ${outcome?.code ?? "none"}`),
};
