import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/parse.js";
import { resolvePair } from "../../src/config/resolve.js";
import { nodeLayout } from "../../src/config/layout.js";
import { renderEtcdctlEnv, renderEtcdEnv } from "../../src/render/envFile.js";
import { shQuote } from "../../src/shell/quote.js";
import { renderStartScript } from "../../src/render/startScript.js";
import { renderSystemdUnit } from "../../src/render/systemdUnit.js";
import { scratchDirSync } from "../helpers/scratch.js";

/** Characters that break shells, YAML, unit files and URLs, mixed with ordinary ones. */
const HOSTILE = [..."'\"`$\\;|&<>(){}[]*?!#~%^= \t\n\r/.:,-_@+", "a", "b", "1", "é", "\u2028", "$(id)", "${IFS}"];
const hostileWord = fc.array(fc.constantFrom(...HOSTILE), { minLength: 1, maxLength: 12 }).map((p) => p.join(""));
/** Also absolute paths, and plain ones with spaces, so path fields see values they accept too. */
const hostile = fc.oneof(
  hostileWord,
  hostileWord.map((word) => `/${word}`),
  fc.stringMatching(/^\/[a-z0-9 ._-]{1,12}$/),
);
const dir = scratchDirSync("injection");

/** What POSIX sh (dash) makes of a command line: its argv, one per line, NUL-separated. */
function shWords(commandLine: string): string[] {
  const result = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${commandLine}`], { encoding: "utf8" });
  expect(result.status).toBe(0);
  return result.stdout.split("\0").slice(0, -1);
}

describe("injection: hostile values never reach a shell or a unit file unquoted", () => {
  it("shQuote: sh reads back exactly the word it was given, whatever it holds", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", minLength: 0, maxLength: 40 }).filter((s) => !s.includes("\0")),
        (word) => {
          expect(shWords(shQuote(word))).toEqual([word]);
        },
      ),
      { numRuns: 150 },
    );
  });

  /** A valid pair (SSH, or local with loopback addresses) with `value` (YAML-quoted) in one field. */
  function configWith(field: string, value: string): string {
    const at = (name: string, benign: string) => (field === name ? JSON.stringify(value) : benign);
    if (field === "dir") {
      return `cluster: c
nodes:
  - { name: a, address: 127.0.0.1, clientPort: 2379, peerPort: 2380, local: { dir: ${at("dir", "a")} } }
  - { name: b, address: 127.0.0.1, clientPort: 2381, peerPort: 2382, local: { dir: b } }
`;
    }
    return `cluster: ${at("cluster", "c")}
etcd: { binDir: ${at("binDir", "/usr/bin")} }
nodes:
  - name: ${at("name", "a")}
    address: ${at("address", "10.0.0.1")}
    ssh: { user: ${at("user", "root")}, host: ${at("host", "h")}, identityFile: ${at("identityFile", "k")} }
  - { name: b, address: 10.0.0.2, ssh: { user: root } }
`;
  }
  const FIELDS = ["cluster", "name", "address", "dir", "binDir", "user", "host", "identityFile"] as const;

  it("the config template itself is valid (so the property below is not vacuous)", () => {
    for (const field of FIELDS)
      expect(() => parseConfig(configWith(field, field === "binDir" ? "/opt/x" : "x"), "x")).not.toThrow();
  });

  it("config: a hostile value in any field is refused with a ConfigError, or renders into files sh and systemd read back as given", () => {
    const accepted = new Map<string, number>();
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), hostile, (field, value) => {
        let config;
        try {
          config = parseConfig(configWith(field, value), "etcd-pair.yaml");
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          return;
        }
        accepted.set(field, (accepted.get(field) ?? 0) + 1);
        const pair = resolvePair(config, dir);
        for (const node of pair.nodes) {
          const layout = nodeLayout(node);
          const env = renderEtcdEnv(node, layout, {
            cluster: pair.cluster,
            members: pair.nodes,
            state: "new",
            token: "t",
          });
          const envFile = path.join(dir, "etcd.env");
          writeFileSync(envFile, env);
          const sourced = spawnSync(
            "/bin/sh",
            ["-c", `set -a; . ${shQuote(envFile)}; printf '%s\\0%s' "$ETCD_NAME" "$ETCD_DATA_DIR"`],
            { encoding: "utf8" },
          );
          expect(sourced.stdout.split("\0")).toEqual([node.name, layout.dataDir]);
          for (const line of env.split("\n").filter((l) => l && !l.startsWith("#")))
            expect(line).toMatch(/^ETCD_[A-Z_]+=/);
          const ctl = renderEtcdctlEnv(node, layout, pair.cluster).split("\n");
          expect(
            ctl.filter((l) => /^ETCDCTL_ENDPOINTS=/.test(l)),
            "etcdctl.env sets the endpoint",
          ).toHaveLength(1);
          expect(ctl.every((l) => !l || l.startsWith("#") || /^ETCDCTL_[A-Z_]+=/.test(l))).toBe(true);
          const script = renderStartScript(node, pair.nodes[1], layout, pair.cluster);
          expect(spawnSync("/bin/sh", ["-n", "-c", script]).status).toBe(0);
          const unit = renderSystemdUnit(node, layout, pair.cluster);
          // One setting per line: no value may start a line of its own in the unit.
          expect(unit).toMatch(/^ExecStart=/m);
          for (const line of unit.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("["))) {
            expect(line).toMatch(/^[A-Za-z]+=/);
          }
        }
      }),
      { numRuns: 400 },
    );
    // Paths allow spaces and some punctuation: such values must have been accepted and checked above.
    for (const field of ["dir", "binDir"]) expect(accepted.get(field) ?? 0).toBeGreaterThan(0);
  });
});
