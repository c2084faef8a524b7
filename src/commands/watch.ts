import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { printable } from "../cli/format.js";
import { renderWatchUnit, watchUnitName } from "../render/watchUnit.js";
import { mergeHistories } from "../plan/history.js";
import { lastAutomaticFailover } from "../plan/watch.js";
import { StateError } from "../runtime/errors.js";
import { historyEvent, readHistories, recordHistory } from "../runtime/history.js";
import { installWatchUnit } from "../runtime/watchInstall.js";
import { Watcher, type FailoverRunner, type WatchEvent } from "../runtime/watcher.js";
import { contextOf, execute, type CommandContext, type LookCommand } from "./command.js";
import { failover } from "./failover.js";

export interface WatchInput {
  install: boolean;
  printUnit: boolean;
  json: boolean;
}

/** The witness's name in the pair's history and in the lock's holder record. */
export function watchActor(): string {
  return `etcd-pair watch on ${os.hostname()}`;
}

/** The automatic failover: the failover command itself, with the pair lock taken for it alone. */
function failoverRunner(ctx: CommandContext): FailoverRunner {
  return async () => {
    const hosts = (await ctx.hosts()).reopen();
    try {
      const notices = await hosts.lock(`${watchActor()}: automatic failover`);
      for (const n of notices) ctx.reporter.info(`${n.node}: ${n.message}`);
      const pair = hosts.pair;
      const report = await execute(failover, contextOf(hosts, ctx.reporter), {
        ...(pair.fenceCommand ? { fenceCommand: pair.fenceCommand } : {}),
        actor: watchActor(),
        automatic: true,
      });
      const { newMain, oldMain, token, fence, writableAfterMs, restoredRevision, lostRevisions, loss } = report;
      const details = { newMain, oldMain, token, fence, writableAfterMs, restoredRevision, lostRevisions, loss };
      return { newMain, details };
    } finally {
      await hosts.close();
    }
  };
}

function printer(json: boolean): (event: WatchEvent) => void {
  return (event) => {
    if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else process.stderr.write(`watch ${event.at}: ${printable(event.message)}\n`);
  };
}

/** Runs until SIGTERM or SIGINT; SIGTERM lets a failover that has begun finish first. */
async function watchUntilStopped(ctx: CommandContext, input: WatchInput): Promise<void> {
  const pair = await ctx.pair();
  const hosts = await ctx.hosts();
  const stop = new AbortController();
  const onTerm = () => stop.abort();
  process.once("SIGTERM", onTerm);
  try {
    const histories = await readHistories(hosts);
    const lastAutomaticFailoverAt = lastAutomaticFailover(mergeHistories(histories.map((h) => h.events)));
    const watcher = new Watcher(pair, {
      open: () => hosts.reopen(),
      emit: printer(input.json),
      failover: failoverRunner(ctx),
      ...(lastAutomaticFailoverAt !== undefined ? { lastAutomaticFailoverAt } : {}),
      refused: async (main, reason) => {
        const learner = pair.nodes.filter((n) => n.name !== main);
        const event = historyEvent("watch", {
          actor: watchActor(),
          automatic: true,
          from: main,
          note: `no automatic failover: ${reason}`,
        });
        const recording = hosts.reopen();
        await recordHistory(recording, learner, event, ctx.reporter).finally(() => recording.close());
      },
    });
    await watcher.run(stop.signal);
  } finally {
    process.off("SIGTERM", onTerm);
  }
}

export const watch: LookCommand<WatchInput, string | undefined, string | undefined> = {
  path: ["watch"],
  description:
    "the witness: watch the main from here and through the learner's host; when both lose it for\n" +
    "failover.detectAfter, fence it and fail over (README: Automatic failover). Runs until stopped.",
  options: [
    { flags: "--install", description: "write and enable a systemd unit that runs watch on this machine" },
    { flags: "--print-unit", description: "print the unit --install would write, change nothing" },
  ],
  changesHosts: false,
  input: (_args, options) => ({
    install: options.install === true,
    printUnit: options.printUnit === true,
    json: options.json === true,
  }),
  prepare: async (ctx, input) => {
    const pair = await ctx.pair();
    if (!pair.fenceCommand)
      throw new StateError(
        "watch refuses to run without a fence: automatic failover without fencing is how a pair gets two mains",
        "set failover.fenceCommand in the config (it must power the old main off or cut it off, and exit 0); check it with 'etcd-pair fence test NODE'",
      );
    if (!input.install && !input.printUnit) return undefined;
    const unit = renderWatchUnit({
      cluster: pair.cluster,
      node: process.execPath,
      cli: path.resolve(process.argv[1] ?? ""),
      config: path.resolve(await ctx.configFile()),
      user: os.userInfo().username,
    });
    if (input.install && !existsSync("/run/systemd/system"))
      throw new StateError(
        "watch --install needs systemd on this machine",
        "run 'etcd-pair watch' under your own supervisor instead",
      );
    return unit;
  },
  run: async (ctx, input, unit) => {
    if (input.printUnit) return unit;
    const pair = await ctx.pair();
    if (input.install && unit) {
      await installWatchUnit(await ctx.hosts(), watchUnitName(pair.cluster), unit, ctx.reporter);
      return undefined;
    }
    await watchUntilStopped(ctx, input);
    return undefined;
  },
  report: (unit, input) =>
    input.printUnit
      ? { json: { unit }, stdout: unit ?? "" }
      : input.install
        ? {
            json: { installed: true },
            stderr: "watch: installed and started; follow it with journalctl -fu etcd-pair-watch-*",
          }
        : { json: undefined },
};
