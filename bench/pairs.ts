import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { cli, type CliResult } from "../test/helpers/cli.js";
import { hostAddress, hosts, onHost } from "../test/helpers/e2eHosts.js";
import { E2E_VARIANTS, writeE2eConfig } from "../test/helpers/e2ePair.js";
import type { ClientTls } from "../test/helpers/etcdHttp.js";
import type { EtcdBuild } from "../test/helpers/etcdBinaries.js";
import { etcdProcessAlive } from "../src/service/local.js";
import { clientTlsFrom, TestPair } from "../test/helpers/pair.js";
import { removeDir, scratchDir } from "../test/helpers/scratch.js";

export type Node = "alpha" | "beta";

/** A pair that `up` brought up (alpha main, beta learner), with what the benchmarks need to hurt and time it. */
export interface BenchPair {
  readonly tls: ClientTls;
  /** The pair's config file (a scenario may add settings before it starts a long-running command). */
  readonly configFile: string;
  /** The `up` that created it, as the CLI reported it (--json), and its wall time from spawn to exit. */
  readonly up: { wallMs: number; steps: { id: string; durationMs: number }[] };
  run(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  url(node: Node): string;
  /** Power loss (e2e) or kill -9 (local) of a node; resolves with the instant it happened. */
  crash(node: Node): Promise<number>;
  /**
   * The minimal by-hand failover onto `learner`, as an operator would type it: stop its etcd, restore its db
   * as a new one-member cluster, start etcd on it. Resolves once etcd was started (not when it answers).
   */
  byHandFailover(learner: Node): Promise<void>;
  /** The log of `node`'s etcd: of the unit's, or of the one byHandFailover started. */
  etcdLog(node: Node, byHand: boolean): Promise<string>;
  /** Copies `node`'s bbolt db file next to itself on the same disk and syncs it: bytes and milliseconds. */
  rawCopy(node: Node): Promise<{ bytes: number; ms: number }>;
  cleanup(): Promise<void>;
}

export interface BenchHosts {
  /** "local" or "e2e" */
  kind: string;
  build: EtcdBuild;
  /** What `etcd --version` says, filled in by the first pair. */
  version: string;
  create(): Promise<BenchPair>;
  close(): Promise<void>;
}

async function timedUp(run: BenchPair["run"], args: string[]): Promise<BenchPair["up"]> {
  const started = performance.now();
  const result = await run([...args, "up", "--json"], 180_000);
  const wallMs = performance.now() - started;
  if (result.code !== 0) throw new Error(`up failed (exit ${result.code}):\n${result.stderr}`);
  const report = JSON.parse(result.stdout) as { steps?: { id: string; durationMs: number }[] };
  return { wallMs, steps: (report.steps ?? []).map(({ id, durationMs }) => ({ id, durationMs })) };
}

/** The restore command of an etcd version: etcdutl where it exists (3.5+), etcdctl on 3.4. */
function restoreTool(binDir: string, hasEtcdutl: boolean): string {
  return hasEtcdutl ? `${binDir}/etcdutl` : `ETCDCTL_API=3 ${binDir}/etcdctl`;
}

/** The by-hand failover as one shell script (what an operator pastes), for a node whose files are at `root`. */
function byHandScript(o: {
  stop: string;
  restore: string;
  root: string;
  envFile: string;
  name: string;
  peerUrl: string;
  etcd: string;
  runAs: string;
}): string {
  const token = `byhand-${randomBytes(4).toString("hex")}`;
  return [
    o.stop,
    `${o.restore} snapshot restore ${o.root}/data/member/snap/db --skip-hash-check --name ${o.name} ` +
      `--initial-cluster ${o.name}=${o.peerUrl} --initial-advertise-peer-urls ${o.peerUrl} ` +
      `--initial-cluster-token ${token} --data-dir ${o.root}/byhand >/dev/null 2>&1`,
    o.runAs ? `chown -R ${o.runAs} ${o.root}/byhand` : "true",
    `(set -a; . ${o.envFile}; set +a; export ETCD_DATA_DIR=${o.root}/byhand; ` +
      `unset ETCD_INITIAL_CLUSTER ETCD_INITIAL_CLUSTER_STATE ETCD_INITIAL_CLUSTER_TOKEN; ` +
      `${o.runAs ? `setsid setpriv --reuid=etcd --regid=etcd --init-groups ` : "setsid "}${o.etcd} ` +
      `>${o.root}/byhand.log 2>&1 </dev/null & echo $! >${o.root}/byhand.pid)`,
  ].join(" && ");
}

/** Runs a shell script on this machine; resolves with its stdout. */
function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`sh exited ${code}: ${stderr}\n${script}`)),
    );
  });
}

