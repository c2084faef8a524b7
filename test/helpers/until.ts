/**
 * Polls `probe` until it returns something other than undefined or false, and returns that. Fails after
 * `timeoutMs` with `what` and the last thing the probe saw: a bounded wait for an event, not a timing claim
 * (keep the bound generous; timings belong in bench/).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100, seen }: { timeoutMs?: number; intervalMs?: number; seen?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${seen ? ` (last seen: ${seen()})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
