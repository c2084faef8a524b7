import type { FailedCheck, HealthVerdict, MemberHealth } from "../etcd/health.js";

/** The /readyz check that fails on every learner (etcd 3.5.19+, 3.6+): etcd saying the member is a learner. */
const LEARNER_CHECK = "non_learner";

const expectedOf = (isLearner: boolean) => (failed: FailedCheck) => isLearner && failed.check === LEARNER_CHECK;

function describeChecks(failed: readonly FailedCheck[], isLearner: boolean): string {
  return failed
    .map((f) =>
      expectedOf(isLearner)(f) ? `${f.check}: expected on a learner` : `${f.check}${f.reason ? `: ${f.reason}` : ""}`,
    )
    .join("; ");
}

/** What is wrong with a member by its /livez and /readyz; empty when nothing is (a learner may fail non_learner). */
export function healthProblems(health: MemberHealth, isLearner: boolean): string[] {
  const problems: string[] = [];
  if (!health.live.ok) problems.push(`/livez fails: ${describeChecks(health.live.failed, false)}`);
  const unexpected = health.ready.failed.filter((f) => !expectedOf(isLearner)(f));
  if (!health.ready.ok && unexpected.length > 0) {
    problems.push(`/readyz fails: ${describeChecks(unexpected, isLearner)}`);
  }
  return problems;
}

/** A verdict as status shows it: `yes`, or `no (CHECK: REASON; …)`. */
function describeVerdict(verdict: HealthVerdict, isLearner: boolean): string {
  return verdict.ok ? "yes" : `no (${describeChecks(verdict.failed, isLearner)})`;
}

/** A member's two verdicts on one line: `live yes, ready no (non_learner: expected on a learner)`. */
export function describeHealth(health: MemberHealth, isLearner: boolean): string {
  return `live ${describeVerdict(health.live, false)}, ready ${describeVerdict(health.ready, isLearner)}`;
}
