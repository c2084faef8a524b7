import { jsonLine, parseEndpointStatus } from "../etcd/status.js";
import type { Step } from "../plan/step.js";
import type { Hosts } from "./hosts.js";
import { runSteps, StepFailure, type Reporter, type StepRecord } from "./runner.js";

/**
 * Runs an assess.loss step (a throwaway etcd reads a node's last revision from a copy of its data). A failure
 * is a warning, not an error: the loss is then reported as unknown and the command goes on.
 */
export async function runLossAssessment(
  step: Step,
  hosts: Hosts,
  reporter: Reporter,
): Promise<{ records: StepRecord[]; revision: number | null }> {
  try {
    const records = await runSteps([step], hosts, reporter);
    return { records, revision: parseEndpointStatus(jsonLine(records[0]?.output ?? "", "[")).revision };
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    reporter.warn(`could not read ${step.node}'s last revision: ${err.reason}`);
    return { records: [], revision: null };
  }
}
