import type { NodeSpec } from "../config/resolve.js";
import { endpointStatusArgs, etcdctl, memberListArgs } from "../etcd/etcdctl.js";
import { CANARY_KEY } from "../etcd/keys.js";
import { jsonLine, lastLine, parseEndpointStatus, parseMemberList, type EndpointStatus } from "../etcd/status.js";
import { peerUrl } from "../etcd/urls.js";
import type { ServiceManager } from "../service/types.js";
import type { ExecOutcome, Expectation, Step } from "./step.js";

/** Exit status of a readiness probe that found the etcd process gone. */
export const PROCESS_GONE_EXIT = 86;

/** Runs `command` only while etcd runs; once the process is gone, exits PROCESS_GONE_EXIT. */
export function whileRunning(service: ServiceManager, command: string): string {
  return `if ! ${service.isRunning()}; then echo "etcd is not running (it exited)" >&2; exit ${PROCESS_GONE_EXIT}; fi; ${command}`;
}

/**
 * Fails (exit 1) until something listens on TCP `port` on the host, read from /proc/net/tcp{,6}. A readiness
 * probe asks etcdctl only then: etcdctl refused a connection waits out gRPC's 1 s reconnect backoff, so one
 * probe sent a few ms too early made every start look a second slower than it was.
 */
export function listening(port: number): string {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return `{ grep -qE '^ *[0-9]+: [0-9A-F]+:${hex} [0-9A-F]+:0000 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "nothing listens on port ${port} yet" >&2; exit 1; }; }`;
}

export const processGone: Expectation = {
  describe: "etcd exited",
  check: (outcomes) =>
    outcomes.some((o) => o.code === PROCESS_GONE_EXIT)
      ? "etcd exited before it answered (its log is below)"
      : undefined,
};

function statusOf(outcome: ExecOutcome | undefined): EndpointStatus | string {
  if (!outcome) return "no outcome";
  if (outcome.code !== 0) return lastLine(outcome.stderr) || `exit code ${outcome.code}`;
  try {
    return parseEndpointStatus(jsonLine(outcome.stdout, "["));
  } catch (err) {
    return (err as Error).message;
  }
}

export const isLeader: Expectation = {
  describe: "endpoint status shows this member as the leader",
  check: ([outcome]) => {
    const status = statusOf(outcome);
    if (typeof status === "string") return status;
    return status.leaderId === status.memberId ? undefined : `not leader (leader is ${status.leaderId})`;
  },
};

export const isLearnerWithLeader: Expectation = {
  describe: "endpoint status shows a learner that knows its leader",
  check: ([outcome]) => {
    const status = statusOf(outcome);
    if (typeof status === "string") return status;
    if (!status.isLearner) return "not a learner";
    return /^0+$/.test(status.leaderId) ? "has no leader yet" : undefined;
  },
};

/** Both answered and the learner (second) has applied at least what the leader (first) had applied. */
export const appliedConverged: Expectation = {
  describe: "learner's applied index reaches the leader's",
  check: ([leaderOutcome, learnerOutcome]) => {
    const leader = statusOf(leaderOutcome);
    const learner = statusOf(learnerOutcome);
    if (typeof leader === "string") return `leader: ${leader}`;
    if (typeof learner === "string") return `learner: ${learner}`;
    if (learner.appliedIndex >= leader.appliedIndex) return undefined;
    return `learner applied ${learner.appliedIndex}, leader ${leader.appliedIndex}`;
  },
};

export function outputIs(value: string): Expectation {
  return {
    describe: `prints ${value}`,
    check: ([outcome]) => {
      if (!outcome) return "no outcome";
      if (outcome.code !== 0) return lastLine(outcome.stderr) || `exit code ${outcome.code}`;
      const got = outcome.stdout.trim();
      return got === value ? undefined : `got ${got ? JSON.stringify(got.slice(0, 80)) : "nothing"}`;
    },
  };
}

export function learnerListed(learner: NodeSpec): Expectation {
  return {
    describe: `${learner.name} is listed as a started learner`,
    check: ([outcome]) => {
      if (!outcome || outcome.code !== 0) return lastLine(outcome?.stderr ?? "") || "member list failed";
      const list = parseMemberList(jsonLine(outcome.stdout, '{"header"'));
      const member = list.members.find((m) => m.peerUrls.includes(peerUrl(learner)));
      if (!member) return `${learner.name} is not a member`;
      if (!member.isLearner) return `${learner.name} is a voting member, not a learner`;
      if (member.name !== learner.name) return `${learner.name} has not started yet`;
      if (list.members.length !== 2) return `${list.members.length} members, expected 2`;
      return undefined;
    },
  };
}

const NO_ALARMS: Expectation = {
  describe: "no alarms",
  check: ([outcome]) => {
    if (!outcome || outcome.code !== 0) return lastLine(outcome?.stderr ?? "") || "alarm list failed";
    const alarms = outcome.stdout.trim();
    return alarms ? `alarms raised: ${alarms.replace(/\n/g, "; ")}` : undefined;
  },
};

/**
 * The pair test: the learner is listed, a canary written on main is read back on the learner with a
 * serializable read (the only read a learner serves), the learner's applied index reaches main's, no alarms.
 */
export function pairVerificationSteps(main: NodeSpec, learner: NodeSpec, canaryValue: string): Step[] {
  return [
    {
      id: "pair.members",
      title: `${learner.name} is a started learner of ${main.name}'s cluster`,
      node: main.name,
      kind: "verify",
      actions: [
        {
          kind: "poll",
          probes: [{ node: main.name, command: etcdctl(main, memberListArgs) }],
          until: learnerListed(learner),
          timeoutMs: 15_000,
          intervalMs: 100,
        },
      ],
    },
    {
      id: "pair.alarms",
      title: "no alarms raised",
      node: main.name,
      kind: "verify",
      actions: [{ kind: "exec", node: main.name, command: etcdctl(main, ["alarm", "list"]), expect: NO_ALARMS }],
      hint: "An alarm (NOSPACE, CORRUPT) makes etcd refuse writes: see etcdctl alarm list / alarm disarm.",
    },
    {
      id: "pair.canary",
      title: `canary written on ${main.name} is read on ${learner.name} (serializable)`,
      node: learner.name,
      kind: "verify",
      actions: [
        { kind: "exec", node: main.name, command: etcdctl(main, ["put", CANARY_KEY, canaryValue]) },
        {
          kind: "poll",
          probes: [
            {
              node: learner.name,
              command: etcdctl(learner, ["get", CANARY_KEY, "--consistency=s", "--print-value-only"]),
            },
          ],
          until: outputIs(canaryValue),
          timeoutMs: 15_000,
          intervalMs: 50,
        },
      ],
      hint: `The learner does not replicate: check the peer URLs and ${learner.name}'s log.`,
    },
    {
      id: "pair.converged",
      title: `${learner.name}'s applied index reaches ${main.name}'s`,
      node: learner.name,
      kind: "verify",
      actions: [
        {
          kind: "poll",
          probes: [
            { node: main.name, command: etcdctl(main, endpointStatusArgs) },
            { node: learner.name, command: etcdctl(learner, endpointStatusArgs) },
          ],
          until: appliedConverged,
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      ],
    },
  ];
}
