import type { PairSpec } from "../config/resolve.js";
import type { Step, StepId } from "../plan/step.js";
import type { Hosts } from "../runtime/hosts.js";
import type { Reporter } from "../runtime/runner.js";

/** The exit codes every command shares: 0 ok, 1 a step failed, 2 usage or refusal, 3 unhealthy, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unhealthy: 3, interrupted: 130 } as const;

export interface OptionSpec {
  /** As commander takes them, e.g. "--to <node>". */
  flags: string;
  description: string;
  default?: string;
}

export interface ArgumentSpec {
  /** As commander takes them: "<file>" (required) or "[file]" (optional). */
  name: string;
  description: string;
  default?: string;
}

/** What a command may use of the world. The config and the hosts are opened on first use; the CLI closes them. */
export interface CommandContext {
  /** The pair's config (--config, $ETCD_PAIR_CONFIG, ./etcd-pair.yaml). */
  pair(): Promise<PairSpec>;
  /** The config file's path. */
  configFile(): Promise<string>;
  /** The pair's hosts, opened once for the whole command. */
  hosts(): Promise<Hosts>;
  /** Progress on stderr. */
  reporter: Reporter;
  /** --dry-run: prepare may look but must change nothing, not even on this machine. */
  dryRun: boolean;
}

/** What a command that changes hosts is about to do: printed by --dry-run, confirmed unless --yes. */
export interface Intent {
  /** What will happen, for a person (one or more lines). */
  summary: string;
  steps: readonly Step[];
  /** Asked on the terminal before any change unless --yes (the summary is shown first); none: nothing to ask. */
  question?: string;
  /** Said by --dry-run when there are no steps. */
  idle?: string;
  /** More of the plan for --dry-run --json. */
  details?: Record<string, unknown>;
  /** Exit code of a dry run that shows a blocked plan (2); 0 otherwise. */
  exitCode?: number;
}

/** A finished command's result, for a person and for machines. */
export interface Output {
  /** Data, on stdout. */
  stdout?: string;
  /** A closing line for a person, on stderr. */
  stderr?: string;
  /** Printed on stdout instead of `stdout` with --json. */
  json: unknown;
  /** 3 when the pair is unhealthy; 0 when absent. */
  exitCode?: number;
}

interface CommandBase<Input, Prepared, Result> {
  /** The words that name it, e.g. ["snapshot", "restore"]. */
  path: readonly string[];
  description: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  /** No line per finished step on stderr (check prints its own table). */
  quietSteps?: boolean;
  /** The steps it may run, in order, listed by --help. */
  steps?: readonly StepId[];
  /** Flags and arguments to a typed input; a bad value throws a UsageError (exit 2, nothing touched). */
  input(args: readonly string[], options: Readonly<Record<string, unknown>>): Input;
  /** Looks at the hosts (read-only) and plans; a refusal is thrown, before anything changed. */
  prepare(ctx: CommandContext, input: Input): Promise<Prepared>;
  run(ctx: CommandContext, input: Input, prepared: Prepared): Promise<Result>;
  report(result: Result, input: Input): Output;
}

/** A command that only looks (status, check, audit) or touches only this machine (init, demo). */
export interface LookCommand<Input, Prepared, Result> extends CommandBase<Input, Prepared, Result> {
  changesHosts: false;
}

/** A command that changes hosts: the CLI gives it --dry-run and -y/--yes, and asks before it runs. */
export interface ChangeCommand<Input, Prepared, Result> extends CommandBase<Input, Prepared, Result> {
  changesHosts: true;
  intent(prepared: Prepared, input: Input): Intent;
  /** Only ever a dry run (plan). */
  dryRunOnly?: boolean;
}

export type CommandSpec<Input, Prepared, Result> =
  LookCommand<Input, Prepared, Result> | ChangeCommand<Input, Prepared, Result>;

// The registry holds commands of every input and result type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandSpec<any, any, any>;

/** prepare, then run, asking nothing: for a command that drives others (demo, snapshot restore). */
export async function execute<Input, Prepared, Result>(
  spec: CommandSpec<Input, Prepared, Result>,
  ctx: CommandContext,
  input: Input,
): Promise<Result> {
  return spec.run(ctx, input, await spec.prepare(ctx, input));
}

/** A context over hosts already open (demo, tests): the caller closes them. */
export function contextOf(hosts: Hosts, reporter: Reporter, configFile = ""): CommandContext {
  return {
    pair: async () => hosts.pair,
    configFile: async () => configFile,
    hosts: async () => hosts,
    reporter,
    dryRun: false,
  };
}

/** An option's value as a string, or undefined. */
export function stringOption(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return typeof value === "string" ? value : undefined;
}
