import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { NodeSpec, PairSpec } from "../../src/config/resolve.js";
import { nodeSchema } from "../../src/config/schema.js";
import { CONTROLLER, fenceSteps, type FenceMethod } from "../../src/plan/fence.js";
import type { Step } from "../../src/plan/step.js";
import { Hosts } from "../../src/runtime/hosts.js";
import { runSteps, StepFailure, type Reporter } from "../../src/runtime/runner.js";
import { LocalTransport } from "../../src/transport/local.js";
import { SshTransport } from "../../src/transport/ssh.js";
import { scratchDir } from "../helpers/scratch.js";
import { SSH_PAIR } from "../helpers/specs.js";

/** The SSH pair with its first node named "controller": a valid node name, and a real host of its own. */
function pairWithNodeNamedController(ssh: Partial<Extract<NodeSpec["host"], { kind: "ssh" }>> = {}): PairSpec {
  const [first, second] = SSH_PAIR.nodes;
  if (first?.host.kind !== "ssh" || !second) throw new Error("SSH_PAIR has two SSH nodes");
  return { ...SSH_PAIR, nodes: [{ ...first, name: "controller", host: { ...first.host, ...ssh } }, second] };
}

/** The fence of the pair's first node (named controller) by `method`, as a failover to the second plans it. */
function fenceOf(hosts: Hosts, method: FenceMethod): Step[] {
  const [oldMain, learner] = hosts.pair.nodes;
  if (!oldMain || !learner) throw new Error("a pair has two nodes");
  return fenceSteps({
    method,
    oldMain,
    oldMainService: hosts.service(oldMain),
    learner,
    fenceCommand: "true",
    token: "demo-1764000900-0000000f",
    now: "2026-11-27T00:00:00.000Z",
  });
}

/** Every transport a step's actions would use. */
function transportsOf(hosts: Hosts, steps: readonly Step[]): unknown[] {
  return steps.flatMap((step) => [
    hosts.transport(step.node),
    ...step.actions.map((a) => hosts.transport(a.kind === "poll" ? (a.probes[0]?.node ?? "") : a.node)),
  ]);
}

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

const quietReporter: Reporter = {
  stepStarted: () => undefined,
  stepFinished: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

describe("the controller's transport is keyed apart from every node name", () => {
  it("is a key the config refuses as a node name, while `controller` is a valid one", () => {
    expect(nodeSchema.shape.name.safeParse(CONTROLLER).success).toBe(false);
    expect(nodeSchema.shape.name.safeParse("controller").success).toBe(true);
  });

  it("a node named controller is reached over its own ssh: block", async () => {
    const hosts = new Hosts(pairWithNodeNamedController());
    const transport = hosts.transport("controller");
    expect(transport).toBeInstanceOf(SshTransport);
    expect(transport.label).toBe("controller (root@10.0.0.1:22)");
    // Its fence on its own host (stop etcd, write the marker) goes there too.
    expect(transportsOf(hosts, fenceOf(hosts, "stopped-on-host")).every((t) => t instanceof SshTransport)).toBe(true);
    await hosts.close();
  });

  it("the fence command, which really runs on the controller, still runs locally", async () => {
    const hosts = new Hosts(pairWithNodeNamedController());
    const steps = fenceOf(hosts, "fence-command");
    expect(steps.map((s) => s.id)).toEqual(["fence.command"]);
    const transports = transportsOf(hosts, steps);
    expect(transports.every((t) => t instanceof LocalTransport)).toBe(true);
    expect(transports[0]).not.toBe(hosts.transport("controller"));
    await hosts.close();
  });

  it("a step on the node named controller never runs its command on this machine", async () => {
    const dir = await scratchDir("controller-node");
    const ranHere = path.join(dir, "ran-on-the-controller");
    const pair = pairWithNodeNamedController({
      host: "127.0.0.1",
      port: await closedLoopbackPort(),
      knownHostsFile: path.join(dir, "known_hosts"),
    });
    const hosts = new Hosts(pair);
    const step: Step = {
      id: "main.smoke",
      title: "touch a file on controller",
      node: "controller",
      kind: "verify",
      actions: [{ kind: "exec", node: "controller", command: `touch '${ranHere}'` }],
      hint: "a hint",
    };
    const failure = await runSteps([step], hosts, quietReporter).then(
      () => undefined,
      (err: unknown) => err,
    );
    await hosts.close();
    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).host).toMatch(/^controller \(root@127\.0\.0\.1:\d+\)$/);
    expect(existsSync(ranHere)).toBe(false);
  });
});
