import { afterEach, describe, expect, it } from "vitest";
import { requireBuild, TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { TestPair } from "../helpers/pair.js";
import { readAll, Writer, type AckedWrite } from "../helpers/writer.js";

type Stage = "up" | "crashed" | "failed-over";

interface Case {
  command: string[];
  /** The pair is brought to this stage before the interrupted command runs. */
  from: Stage;
  /** The command is SIGKILLed as soon as this step line appears on its stderr. */
  killAfter: string;
  roles: Record<string, string>;
}

const CASES: Case[] = [
  {
    command: ["failover", "--yes"],
    from: "crashed",
    killAfter: "fence alpha",
    roles: { alpha: "down", beta: "leader" },
  },
  {
    command: ["failover", "--yes"],
    from: "crashed",
    killAfter: "restore beta's own db",
    roles: { alpha: "down", beta: "leader" },
  },
  {
    command: ["failover", "--yes"],
    from: "crashed",
    killAfter: "swap the restored one in",
    roles: { alpha: "down", beta: "leader" },
  },
  {
    command: ["failover", "--yes"],
    from: "crashed",
    killAfter: "start etcd on beta",
    roles: { alpha: "down", beta: "leader" },
  },
  {
    command: ["rejoin", "alpha"],
    from: "failed-over",
    killAfter: "archive alpha's old data dir",
    roles: { alpha: "learner", beta: "leader" },
  },
  {
    command: ["rejoin", "alpha"],
    from: "failed-over",
    killAfter: "add alpha as a learner",
    roles: { alpha: "learner", beta: "leader" },
  },
  {
    command: ["switchover", "--yes", "--to", "beta"],
    from: "up",
    killAfter: "promote beta",
    roles: { alpha: "learner", beta: "leader" },
  },
  {
    command: ["switchover", "--yes", "--to", "beta"],
    from: "up",
    killAfter: "move the leadership",
    roles: { alpha: "learner", beta: "leader" },
  },
  {
    command: ["switchover", "--yes", "--to", "beta"],
    from: "up",
    killAfter: "remove alpha",
    roles: { alpha: "learner", beta: "leader" },
  },
  {
    command: ["switchover", "--yes", "--to", "beta"],
    from: "up",
    killAfter: "archive alpha's old data dir",
    roles: { alpha: "learner", beta: "leader" },
  },
];

describe.each(TEST_BUILDS)("interrupted commands converge when re-run, on etcd $series", (build) => {
  let pair: TestPair | undefined;
  afterEach(async () => {
    await pair?.cleanup();
  });

  it.each(CASES.map((c) => [`${c.command[0]} killed after "${c.killAfter}"`, c] as const))(
    "%s",
    { timeout: 180_000 },
    async (_name, c) => {
      requireBuild(build);
      pair = await TestPair.create(build.binDir);
      expect((await pair.run(["up"])).code).toBe(0);
      const tls = await pair.clientTls();
      const writer = new Writer([pair.url("alpha")], "/kept/", 0, tls);
      await writer.waitFor(50);
      const acked: AckedWrite[] = await writer.stop();
      if (c.from !== "up") {
        // Let the learner apply the last writes, so all of them must survive the failover.
        expect((await pair.run(["check"])).code).toBe(0);
        await pair.kill("alpha", "SIGKILL");
      }
      if (c.from === "failed-over") expect((await pair.run(["failover", "--yes"])).code).toBe(0);

      const first = await pair.run(c.command, {
        onStderr: (text, kill) => {
          if (text.split("\n").some((line) => line.includes("ok ") && line.includes(c.killAfter))) kill();
        },
      });
      expect(first.stderr).toContain(c.killAfter);
      expect(first.code).toBe(137);
      const again = await pair.run(c.command);
      expect(again.stderr).not.toContain("FAIL");
      expect(again.code).toBe(0);

      const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as {
        nodes: { name: string; role: string }[];
      };
      expect(Object.fromEntries(status.nodes.map((n) => [n.name, n.role]))).toEqual(c.roles);
      const data = await readAll(pair.url("beta"), "/kept/", tls);
      expect(acked.filter((w) => data.get(w.key) !== w.value)).toEqual([]);
    },
  );
});
