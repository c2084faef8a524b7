import type { NodeSpec } from "../config/resolve.js";
import type { NodeLayout } from "../config/layout.js";
import { renderSystemdUnit, unitName } from "../render/systemdUnit.js";
import { shQuote } from "../shell/quote.js";
import type { ServiceManager } from "./types.js";
import { WITHOUT_FLAG_ECHO } from "./local.js";

/** Runs the rest of the command line as user etcd, as the unit runs etcd (util-linux setpriv, no PAM session). */
export const AS_ETCD_USER = "setpriv --reuid=etcd --regid=etcd --init-groups";

/** etcd as a systemd service: the rendered unit runs the start script as user etcd (Type=notify). */
export function systemdService(node: NodeSpec, layout: NodeLayout, cluster: string): ServiceManager {
  const unit = unitName(cluster);
  return {
    description: `systemd unit ${unit}`,
    // systemctl start waits for etcd's READY=1 (Type=notify); enable makes it start at boot again after a fence.
    // enable reloads systemd (~0.3 s), so only where the unit is not enabled yet.
    start: () =>
      `{ systemctl is-enabled --quiet ${unit} || systemctl enable --quiet ${unit}; } && systemctl start ${unit}`,
    launch: () => `systemctl start --no-block ${unit}`,
    stop: () => `systemctl stop ${unit}`,
    stopAndDisable: () => `systemctl disable --now --quiet ${unit}`,
    isRunning: () => `systemctl is-active --quiet ${unit}`,
    mainPid: () => `systemctl show -p MainPID --value ${unit}`,
    logTail: (lines) =>
      `journalctl -u ${unit} -n ${lines * 4} --no-pager -o cat | ${WITHOUT_FLAG_ECHO} | tail -n ${lines}`,
    files: () => [
      { path: `/etc/systemd/system/${unit}`, content: renderSystemdUnit(node, layout, cluster), mode: 0o644 },
    ],
    afterFilesChanged: () => `systemctl daemon-reload`,
    // As the unit runs it: user etcd, the same ExecStart (a simple command, so `&` gives etcd's own pid).
    foreground: () => `${AS_ETCD_USER} /bin/sh ${shQuote(layout.startScript)}`,
  };
}
