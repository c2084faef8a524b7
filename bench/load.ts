import { postJson, type ClientTls } from "../test/helpers/etcdHttp.js";

/** One write attempt: when it was sent, when it ended, and what etcd said. */
export interface WriteSample {
  key: string;
  endpoint: string;
  sentAt: number;
  doneAt: number;
  ok: boolean;
  revision?: number;
}

export interface RateWriterOptions {
  endpoints: string[];
  tls?: ClientTls;
  perSecond: number;
  prefix: string;
  /** Slots that find this many writes still in flight are skipped (and counted): the load stays bounded. */
  maxInFlight?: number;
  timeoutMs?: number;
  valueBytes?: number;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An open-loop writer: it sends a put every 1/perSecond s whether or not earlier ones were answered (as
 * independent clients do), so a stall shows up as latency and as a gap, never as a slower request rate.
 * On an error it moves to the next endpoint, as a client given several endpoints does.
 */
export class RateWriter {
  readonly samples: WriteSample[] = [];
  skipped = 0;
  private endpoints: string[];
  private current = 0;
  private inFlight = 0;
  private running = true;
  private readonly done: Promise<void>;
  private readonly value: string;

  constructor(private readonly options: RateWriterOptions) {
    this.endpoints = [...options.endpoints];
    this.value = b64("x".repeat(options.valueBytes ?? 16));
    this.done = this.loop();
  }

  /** Points the writer at other endpoints from now on (a client reconfigured after a failover). */
  retarget(endpoints: string[]): void {
    this.endpoints = [...endpoints];
    this.current = 0;
  }

  private async loop(): Promise<void> {
    const period = 1000 / this.options.perSecond;
    const start = performance.now();
    for (let slot = 0; this.running; slot++) {
      const wait = start + slot * period - performance.now();
      await (wait > 1 ? sleep(wait) : tick());
      if (!this.running) break;
      if (this.inFlight >= (this.options.maxInFlight ?? 64)) this.skipped++;
      else this.send(slot);
    }
    while (this.inFlight > 0) await sleep(5);
  }

  private send(slot: number): void {
    const index = this.current;
    const endpoint = this.endpoints[index % this.endpoints.length] ?? "";
    const key = `${this.options.prefix}${String(slot).padStart(9, "0")}`;
    const sentAt = performance.now();
    this.inFlight++;
    postJson(
      `${endpoint}/v3/kv/put`,
      { key: b64(key), value: this.value },
      this.options.tls,
      this.options.timeoutMs ?? 2000,
    )
      .then((response) => {
        const body = response.body as { header?: { revision?: string } };
        return response.status === 200 && body.header?.revision ? Number(body.header.revision) : undefined;
      })
      .catch(() => undefined)
      .then((revision) => {
        this.inFlight--;
        const ok = revision !== undefined;
        this.samples.push({ key, endpoint, sentAt, doneAt: performance.now(), ok, ...(ok ? { revision } : {}) });
        if (!ok && this.current === index) this.current = index + 1;
      });
  }

  async stop(): Promise<WriteSample[]> {
    this.running = false;
    await this.done;
    return this.samples;
  }

  acked(): WriteSample[] {
    return this.samples.filter((s) => s.ok);
  }
}

/** Puts `bytes` of data under `prefix` in values of `valueBytes`, `parallel` requests at a time. */
export async function fill(
  endpoint: string,
  tls: ClientTls | undefined,
  prefix: string,
  bytes: number,
  valueBytes = 256 * 1024,
  parallel = 4,
): Promise<void> {
  const value = b64("v".repeat(valueBytes));
  const count = Math.ceil(bytes / valueBytes);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) {
      const response = await postJson(
        `${endpoint}/v3/kv/put`,
        { key: b64(`${prefix}${String(i).padStart(7, "0")}`), value },
        tls,
        30_000,
      );
      if (response.status !== 200)
        throw new Error(`fill: put ${i} answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

/** A member's view from its status endpoint (learners answer it too): revision and db size. */
export async function memberStatus(
  endpoint: string,
  tls: ClientTls | undefined,
  timeoutMs = 2000,
): Promise<{ revision: number; dbSize: number; raftIndex: number }> {
  const response = await postJson(`${endpoint}/v3/maintenance/status`, {}, tls, timeoutMs);
  const body = response.body as { header?: { revision?: string }; dbSize?: string; raftIndex?: string };
  if (response.status !== 200 || !body.header?.revision)
    throw new Error(`status of ${endpoint}: HTTP ${response.status}`);
  return {
    revision: Number(body.header.revision),
    dbSize: Number(body.dbSize ?? 0),
    raftIndex: Number(body.raftIndex ?? 0),
  };
}
