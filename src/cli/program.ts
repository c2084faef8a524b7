import { writeFile, mkdir, access } from "node:fs/promises";
import path from "node:path";
import { Command, Option } from "commander";
import { z } from "zod";
import { configSchema } from "../config/schema.js";
import { STARTER_CONFIG } from "../config/starter.js";
import { runCheck } from "../phases/check.js";
import { findEtcdBinDir, runDemo, BIN_DIR_ENV } from "../phases/demo.js";
import { runDown } from "../phases/down.js";
import { Hosts } from "../phases/hosts.js";
import { runPlan } from "../phases/plan.js";
import { runStatus } from "../phases/status.js";
import { runUp } from "../phases/up.js";
import { printSteps, stepsToJson } from "../plan/printPlan.js";
import type { Step } from "../plan/step.js";
import { loadPair, CONFIG_ENV, DEFAULT_CONFIG } from "./configFile.js";
import { confirm } from "./confirm.js";
import { formatCheck, formatStatus } from "./format.js";
import { formatMs, StderrReporter } from "./reporter.js";
import { EXIT, UsageError } from "./usage.js";

interface GlobalOptions {
  config?: string;
}

function out(text: string): void {
  process.stdout.write(text);
}

function json(value: unknown): void {
  out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Opens the pair's hosts for one command and always closes them. */
async function withHosts<T>(command: Command, run: (hosts: Hosts) => Promise<T>): Promise<T> {
  const { config } = command.optsWithGlobals<GlobalOptions>();
  const { pair } = await loadPair(config);
  const hosts = new Hosts(pair);
  try {
    return await run(hosts);
  } finally {
    await hosts.close();
  }
}

async function writeGeneratedFiles(dir: string, steps: readonly Step[]): Promise<string[]> {
  const written: string[] = [];
  for (const step of steps) {
    for (const action of step.actions) {
      if (action.kind !== "upload") continue;
      const target = path.join(dir, action.node, action.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, action.content, { mode: action.mode });
      written.push(target);
    }
  }
  return written;
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name("etcd-pair")
    .description("Two Linux hosts: one etcd main and a permanent learner standby, with a failover you can trust.")
    .version("0.1.0")
    .option("-c, --config <file>", `config file (default: $${CONFIG_ENV}, then ./${DEFAULT_CONFIG})`)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      `
Exit codes: 0 ok, 1 failed, 2 usage or config error (nothing touched), 3 unhealthy, 130 interrupted.
Progress goes to stderr, data to stdout. NO_COLOR disables colors.`,
    );

  program
    .command("init")
    .description("write a commented starter config")
    .argument("[file]", "where to write it", DEFAULT_CONFIG)
    .option("--force", "overwrite an existing file")
    .action(async (file: string, options: { force?: boolean }) => {
      const exists = await access(file).then(
        () => true,
        () => false,
      );
      if (exists && !options.force) throw new UsageError(`${file} exists already`, "pass --force to overwrite it");
      await writeFile(file, STARTER_CONFIG);
      process.stderr.write(`wrote ${file}: edit it, then run 'etcd-pair plan' and 'etcd-pair up'\n`);
    });

  const config = program.command("config").description("config file helpers");
  config
    .command("schema")
    .description("print the config's JSON Schema (for editors)")
    .action(() => json(z.toJSONSchema(configSchema, { io: "input" })));
  config
    .command("validate")
    .description("validate the config file and print it with defaults applied")
    .action(async (_options: unknown, command: Command) => {
      const { config: flag } = command.optsWithGlobals<GlobalOptions>();
      const { file, pair } = await loadPair(flag);
      process.stderr.write(`${file}: valid\n`);
      json(pair);
    });

  program
    .command("up")
    .description(
      "bring up the pair: preflight, start main as a one-member cluster, test it, add the backup as a\n" +
        "learner before starting it, start it, test the pair. Re-running converges; nothing to do is said so.",
    )
    .option("--json", "print the result as JSON on stdout")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const result = await runUp(hosts, new StderrReporter());
        if (options.json) json(result);
        else
          process.stderr.write(
            `up: ${result.main} is main, ${result.backup} its learner (${formatMs(result.durationMs)})\n`,
          );
      });
    });

  program
    .command("status")
    .description("roles, versions, raft/applied index, lag and db size of both nodes; exit 3 when unhealthy")
    .option("--json", "print JSON on stdout")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const state = await runStatus(hosts);
        if (options.json) json(state);
        else out(formatStatus(state));
        if (!state.healthy) setExitCode(EXIT.unhealthy);
      });
    });

  program
    .command("check")
    .description(
      "write a canary on main, read it on the learner (serializable), indexes converge, no alarms; exit 3 on failure",
    )
    .option("--json", "print JSON on stdout")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const result = await runCheck(hosts, new StderrReporter(true));
        if (options.json) json(result);
        else out(formatCheck(result));
        if (!result.healthy) setExitCode(EXIT.unhealthy);
      });
    });

  program
    .command("plan")
    .description("print every command and file 'up' would run or write, per host; runs nothing that changes a host")
    .option("--json", "print JSON on stdout")
    .option("--offline", "do not probe the hosts (one read-only command each): plan as for fresh hosts")
    .option("--write-files <dir>", "also write every generated file under DIR/<node>/<path> for review")
    .action(async (options: { json?: boolean; offline?: boolean; writeFiles?: string }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const plan = await runPlan(hosts, options.offline ?? false);
        if (options.writeFiles) {
          const written = await writeGeneratedFiles(options.writeFiles, plan.steps);
          process.stderr.write(`wrote ${written.length} files under ${options.writeFiles}\n`);
        }
        if (options.json) {
          json({ ...plan, steps: stepsToJson(plan.steps) });
        } else {
          const header =
            `# etcd-pair plan for cluster ${hosts.pair.cluster}: ${plan.main} is main, ${plan.backup} its learner` +
            ` (cluster token ${plan.token})${options.offline ? " [offline: hosts assumed fresh]" : ""}\n`;
          const blockers = plan.blockers
            .map((b) => `# BLOCKED on ${b.node}: ${b.problem}\n#   fix: ${b.fix}\n`)
            .join("");
          const warnings = plan.warnings.map((w) => `# warning: ${w}\n`).join("");
          const body = plan.steps.length ? `${printSteps(plan.steps)}\n` : "# nothing to do: the pair is up\n";
          out(`${header}${blockers}${warnings}\n${body}`);
        }
        if (plan.blockers.length > 0) setExitCode(EXIT.usage);
      });
    });

  program
    .command("down")
    .description("stop both nodes (learner first); --purge also moves their data dirs into a timestamped archive")
    .option("--purge", "archive the data dirs (never deleted) so the next 'up' starts a new cluster")
    .option("-y, --yes", "do not ask before --purge")
    .action(async (options: { purge?: boolean; yes?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        if (options.purge && !options.yes) {
          await confirm(
            `down --purge stops both nodes and moves their data dirs into archive/ (a new, empty cluster on the next up).`,
          );
        }
        await runDown(hosts, new StderrReporter(), options.purge ?? false);
      });
    });

  program
    .command("demo")
    .description("the pair on two loopback nodes in a temp dir: up, check, status, with a timeline; no SSH")
    .addOption(
      new Option(
        "--bin-dir <dir>",
        `where etcd and etcdctl are (default: $${BIN_DIR_ENV}, the setup script's cache, /usr/bin)`,
      ),
    )
    .option("--cleanup", "stop the pair at the end (default: leave it running and say how to stop it)")
    .option("--json", "print the result as JSON on stdout")
    .action(async (options: { binDir?: string; cleanup?: boolean; json?: boolean }) => {
      const binDir = options.binDir ?? (await findEtcdBinDir());
      if (!binDir) {
        throw new UsageError("no etcd binaries found", "run ./scripts/setup.sh, or pass --bin-dir DIR");
      }
      const result = await runDemo(path.resolve(binDir), options.cleanup ?? false, new StderrReporter());
      if (options.json) {
        json(result);
      } else {
        out(formatStatus(result.status));
        out(formatCheck(result.check));
      }
      const timeline = result.timeline.map((t) => `  ${t.phase.padEnd(8)} ${formatMs(t.durationMs)}`).join("\n");
      process.stderr.write(`\ntimeline:\n${timeline}\n`);
      if (!result.cleanedUp) {
        process.stderr.write(
          `\nThe pair is still running. Look:  etcd-pair -c ${result.configFile} status\n` +
            `Stop it:                       etcd-pair -c ${result.configFile} down\n`,
        );
      }
      if (!result.check.healthy) setExitCode(EXIT.unhealthy);
    });

  return program;
}
