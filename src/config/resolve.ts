import path from "node:path";
import os from "node:os";
import { durationMs, type Config, type NodeConfig } from "./schema.js";

/** A node as the rest of the tool sees it: every default applied, every path absolute. */
export interface NodeSpec {
  name: string;
  address: string;
  clientPort: number;
  peerPort: number;
  binDir: string;
  host: LocalHost | SshHost;
  /** Where the node's settings and start script live on its host. */
  configDir: string;
  /** Where its data dir, state markers and archive live on its host. */
  stateDir: string;
  /** Certificate files on its host; undefined when the pair runs in plain text (tls: false). */
  tls?: NodeTlsFiles;
}

/** Where a node's certificates live on its host. One member certificate serves clients and peers. */
export interface NodeTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** etcd-pair's own client certificate, for the etcdctl calls it runs on the host. */
  clientCertFile: string;
  clientKeyFile: string;
}

/** The pair's CA and certificates on the controller. */
export interface PairTls {
  /** Absolute directory on the controller. */
  dir: string;
  /** An operator's CA (absolute paths), instead of one etcd-pair creates in dir. */
  ca?: { cert: string; key: string };
}

export interface LocalHost {
  kind: "local";
  /** Absolute directory holding this node's data, scripts, logs and pidfile. */
  dir: string;
}

export interface SshHost {
  kind: "ssh";
  host: string;
  port: number;
  user: string;
  /** Absolute path on the controller, when set. */
  identityFile?: string;
  /** Absolute path on the controller. */
  knownHostsFile: string;
  become: boolean;
}

/** How etcd gets onto SSH hosts. */
export type EtcdInstall =
  | { kind: "preinstalled" }
  | { kind: "apt" }
  | {
      kind: "tarball";
      /** Absolute path on the controller, or a URL the controller downloads from. */
      source: { file: string } | { url: string };
      sha256: string;
      /** The tarball's file name, e.g. etcd-v3.5.16-linux-amd64.tar.gz. */
      fileName: string;
    };

export interface PairSpec {
  cluster: string;
  install: EtcdInstall;
  /** undefined: plain text, by the config's explicit tls: false. */
  tls?: PairTls;
  /** In config order: the first is the initial main. */
  nodes: readonly [NodeSpec, NodeSpec];
  /** Run on the controller by failover when the old main cannot be reached. */
  fenceCommand?: string;
  /** Run on the controller by `fence test` and `check`: proves the fence path without using it. */
  fenceCheckCommand?: string;
  /** What `watch` (automatic failover) goes by. */
  autoFailover: AutoFailoverSpec;
}

export interface AutoFailoverSpec {
  /** Both the witness and the learner's host must lose the main for this long. */
  detectAfterMs: number;
  /** At most one automatic failover per this long. */
  minIntervalMs: number;
  /** Refuse an automatic failover when the learner was further behind than this at the last observation. */
  maxLagRevisions?: number;
}

function expandHome(file: string): string {
  if (file === "~") return os.homedir();
  return file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file;
}

/** A path on the controller as the config gives it: relative to the config file's dir, ~/ the home dir. */
export function controllerPath(file: string, configDir: string): string {
  return path.resolve(configDir, expandHome(file));
}

/** A local node's dir: its local.dir (default: its name) on this machine. */
export function localDirOf(node: NodeConfig, configDir: string): string {
  return controllerPath(node.local?.dir ?? node.name, configDir);
}

function hostOf(
  node: NodeConfig,
  cluster: string,
  configDir: string,
): Pick<NodeSpec, "host" | "configDir" | "stateDir"> {
  if (node.ssh) {
    const ssh = node.ssh;
    return {
      host: {
        kind: "ssh",
        host: ssh.host ?? node.address,
        port: ssh.port,
        user: ssh.user,
        ...(ssh.identityFile ? { identityFile: path.resolve(configDir, expandHome(ssh.identityFile)) } : {}),
        knownHostsFile: path.resolve(configDir, expandHome(ssh.knownHostsFile)),
        become: ssh.become,
      },
      configDir: `/etc/etcd-pair/${cluster}`,
      stateDir: `/var/lib/etcd-pair/${cluster}`,
    };
  }
  const dir = localDirOf(node, configDir);
  return { host: { kind: "local", dir }, configDir: dir, stateDir: dir };
}

function installOf(config: Config, configDir: string): EtcdInstall {
  const install = config.etcd.install;
  if (typeof install === "string") return { kind: install };
  const { file, url, sha256 } = install.tarball;
  if (file !== undefined) {
    return {
      kind: "tarball",
      source: { file: path.resolve(configDir, expandHome(file)) },
      sha256,
      fileName: path.basename(file),
    };
  }
  const href = url ?? "";
  return { kind: "tarball", source: { url: href }, sha256, fileName: path.posix.basename(new URL(href).pathname) };
}

function tlsFilesOn(configDir: string): NodeTlsFiles {
  const at = (file: string) => path.posix.join(configDir, "pki", file);
  return {
    caFile: at("ca.crt"),
    certFile: at("member.crt"),
    keyFile: at("member.key"),
    clientCertFile: at("client.crt"),
    clientKeyFile: at("client.key"),
  };
}

function tlsOf(config: Config, configDir: string): PairTls | undefined {
  if (config.tls === false) return undefined;
  const resolveFile = (file: string) => path.resolve(configDir, expandHome(file));
  const ca = config.tls.ca;
  return {
    dir: resolveFile(config.tls.dir),
    ...(ca ? { ca: { cert: resolveFile(ca.cert), key: resolveFile(ca.key) } } : {}),
  };
}

/** Applies defaults and makes local dirs absolute, relative to the directory of the config file. */
export function resolvePair(config: Config, configDir: string): PairSpec {
  const install = installOf(config, configDir);
  const tls = tlsOf(config, configDir);
  const toSpec = (index: 0 | 1): NodeSpec => {
    const node = config.nodes[index];
    if (!node) throw new Error(`config has no nodes[${index}]`);
    const spec: NodeSpec = {
      name: node.name,
      address: node.address,
      clientPort: node.clientPort ?? config.etcd.clientPort,
      peerPort: node.peerPort ?? config.etcd.peerPort,
      binDir: node.binDir ?? config.etcd.binDir ?? (install.kind === "tarball" ? "/usr/local/bin" : "/usr/bin"),
      ...hostOf(node, config.cluster, configDir),
    };
    return tls ? { ...spec, tls: tlsFilesOn(spec.configDir) } : spec;
  };
  const { fenceCommand, fenceCheckCommand, maxLagRevisions } = config.failover ?? {};
  const autoFailover: AutoFailoverSpec = {
    detectAfterMs: durationMs(config.failover?.detectAfter ?? "10s") ?? 10_000,
    minIntervalMs: durationMs(config.failover?.minInterval ?? "1h") ?? 3_600_000,
    ...(maxLagRevisions !== undefined ? { maxLagRevisions } : {}),
  };
  return {
    cluster: config.cluster,
    install,
    ...(tls ? { tls } : {}),
    nodes: [toSpec(0), toSpec(1)],
    ...(fenceCommand ? { fenceCommand } : {}),
    ...(fenceCheckCommand ? { fenceCheckCommand } : {}),
    autoFailover,
  };
}
