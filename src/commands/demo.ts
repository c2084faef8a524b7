import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "../config/parse.js";
import { resolvePair } from "../config/resolve.js";
import type { NodeSpec } from "../config/resolve.js";
import { nodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";
import { CommandFailure, PreflightError, StateError } from "../runtime/errors.js";
import { Hosts } from "../runtime/hosts.js";
import type { Reporter } from "../runtime/runner.js";
import { formatMs } from "./text.js";
import { check, formatCheck, type CheckResult } from "./check.js";
import {
  EXIT,
  contextOf,
  execute,
  stringOption,
  type AnyCommand,
  type CommandContext,
  type LookCommand,
} from "./command.js";
import { down } from "./down.js";
import { failover, formatFailover, type FailoverReport } from "./failover.js";
import { rejoin } from "./rejoin.js";
import { formatStatus, status, type StatusReport } from "./status.js";
import { formatSwitchover, switchover, type SwitchoverResult } from "./switchover.js";
import { up } from "./up.js";
import { UsageError } from "../runtime/errors.js";

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

/** A command as the CLI runs it with --yes: its summary shown, then run. */
async function act<Result>(spec: AnyCommand, ctx: CommandContext, input: unknown): Promise<Result> {
  const prepared: unknown = await spec.prepare(ctx, input);
  if (spec.changesHosts) {
    const intent = spec.intent(prepared, input);
    if (intent.question) ctx.reporter.info(intent.summary);
  }
  return (await spec.run(ctx, input, prepared)) as Result;
}

/**
 * The whole lifecycle on two loopback nodes: up, check, a crash of the main (kill -9), failover, rejoin of
 * the old main as learner, switchover back to the original roles, check; with a timeline.
 */
async function runDemo(binDir: string, cleanup: boolean, reporter: Reporter): Promise<DemoResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "etcd-pair-demo-"));
  const configFile = path.join(dir, "etcd-pair.yaml");
  const text = demoConfig(binDir, await freePorts(4));
  await writeFile(configFile, text);
  const hosts = new Hosts(resolvePair(parseConfig(text, configFile, { configDir: dir }), dir));
  const ctx = contextOf(hosts, reporter, configFile);
  const [alpha, beta] = hosts.pair.nodes;
  const timeline: DemoResult["timeline"] = [];
  const timed = async <T>(phase: string, run: () => Promise<T>): Promise<T> => {
    reporter.info(`\n== ${phase}`);
    const started = performance.now();
    const result = await run();
    timeline.push({ phase, durationMs: Math.round(performance.now() - started) });
    return result;
  };
  const checked = async (when: string) => {
    const result = await timed("check", () => execute(check, ctx, {}));
    if (!result.healthy) {
      const failed = result.checks.filter((c) => !c.ok).map((c) => c.detail);
      throw new CommandFailure(`check failed ${when}`, failed.join("; "));
    }
    return result;
  };
  try {
    reporter.info(`demo: config ${configFile} (etcd from ${binDir})`);
    await timed("up", () => act(up, ctx, { offline: false }));
    await checked("after up");
    await timed(`kill -9 ${alpha.name}`, () => crash(hosts, alpha));
    const failoverReport = await timed("failover", () => act<FailoverReport>(failover, ctx, {}));
    reporter.info(`lost: ${failoverReport.loss}`);
    await timed(`rejoin ${alpha.name}`, () => act(rejoin, ctx, { node: alpha.name }));
    const switchoverResult = await timed(`switchover to ${alpha.name}`, () =>
      act<SwitchoverResult>(switchover, ctx, { to: alpha.name, catchUpTimeoutMs: 30_000 }),
    );
    const finalCheck = await checked("after the switchover");
    const finalStatus = await timed("status", () => execute(status, ctx, {}));
    if (cleanup) {
      await timed("down", () => execute(down, ctx, { purge: false }));
      // The dir is the demo's own scratch (config, certificates, two data dirs with 64 MiB WAL segments each).
      await rm(dir, { recursive: true, force: true });
    }
    reporter.info(`\n${beta.name} took over after the crash; a switchover handed the main role back to ${alpha.name}.`);
    return {
      dir,
      configFile,
      timeline,
      failover: failoverReport,
      switchover: switchoverResult,
      check: finalCheck,
      status: finalStatus,
      cleanedUp: cleanup,
    };
  } catch (err) {
    // A failed demo leaves nothing running: stop what it may have started, keep its files for reading.
    reporter.info(`demo failed; stopping its etcd processes (files kept in ${dir})`);
    await execute(down, ctx, { purge: false }).catch(() => undefined);
    throw asDemoFailure(err, dir);
  } finally {
    await hosts.close();
  }
}

/** A refusal inside the demo comes after its own changes (files, processes): a failure (exit 1), not exit 2. */
function asDemoFailure(err: unknown, dir: string): unknown {
  const refusal = err instanceof StateError || err instanceof UsageError || err instanceof PreflightError;
  return refusal ? new CommandFailure(`demo stopped: ${err.message}`, `its files are kept in ${dir}`) : err;
}

/** How this CLI was started, so printed commands can be pasted: `etcd-pair` when on PATH, else node + script. */
function selfCommand(): string {
  const script = process.argv[1] ?? "etcd-pair";
  return path.basename(script) === "etcd-pair" ? "etcd-pair" : `node ${path.relative(process.cwd(), script) || script}`;
}

function closingWords(result: DemoResult): string {
  const timeline = result.timeline.map((t) => `  ${t.phase.padEnd(22)} ${formatMs(t.durationMs)}`).join("\n");
  const self = selfCommand();
  const still = result.cleanedUp
    ? ""
    : `\n\nThe pair is still running. Look:  ${self} -c ${result.configFile} status\n` +
      `Stop it:                       ${self} -c ${result.configFile} down\n` +
      `Then remove its files:         rm -r ${result.dir}`;
  return `\ntimeline:\n${timeline}${still}`;
}

interface DemoInput {
  binDir?: string;
  cleanup: boolean;
}

export const demo: LookCommand<DemoInput, string, DemoResult> = {
  path: ["demo"],
  description:
    "the whole lifecycle on two loopback nodes in a temp dir, no SSH: up, check, kill -9 of the main,\n" +
    "failover, rejoin, switchover back, check; with a timeline",
  options: [
    {
      flags: "--bin-dir <dir>",
      description: `where etcd and etcdctl are (default: $${BIN_DIR_ENV}, the setup script's cache, /usr/bin)`,
    },
    {
      flags: "--cleanup",
      description:
        "stop the pair and remove its temp dir at the end (default: leave it running and say how to stop it)",
    },
  ],
  changesHosts: false,
  input: (_args, options) => {
    const binDir = stringOption(options, "binDir");
    return { ...(binDir ? { binDir } : {}), cleanup: options.cleanup === true };
  },
  prepare: async (_ctx, input) => {
    const binDir = input.binDir ?? (await findEtcdBinDir());
    if (!binDir) throw new UsageError("no etcd binaries found", "run ./scripts/setup.sh, or pass --bin-dir DIR");
    return path.resolve(binDir);
  },
  run: async (ctx, input, binDir) => runDemo(binDir, input.cleanup, ctx.reporter),
  report: (result) => ({
    json: result,
    stdout:
      formatFailover(result.failover) +
      formatSwitchover(result.switchover) +
      formatStatus(result.status) +
      formatCheck(result.check),
    stderr: closingWords(result),
    exitCode: result.check.healthy ? EXIT.ok : EXIT.unhealthy,
  }),
};
