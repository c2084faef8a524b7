import { readFile } from "node:fs/promises";
import type { Client, ConnectConfig } from "ssh2";
import type { SshHost } from "../config/resolve.js";
import type { ExecOutcome } from "./types.js";
import { shQuote } from "../shell/quote.js";
import {
  appendKnownHost,
  hostKeyAlgorithmsFor,
  hostKeyRefusal,
  hostKeyTypesNotOffered,
  hostKeyTypesUnusable,
  judgeHostKey,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from "./knownHosts.js";
import { collectOutput, holdOutput, type HeldCommand } from "./output.js";
import { TransportError, type ExecOptions, type HostTransport } from "./types.js";

/** Where and how to reach a node's host; `acceptNewHostKeys` records unknown keys (changed keys are always refused). */
export interface SshTarget extends Omit<SshHost, "kind"> {
  node: string;
  acceptNewHostKeys: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Why a connection failed, in the operator's terms. */
function connectFailure(message: string, target: SshTarget, name: string, knownTypes: readonly string[]): string {
  if (/no matching host key format/.test(message) && knownTypes.length > 0) {
    return hostKeyTypesNotOffered(name, target.knownHostsFile, knownTypes);
  }
  if (/authentication methods failed/.test(message)) {
    return `authentication as ${target.user} failed: check ssh.user and ssh.identityFile`;
  }
  return message;
}

/**
 * What is sent to the host for `command`: sshd hands it to the user's login shell, which may not be POSIX (fish,
 * csh), so the command itself is always run by sh: the login shell parses only `sh -c '…'` (with `become`:
 * `sudo -n sh -c '…'`).
 */
export function remoteCommand(command: string, become: boolean): string {
  return `${become ? "sudo -n " : ""}sh -c ${shQuote(command)}`;
}

/** One SSH connection per host, opened on first use and reused for every command. */
export class SshTransport implements HostTransport {
  readonly label: string;
  private connection?: Promise<Client>;

  constructor(private readonly target: SshTarget) {
    this.label = `${target.node} (${target.user}@${target.host}:${target.port})`;
  }

  private fail(message: string): TransportError {
    return new TransportError(this.target.node, `${this.label}: ${message}`);
  }

  private async connect(): Promise<Client> {
    const { target } = this;
    // A missing known_hosts file knows no host: every key is unknown until accepted.
    const known = await readFile(target.knownHostsFile, "utf8").catch(() => "");
    const entries = parseKnownHosts(known);
    const name = knownHostsName(target.host, target.port);
    // A known host is offered only the algorithms of its known key types: it must prove a key we know.
    const knownTypes = knownKeyTypes(entries, name);
    const serverHostKey = hostKeyAlgorithmsFor(knownTypes);
    if (knownTypes.length > 0 && serverHostKey.length === 0) {
      throw this.fail(hostKeyTypesUnusable(name, target.knownHostsFile, knownTypes));
    }
    let keyProblem: string | undefined;
    let newKey: Buffer | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: CONNECT_TIMEOUT_MS,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      ...(serverHostKey.length > 0 ? { algorithms: { serverHostKey } } : {}),
      hostVerifier: (key: Buffer) => {
        const verdict = judgeHostKey(entries, name, key);
        if (verdict === "match") return true;
        // Only a host known_hosts knows nothing of is recorded: never a revoked key, never a second type.
        if (verdict === "unknown" && target.acceptNewHostKeys) {
          newKey = key;
          return true;
        }
        keyProblem = hostKeyRefusal(verdict, name, target.knownHostsFile, key);
        return false;
      },
    };
    if (target.identityFile) {
      try {
        config.privateKey = await readFile(target.identityFile);
      } catch (err) {
        throw this.fail(`cannot read identity file ${target.identityFile}: ${(err as Error).message}`);
      }
    } else if (process.env.SSH_AUTH_SOCK) {
      config.agent = process.env.SSH_AUTH_SOCK;
    }
    // Loaded on first connection: local hosts never pay for ssh2 (~100 ms at startup).
    const { Client: SshClient } = await import("ssh2");
    const client = new SshClient();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.once("error", (err) => {
        reject(this.fail(keyProblem ?? connectFailure(err.message, target, name, knownTypes)));
      });
      try {
        client.connect(config);
      } catch (err) {
        reject(this.fail(`cannot use identity file ${target.identityFile ?? "(agent)"}: ${(err as Error).message}`));
      }
    });
    if (newKey) await appendKnownHost(target.knownHostsFile, name, newKey);
    return client;
  }

  private client(): Promise<Client> {
    this.connection ??= this.connect();
    return this.connection;
  }

  private wrap(command: string): string {
    return remoteCommand(command, this.target.become);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecOutcome> {
    return this.run(this.wrap(command), options);
  }

  private async run(command: string, options: ExecOptions & { stdin?: string | Uint8Array }): Promise<ExecOutcome> {
    const client = await this.client();
    return new Promise((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) return reject(this.fail(`exec failed: ${err.message}`));
        const output = collectOutput(stream, stream.stderr, options.timeoutMs, () => {
          stream.signal("KILL");
          stream.close();
        });
        stream.on("close", (code: number | null) => resolve(output.finish(code ?? 255)));
        if (options.stdin !== undefined) stream.end(options.stdin);
        else stream.end();
      });
    });
  }

  /** A command left running on the host with its stdin open; a lost connection ends it (and its stdin). */
  async hold(command: string): Promise<HeldCommand> {
    const client = await this.client();
    return new Promise((resolve, reject) => {
      client.exec(this.wrap(command), (err, stream) => {
        if (err) return reject(this.fail(`exec failed: ${err.message}`));
        stream.on("error", () => undefined);
        resolve(
          holdOutput({
            stdout: stream,
            stderr: stream.stderr,
            write: (data) => stream.write(data),
            end: () => stream.end(),
            onClose: (callback) => stream.on("close", (code: number | null) => callback(code ?? 255)),
          }),
        );
      });
    });
  }

  /** Writes through a temp file and mv, with sudo when `become`: the same as `cat > tmp; chmod; mv` by hand. */
  async upload(path: string, content: string | Uint8Array, mode: number, owner?: string): Promise<void> {
    const q = shQuote;
    const temp = `${path}.etcd-pair-tmp`;
    const chown = owner ? ` && chown ${q(owner)} ${q(temp)}` : "";
    const script = `mkdir -p "$(dirname ${q(path)})" && umask 077 && cat >${q(temp)} && chmod ${mode.toString(8)} ${q(temp)}${chown} && sync ${q(temp)} && mv ${q(temp)} ${q(path)} && sync "$(dirname ${q(path)})"`;
    // At least 100 kB/s: a release tarball over a slow link must not time out.
    const timeoutMs = 60_000 + Math.ceil(content.length / 100);
    const outcome = await this.run(this.wrap(script), { stdin: content, timeoutMs });
    if (outcome.code !== 0) throw this.fail(`writing ${path} failed (exit ${outcome.code}): ${outcome.stderr.trim()}`);
  }

  async close(): Promise<void> {
    if (!this.connection) return;
    try {
      (await this.connection).end();
    } catch {
      // It never connected: nothing to close.
    }
    this.connection = undefined;
  }
}
