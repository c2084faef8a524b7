import { writeFile, mkdir, access } from "node:fs/promises";
import path from "node:path";
import { Command, Option } from "commander";
import { z } from "zod";
import { configSchema } from "../config/schema.js";
import { STARTER_CONFIG } from "../config/starter.js";
import { runCheck } from "../phases/check.js";
import { findEtcdBinDir, runDemo, BIN_DIR_ENV } from "../phases/demo.js";
import { runDown } from "../phases/down.js";
import { prepareFailover, runFailover } from "../phases/failover.js";
import { prepareRejoin, runRejoin } from "../phases/rejoin.js";
import { runSnapshotRestore, runSnapshotSave } from "../phases/snapshot.js";
import { prepareSwitchover, runSwitchover } from "../phases/switchover.js";
import type { NodeSpec } from "../config/resolve.js";
import { Hosts } from "../phases/hosts.js";
import { runPlan } from "../phases/plan.js";
import { runAudit } from "../phases/audit.js";
import { runCertsRenew } from "../phases/certs.js";
import { runStatus } from "../phases/status.js";
import { runUp } from "../phases/up.js";
import { printSteps, stepsToJson } from "../plan/printPlan.js";
import type { Step } from "../plan/step.js";
import { loadPair, CONFIG_ENV, DEFAULT_CONFIG } from "./configFile.js";
import { confirm } from "./confirm.js";
import {
  formatAudit,
  formatBytes,
  formatCheck,
  formatFailover,
  formatRejoinLoss,
  formatStatus,
  formatSwitchover,
} from "./format.js";
import { formatMs, StderrReporter } from "./reporter.js";
import { EXIT, UsageError } from "./usage.js";

interface GlobalOptions {
  config?: string;
  acceptNewHostKeys?: boolean;
}

function out(text: string): void {
  process.stdout.write(text);
}

