import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { hostAddress, hosts, onHost } from "../helpers/e2eHosts.js";
import { E2E_VARIANTS, writeE2eConfig } from "../helpers/e2ePair.js";
import { requireBuild } from "../helpers/etcdBinaries.js";
import { clientTlsFrom } from "../helpers/pair.js";
import { scratchDir } from "../helpers/scratch.js";
import { commonOperations, CYCLES, prng, SEED, sleep, Torture, type Node, type Operation } from "./torture.js";

/**
 * Torture on the e2e hosts (real systemd + sshd, scripts/e2e/hosts.sh): power loss, reboot, partition,
 * SIGSTOP/SIGCONT of etcd, failover, rejoin, switchover. Run by `npm run test:torture:e2e`.
 */
const HOST: Record<Node, 1 | 2> = { alpha: 1, beta: 2 };
const UNIT = "etcd-pair-e2e.service";

describe.each(E2E_VARIANTS)("torture on e2e hosts: $title", (variant) => {
  let config: string;
  let dir: string;
  const run = (args: readonly string[]) => cli(["-c", config, ...args], { timeoutMs: 170_000 });

  beforeAll(async () => {
    requireBuild(variant.build);
    await hosts("down");
    await hosts("up", "alpha", "beta");
    dir = await scratchDir("torture-e2e");
    ({ config } = await writeE2eConfig(dir, variant));
  });
  afterAll(async () => {
    await hosts("down");
  });

  it(
    `survives ${CYCLES} seeded cycles (seed ${SEED}) with nothing lost that could be kept`,
    { timeout: 0 },
    async () => {
      const up = await run(["--accept-new-host-keys", "up"]);
      expect(up.code, up.stderr).toBe(0);
      const target = {
        run,
        url: (node: Node) => `https://${hostAddress(HOST[node]).address}:2379`,
        tls: await clientTlsFrom(dir),
      };
      // To etcd alone: `systemctl kill` would also signal the unit's other processes, and fails on some.
      const signal = (node: Node, name: string) =>
        onHost(HOST[node], `kill -s ${name} "$(systemctl show -p MainPID --value ${UNIT})"`);
      const torture = new Torture(target, prng(SEED + variant.build.series.length));
      const underFault = (fault: (roles: { main: Node; learner: Node }) => Promise<void>): Operation => {
        return async (t, roles, writer, prefix) => {
          await fault(roles);
          t.faults++;
          await t.untilHealthy("the fault");
          await writer.waitFor(writer.acked.length + 50);
          await t.keep(roles.main, prefix, await writer.stop());
        };
      };
      const operations: Record<string, Operation> = {
        ...commonOperations({
          crash: (node) => hosts("poweroff", node),
          afterCrash: (node) => hosts("start", node),
          recoverLearner: (node) => hosts("start", node), // systemd starts etcd at boot
          pause: (node) => signal(node, "STOP").then(() => undefined),
          resume: (node) => signal(node, "CONT").then(() => undefined),
        }),
        "reboot-main": underFault(({ main }) => hosts("reboot", main)),
        "reboot-learner": underFault(({ learner }) => hosts("reboot", learner)),
        "partition-learner": underFault(async ({ learner }) => {
          await hosts("partition", learner);
          await sleep(1000 + Math.floor(torture.random() * 3000));
          await hosts("heal", learner);
        }),
        // The main is cut off from the learner and the clients but its host answers over SSH: it is running and
        // leads its cluster, so failover must refuse (a second main would be split brain); after the heal the
        // learner catches up.
        "partition-main-failover-refused": underFault(async ({ main }) => {
          await hosts("partition", main);
          try {
            const failover = await run(["failover", "--yes"]);
            expect(failover.code).not.toBe(0);
            expect(failover.stderr).toContain(`${main} is running and leads its cluster: this is not a crash`);
          } finally {
            await hosts("heal", main);
          }
        }),
      };
      console.log(await torture.run(`e2e hosts, ${variant.title}`, operations));
    },
  );
});
