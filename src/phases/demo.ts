import { access, mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "../config/parse.js";
import { resolvePair } from "../config/resolve.js";
import type { PairState } from "../plan/pairState.js";
import { runCheck, type CheckResult } from "./check.js";
import { runDown } from "./down.js";
import { Hosts } from "./hosts.js";
import type { Reporter } from "./runner.js";
import { runStatus } from "./status.js";
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
  check: CheckResult;
  status: PairState;
  cleanedUp: boolean;
}

export async function runDemo(binDir: string, cleanup: boolean, reporter: Reporter): Promise<DemoResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "etcd-pair-demo-"));
  const configFile = path.join(dir, "etcd-pair.yaml");
  const text = demoConfig(binDir, await freePorts(4));
  await writeFile(configFile, text);
  const hosts = new Hosts(resolvePair(parseConfig(text, configFile), dir));
  const timeline: DemoResult["timeline"] = [];
  const timed = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    reporter.info(`\n== ${phase}`);
    const started = performance.now();
    const result = await run();
    timeline.push({ phase, durationMs: Math.round(performance.now() - started) });
    return result;
  };
  try {
    reporter.info(`demo: config ${configFile} (etcd from ${binDir})`);
    await timed("up", () => runUp(hosts, reporter));
    const check = await timed("check", () => runCheck(hosts, reporter));
    const status = await timed("status", () => runStatus(hosts));
    if (cleanup) await timed("down", () => runDown(hosts, reporter, false));
    return { dir, configFile, timeline, check, status, cleanedUp: cleanup };
  } catch (err) {
    // A failed demo leaves nothing running: stop what it may have started, keep its files for reading.
    reporter.info(`demo failed; stopping its etcd processes (files kept in ${dir})`);
    await runDown(hosts, reporter, false).catch(() => undefined);
    throw err;
  } finally {
    await hosts.close();
  }
}
