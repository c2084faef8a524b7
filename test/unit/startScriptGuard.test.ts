import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { renderEtcdEnv } from "../../src/render/envFile.js";
import { GUARD_EXIT_STATUS, renderStartScript } from "../../src/render/startScript.js";
import { scratchDirSync } from "../helpers/scratch.js";
import { DEMO_PAIR, localNode } from "../helpers/specs.js";

const OWN = "demo-1764000000-0a0a0a0a";
const now = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;
const DAY = 86_400;

/**
 * Runs alpha's start script, as a member of generation OWN, with a fake etcdctl that answers for its peer with
 * `peerValue` (printed by printf, so it may hold several lines) and a fake etcd that says it started.
 */
function startWithPeerValue(peerValue: string, options: { soleMember?: boolean } = {}) {
  const root = scratchDirSync("guard");
  const bin = path.join(root, "bin");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "etcd"), '#!/bin/sh\necho "started"\n');
  writeFileSync(path.join(bin, "etcdctl"), `#!/bin/sh\nprintf '%s\\n' '${peerValue}'\n`);
  chmodSync(path.join(bin, "etcd"), 0o755);
  chmodSync(path.join(bin, "etcdctl"), 0o755);
  const node = { ...localNode("alpha", 23791, 23801, path.join(root, "node")), binDir: bin };
  const layout = nodeLayout(node);
  mkdirSync(path.join(layout.dataDir, "member"), { recursive: true });
  mkdirSync(layout.stateDir, { recursive: true });
  writeFileSync(layout.generationFile, `${OWN}\n`);
  // As up writes it after looking at both hosts: these tests are about the generation check, not the main's wait.
  writeFileSync(layout.startApprovalFile, `${OWN} ${now()}\n`);
  if (options.soleMember) writeFileSync(layout.soleMemberFile, `${OWN}\n`);
  writeFileSync(
    layout.envFile,
    renderEtcdEnv(node, layout, { cluster: "demo", members: [node], state: "new", token: OWN }),
  );
  writeFileSync(layout.startScript, renderStartScript(node, DEMO_PAIR.nodes[1], layout, "demo"));
  return spawnSync("/bin/sh", [layout.startScript], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
}

describe("the start script's guard against absurd peer generations", () => {
  it("refuses when the peer's generation is newer, even hours ahead of this host's clock", () => {
    const result = startWithPeerValue(`demo-${now() + HOUR}-0b0b0b0b`);
    expect(result.status).toBe(GUARD_EXIT_STATUS);
    expect(result.stderr).toContain("its peer beta serves a newer cluster generation");
  });

  it("refuses a main whose sole-member marker holds its generation too: the peer's newer generation wins", () => {
    const result = startWithPeerValue(`demo-${now() + 60}-0b0b0b0b`, { soleMember: true });
    expect(result.status).toBe(GUARD_EXIT_STATUS);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("its peer beta serves a newer cluster generation");
    expect(result.stderr).not.toContain("only member");
  });

  it.each([
    ["more than a day in the future", `demo-${now() + 2 * DAY}-0b0b0b0b`, "more than a day ahead of this host's clock"],
    ["absurdly far in the future", "demo-99999999999999999999-0b", "not a generation of cluster demo"],
    ["of another cluster", `other-${now()}-0b0b0b0b`, "not a generation of cluster demo"],
    ["of a cluster whose name extends this one's", `demo-x-${now()}-0b0b0b0b`, "not a generation of cluster demo"],
    ["not a token", "hello", "not a generation of cluster demo"],
    ["a token after another line", `junk\ndemo-${now()}-0b0b0b0b`, "not a generation of cluster demo"],
  ])("starts, saying why, when the peer's generation is %s", (_, peerValue, why) => {
    const result = startWithPeerValue(peerValue);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("started\n");
    expect(result.stderr).toContain("etcd-pair: ignoring the generation beta serves (");
    expect(result.stderr).toContain(`${why}; going on as if beta had not answered.`);
  });

  it("prints a client-chosen value shortened and without control characters", () => {
    const result = startWithPeerValue(`\x1b]0;pwned\x07${"a".repeat(200)}`);
    expect(result.status).toBe(0);
    const line = result.stderr.split("\n").find((l) => l.includes("ignoring")) ?? "";
    expect([...line].filter((c) => c < " " || c === "\x7f")).toEqual([]);
    expect(line).toContain(`(]0;pwned${"a".repeat(72)})`);
  });
});
