import type { Planned, Refusal } from "../../src/plan/refusal.js";

/** The plan of a planner's answer; a refusal fails the test with its message. */
export function planned<P>(result: Planned<P>): P {
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  return result.plan;
}

/** The refusal of a planner's answer; a plan fails the test. */
export function refused<P>(result: Planned<P>): Refusal {
  if (result.ok) throw new Error("planned, where a refusal was expected");
  return result.refusal;
}
