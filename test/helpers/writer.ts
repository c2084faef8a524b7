import { postJson, type ClientTls } from "./etcdHttp.js";

/** One write the pair acknowledged: its key, value, the revision etcd gave it, and which endpoint said so. */
export interface AckedWrite {
  key: string;
  value: string;
  revision: number;
  /** performance.now() when the request was sent. */
  sentAt: number;
  ackedAt: number;
  endpoint: string;
}

/**
 * A write that was sent and never acknowledged (an error or no answer): etcd may still have committed it, so a
 * crash checker counts those in flight at the crash as revisions the old main may hold beyond its last ack.
 */
export interface UnackedWrite {
  key: string;
  value: string;
  sentAt: number;
  endpoint: string;
  /** The connection was refused (or the host unreachable): the request never reached etcd, never committed. */
  refused: boolean;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** Connect errors after which the request certainly never reached etcd. */
const NEVER_REACHED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * A client that writes distinct keys over etcd's HTTP gateway and records every acknowledged write. With a
 * concurrency above 1 that many requests are in flight at once (a pipelining client: a crash can then catch
 * acknowledged writes the learner has not received). On an error a lane moves to the next endpoint (as a
 * client with two endpoints would) and goes on with a new key; an unacknowledged key is never retried, so the
 * history is exact.
 */
export class Writer {
  readonly acked: AckedWrite[] = [];
  readonly unacked: UnackedWrite[] = [];
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;
  private seq = 0;

  constructor(
    private readonly endpoints: string[],
    private readonly prefix: string,
    private readonly intervalMs = 2,
    private readonly tls?: ClientTls,
    readonly concurrency = 1,
  ) {
    this.done = Promise.all(Array.from({ length: concurrency }, () => this.lane())).then(() => undefined);
  }

  private async lane(): Promise<void> {
    let endpoint = 0;
    while (this.running) {
      const seq = this.seq++;
      const key = `${this.prefix}${String(seq).padStart(8, "0")}`;
      const value = `v${seq}`;
      const url = this.endpoints[endpoint % this.endpoints.length] ?? "";
      const sentAt = performance.now();
      try {
        const response = await postJson(`${url}/v3/kv/put`, { key: b64(key), value: b64(value) }, this.tls, 2000);
        const body = response.body as { header?: { revision?: string }; error?: string };
        if (response.status !== 200 || !body.header?.revision) throw new Error(body.error ?? `HTTP ${response.status}`);
        const revision = Number(body.header.revision);
        this.acked.push({ key, value, revision, sentAt, ackedAt: performance.now(), endpoint: url });
      } catch (err) {
        this.failures++;
        const refused = NEVER_REACHED.has((err as NodeJS.ErrnoException).code ?? "");
        this.unacked.push({ key, value, sentAt, endpoint: url, refused });
        endpoint++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (this.intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
  /** Waits until at least `count` writes were acknowledged. */
  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.acked.length} of ${count} writes acknowledged`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<AckedWrite[]> {
    this.running = false;
    await this.done;
    return this.acked;
  }

  /** The longest time between two consecutive acknowledged writes. */
  longestGapMs(): number {
    let gap = 0;
    for (let i = 1; i < this.acked.length; i++) {
      gap = Math.max(gap, (this.acked[i]?.ackedAt ?? 0) - (this.acked[i - 1]?.ackedAt ?? 0));
    }
    return Math.round(gap);
  }
}

/**
 * Every key under `prefix` with its value, read from one endpoint (serializable, so a learner answers too).
 * Throws unless etcd answered 2xx with a header: a failed read must never look like "no such key".
 */
export async function readAll(endpoint: string, prefix: string, tls?: ClientTls): Promise<Map<string, string>> {
  const rangeEnd = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const request = { key: b64(prefix), range_end: b64(rangeEnd), serializable: true };
  const response = await postJson(`${endpoint}/v3/kv/range`, request, tls, 10_000);
  const body = response.body as { header?: unknown; kvs?: { key: string; value: string }[] };
  if (response.status < 200 || response.status > 299 || !body?.header) {
    throw new Error(`reading ${prefix} from ${endpoint} failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  const decode = (text: string) => Buffer.from(text, "base64").toString();
  return new Map((body.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}
