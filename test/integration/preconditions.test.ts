import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, symlink, truncate, writeFile, copyFile, open } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../helpers/cli.js";
import { requireBuild, TEST_BUILDS, type EtcdBuild } from "../helpers/etcdBinaries.js";
import { freePorts, TestPair } from "../helpers/pair.js";
import { storageVersionsSettled } from "../helpers/settled.js";

/**
 * Every precondition is checked before the first change: each refusal below exits 2, says what is wrong, where,
 * and that nothing was changed, and every file under the pair's dir (both node dirs, the controller's pki, the
 * inputs) is the same afterwards. One running pair serves every case; the failover case comes last (it kills
 * the main).
 */

const run = promisify(execFile);

/**
 * Every entry under `root`: its path, type, mode, size and modification time (nanoseconds: any write moves it),
 * plus a content hash for files up to 1 MiB. etcd's own log is listed by name: a running etcd appends to it.
 * Stat-based so the 64 MB WAL files of a running pair cost nothing to compare.
 */
async function snapshotOf(root: string): Promise<string[]> {
  const entries: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const info = await lstat(full, { bigint: true });
      if (name === "etcd.log") {
        entries.push(`${rel} (etcd's log)`);
        continue;
      }
      const hash =
        info.isFile() && info.size <= 1024n * 1024n
          ? createHash("sha256")
              .update(await readFile(full))
              .digest("hex")
              .slice(0, 16)
          : "";
      entries.push(`${rel} ${info.mode.toString(8)} ${info.size} ${info.mtimeNs} ${hash}`);
      if (info.isDirectory()) await walk(full);
    }
  }
  await walk(root);
  return entries;
}

/** The snapshot tool of a build: etcdutl from 3.5, etcdctl on 3.4. */
function snapshotTool(build: EtcdBuild): "etcdutl" | "etcdctl" {
  return build.series.startsWith("3.4") ? "etcdctl" : "etcdutl";
}

