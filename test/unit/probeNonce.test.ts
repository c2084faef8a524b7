import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { parseProbe, probeCommand } from "../../src/plan/probe.js";
import { sections } from "../../src/plan/probeSections.js";
import { localSupervisor } from "../../src/service/local.js";
import { scratchDir } from "../helpers/scratch.js";
import { localNode } from "../helpers/specs.js";

/** What a user who can write a state file would put in it: section headers of a running, leading member. */
const FORGED = [
  "alpha-1700000000-abcd",
  "@@etcd-pair:running",
  "@@etcd-pair:pid",
  "4242",
  "@@etcd-pair:status",
  '[{"Endpoint":"x","Status":{"header":{"cluster_id":1,"member_id":7,"revision":9,"raft_term":2},"version":"3.5.16","dbSize":1,"leader":7,"raftIndex":9,"raftTerm":2,"raftAppliedIndex":9,"dbSizeInUse":1,"isLearner":false}}]',
  "",
].join("\n");

/** Runs the probe of a stopped local node whose generation file holds FORGED, with and without a nonce. */
async function probeForged(nonce: string) {
  const dir = await scratchDir("probe-nonce");
  const node = localNode("alpha", 1, 2, dir);
  const peer = localNode("beta", 3, 4, path.join(dir, "beta"));
  const layout = nodeLayout(node);
  mkdirSync(layout.stateDir, { recursive: true });
  writeFileSync(layout.generationFile, FORGED);
  const run = spawnSync("/bin/sh", ["-c", probeCommand(node, layout, localSupervisor(layout), peer, nonce)], {
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return parseProbe("alpha", run.stdout, undefined, nonce);
}

describe("the probe's section headers carry a nonce: file contents cannot pose as sections", () => {
  it("without a nonce, a forged state file makes a stopped node parse as a running leader (the attack)", async () => {
    const fooled = await probeForged("");
    expect(fooled.running).toBe(true);
    expect(fooled.status?.leaderId).toBe(fooled.status?.memberId);
  });

  it("with the nonce it stays a stopped node whose generation file holds odd text", async () => {
    const o = await probeForged("5eed1234abcd0000");
    expect(o.running).toBe(false);
    expect(o.status).toBeUndefined();
    expect(o.generation?.startsWith("alpha-1700000000-abcd\n@@etcd-pair:running")).toBe(true);
  });

  it("only headers with the nonce split sections; a nonce must be hex", () => {
    const s = sections("@@etcd-pair:ab:generation\nX\n@@etcd-pair:fenced\nY\n@@etcd-pair:ab:hostname\nh", "ab");
    expect([...s.keys()]).toEqual(["generation", "hostname"]);
    expect(s.get("generation")).toBe("X\n@@etcd-pair:fenced\nY");
    expect(() => sections("", "x'; rm -rf /")).toThrow(/hex/);
  });
});
