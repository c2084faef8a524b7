/**
 * How etcd is started and stopped on a host. Every member is a shell command an operator could run by
 * hand, so `plan` can print it and the runner sends it through the host transport like any other step.
 */
export interface ServiceManager {
  /** Shown in plans and errors, e.g. "local supervisor" or "systemd unit etcd-pair-demo.service". */
  readonly description: string;
  /** Starts etcd through the rendered start script; exits 0 if it is already running. */
  start(): string;
  /**
   * Starts etcd without waiting for it to be ready: a learner whose leader is dead never becomes ready, yet
   * it applies the committed entries of its WAL (failover's replay of a crashed learner).
   */
  launch(): string;
  /** Stops etcd cleanly (SIGTERM lets bbolt commit) and waits for it to exit; exits 0 if not running. */
  stop(): string;
  /** Stops etcd and keeps it from starting at boot (fencing a failed main; `down`). `start` undoes it. */
  stopAndDisable(): string;
  /** Exits 0 when etcd is running, non-zero otherwise. */
  isRunning(): string;
  /** Prints etcd's process id (nothing, or 0, when it does not run). */
  mainPid(): string;
  /** Prints the last `lines` lines of etcd's log. */
  logTail(lines: number): string;
  /** Files the service manager needs on the host (a systemd unit), written with the node's other files. */
  files(): { path: string; content: string; mode: number }[];
  /** Run after those files changed (systemctl daemon-reload and enable). */
  afterFilesChanged(): string | undefined;
  /**
   * Runs the start script in the foreground as the service would (same user), for the trial run before
   * the service is installed; undefined where the service runs the start script directly already.
   */
  foreground(): string | undefined;
}
