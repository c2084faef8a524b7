import os from "node:os";
import path from "node:path";
import { edit, type Case } from "./case.js";

/** The first node's address line of the good config, and the second's local.dir line. */
const ALPHA_ADDRESS = "address: 127.0.0.1\n    clientPort";
const BETA_DIR = "local: { dir: beta }";
const betaDir = (dir: string) => edit(BETA_DIR, `local: { dir: ${JSON.stringify(dir)} }`);

/** A "billion laughs": nine levels of nine aliases each. */
function aliasBomb(): string {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (let level = 1; level < 9; level++) {
    const [name, below] = [String.fromCharCode(97 + level), String.fromCharCode(96 + level)];
    levels.push(`${name}: &${name} [${Array(9).fill(`*${below}`).join(", ")}]`);
  }
  return `${levels.join("\n")}\n`;
}

/** Addresses in one spelling; node dirs that are the node's own; tls.dir; YAML that used to end in a stack trace. */
export function pathAndAddressCases(): Case[] {
  const address = (value: string) => edit(ALPHA_ADDRESS, `address: ${JSON.stringify(value)}\n    clientPort`);
  const dirCase = (name: string, dir: string, message: RegExp | string): Case => ({
    name: `a node dir that is ${name}`,
    config: betaDir(dir),
    args: ["up"],
    code: 2,
    message,
  });
  return [
    {
      name: "an IPv4 address with leading zeros (127.000.000.001)",
      config: address("127.000.000.001"),
      args: ["up"],
      code: 2,
      message: "etcd-pair.yaml:7:14: nodes[0].address: write this IPv4 address as 127.0.0.1",
    },
    {
      name: "a shortened IPv4 address (127.1)",
      config: address("127.1"),
      args: ["up"],
      code: 2,
      message: "nodes[0].address: is not an IPv4 address",
    },
    {
      name: "an IPv6 address not in its canonical form",
      config: address("0:0:0:0:0:0:0:1"),
      args: ["up"],
      code: 2,
      message: "nodes[0].address: write this IPv6 address as ::1",
    },
    {
      name: "an IPv6 address with a zone",
      config: address("fe80::1%lo"),
      args: ["up"],
      code: 2,
      message: "a zone (%...) cannot go into etcd's URLs",
    },
    {
      name: "an SSH host with leading zeros",
      config: edit(`    ${BETA_DIR}\n`, "    ssh: { host: 010.0.0.1 }\n"),
      args: ["up"],
      code: 2,
      message: "nodes[1].ssh.host: write this IPv4 address as 10.0.0.1",
    },
    dirCase("/", "/", "etcd-pair.yaml:15:19: nodes[1].local.dir: / is a system directory"),
    dirCase("/etc", "/etc", "nodes[1].local.dir: /etc is a system directory"),
    dirCase("/tmp itself", "/tmp/", "nodes[1].local.dir: /tmp is a system directory"),
    dirCase("/var", "/var", "nodes[1].local.dir: /var is a system directory"),
    dirCase("on /proc", "/proc/etcd-pair", "nodes[1].local.dir: /proc/etcd-pair is on /proc, a kernel file system"),
    dirCase("/dev/null", "/dev/null", "nodes[1].local.dir: /dev/null is on /dev, a kernel file system"),
    dirCase("the home dir (~)", "~", `nodes[1].local.dir: ${os.homedir()} is the home directory itself`),
    dirCase("another user's home (~root/x)", "~root/x", "only ~ and ~/ are expanded"),
    dirCase("spelt through .. (alpha/../beta)", "alpha/../beta", "nodes[1].local.dir: write it as beta"),
    dirCase("spelt with //", "pair//beta", "nodes[1].local.dir: write it as pair/beta"),
    dirCase("inside the other node's", "alpha/data", /nodes\[1\]\.local\.dir: \S+\/alpha\/data is inside alpha's dir/),
    dirCase("the config's own dir (.)", ".", /nodes\[1\]\.local\.dir: \S+ holds this config file/),
    dirCase("the config file", "etcd-pair.yaml", /nodes\[1\]\.local\.dir: \S+\/etcd-pair\.yaml is not a directory/),
    dirCase("under the config file", "etcd-pair.yaml/beta", /cannot be made: \S+\/etcd-pair\.yaml is not a directory/),
    {
      name: "the main's dir inside the learner's, through ..",
      config: (good, work) => edit("local: { dir: alpha }", `local: { dir: ../${path.basename(work)}/beta/a }`)(good),
      args: ["up"],
      code: 2,
      message: /nodes\[1\]\.local\.dir: \S+\/beta holds alpha's dir \S+\/beta\/a: side by side, not nested/,
    },
    {
      name: "tls.dir under /proc",
      config: (good) => `tls: { dir: /proc/pki }\n${good}`,
      args: ["up"],
      code: 2,
      message: "etcd-pair.yaml:1:13: tls.dir: /proc/pki is on /proc, a kernel file system",
    },
    {
      name: "tls.dir /dev/null",
      config: (good) => `tls: { dir: /dev/null }\n${good}`,
      args: ["status"],
      code: 2,
      message: "tls.dir: /dev/null is on /dev",
    },
    {
      name: "tls.dir that is the config file",
      config: (good) => `tls: { dir: etcd-pair.yaml }\n${good}`,
      args: ["up"],
      code: 2,
      message: /tls\.dir: \S+\/etcd-pair\.yaml is not a directory/,
    },
    {
      name: "tls.dir /etc",
      config: (good) => `tls: { dir: /etc }\n${good}`,
      args: ["certs", "renew", "--yes"],
      code: 2,
      message: "tls.dir: /etc is a system directory",
    },
    {
      name: "a YAML alias bomb (billion laughs)",
      config: aliasBomb,
      args: ["up"],
      code: 2,
      message: "etcd-pair.yaml:2:8: YAML: aliases expand to too much",
    },
    {
      name: "YAML nested 5000 deep",
      config: () => `${"[".repeat(5000)}${"]".repeat(5000)}\n`,
      args: ["up"],
      code: 2,
      message: /etcd-pair\.yaml:\d+:\d+: /,
    },
    {
      name: "a tab in the indentation",
      config: edit("    address: 127.0.0.1\n    clientPort", "\taddress: 127.0.0.1\n    clientPort"),
      args: ["up"],
      code: 2,
      message: /etcd-pair\.yaml:7:1: YAML: /,
    },
    {
      name: "a config of binary junk",
      config: () => "\u0000\u0001\u0002\u00ff\ufffe",
      args: ["status"],
      code: 2,
      message: "invalid config (nothing was changed)",
    },
    {
      name: "a config larger than 1 MiB",
      config: (good) => `${good}${"#".repeat(2 * 1024 * 1024)}\n`,
      args: ["status"],
      code: 2,
      message: "is larger than 1 MiB: not a config",
    },
  ];
}
