import { postJson, type ClientTls } from "./etcdHttp.js";
import type { LearnerRead } from "./history.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** One member's own status over etcd's HTTP gateway (/v3/maintenance/status): a learner answers it. */
export async function memberStatus(
  endpoint: string,
  tls?: ClientTls,
): Promise<{ revision: number; appliedIndex: number; isLearner: boolean }> {
  const response = await postJson(`${endpoint}/v3/maintenance/status`, {}, tls, 5000);
  const body = response.body as {
    header?: { revision?: string };
    raftAppliedIndex?: string;
    isLearner?: boolean;
  };
  if (response.status !== 200 || body?.header?.revision === undefined || body.raftAppliedIndex === undefined) {
    throw new Error(`status of ${endpoint}: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  return {
    revision: Number(body.header.revision),
    appliedIndex: Number(body.raftAppliedIndex),
    isLearner: body.isLearner === true,
  };
}

/** A serializable read of every key under `prefix`, with the revision etcd answered it at (its header's). */
async function rangeAt(
  endpoint: string,
  prefix: string,
  tls?: ClientTls,
): Promise<{ revision: number; data: Map<string, string> }> {
  const rangeEnd = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const request = { key: b64(prefix), range_end: b64(rangeEnd), serializable: true };
  const response = await postJson(`${endpoint}/v3/kv/range`, request, tls, 10_000);
  const body = response.body as { header?: { revision?: string }; kvs?: { key: string; value: string }[] };
  if (response.status !== 200 || body?.header?.revision === undefined) {
    throw new Error(`reading ${prefix} from ${endpoint}: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  const decode = (text: string) => Buffer.from(text, "base64").toString();
  return {
    revision: Number(body.header.revision),
    data: new Map((body.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)])),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a learner holds once its main is dead, measured by the test and not by etcd-pair: its applied revision
 * from its own status, once that has stopped moving (it may still be applying entries it had received as
 * committed), and a serializable read of `prefix` answered at that same revision (read again until it is).
 * Call it after the main is dead and before the failover starts; it fails if the endpoint is not a learner.
 */
export async function readLearner(
  endpoint: string,
  prefix: string,
  tls?: ClientTls,
  { settleMs = 300, timeoutMs = 20_000 } = {},
): Promise<LearnerRead> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const first = await memberStatus(endpoint, tls);
    if (!first.isLearner) throw new Error(`${endpoint} is not a learner: it cannot stand for the learner's data`);
    await sleep(settleMs);
    const second = await memberStatus(endpoint, tls);
    if (second.revision === first.revision && second.appliedIndex === first.appliedIndex) {
      const read = await rangeAt(endpoint, prefix, tls);
      if (read.revision === second.revision) return { kind: "read", revision: read.revision, data: read.data };
      last = `status at revision ${second.revision}, read at ${read.revision}`;
    } else {
      last = `revision ${first.revision} -> ${second.revision}, applied index ${first.appliedIndex} -> ${second.appliedIndex}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`the learner ${endpoint} did not hold still within ${timeoutMs / 1000} s (last: ${last})`);
    }
  }
}

/**
 * Before a double failure: the learner's revision from its own status, then a short pause before the caller
 * crashes it. etcd hands committed entries to its apply loop and writes them, with the commit index, to its WAL
 * in the same turn of its raft loop, at the same time; the pause lets that write land. What the learner had
 * applied at the read is then in its WAL (the page cache survives a kill -9 and the e2e hosts' power loss), so a
 * failover that replays the WAL must give back at least this revision. The pause is kept well below etcd's
 * 100 ms backend commit interval: a failover that skipped the replay restores the db as last committed, and is
 * caught whenever that commit is older than this read.
 */
export async function learnerRevisionBeforeCrash(endpoint: string, tls?: ClientTls, pauseMs = 50): Promise<number> {
  const status = await memberStatus(endpoint, tls);
  if (!status.isLearner) throw new Error(`${endpoint} is not a learner`);
  await sleep(pauseMs);
  return status.revision;
}