/** Pairs of local nodes on loopback (the demo's kind), one temp dir each. */
export function localHosts(build: EtcdBuild): BenchHosts {
  const hostsOf: BenchHosts = {
    kind: "local",
    build,
    version: "",
    async create() {
      const pair = await TestPair.create(build.binDir);
      const pids: string[] = [];
      try {
        const up = await timedUp((args, timeoutMs) => pair.run(args, { timeoutMs: timeoutMs ?? 120_000 }), []);
        const version = JSON.parse((await pair.run(["status", "--json"])).stdout) as { nodes: { version?: string }[] };
        hostsOf.version ||= version.nodes[0]?.version ?? "";
        const tls = await pair.clientTls();
        return {
          tls,
          configFile: pair.configFile,
          up,
          run: (args, timeoutMs) => pair.run(args, { timeoutMs: timeoutMs ?? 180_000 }),
          url: (node) => pair.url(node),
          async crash(node) {
            const pid = await pair.etcdPid(node);
            if (pid === undefined) throw new Error(`etcd on ${node} is not running`);
            process.kill(pid, "SIGKILL");
            return performance.now();
          },
          async byHandFailover(learner) {
            const root = pair.nodeDir(learner);
            const pidFile = path.join(root, "etcd.pid");
            await sh(
              byHandScript({
                // Gone once no thread of it runs (until then it holds its ports), as the supervisor judges it.
                stop: `p=$(cat ${pidFile}) && kill -TERM "$p" && while ${etcdProcessAlive('"$p"')}; do sleep 0.01; done`,
                restore: restoreTool(build.binDir, existsSync(path.join(build.binDir, "etcdutl"))),
                root,
                envFile: path.join(root, "etcd.env"),
                name: learner,
                peerUrl: `https://127.0.0.1:${pair.ports[learner][1]}`,
                etcd: path.join(build.binDir, "etcd"),
                runAs: "",
              }),
            );
            pids.push(path.join(root, "byhand.pid"));
          },
          etcdLog: (node, byHand) =>
            readFile(path.join(pair.nodeDir(node), byHand ? "byhand.log" : "etcd.log"), "utf8"),
          async rawCopy(node) {
            const db = path.join(pair.nodeDir(node), "data", "member", "snap", "db");
            return timedCopy(sh, db);
          },
          async cleanup() {
            // The by-hand etcd is ours: end it by the pid the script recorded.
            for (const file of pids) await sh(`kill -9 "$(cat ${file})" 2>/dev/null || true`);
            await pair.cleanup();
          },
        };
      } catch (err) {
        await pair.cleanup();
        throw err;
      }
    },
    close: async () => undefined,
  };
  return hostsOf;
}

/** cp + sync of a db file on its own disk (the page cache holds it, as it holds the leader's db). */
async function timedCopy(run: (script: string) => Promise<string>, db: string): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  await run(`cp ${db} ${db}.benchcopy && sync ${db}.benchcopy`);
  const ms = performance.now() - started;
  const bytes = Number((await run(`stat -c %s ${db}.benchcopy && rm -f ${db}.benchcopy`)).trim());
  return { bytes, ms };
}

const HOST_NUMBER: Record<Node, 1 | 2> = { alpha: 1, beta: 2 };

/** Pairs on the e2e hosts (systemd-nspawn, real sshd and systemd), fresh hosts for every pair. */
export function e2eHosts(build: EtcdBuild): BenchHosts {
  const variant = E2E_VARIANTS.find((v) => v.build === build);
  if (!variant) throw new Error(`no e2e variant for etcd ${build.series}`);
  const hostsOf: BenchHosts = {
    kind: "e2e",
    build,
    version: "",
    async create() {
      await hosts("down");
      await hosts("up", "alpha", "beta");
      const dir = await scratchDir("bench-e2e");
      const { config, version } = await writeE2eConfig(dir, variant);
      hostsOf.version ||= version;
      const run: BenchPair["run"] = (args, timeoutMs) =>
        cli(["-c", config, ...args], { timeoutMs: timeoutMs ?? 180_000 });
      const up = await timedUp(run, ["--accept-new-host-keys"]);
      const binDir = variant.tarball ? "/usr/local/bin" : "/usr/bin";
      return {
        tls: await clientTlsFrom(dir),
        configFile: config,
        up,
        run,
        url: (node) => `https://${hostAddress(HOST_NUMBER[node]).address}:2379`,
        async crash(node) {
          await hosts("poweroff", node);
          return performance.now();
        },
        async byHandFailover(learner) {
          await onHost(
            HOST_NUMBER[learner],
            byHandScript({
              stop: "systemctl stop etcd-pair-e2e.service",
              restore: restoreTool(binDir, variant.tarball),
              root: "/var/lib/etcd-pair/e2e",
              envFile: "/etc/etcd-pair/e2e/etcd.env",
              name: learner,
              peerUrl: `https://${hostAddress(HOST_NUMBER[learner]).address}:2380`,
              etcd: `${binDir}/etcd`,
              runAs: "etcd:etcd",
            }),
          );
        },
        etcdLog: (node, byHand) =>
          onHost(
            HOST_NUMBER[node],
            byHand
              ? "cat /var/lib/etcd-pair/e2e/byhand.log"
              : "journalctl -u etcd-pair-e2e.service -o cat --no-pager -n 2000",
          ),
        async rawCopy(node) {
          return timedCopy((script) => onHost(HOST_NUMBER[node], script), "/var/lib/etcd-pair/e2e/data/member/snap/db");
        },
        async cleanup() {
          await hosts("down");
          await removeDir(dir);
        },
      };
    },
    close: () => hosts("down"),
  };
  return hostsOf;
}
