import type { Blocker } from "../plan/up.js";

/** Bad flags or arguments, or a config that cannot be found: exit 2, nothing touched. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** `up` found reasons not to touch anything. */
export class PreflightError extends Error {
  constructor(readonly blockers: readonly Blocker[]) {
    super(`preflight failed:\n${blockers.map((b) => `  ${b.node}: ${b.problem}\n    fix: ${b.fix}`).join("\n")}`);
    this.name = "PreflightError";
  }
}

/**
 * A refusal: the command cannot proceed from the pair's current state, and it found out before changing
 * anything (failover while the main leads, rejoin of the main, a stopped pair, a target that exists): exit 2.
 */
export class StateError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "StateError";
  }
}

/** The etcd tarball the config names is missing, unreachable or not the one its sha256 says: exit 2. */
export class InstallSourceError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "InstallSourceError";
  }
}

/** Something went wrong after the command started to act (not a refusal): exit 1, no "nothing was changed". */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "CommandFailure";
  }
}
