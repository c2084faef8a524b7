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

export const EXIT = { ok: 0, failed: 1, usage: 2, unhealthy: 3, interrupted: 130 } as const;
