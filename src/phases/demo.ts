import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "../config/parse.js";
import { resolvePair } from "../config/resolve.js";
import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../plan/layout.js";
import { shQuote } from "../render/shell.js";
import { runCheck, type CheckResult } from "./check.js";
import { StateError } from "./errors.js";
import { runFailover, type FailoverReport } from "./failover.js";
import { runRejoin } from "./rejoin.js";
import { runSwitchover, type SwitchoverResult } from "./switchover.js";
import { runDown } from "./down.js";
import { Hosts } from "./hosts.js";
import type { Reporter } from "./runner.js";
import { runStatus, type StatusReport } from "./status.js";
import { runUp } from "./up.js";

export const BIN_DIR_ENV = "ETCD_PAIR_BIN_DIR";

/** Where the demo looks for etcd: $ETCD_PAIR_BIN_DIR, the setup script's 3.5 cache, then the system's. */
export async function findEtcdBinDir(): Promise<string | undefined> {
  const cache = process.env.ETCD_PAIR_CACHE ?? path.join(os.homedir(), ".cache", "etcd-pair");
  const candidates = [
    process.env[BIN_DIR_ENV],
    path.join(cache, "etcd", "trixie", "bin"),
    "/usr/bin",
    "/usr/local/bin",
  ];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      await access(path.join(dir, "etcd"));
      await access(path.join(dir, "etcdctl"));
      return dir;
    } catch {
      // Not there: try the next.
    }
  }
  return undefined;
}

/** Ports the kernel hands out now; a race with another process is possible but harmless (preflight sees it). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      });
    }),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (!address || typeof address === "string") throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export function demoConfig(binDir: string, ports: readonly number[]): string {
  const [a1, a2, b1, b2] = ports;
  return `# Written by 'etcd-pair demo': two local nodes on loopback.
cluster: demo
etcd:
  binDir: ${binDir}
nodes:
  - name: alpha
    address: 127.0.0.1
    clientPort: ${a1}
    peerPort: ${a2}
    local: { dir: alpha }
  - name: beta
    address: 127.0.0.1
    clientPort: ${b1}
    peerPort: ${b2}
    local: { dir: beta }
`;
}

export interface DemoResult {
  dir: string;
  configFile: string;
  timeline: { phase: string; durationMs: number }[];
  failover: FailoverReport;
  switchover: SwitchoverResult;
  check: CheckResult;
  status: StatusReport;
  cleanedUp: boolean;
}

/** Ends the main's etcd the hard way, as a crash would: SIGKILL to the pid its supervisor recorded. */
async function crash(hosts: Hosts, node: NodeSpec): Promise<void> {
  const pidFile = nodeLayout(node).pidFile;
  const outcome = await hosts.transport(node.name).exec(`kill -9 "$(cat ${shQuote(pidFile)})"`);
  if (outcome.code !== 0) throw new Error(`could not kill etcd on ${node.name}: ${outcome.stderr.trim()}`);
}

/**
 * The whole lifecycle on two loopback nodes: up, check, a crash of the main (kill -9), failover, rejoin of
 * the old main as learner, switchover back to the original roles, check; with a timeline.
 */
export async function runDemo(binDir: string, cleanup: boolean, reporter: Reporter): Promise<DemoResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "etcd-pair-demo-"));
  const configFile = path.join(dir, "etcd-pair.yaml");
  const text = demoConfig(binDir, await freePorts(4));
  await writeFile(configFile, text);
  const hosts = new Hosts(resolvePair(parseConfig(text, configFile), dir));
  const [alpha, beta] = hosts.pair.nodes;
  const timeline: DemoResult["timeline"] = [];
  const timed = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    reporter.info(`\n== ${phase}`);
    const started = performance.now();
    const result = await run();
    timeline.push({ phase, durationMs: Math.round(performance.now() - started) });
    return result;
  };
  const mustPass = (check: CheckResult, when: string) => {
    if (!check.healthy)
      throw new StateError(
        `check failed ${when}`,
        check.checks
          .filter((c) => !c.ok)
          .map((c) => c.detail)
          .join("; "),
      );
    return check;
  };
  try {
    reporter.info(`demo: config ${configFile} (etcd from ${binDir})`);
    await timed("up", () => runUp(hosts, reporter));
    mustPass(await timed("check", () => runCheck(hosts, reporter)), "after up");
    await timed(`kill -9 ${alpha.name}`, () => crash(hosts, alpha));
    const failover = await timed("failover", () =>
      runFailover(hosts, reporter, { confirm: async (summary) => reporter.info(summary) }),
    );
    reporter.info(`lost: ${failover.loss}`);
    await timed(`rejoin ${alpha.name}`, () => runRejoin(hosts, reporter, alpha));
    const switchover = await timed(`switchover to ${alpha.name}`, () =>
      runSwitchover(hosts, reporter, {
        target: alpha,
        catchUpTimeoutMs: 30_000,
        confirm: async (s) => reporter.info(s),
      }),
    );
    const check = mustPass(await timed("check", () => runCheck(hosts, reporter)), "after the switchover");
    const status = await timed("status", () => runStatus(hosts));
    if (cleanup) {
      await timed("down", () => runDown(hosts, reporter, false));
      // The dir is the demo's own scratch (config, certificates, two data dirs with 64 MiB WAL segments each).
      await rm(dir, { recursive: true, force: true });
    }
    reporter.info(`\n${beta.name} took over after the crash; a switchover handed the main role back to ${alpha.name}.`);
    return { dir, configFile, timeline, failover, switchover, check, status, cleanedUp: cleanup };
  } catch (err) {
    // A failed demo leaves nothing running: stop what it may have started, keep its files for reading.
    reporter.info(`demo failed; stopping its etcd processes (files kept in ${dir})`);
    await runDown(hosts, reporter, false).catch(() => undefined);
    throw err;
  } finally {
    await hosts.close();
  }
}
