import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Command, Option } from "commander";
import { COMMANDS } from "../commands/index.js";
import type { AnyCommand, CommandContext, Intent } from "../commands/command.js";
import { STEP_CATALOG } from "../plan/stepIds.js";
import { printSteps, stepsToJson } from "../plan/printPlan.js";
import type { Step } from "../plan/step.js";
import { UsageError } from "../runtime/errors.js";
import { Hosts } from "../runtime/hosts.js";
import { loadPair, CONFIG_ENV, DEFAULT_CONFIG } from "../runtime/configFile.js";
import { makeDirs, refuseUnwritableDir } from "../runtime/writableTarget.js";
import { confirm } from "./confirm.js";
import { printable } from "./format.js";
import { StderrReporter } from "./reporter.js";

interface GlobalOptions {
  config?: string;
  acceptNewHostKeys?: boolean;
}

interface SharedFlags {
  json?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  writeFiles?: string;
}

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Every file a plan would upload, under DIR/<node>/<path>, for review. */
async function writeGeneratedFiles(dir: string, steps: readonly Step[]): Promise<string[]> {
  const written: string[] = [];
  for (const step of steps) {
    for (const action of step.actions) {
      if (action.kind !== "upload") continue;
      const target = path.join(dir, action.node, action.path);
      await makeDirs(path.dirname(target));
      await writeFile(target, action.content, { mode: action.mode });
      written.push(target);
    }
  }
  return written;
}

/** A plan shown instead of run: data on stdout, every command and file per host. */
async function printDryRun(intent: Intent, flags: SharedFlags): Promise<void> {
  if (flags.writeFiles) {
    const written = await writeGeneratedFiles(flags.writeFiles, intent.steps);
    process.stderr.write(`wrote ${written.length} files under ${flags.writeFiles}\n`);
  }
  if (flags.json) {
    out(JSON.stringify({ summary: intent.summary, ...intent.details, steps: stepsToJson(intent.steps) }, null, 2));
  } else {
    const body = intent.steps.length ? printSteps(intent.steps) : `# ${intent.idle ?? "nothing to do"}`;
    out(`# ${intent.summary.replace(/\n/g, "\n# ")}\n\n${body}`);
  }
  if (intent.exitCode) process.exitCode = intent.exitCode;
}

/** The config and hosts of one command, opened on first use and closed when it ends. */
function openContext(globals: GlobalOptions, dryRun: boolean, quiet: boolean) {
  let loaded: ReturnType<typeof loadPair> | undefined;
  let hosts: Hosts | undefined;
  const load = () => (loaded ??= loadPair(globals.config));
  const ctx: CommandContext = {
    pair: async () => (await load()).pair,
    configFile: async () => (await load()).file,
    hosts: async () => {
      const { pair } = await load();
      return (hosts ??= new Hosts(pair, { acceptNewHostKeys: globals.acceptNewHostKeys ?? false }));
    },
    reporter: new StderrReporter(quiet),
    dryRun,
  };
  return { ctx, close: async () => hosts?.close() };
}

