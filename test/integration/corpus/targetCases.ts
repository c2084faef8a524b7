import { edit, type Case } from "./case.js";

/** Files etcd-pair would write (init, --write-files), flags and values, and an error nobody foresaw. */
export function targetCases(binDir: string): Case[] {
  const usage = (name: string, args: string[], message: RegExp | string): Case => ({ name, args, code: 2, message });
  return [
    usage(
      "init into a missing dir",
      ["init", "{work}/missing/etcd-pair.yaml"],
      /init: the directory \S+\/missing does not exist/,
    ),
    usage("init onto a directory", ["init", "{work}"], /init: \S+ is a directory/),
    usage("init --force onto a directory", ["init", "--force", "{work}"], /init: \S+ is a directory/),
    usage("init onto the config, without --force", ["init", "{work}/etcd-pair.yaml"], "etcd-pair.yaml exists already"),
    usage("init under /proc", ["init", "/proc/etcd-pair.yaml"], "the file system there takes no new entries"),
    usage("init under /dev/null", ["init", "/dev/null/etcd-pair.yaml"], "/dev/null is not a directory"),
    usage("init with an empty name", ["init", ""], "init needs a file name"),
    usage(
      "plan --write-files under /proc",
      ["plan", "--write-files", "/proc/etcd-pair-review"],
      "--write-files: cannot write under /proc/etcd-pair-review: the file system there takes no new entries",
    ),
    usage(
      "up --dry-run --write-files onto a file",
      ["up", "--dry-run", "--write-files", "{work}/etcd-pair.yaml"],
      /--write-files: cannot write under \S+: \S+\/etcd-pair\.yaml is not a directory/,
    ),
    usage(
      "down --dry-run --write-files under /dev/null",
      ["down", "--dry-run", "--write-files", "/dev/null/review"],
      "/dev/null is not a directory",
    ),
    usage(
      "switchover --dry-run --write-files under /sys",
      ["switchover", "--dry-run", "--write-files", "/sys/review"],
      "--write-files: cannot write under /sys/review",
    ),
    usage("--write-files with an empty dir", ["plan", "--write-files", ""], "--write-files needs a directory"),
    usage(
      "--write-files without --dry-run",
      ["down", "--write-files", "{work}/review"],
      "--write-files writes the files of a dry run",
    ),
    usage("up --offline without --dry-run", ["up", "--offline"], "--offline only plans"),
    usage("a config that is a directory", ["-c", "{work}", "status"], /the config \S+ is a directory/),
    usage(
      "a config that never ends (/dev/zero)",
      ["-c", "/dev/zero", "status"],
      "the config /dev/zero is larger than 1 MiB",
    ),
    usage("a config with an empty name", ["-c", "", "status"], "--config needs a file name"),
    usage("an argument too many", ["status", "extra"], "too many arguments for 'status'"),
    usage("rejoin of two nodes", ["rejoin", "alpha", "beta"], "too many arguments for 'rejoin'"),
    usage("rejoin of a node in capitals", ["rejoin", "ALPHA"], "no node named ALPHA"),
    usage(
      "a negative catch-up timeout",
      ["switchover", "--catch-up-timeout=-5"],
      "--catch-up-timeout takes a number of seconds above 0",
    ),
    usage("a catch-up timeout that is no number", ["switchover", "--catch-up-timeout", "soon"], "not soon"),
    usage(
      "a catch-up timeout of 30,000 years",
      ["switchover", "--catch-up-timeout", "1e12"],
      "at most 86400, not 1e12",
    ),
    usage("switchover --to without a node", ["switchover", "--to"], "argument missing"),
    usage("an unknown global flag", ["--verbose", "status"], "unknown option '--verbose'"),
    usage("an unknown snapshot subcommand", ["snapshot", "take"], "unknown command 'take'"),
    usage("snapshot save with a blank name", ["snapshot", "save", " "], "snapshot save needs a file name"),
    {
      name: "certs renew on a plain-text pair",
      config: edit("cluster: demo", "cluster: demo\ntls: false"),
      args: ["certs", "renew", "--yes"],
      code: 2,
      message: /runs in plain text \(tls: false\)[\s\S]*nothing was changed/,
    },
    {
      // Nobody foresaw a TMPDIR that is not there: one line, exit 1, no stack trace.
      name: "an unexpected error (demo with no temp dir)",
      args: ["demo", "--bin-dir", binDir],
      env: { TMPDIR: "/nonexistent-etcd-pair-tmp" },
      code: 1,
      message: /^error: ENOENT: [^\n]*mkdtemp[^\n]*run again with --debug for its stack trace\)\n$/,
    },
  ];
}
