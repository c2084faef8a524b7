import { shQuote } from "../shell/quote.js";
import type { NodeLayout } from "../config/layout.js";
import type { ServiceManager } from "./types.js";

const STOP_TIMEOUT_S = 30;
// etcd stops within ~10 ms of SIGTERM: a coarse poll would be most of a failover's stop step.
const STOP_POLL_S = 0.02;

/**
 * A shell test: the etcd process `pid` (a shell word) is alive, that is, one of its threads still runs. etcd is
 * multithreaded: its first thread can be a zombie (and its cmdline empty) while the others still hold its
 * ports, so a start right after a stop would find them in use. A pid reused by another program does not count.
 * The cmdline is read once: read twice, an exec in between (sh to etcd) could pass neither test.
 */
export function etcdProcessAlive(pid: string): string {
  const proc = `/proc/${pid}`;
  return (
    `{ c=$(tr -d '\\000' <${proc}/cmdline 2>/dev/null); case "$c" in *etcd*|"") ` +
    `cat ${proc}/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1 | grep -q '[^ZX]';; *) false;; esac; }`
  );
}

/**
 * A filter for etcd's log that drops the line per setting etcd prints as it starts (~40): a tail of a log whose
 * etcd just failed at its start would show only those, not why it failed.
 */
export const WITHOUT_FLAG_ECHO = "grep -v 'recognized and used environment variable'";

/**
 * Runs etcd as a detached process on the controller's machine: its own session (setsid), output appended
 * to a log file, its pid recorded in a pidfile. The start script execs etcd, so the recorded pid is etcd's.
 */
export function localSupervisor(layout: NodeLayout): ServiceManager {
  const pidFile = shQuote(layout.pidFile);
  const alive = `{ pid=$(cat ${pidFile} 2>/dev/null) && [ -n "$pid" ] && ${etcdProcessAlive('"$pid"')}; }`;
  const stop =
    `if ${alive}; then kill -TERM "$pid"; i=0; ` +
    `while ${alive} && [ $i -lt ${STOP_TIMEOUT_S / STOP_POLL_S} ]; do sleep ${STOP_POLL_S}; i=$((i+1)); done; ` +
    `if ${alive}; then echo "etcd (pid $pid) did not exit within ${STOP_TIMEOUT_S}s of SIGTERM" >&2; exit 1; fi; fi; ` +
    `rm -f ${pidFile}`;
  const start =
    `if ${alive}; then exit 0; fi; cd ${shQuote(layout.root)} && ` +
    `setsid ${shQuote(layout.startScript)} >>${shQuote(layout.logFile)} 2>&1 </dev/null & echo $! >${pidFile}`;
  return {
    description: `local supervisor (pidfile ${layout.pidFile}, log ${layout.logFile})`,
    start: () => start,
    // start never waits for readiness here: the runner's ready step does.
    launch: () => start,
    stop: () => stop,
    // Nothing starts a local node at boot: stopping it is all.
    stopAndDisable: () => stop,
    isRunning: () => alive,
    mainPid: () => `if ${alive}; then echo "$pid"; fi`,
    logTail: (lines) => `tail -n ${lines * 4} ${shQuote(layout.logFile)} | ${WITHOUT_FLAG_ECHO} | tail -n ${lines}`,
    files: () => [],
    foreground: () => undefined,
    afterFilesChanged: () => undefined,
  };
}
