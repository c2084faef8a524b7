import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { edit, SHA, type Case } from "./case.js";

let server: Server | undefined;
async function listen(port: number): Promise<() => Promise<void>> {
  server = createServer();
  await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
  return async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  };
}

/** Closes a listener a case left open (a case that timed out). */
export async function closeListeners(): Promise<void> {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
}

/** Flags and arguments; hosts, binaries, data. */
export function commandCases(ports: readonly number[], binDir: string): Case[] {
  const [, a2, b1, b2] = ports;
  return [
    // Flags and arguments.
    { name: "unknown command", args: ["fly"], code: 2, message: "unknown command 'fly'" },
    { name: "unknown flag", args: ["up", "--bogus"], code: 2, message: "unknown option '--bogus'" },
    { name: "rejoin without a node", args: ["rejoin"], code: 2, message: "missing required argument 'node'" },
    {
      name: "rejoin of a node that does not exist",
      args: ["rejoin", "gamma"],
      code: 2,
      message: "no node named gamma",
    },
    {
      name: "switchover to a node that does not exist",
      args: ["switchover", "--yes", "--to", "gamma"],
      code: 2,
      message: "no node named gamma",
    },
    { name: "plan --write-files without a dir", args: ["plan", "--write-files"], code: 2, message: "argument missing" },
    {
      name: "snapshot restore without a file",
      args: ["snapshot", "restore"],
      code: 2,
      message: "missing required argument 'file'",
    },
    {
      name: "a config file that does not exist",
      args: ["-c", "/nonexistent/etcd-pair.yaml", "up"],
      code: 2,
      message: "/nonexistent/etcd-pair.yaml",
    },
    { name: "down --purge without --yes (no terminal)", args: ["down", "--purge"], code: 2, message: "pass --yes" },
    {
      name: "pause with a reason of two lines",
      args: ["pause", "--reason", "kernel\nupgrade"],
      code: 2,
      message: "--reason must be one line of text",
    },
    {
      name: "fence test without a node",
      args: ["fence", "test"],
      code: 2,
      message: "missing required argument 'node'",
    },
    {
      name: "fence test of a node that does not exist",
      args: ["fence", "test", "gamma"],
      code: 2,
      message: "no node named gamma",
    },
    {
      name: "fence test without a fence check command",
      args: ["fence", "test", "alpha"],
      code: 2,
      message: "no fence check command is configured (failover.fenceCheckCommand)",
    },
    // Hosts, binaries, data.
    {
      name: "a bin dir without etcd",
      config: edit(`binDir: ${binDir}`, "binDir: /nonexistent/bin"),
      args: ["up"],
      code: 2,
      message: "alpha: /nonexistent/bin/etcd is missing or not executable",
    },
    {
      name: "an etcd that loses acknowledged writes (3.4.20)",
      config: (g) => g.replace(`binDir: ${binDir}`, "binDir: BIN3420"),
      args: ["up"],
      code: 2,
      message: "etcd 3.4.20 can lose acknowledged writes",
    },
    {
      name: "an etcd whose version cannot be read",
      config: (g) => g.replace(`binDir: ${binDir}`, "binDir: BINGARBLED"),
      args: ["up"],
      code: 2,
      message: "could not read the version of",
    },
    {
      name: "a client port in use",
      args: ["up"],
      code: 2,
      message: `beta: client port ${b1} is in use by another process`,
      setup: async () => listen(b1 ?? 0),
    },
    {
      name: "a peer port in use",
      args: ["up"],
      code: 2,
      message: `alpha: peer port ${a2} is in use by another process`,
      setup: async () => listen(a2 ?? 0),
    },
    {
      name: "a foreign data dir",
      args: ["up"],
      code: 2,
      message: "holds files that are not etcd member data",
      setup: async (dir) => {
        await mkdir(path.join(dir, "beta", "data"), { recursive: true });
        await writeFile(path.join(dir, "beta", "data", "notes.txt"), "someone else's\n");
      },
    },
    {
      name: "an SSH host that refuses connections",
      config: edit("    local: { dir: beta }\n", `    ssh: { host: 127.0.0.1, port: ${b2}, knownHostsFile: kh }\n`),
      args: ["up"],
      code: 2,
      message: /beta: host cannot be probed: .*ECONNREFUSED/,
    },
    {
      name: "a tarball that is not there",
      config: (g) =>
        g
          .replace("    local: { dir: alpha }\n", "    ssh: { host: 127.0.0.1, port: 1, knownHostsFile: kh }\n")
          .replace("    local: { dir: beta }\n", "    ssh: { host: 127.0.0.1, port: 1, knownHostsFile: kh }\n")
          .replace(`binDir: ${binDir}`, `install: { tarball: { file: missing.tar.gz, sha256: ${SHA} } }`),
      args: ["plan", "--offline"],
      code: 2,
      message: /cannot read .*missing\.tar\.gz/,
    },
  ];
}
