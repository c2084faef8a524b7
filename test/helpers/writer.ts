import { postJson, type ClientTls } from "./etcdHttp.js";

/** One write the pair acknowledged: its key, value, the revision etcd gave it, and which endpoint said so. */
export interface AckedWrite {
  key: string;
  value: string;
  revision: number;
  ackedAt: number;
  endpoint: string;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/**
 * A client that writes distinct keys over etcd's HTTP gateway and records every acknowledged write. With a
 * concurrency above 1 that many requests are in flight at once (a pipelining client: a crash can then catch
 * acknowledged writes the learner has not received). On an error a lane moves to the next endpoint (as a
 * client with two endpoints would) and goes on with a new key; an unacknowledged key is never retried, so the
 * history is exact.
 */
export class Writer {
  readonly acked: AckedWrite[] = [];
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
      try {
        const response = await postJson(`${url}/v3/kv/put`, { key: b64(key), value: b64(value) }, this.tls, 2000);
        const body = response.body as { header?: { revision?: string }; error?: string };
        if (response.status !== 200 || !body.header?.revision) throw new Error(body.error ?? `HTTP ${response.status}`);
        const revision = Number(body.header.revision);
        this.acked.push({ key, value, revision, ackedAt: performance.now(), endpoint: url });
      } catch {
        this.failures++;
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

/** Every key under `prefix` with its value, read from one endpoint (serializable, so a learner answers too). */
export async function readAll(endpoint: string, prefix: string, tls?: ClientTls): Promise<Map<string, string>> {
  const rangeEnd = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const request = { key: b64(prefix), range_end: b64(rangeEnd), serializable: true };
  const response = await postJson(`${endpoint}/v3/kv/range`, request, tls, 10_000);
  const body = response.body as { kvs?: { key: string; value: string }[] };
  const decode = (text: string) => Buffer.from(text, "base64").toString();
  return new Map((body.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}
