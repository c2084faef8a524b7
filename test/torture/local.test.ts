import { afterAll, describe, expect, it } from "vitest";
import { ETCD_BUILDS, requireBuild } from "../helpers/etcdBinaries.js";
import type { ClientTls } from "../helpers/etcdHttp.js";
import { TestPair } from "../helpers/pair.js";
import { checkCrashHistory } from "../helpers/history.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

/**
 * Torture on local hosts: under continuous writes, a seeded random sequence of faults and operations, each
 * checked against the history of acknowledged writes. TORTURE_CYCLES (default 4 per etcd version),
 * TORTURE_SEED (default: from the clock; printed) and TORTURE_MINUTES (default 20) bound the run.
 */
const CYCLES = Number(process.env.TORTURE_CYCLES ?? 4);
const SEED = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
const DEADLINE = Date.now() + Number(process.env.TORTURE_MINUTES ?? 20) * 60_000;

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed with TORTURE_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Node = "alpha" | "beta";
const OPERATIONS = [
  "crash-main-failover-rejoin",
  "crash-learner-up",
  "pause-learner",
  "pause-main",
  "switchover",
] as const;
type Operation = (typeof OPERATIONS)[number];

interface Roles {
  main: Node;
  learner: Node;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(ETCD_BUILDS)("torture on local hosts, etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  const random = prng(SEED + build.series.length);
  /** Every write some later check must still find on the main: key -> value. */
  const kept = new Map<string, string>();
  const counts: Record<string, number> = {};
  let histories = 0;
  /** Acknowledged writes past the learner's applied revision at a crash: lost by design, and reported. */
  let lostTotal = 0;

  afterAll(async () => {
    await pair?.cleanup();
  });

  async function roles(): Promise<Roles> {
    const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as {
      nodes: { name: Node; role: string }[];
    };
    const main = status.nodes.find((n) => n.role === "leader")?.name;
    if (!main) throw new Error(`no leader: ${JSON.stringify(status.nodes)}`);
    return { main, learner: main === "alpha" ? "beta" : "alpha" };
  }

  async function expectPresent(node: Node, prefix: string, writes: readonly AckedWrite[]): Promise<void> {
    const data = await readAll(pair.url(node), prefix, tls);
    expect(writes.filter((w) => data.get(w.key) !== w.value).map((w) => w.key)).toEqual([]);
  }

  async function signal(node: Node, name: NodeJS.Signals): Promise<void> {
    const pid = await pair.etcdPid(node);
    if (pid === undefined) throw new Error(`etcd on ${node} is not running`);
    process.kill(pid, name);
  }

  /** One operation under writes; returns after checking the history it produced. */
  async function cycle(index: number, operation: Operation): Promise<void> {
    const { main, learner } = await roles();
    const prefix = `/torture/${index}/`;
    const writer = new Writer([pair.url(main), pair.url(learner)], prefix, 0, tls);
    await writer.waitFor(50 + Math.floor(random() * 200));
    switch (operation) {
      case "crash-main-failover-rejoin": {
        await pair.kill(main, "SIGKILL");
        const acked = await writer.stop();
        const failover = await pair.run(["failover", "--yes", "--json"]);
        expect(failover.code, failover.stderr).toBe(0);
        const report = JSON.parse(failover.stdout) as { restoredRevision: number; lostRevisions: number | null };
        const onNewMain = await readAll(pair.url(learner), prefix, tls);
        const { kept: keptHere, lost } = checkCrashHistory(acked, report, onNewMain, "measured");
        keptHere.forEach((w) => kept.set(w.key, w.value));
        const rejoin = await pair.run(["rejoin", main]);
        expect(rejoin.code, rejoin.stderr).toBe(0);
        lostTotal += lost.length;
        break;
      }
      case "crash-learner-up": {
        await pair.kill(learner, "SIGKILL");
        await writer.waitFor(writer.acked.length + 50);
        const up = await pair.run(["up"]);
        expect(up.code, up.stderr).toBe(0);
        const acked = await writer.stop();
        await expectPresent(main, prefix, acked);
        acked.forEach((w) => kept.set(w.key, w.value));
        break;
      }
      case "pause-learner":
      case "pause-main": {
        const target = operation === "pause-main" ? main : learner;
        await signal(target, "SIGSTOP");
        await sleep(500 + Math.floor(random() * 2500));
        await signal(target, "SIGCONT");
        await writer.waitFor(writer.acked.length + 50);
        const acked = await writer.stop();
        await expectPresent(main, prefix, acked);
        acked.forEach((w) => kept.set(w.key, w.value));
        break;
      }
      case "switchover": {
        const switchover = await pair.run(["switchover", "--yes", "--to", learner]);
        expect(switchover.code, switchover.stderr).toBe(0);
        await writer.waitFor(writer.acked.length + 50);
        const acked = await writer.stop();
        await expectPresent(learner, prefix, acked);
        acked.forEach((w) => kept.set(w.key, w.value));
        break;
      }
    }
    histories++;
    // After every operation the pair must be healthy again (check retries while a learner catches up).
    let healthy = false;
    for (let i = 0; i < 60 && !healthy; i++) {
      healthy = (await pair.run(["check"])).code === 0;
      if (!healthy) await sleep(500);
    }
    expect(healthy, `pair not healthy after ${operation}`).toBe(true);
  }

  it(
    `survives ${CYCLES} seeded cycles (seed ${SEED}) with nothing lost that could be kept`,
    { timeout: 0 },
    async () => {
      requireBuild(build);
      pair = await TestPair.create(build.binDir);
      expect((await pair.run(["up"])).code).toBe(0);
      tls = await pair.clientTls();
      let done = 0;
      for (let index = 0; index < CYCLES && Date.now() < DEADLINE; index++) {
        const operation = OPERATIONS[Math.floor(random() * OPERATIONS.length)] ?? "switchover";
        counts[operation] = (counts[operation] ?? 0) + 1;
        try {
          await cycle(index, operation);
        } catch (err) {
          throw new Error(
            `cycle ${index} (${operation}) failed; replay with TORTURE_SEED=${SEED}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        done++;
      }
      // Everything kept along the way is still on the final main.
      const { main } = await roles();
      const all = await readAll(pair.url(main), "/torture/", tls);
      expect([...kept].filter(([key, value]) => all.get(key) !== value).map(([key]) => key)).toEqual([]);
      console.log(
        `torture etcd ${build.series}: seed ${SEED}, ${done} cycles, ${histories} histories checked, ` +
          `${kept.size} writes kept and found at the end, ${lostTotal} lost in crashes (each reported); ` +
          `operations ${JSON.stringify(counts)}`,
      );
    },
  );
});
