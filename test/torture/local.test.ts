import { afterAll, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { commonOperations, CYCLES, prng, SEED, Torture, type Node } from "./torture.js";

/** Torture on local hosts (processes on loopback): kill -9, SIGSTOP/SIGCONT, failover, rejoin, switchover. */
describe.each(TEST_BUILDS)("torture on local hosts, etcd $series", (build) => {
  let pair: TestPair | undefined;

  afterAll(async () => {
    await pair?.cleanup();
  });

  it(
    `survives ${CYCLES} seeded cycles (seed ${SEED}) with nothing lost that could be kept`,
    { timeout: 0 },
    async () => {
      requireBuild(build);
      const local = await TestPair.create(build.binDir);
      pair = local;
      expect((await local.run(["up"])).code).toBe(0);
      const signal = async (node: Node, name: NodeJS.Signals) => {
        const pid = await local.etcdPid(node);
        if (pid === undefined) throw new Error(`etcd on ${node} is not running`);
        process.kill(pid, name);
      };
      const target = {
        run: (args: readonly string[]) => local.run(args),
        url: (node: Node) => local.url(node),
        tls: await local.clientTls(),
      };
      const torture = new Torture(target, prng(SEED + build.series.length));
      const operations = commonOperations({
        crash: (node) => local.kill(node, "SIGKILL"),
        afterCrash: async () => undefined, // rejoin starts it again
        recoverLearner: async () => void (await torture.must(["up"])),
        pause: (node) => signal(node, "SIGSTOP"),
        resume: (node) => signal(node, "SIGCONT"),
      });
      console.log(await torture.run(`local hosts, etcd ${build.series}`, operations));
    },
  );
});
