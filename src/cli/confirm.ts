import { createInterface } from "node:readline/promises";
import { UsageError } from "../runtime/errors.js";

/** Asks on the terminal; without one, refuses (scripts must say --yes). */
export async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(`${question}\nrefusing without a terminal to ask on`, "pass --yes to go ahead");
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question}\nProceed? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("not confirmed: nothing was changed");
  } finally {
    rl.close();
  }
}
