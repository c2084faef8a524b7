import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeSpec, PairSpec } from "../../src/config/resolve.js";
import { parseVersion } from "../../src/etcd/version.js";
import { planCertsRenew } from "../../src/plan/certs.js";
import { planDown } from "../../src/plan/down.js";
import { planFailover } from "../../src/plan/failover.js";
import type { LocalTarball } from "../../src/plan/install.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { pairView } from "../../src/plan/pairView.js";
import type { ControllerPki } from "../../src/plan/pki.js";
import { printSteps } from "../../src/plan/printPlan.js";
import type { Planned } from "../../src/plan/refusal.js";
import { planRejoin } from "../../src/plan/rejoin.js";
import { planSnapshotRestore, planSnapshotSave } from "../../src/plan/snapshot.js";
import type { Step } from "../../src/plan/step.js";
import { planSwitchover } from "../../src/plan/switchover.js";
import { planUp } from "../../src/plan/up.js";
import { planUpgrade } from "../../src/plan/upgrade.js";
import { localSupervisor } from "../../src/service/local.js";
import { systemdService } from "../../src/service/systemd.js";
import { COMMANDS } from "../../src/commands/index.js";
import { expectGolden } from "../helpers/golden.js";
import { DEMO_PAIR, SSH_PAIR, SSH_TLS_PAIR } from "../helpers/specs.js";

/**
 * Golden plans: one folder per case under test/golden/plans, holding case.json (the command, the pair, its
 * options and the observed state of both hosts) and expected.txt (the plan as `--dry-run` prints its steps).
 * Tokens, canaries and clocks are fixed, so a plan is a pure function of the folder. Adding a case is adding a
 * folder; UPDATE_GOLDEN=1 writes expected.txt (never in CI).
 */
const CASES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../golden/plans");

interface GoldenCase {
  command:
    | "up"
    | "failover"
    | "rejoin"
    | "switchover"
    | "down"
    | "snapshot-save"
    | "snapshot-restore"
    | "certs-renew"
    | "upgrade";
  pair: "demo" | "ssh" | "ssh-tls" | "ssh-tarball";
  options?: {
    fenceCommand?: string;
    node?: string;
    to?: string;
    purge?: boolean;
    file?: string;
    offline?: boolean;
    keepRoles?: boolean;
  };
  /** As the probe reports them; a version is written as its text ("3.5.16"). */
  observations: (Omit<NodeObservation, "version"> & { version?: string })[];
}

const TOKEN = "demo-1764000900-0000000f";
const FIXED = {
  freshToken: TOKEN,
  canaryValue: "canary-1",
  stamp: "20261127T000000Z",
  now: "2026-11-27T00:00:00.000Z",
};
const SHA = "ab".repeat(32);
const TARBALL: LocalTarball = {
  path: "/home/op/etcd-v3.5.16-linux-amd64.tar.gz",
  sha256: SHA,
  fileName: "etcd-v3.5.16-linux-amd64.tar.gz",
};
const PAIRS: Record<GoldenCase["pair"], PairSpec> = {
  demo: DEMO_PAIR,
  ssh: SSH_PAIR,
  "ssh-tls": SSH_TLS_PAIR,
  "ssh-tarball": {
    ...SSH_PAIR,
    install: { kind: "tarball", source: { file: TARBALL.path }, sha256: SHA, fileName: TARBALL.fileName },
  },
};

function pki(pair: PairSpec): ControllerPki | undefined {
  if (!pair.tls) return undefined;
  const file = (name: string) => ({ path: `${pair.tls?.dir}/${name}`, sha256: `sha256-of-${name}` });
  const members = Object.fromEntries(
    pair.nodes.map((n) => [n.name, { cert: file(`${n.name}.crt`), key: file(`${n.name}.key`) }]),
  );
  return { ca: file("ca.crt"), members, client: { cert: file("client.crt"), key: file("client.key") } };
}

function unwrap<P extends { steps: Step[] }>(result: Planned<P>): { facts: Omit<P, "steps">; steps: Step[] } | string {
  if (!result.ok) return `REFUSED: ${result.refusal.message}\n  hint: ${result.refusal.hint}\n`;
  const { steps, ...facts } = result.plan;
  return { facts, steps };
}