function json(value: unknown): void {
  out(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plan shown instead of run: data on stdout, like `plan`. */
function printDryRun(summary: string, steps: readonly Step[], asJson: boolean | undefined): void {
  if (asJson) json({ summary, steps: stepsToJson(steps) });
  else out(`# ${summary.replace(/\n/g, "\n# ")}\n\n${steps.length ? printSteps(steps) : "# nothing to do"}\n`);
}

/** How this CLI was started, so printed commands can be pasted: `etcd-pair` when on PATH, else node + script. */
function selfCommand(): string {
  const script = process.argv[1] ?? "etcd-pair";
  return path.basename(script) === "etcd-pair" ? "etcd-pair" : `node ${path.relative(process.cwd(), script) || script}`;
}

function nodeNamed(hosts: Hosts, name: string): NodeSpec {
  const node = hosts.pair.nodes.find((n) => n.name === name);
  if (!node) {
    throw new UsageError(
      `no node named ${name}`,
      `the config's nodes are ${hosts.pair.nodes.map((n) => n.name).join(" and ")}`,
    );
  }
  return node;
}

/** Opens the pair's hosts for one command and always closes them. */
async function withHosts<T>(command: Command, run: (hosts: Hosts) => Promise<T>): Promise<T> {
  const { config, acceptNewHostKeys } = command.optsWithGlobals<GlobalOptions>();
  const { pair } = await loadPair(config);
  const hosts = new Hosts(pair, { acceptNewHostKeys: acceptNewHostKeys ?? false });
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
    .option("--accept-new-host-keys", "record SSH host keys not yet in known_hosts (changed keys are always refused)")
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
        state.tls.warnings.forEach((warning) => new StderrReporter().warn(warning));
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
    .command("audit")
    .description(
      "CIS etcd checks 2.1-2.7 on the running etcd's flags and environment, file modes, not root; exit 3 on a failure",
    )
    .option("--json", "print JSON on stdout")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const report = await runAudit(hosts);
        if (options.json) json(report);
        else out(formatAudit(report));
        if (!report.passed) setExitCode(EXIT.unhealthy);
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
    .command("failover")
    .description(
      "the main is dead: fence it, restore the learner's own db as a new one-member cluster, verify a write,\n" +
        "report what was lost. Refuses while the main leads (use switchover).",
    )
    .option("-y, --yes", "do not ask; also the operator's word that an unreachable main is down")
    .option(
      "--fence-command <cmd>",
      "run on this machine when the old main cannot be reached (gets $ETCD_PAIR_FENCE_NODE); must exit 0",
    )
    .option("--dry-run", "print every command and file it would run or write, per host; change nothing")
    .option("--json", "print the report as JSON on stdout")
    .action(
      async (options: { yes?: boolean; fenceCommand?: string; dryRun?: boolean; json?: boolean }, command: Command) => {
        await withHosts(command, async (hosts) => {
          const fenceCommand = options.fenceCommand ?? hosts.pair.fenceCommand;
          if (options.dryRun) {
            const { plan, summary } = await prepareFailover(hosts, fenceCommand);
            return printDryRun(summary, plan.steps, options.json);
          }
          const report = await runFailover(hosts, new StderrReporter(), {
            ...(fenceCommand ? { fenceCommand } : {}),
            confirm: async (summary, needsOperatorWord) => {
              process.stderr.write(`${summary}\n`);
              if (options.yes) return;
              await confirm(
                needsOperatorWord
                  ? "The old main cannot be reached and nothing can fence it: confirm it is powered off or cut off."
                  : "Fail over now?",
              );
            },
          });
          if (options.json) json(report);
          else out(formatFailover(report));
        });
      },
    );

  program
    .command("rejoin")
    .description("bring NODE back as the learner of the current main: its old data archived, started empty")
    .argument("<node>", "the node to bring back (usually the old main after a failover)")
    .option("--dry-run", "print every command and file it would run or write, per host; change nothing")
    .option("--json", "print the result as JSON on stdout")
    .action(async (name: string, options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        if (options.dryRun) {
          const plan = await prepareRejoin(hosts, nodeNamed(hosts, name));
          return printDryRun(`rejoin: ${name} becomes the learner of ${plan.main}`, plan.steps, options.json);
        }
        const result = await runRejoin(hosts, new StderrReporter(), nodeNamed(hosts, name));
        if (options.json) json(result);
        else {
          process.stderr.write(
            `rejoin: ${result.node} is the learner of ${result.main} (${formatMs(result.durationMs)})\n`,
          );
          const loss = formatRejoinLoss(result);
          if (loss) out(loss);
        }
      });
    });

  program
    .command("switchover")
    .description(
      "planned role swap with no loss: promote the learner, move the leadership, re-add the old main as learner",
    )
    .option("--to <node>", "the node that should end up main (default: the current learner); re-runs converge")
    .option("--catch-up-timeout <seconds>", "refuse when the learner has not caught up within this long", "30")
    .option("-y, --yes", "do not ask")
    .option("--dry-run", "print every command and file it would run or write, per host; change nothing")
    .option("--json", "print the result as JSON on stdout")
    .action(
      async (
        options: { to?: string; catchUpTimeout: string; yes?: boolean; dryRun?: boolean; json?: boolean },
        command: Command,
      ) => {
        const seconds = Number(options.catchUpTimeout);
        if (!Number.isFinite(seconds) || seconds <= 0) {
          throw new UsageError("--catch-up-timeout takes a number of seconds");
        }
        await withHosts(command, async (hosts) => {
          const switchoverOptions = {
            ...(options.to ? { target: nodeNamed(hosts, options.to) } : {}),
            catchUpTimeoutMs: seconds * 1000,
          };
          if (options.dryRun) {
            const plan = await prepareSwitchover(hosts, switchoverOptions);
            const summary = `switchover: ${plan.newMain} becomes main, ${plan.oldMain} its learner`;
            return printDryRun(summary, plan.steps, options.json);
          }
          const result = await runSwitchover(hosts, new StderrReporter(), {
            ...switchoverOptions,
            confirm: async (summary) => {
              process.stderr.write(`${summary}\n`);
              if (!options.yes) await confirm("Switch over now?");
            },
          });
          if (options.json) json(result);
          else out(formatSwitchover(result));
        });
      },
    );

  const certs = program.command("certs").description("the pair's TLS certificates");
  certs
    .command("renew")
    .description(
      "issue new member and client certificates (same CA) and roll them out: learner first, then main; no data is lost",
    )
    .option("--json", "print the result as JSON on stdout")
    .action(async (options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const result = await runCertsRenew(hosts, new StderrReporter());
        if (options.json) json(result);
        else
          out(
            result.certificates
              .map((c) => `${c.label}: valid until ${c.notAfter?.slice(0, 10) ?? "?"} (${c.daysLeft ?? "?"} days)\n`)
              .join(""),
          );
      });
    });

  const snapshot = program
    .command("snapshot")
    .description("save a snapshot from the main, or build a new pair from one");
  snapshot
    .command("save")
    .description("save a snapshot from the main on its host (default: its archive dir) and verify it")
    .argument("[file]", "path on the main's host; never overwritten")
    .option("--json", "print the result as JSON on stdout")
    .action(async (file: string | undefined, options: { json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const result = await runSnapshotSave(hosts, new StderrReporter(), file);
        if (options.json) json(result);
        else
          out(
            `${result.file} on ${result.node}: revision ${result.revision}, ${result.totalKeys} keys, ${formatBytes(result.totalSizeBytes)}\n`,
          );
      });
    });
  snapshot
    .command("restore")
    .description("a new pair from FILE (on the first node's host): both data dirs archived, new cluster token")
    .argument("<file>", "a file written by 'snapshot save' (or etcdctl snapshot save)")
    .option("-y, --yes", "do not ask")
    .option("--json", "print the result as JSON on stdout")
    .action(async (file: string, options: { yes?: boolean; json?: boolean }, command: Command) => {
      await withHosts(command, async (hosts) => {
        const result = await runSnapshotRestore(hosts, new StderrReporter(), path.resolve(file), async (summary) => {
          process.stderr.write(`${summary}\n`);
          if (!options.yes) await confirm("Restore now?");
        });
        if (options.json) json(result);
        else process.stderr.write(`restored ${result.file}: ${result.main} is main of generation ${result.token}\n`);
      });
    });

  program
    .command("demo")
    .description(
      "the whole lifecycle on two loopback nodes in a temp dir, no SSH: up, check, kill -9 of the main,\n" +
        "failover, rejoin, switchover back, check; with a timeline",
    )
    .addOption(
      new Option(
        "--bin-dir <dir>",
        `where etcd and etcdctl are (default: $${BIN_DIR_ENV}, the setup script's cache, /usr/bin)`,
      ),
    )
    .option(
      "--cleanup",
      "stop the pair and remove its temp dir at the end (default: leave it running and say how to stop it)",
    )
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
        out(formatFailover(result.failover));
        out(formatSwitchover(result.switchover));
        out(formatStatus(result.status));
        out(formatCheck(result.check));
      }
      const timeline = result.timeline.map((t) => `  ${t.phase.padEnd(22)} ${formatMs(t.durationMs)}`).join("\n");
      process.stderr.write(`\ntimeline:\n${timeline}\n`);
      if (!result.cleanedUp) {
        const self = selfCommand();
        process.stderr.write(
          `\nThe pair is still running. Look:  ${self} -c ${result.configFile} status\n` +
            `Stop it:                       ${self} -c ${result.configFile} down\n` +
            `Then remove its files:         rm -r ${result.dir}\n`,
        );
      }
      if (!result.check.healthy) setExitCode(EXIT.unhealthy);
    });

  return program;
}