describe.each(TEST_BUILDS)("every precondition before the first change, on etcd $series", (build) => {
  let pair: TestPair;
  let good: string;
  const tool = snapshotTool(build);

  /** A config for other node dirs (or another binDir) beside the pair's own, on free ports. */
  async function config(name: string, edit: (yaml: string) => string): Promise<string> {
    const file = path.join(pair.dir, `${name}.yaml`);
    await writeFile(file, edit(await readFile(pair.configFile, "utf8")));
    return file;
  }

  /** Runs the CLI and checks the refusal: exit 2, the message, "nothing was changed", and no file changed. */
  async function refused(args: readonly string[], message: RegExp): Promise<CliResult> {
    const before = await snapshotOf(pair.dir);
    const result = await cli(args, { cwd: pair.dir });
    // Had it gone ahead, it may have started etcd for that config: stopped by its recorded pids, then judged.
    if (result.code !== 2 && args[0] === "-c") await cli([...args.slice(0, 2), "down"], { cwd: pair.dir });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("nothing was changed");
    expect(result.code).toBe(2);
    expect(await snapshotOf(pair.dir)).toEqual(before);
    return result;
  }

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    good = path.join(pair.dir, "good.db");
    expect((await pair.run(["snapshot", "save", good])).code).toBe(0);
    await storageVersionsSettled(pair);
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  describe("snapshot restore verifies FILE before it stops a node", () => {
    const cases: [string, (file: string) => Promise<void>, RegExp][] = [
      ["a mistyped path", async () => undefined, /no such file/],
      ["an empty file", (file) => writeFile(file, ""), /is empty/],
      ["a text file", (file) => writeFile(file, "not a snapshot\n"), /does not end in the sha256 .*\(15 bytes\)/],
      ["a directory", (file) => mkdir(file), /is a directory, not a snapshot file/],
      [
        "a truncated file",
        async (file) => {
          await copyFile(good, file);
          await truncate(file, 8192);
        },
        /does not end in the sha256 that 'snapshot save' appends \(8192 bytes\)/,
      ],
      [
        "a file changed after it was saved",
        async (file) => {
          await copyFile(good, file);
          const handle = await open(file, "r+");
          await handle.write(Buffer.from("x"), 0, 1, 5000);
          await handle.close();
        },
        /fails its sha256 check/,
      ],
    ];
    it.each(cases)("refuses %s", async (name, make, message) => {
      const file = path.join(pair.dir, `${name.replace(/\W+/g, "-")}.db`);
      await make(file);
      const result = await refused(["-c", pair.configFile, "snapshot", "restore", file, "--yes"], message);
      expect(result.stderr).toContain(`alpha: snapshot ${file}: `);
    });

    it("left the pair running and healthy", async () => {
      expect((await pair.run(["status"])).code).toBe(0);
    });
  });

  it(`up refuses a binDir without ${tool}: failover and snapshot restore need it`, async () => {
    const bin = path.join(pair.dir, `no-${tool}`);
    await mkdir(bin);
    for (const t of ["etcd", "etcdctl", "etcdutl"].filter((t) => t !== tool)) {
      if (existsSync(path.join(build.binDir, t))) await symlink(path.join(build.binDir, t), path.join(bin, t));
    }
    const file = await config("no-tool", (yaml) => yaml.replace(`binDir: ${build.binDir}`, `binDir: ${bin}`));
    await refused(["-c", file, "up"], new RegExp(`alpha: ${bin}/${tool} is missing or not executable`));
  });

  describe("up refuses node dirs that are not this pair's own", () => {
    let ports: number[] = [];
    const foreign = (name: string, dirs: { alpha: string; beta: string }) =>
      config(name, (yaml) => {
        const [a1, a2, b1, b2] = [pair.ports.alpha[0], pair.ports.alpha[1], pair.ports.beta[0], pair.ports.beta[1]];
        return yaml
          .replace("local: { dir: alpha }", `local: { dir: ${dirs.alpha} }`)
          .replace("local: { dir: beta }", `local: { dir: ${dirs.beta} }`)
          .replace(`clientPort: ${a1}`, `clientPort: ${ports[0]}`)
          .replace(`peerPort: ${a2}`, `peerPort: ${ports[1]}`)
          .replace(`clientPort: ${b1}`, `clientPort: ${ports[2]}`)
          .replace(`peerPort: ${b2}`, `peerPort: ${ports[3]}`);
      });

    beforeAll(async () => {
      ports = await freePorts(4);
      // Another cluster's member, made by etcd's own restore (token other-…): what adopting it would write into.
      const peer = `https://127.0.0.1:${ports[1]}`;
      await run(
        path.join(build.binDir, tool),
        [
          "snapshot",
          "restore",
          good,
          "--name=alpha",
          `--initial-cluster=alpha=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          "--initial-cluster-token=other-1700000000-0a0b0c0d",
          `--data-dir=${path.join(pair.dir, "foreign", "alpha", "data")}`,
        ],
        { env: { ...process.env, ETCDCTL_API: "3" } },
      );
    });

    it("a data dir holding a member that nothing of this pair's claims", async () => {
      const file = await foreign("foreign", { alpha: "foreign/alpha", beta: "foreign/beta" });
      await refused(
        ["-c", file, "up"],
        /alpha: .*foreign\/alpha\/data holds an etcd member that this pair did not create/,
      );
    });

    it("a member of another cluster under this pair's own generation marker (its WAL names another cluster)", async () => {
      await mkdir(path.join(pair.dir, "foreign", "alpha", "state"));
      await writeFile(path.join(pair.dir, "foreign", "alpha", "state", "generation"), "test-1700000000-01020304\n");
      const file = await foreign("foreign", { alpha: "foreign/alpha", beta: "foreign/beta" });
      await refused(
        ["-c", file, "up"],
        /alpha: .*foreign\/alpha\/data holds a member of cluster [0-9a-f]{16}, but this pair's generation test-1700000000-01020304 is cluster [0-9a-f]{16}/,
      );
    });

    it("a node dir whose markers name another etcd-pair cluster", async () => {
      await writeFile(path.join(pair.dir, "foreign", "alpha", "state", "generation"), "other-1700000000-0a0b0c0d\n");
      const file = await foreign("foreign", { alpha: "foreign/alpha", beta: "foreign/beta" });
      await refused(["-c", file, "up"], /alpha: alpha's files belong to etcd-pair cluster other, not test/);
    });

    it("a local.dir shared with other content: refused, not made 0700", async () => {
      await mkdir(path.join(pair.dir, "shared"));
      await writeFile(path.join(pair.dir, "shared", "notes.txt"), "someone else's\n");
      const file = await foreign("shared", { alpha: "shared", beta: "shared-beta" });
      await refused(
        ["-c", file, "up"],
        /alpha: .*\/shared \(alpha's local\.dir\) holds files that are not etcd-pair's \(notes\.txt\)/,
      );
      expect(((await lstat(path.join(pair.dir, "shared"))).mode & 0o777).toString(8)).toBe("755");
    });
  });

  it(`failover refuses before the fence when the learner's binDir lacks ${tool}`, async () => {
    const file = path.join(pair.dir, "no-tool.yaml");
    await pair.kill("alpha", "SIGKILL");
    const result = await refused(
      ["-c", file, "failover", "--yes"],
      new RegExp(`beta: ${pair.dir}/no-${tool}/${tool} is missing or not executable`),
    );
    expect(result.stderr).not.toMatch(/^ {2}ok /m);
    expect(await pair.etcdPid("beta")).toBeDefined();
  });
});