/** The case's plan: its facts and steps, or the refusal. */
function planCase(c: GoldenCase): { facts: object; steps: Step[] } | string {
  const pair = PAIRS[c.pair];
  const observations: NodeObservation[] = c.observations.map(({ version, ...o }) =>
    version ? { ...o, version: parseVersion(version) } : o,
  );
  const service = (node: NodeSpec) =>
    node.host.kind === "ssh" ? systemdService(node, nodeLayout(node), pair.cluster) : localSupervisor(nodeLayout(node));
  const view = pairView(pair, observations);
  const named = (name: string | undefined) => pair.nodes.find((n) => n.name === name);
  const versionOf = (node: NodeSpec) => {
    const version = view.of(node).version;
    if (!version) throw new Error(`case ${c.command}: ${node.name} has no etcd version`);
    return version;
  };
  const inputs = { pair, observations, service, ...FIXED };
  switch (c.command) {
    case "up": {
      const tarball = c.pair === "ssh-tarball" ? TARBALL : undefined;
      const plan = planUp({ ...inputs, pki: pki(pair), tarball, offline: c.options?.offline ?? false });
      const { steps, ...facts } = plan;
      return { facts, steps };
    }
    case "failover":
      return unwrap(
        planFailover({ ...inputs, ...(c.options?.fenceCommand ? { fenceCommand: c.options.fenceCommand } : {}) }),
      );
    case "rejoin":
      return unwrap(planRejoin({ ...inputs, node: named(c.options?.node) ?? pair.nodes[0] }));
    case "switchover": {
      const target = named(c.options?.to);
      return unwrap(planSwitchover({ ...inputs, ...(target ? { target } : {}), catchUpTimeoutMs: 30_000 }));
    }
    case "down": {
      const main = view.leader() ?? pair.nodes[0];
      const nodes = [
        { node: view.peer(main), side: "learner" as const },
        { node: main, side: "main" as const },
      ];
      return { facts: {}, steps: planDown({ ...inputs, nodes, purge: c.options?.purge ?? false }) };
    }
    case "snapshot-save": {
      const main = view.leader() ?? pair.nodes[0];
      return { facts: {}, steps: planSnapshotSave(main, versionOf(main), c.options?.file ?? "/tmp/snap.db") };
    }
    case "snapshot-restore": {
      const main = pair.nodes[0];
      const file = c.options?.file ?? "/tmp/snap.db";
      return {
        facts: {},
        steps: planSnapshotRestore({ ...inputs, main, version: versionOf(main), file, token: TOKEN }),
      };
    }
    case "upgrade": {
      const planned = planUpgrade({
        ...inputs,
        catchUpTimeoutMs: 30_000,
        keepRoles: c.options?.keepRoles ?? false,
        swapEvent: (from, to) => ({
          id: "00000000000000e1",
          at: FIXED.now,
          kind: "switchover",
          actor: "op@ctl",
          from,
          to,
        }),
      });
      if (!planned.ok) return unwrap(planned);
      // A later round (the switch back of --keep-roles) is printed after the first, as a dry run shows it.
      const { steps, preview, ...facts } = planned.plan;
      return { facts: { ...facts, previewFrom: facts.more ? steps.length + 1 : null }, steps: [...steps, ...preview] };
    }
    case "certs-renew": {
      const controller = pki(pair);
      if (!controller) throw new Error("certs-renew needs a TLS pair");
      return { facts: {}, steps: planCertsRenew({ ...inputs, pki: controller }) };
    }
  }
}

function printCase(planned: { facts: object; steps: Step[] } | string): string {
  if (typeof planned === "string") return planned;
  const facts = Object.entries(planned.facts).map(([key, value]) => `# ${key}: ${JSON.stringify(value)}`);
  return `${facts.join("\n")}${facts.length ? "\n\n" : ""}${planned.steps.length ? printSteps(planned.steps) : "# no steps"}\n`;
}

/** Every command line the plan would send to a host, and every shell script it would write. */
function shellTexts(steps: readonly Step[]): string[] {
  return steps.flatMap((step) =>
    step.actions.flatMap((action) => {
      if (action.kind === "exec") return [action.command];
      if (action.kind === "poll") return action.probes.map((p) => p.command);
      if (action.kind === "upload" && action.path.endsWith(".sh")) return [action.content];
      return [];
    }),
  );
}

const cases = readdirSync(CASES_DIR).sort();

describe("golden plans (test/golden/plans/<case>)", () => {
  it("has cases for every command that plans", () => {
    const commands = new Set(
      cases.map(
        (name) => (JSON.parse(readFileSync(path.join(CASES_DIR, name, "case.json"), "utf8")) as GoldenCase).command,
      ),
    );
    expect([...commands].sort()).toEqual([
      "certs-renew",
      "down",
      "failover",
      "rejoin",
      "snapshot-restore",
      "snapshot-save",
      "switchover",
      "up",
      "upgrade",
    ]);
  });

  it.each(cases)("%s", (name) => {
    const c = JSON.parse(readFileSync(path.join(CASES_DIR, name, "case.json"), "utf8")) as GoldenCase;
    const planned = planCase(c);
    expectGolden(`plans/${name}/expected.txt`, printCase(planned));
    if (typeof planned === "string") return;
    for (const text of shellTexts(planned.steps)) {
      const check = spawnSync("sh", ["-n"], { input: text, encoding: "utf8" });
      expect(check.status, `sh -n: ${check.stderr}\n${text}`).toBe(0);
    }
    // --help lists every step the command can run: each planned step is among them.
    const spec = COMMANDS.find((s) => s.path.join("-") === c.command);
    const listed = new Set(spec?.steps ?? []);
    expect(planned.steps.map((s) => s.id).filter((id) => !listed.has(id))).toEqual([]);
  });
});
