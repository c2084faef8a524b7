import path from "node:path";
import { z } from "zod";
import { addressProblem } from "./addresses.js";

/** DNS-label style names: they end up in file names, unit names, etcd member names and shell commands. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Paths reach shell commands and unit files: printable, no control characters, no quotes or backslashes. */
const SAFE_PATH = /^[A-Za-z0-9._\-/+@=:,~ ]+$/;

const port = z
  .number({ error: "must be a port number" })
  .int({ error: "must be a whole number" })
  .min(1, { error: "must be at least 1" })
  .max(65535, { error: "must be at most 65535" });

const address = z
  .string({ error: "must be a string: an IPv4/IPv6 address or a host name" })
  .superRefine((value, ctx) => {
    const problem = addressProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const pathString = (what: string) =>
  z
    .string({ error: `must be a string: ${what}` })
    .min(1, { error: `must not be empty: ${what}` })
    .regex(SAFE_PATH, { error: `may contain only letters, digits, space and ._-/+@=:,~ (${what})` });

const absolutePath = (what: string) =>
  pathString(what).refine((value) => value.startsWith("/"), { error: `must be an absolute path (${what})` });

export const localHostSchema = z.strictObject({
  dir: pathString("a directory for this node's data, scripts and logs, relative to the config file"),
});

const SHA256 = /^[0-9a-f]{64}$/;
/** The file name a tarball URL ends in: it becomes a file name on the controller and on the hosts. */
const TARBALL_FILE = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.(tar\.gz|tgz)$/;

/** A duration such as 500ms, 10s, 5m or 1h (or a number of seconds), as milliseconds. */
export function durationMs(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const match = /^(\d{1,9})(ms|s|m|h)$/.exec(value);
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
  return Number(match[1]) * unit;
}

const duration = (what: string) =>
  z
    .union([z.string(), z.number()], { error: `must be a duration such as 10s, 5m or 1h (${what})` })
    .refine((value) => durationMs(value) !== undefined, {
      error: `must be a duration such as 500ms, 10s, 5m or 1h (${what})`,
    });

export const tarballSchema = z
  .strictObject({
    file: pathString("an etcd release tarball on the controller, relative to the config file")
      .optional()
      .describe("A release tarball on the controller (etcd-vX.Y.Z-linux-ARCH.tar.gz layout)"),
    url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .refine((href) => TARBALL_FILE.test(path.posix.basename(new URL(href).pathname)), {
        error: "must end in a tarball's file name: letters, digits and ._+- only, ending in .tar.gz or .tgz",
      })
      .optional()
      .describe("Downloaded once by the controller (into ~/.cache/etcd-pair/downloads), then uploaded"),
    sha256: z
      .string({
        error: "must be a string: the tarball's sha256 (64 hex digits, in quotes if YAML reads it as a number)",
      })
      .regex(SHA256, { error: "must be 64 lowercase hex digits (sha256sum of the tarball)" })
      .describe("Required: the tarball is checked against it on the controller and again on each host"),
  })
  .refine((t) => (t.file === undefined) !== (t.url === undefined), {
    error: "needs exactly one of file or url",
  });

export const installSchema = z
  .union([z.enum(["preinstalled", "apt"]), z.strictObject({ tarball: tarballSchema })], {
    error: "must be preinstalled, apt, or { tarball: { file | url, sha256 } }",
  })
  .default("preinstalled")
  .describe(
    "preinstalled: etcd is already in binDir; apt: apt-get install etcd-server etcd-client (Debian/Ubuntu); " +
      "tarball: a release tarball uploaded from the controller and unpacked into binDir (default /usr/local/bin)",
  );

export const tlsSchema = z
  .union(
    [
      z.literal(false),
      z.strictObject({
        dir: pathString("a directory on the controller for the CA and certificates, relative to the config file")
          .default("pki")
          .describe("Where the CA, node and client certificates and their keys are kept on the controller"),
        ca: z
          .strictObject({
            cert: pathString("the CA certificate (PEM) on the controller"),
            key: pathString("the CA's private key (PEM, PKCS#8) on the controller"),
          })
          .optional()
          .describe("An existing CA used only for etcd (CIS 2.7); default: etcd-pair creates one in dir"),
      }),
    ],
    { error: "must be false (plain text) or { dir, ca: { cert, key } }" },
  )
  .prefault({})
  .describe("Mutual TLS for clients and peers, on by default; false runs etcd in plain text (not recommended)");

export const sshHostSchema = z.strictObject({
  host: address
    .optional()
    .describe("Where sshd listens; defaults to the node's address (SSH and etcd addresses may differ)"),
  port: port.default(22).describe("sshd's port"),
  user: z
    .string({ error: "must be a string" })
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a valid user name" })
    .default("root")
    .describe("SSH user; a non-root user needs become: true and passwordless sudo"),
  identityFile: pathString("a private key file on the controller")
    .optional()
    .describe("Private key file (relative to the config file); default: the SSH agent"),
  knownHostsFile: pathString("a known_hosts file on the controller")
    .default("~/.ssh/known_hosts")
    .describe("Host keys are checked strictly against this file; --accept-new-host-keys records unknown ones"),
  become: z.boolean({ error: "must be true or false" }).default(false).describe("Run commands with sudo -n"),
});

export const nodeSchema = z.strictObject({
  name: z.string({ error: "must be a string" }).regex(LABEL, {
    error: "must be lowercase letters, digits and '-', 1-63 characters, not starting/ending with '-'",
  }),
  address: address.describe("What etcd binds to and advertises to its peer and clients"),
  clientPort: port.optional().describe("Overrides etcd.clientPort for this node"),
  peerPort: port.optional().describe("Overrides etcd.peerPort for this node"),
  binDir: absolutePath("where etcd, etcdctl (and etcdutl) are on this host")
    .optional()
    .describe("Overrides etcd.binDir for this node"),
  local: localHostSchema.optional().describe("A local host: etcd runs on this machine under dir, for demos and tests"),
  ssh: sshHostSchema.optional().describe("A real host reached over SSH, etcd run by systemd"),
});

export const configSchema = z
  .strictObject({
    cluster: z
      .string({ error: "must be a string" })
      .regex(LABEL, {
        error: "must be lowercase letters, digits and '-', 1-63 characters, not starting/ending with '-'",
      })
      .describe("Name of the pair; part of file names, unit names and every cluster token"),
    etcd: z
      .strictObject({
        binDir: absolutePath("where etcd, etcdctl (and etcdutl) are on the hosts")
          .optional()
          .describe(
            "Where etcd, etcdctl (and etcdutl on 3.5+) are on the hosts; default /usr/bin, /usr/local/bin for a tarball",
          ),
        install: installSchema,
        clientPort: port.default(2379).describe("Client port, unless a node sets its own"),
        peerPort: port.default(2380).describe("Peer port, unless a node sets its own"),
      })
      .prefault({}),
    tls: tlsSchema,
    failover: z
      .strictObject({
        fenceCommand: z
          .string({ error: "must be a string: a shell command run on the controller" })
          .min(1, { error: "must not be empty" })
          .optional()
          .describe(
            "Run on the controller when failover cannot reach the old main, with ETCD_PAIR_FENCE_NODE and ETCD_PAIR_FENCE_ADDRESS set to it: must power it off or cut it off, and exit 0",
          ),
        fenceCheckCommand: z
          .string({ error: "must be a string: a shell command run on the controller" })
          .min(1, { error: "must not be empty" })
          .optional()
          .describe(
            "Proves the fence path without using it (e.g. a BMC power status), with the same variables: run by 'fence test NODE' and by check; must exit 0",
          ),
        detectAfter: duration("how long the main must look dead before watch fails over")
          .default("10s")
          .describe(
            "watch fails over only when both the witness and the learner's host lose the main for this long: 10s, 1m (default 10s)",
          ),
        minInterval: duration("the least time between two automatic failovers")
          .default("1h")
          .describe("At most one automatic failover per this much time (default 1h)"),
        maxLagRevisions: z
          .number({ error: "must be a number of revisions" })
          .int({ error: "must be a whole number" })
          .min(0, { error: "must be at least 0" })
          .optional()
          .describe(
            "watch refuses an automatic failover when the learner was more revisions behind than this at its last observation",
          ),
      })
      .optional(),
    nodes: z
      .array(nodeSchema, { error: "must be a list of two nodes" })
      .length(2, { error: "must list exactly two nodes: the first is the initial main, the second its learner" })
      .describe("Exactly two nodes; the first listed is the initial main"),
  })
  .describe("etcd-pair: one etcd main and a permanent learner standby");

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type NodeConfig = z.output<typeof nodeSchema>;
