/** Why a command must not run from the pair's current state, and what the operator can do about it. */
export interface Refusal {
  message: string;
  hint: string;
}

/** A planner's answer: the plan, or why there is none. */
export type Planned<P> = { ok: true; plan: P } | { ok: false; refusal: Refusal };

export function refuse(message: string, hint: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { message, hint } };
}

/** The first reason any guard gives, in order; undefined when none objects. */
export function firstRefusal(guards: readonly (() => Refusal | undefined)[]): Refusal | undefined {
  for (const guard of guards) {
    const refusal = guard();
    if (refusal) return refusal;
  }
  return undefined;
}
