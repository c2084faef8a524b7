import { CONTROLLER } from "../plan/fence.js";
import type { Step } from "../plan/step.js";
import { shQuote } from "../shell/quote.js";
import type { Hosts } from "./hosts.js";
import { runSteps, type Reporter } from "./runner.js";

/** `watch --install`: the unit file, then systemd told of it and the unit enabled and started, on this machine. */
export function watchInstallSteps(name: string, unit: string): Step[] {
  const file = `/etc/systemd/system/${name}`;
  return [
    {
      id: "watch.unit",
      title: `write ${file}`,
      node: CONTROLLER,
      kind: "change",
      actions: [{ kind: "upload", node: CONTROLLER, path: file, content: unit, mode: 0o644 }],
    },
    {
      id: "watch.enable",
      title: `enable and start ${name}`,
      node: CONTROLLER,
      kind: "change",
      actions: [
        {
          kind: "exec",
          node: CONTROLLER,
          command: `systemctl daemon-reload && systemctl enable --now ${shQuote(name)}`,
          timeoutMs: 60_000,
        },
      ],
    },
  ];
}

export async function installWatchUnit(hosts: Hosts, name: string, unit: string, reporter: Reporter): Promise<void> {
  await runSteps(watchInstallSteps(name, unit), hosts, reporter);
}