/** One command's whole life: input, prepare, (dry run | confirm), run, report. */
async function invoke(spec: AnyCommand, args: readonly string[], command: Command): Promise<void> {
  const options = command.opts<Record<string, unknown>>();
  const flags = options as SharedFlags;
  const input = spec.input(args, options);
  const dryRun = spec.changesHosts && (spec.dryRunOnly === true || flags.dryRun === true);
  if (flags.writeFiles !== undefined && !dryRun) {
    throw new UsageError("--write-files writes the files of a dry run", "add --dry-run");
  }
  // Before any host is probed: a target that cannot take the files is refused at once.
  if (flags.writeFiles !== undefined) {
    if (!flags.writeFiles.trim())
      throw new UsageError("--write-files needs a directory", "e.g. --write-files ./review");
    await refuseUnwritableDir(flags.writeFiles, "--write-files", "name a directory you can write, e.g. ./review");
  }
  const { ctx, close } = openContext(command.optsWithGlobals<GlobalOptions>(), dryRun, spec.quietSteps === true);
  try {
    // One command at a time per pair: taken before the first look that leads to a change.
    if (spec.changesHosts && !dryRun) {
      const notices = await (await ctx.hosts()).lock(`etcd-pair ${process.argv.slice(2).join(" ")}`);
      for (const n of notices) ctx.reporter.info(`${n.node}: ${n.message}`);
    }
    const prepared = await spec.prepare(ctx, input);
    if (spec.changesHosts) {
      const intent = spec.intent(prepared, input);
      if (dryRun) return await printDryRun(intent, flags);
      if (intent.question) {
        process.stderr.write(`${intent.summary}\n`);
        if (!flags.yes) await confirm(intent.question);
      }
    }
    const output = spec.report(await spec.run(ctx, input, prepared), input);
    // A command that streamed its data (watch: one JSON object per line) has no closing document.
    if (flags.json && output.json !== undefined) out(JSON.stringify(output.json, null, 2));
    else if (output.stdout) out(printable(output.stdout));
    // A person's closing words go to stderr with or without --json: stdout holds only the data.
    if (output.stderr) process.stderr.write(`${printable(output.stderr)}\n`);
    if (output.exitCode) process.exitCode = output.exitCode;
  } finally {
    await close();
  }
}

/** --help lists the steps a command may run, from the same catalog the planners build them with. */
function stepsHelp(spec: AnyCommand): string {
  if (!spec.steps?.length) return "";
  const width = Math.max(...spec.steps.map((id) => id.length));
  const lines = spec.steps.map((id) => `  ${id.padEnd(width)}  ${STEP_CATALOG[id]}`);
  return `\nSteps (each runs only when needed; a re-run skips what is done):\n${lines.join("\n")}\n`;
}

/** Words that only group commands: `etcd-pair snapshot save`. */
const GROUPS: Record<string, string> = {
  config: "config file helpers",
  snapshot: "save a snapshot from the main, or build a new pair from one",
  certs: "the pair's TLS certificates",
  fence: "the fence path a failover uses when it cannot reach the old main",
};

function register(program: Command, spec: AnyCommand): void {
  let parent = program;
  for (const word of spec.path.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(GROUPS[word] ?? word);
  }
  const command = parent.command(spec.path.at(-1) ?? "").description(spec.description);
  for (const argument of spec.arguments ?? []) command.argument(argument.name, argument.description, argument.default);
  for (const option of spec.options ?? [])
    command.addOption(new Option(option.flags, option.description).default(option.default));
  command.option("--json", "print the result as JSON on stdout");
  if (spec.changesHosts) {
    if (!spec.dryRunOnly) {
      command.option("--dry-run", "print every command and file it would run or write, per host; change nothing");
      command.option("-y, --yes", "do not ask before changing anything");
    }
    command.option("--write-files <dir>", "with a dry run: also write every generated file under DIR/<node>/<path>");
  }
  command.addHelpText("after", stepsHelp(spec));
  command.action(async (...received: unknown[]) => {
    // commander passes the arguments, then the options, then the command itself.
    const args = received.slice(0, spec.arguments?.length ?? 0).map((a) => (a === undefined ? "" : String(a)));
    await invoke(spec, args, received.at(-1) as Command);
  });
}

export function buildProgram(): Command {
  const program = new Command()
    .name("etcd-pair")
    .description("Two Linux hosts: one etcd main and a permanent learner standby, with a failover you can trust.")
    .version("0.1.0")
    .option("-c, --config <file>", `config file (default: $${CONFIG_ENV}, then ./${DEFAULT_CONFIG})`)
    .option("--accept-new-host-keys", "record SSH host keys not yet in known_hosts (changed keys are always refused)")
    .option("--debug", "print the stack trace of an unexpected error (never needed for a refusal or a failed step)")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      `
Exit codes: 0 ok, 1 failed (a step, or an unexpected error), 2 usage, config error or refusal (nothing
touched), 3 unhealthy, 130 interrupted.
Progress goes to stderr, data to stdout. NO_COLOR disables colors.`,
    );
  for (const spec of COMMANDS) register(program, spec);
  return program;
}
