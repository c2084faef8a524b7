import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { lockFilesOf } from "../../src/plan/lock.js";
import { cli, type CliOptions, type CliResult } from "./cli.js";
import type { ClientTls } from "./etcdHttp.js";
import { removeDir, scratchDir } from "./scratch.js";
import { until } from "./until.js";

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address && typeof address !== "string") ports.push(address.port);
    servers.push(server);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** etcd-pair's own client certificate from the pki dir next to a config in `dir`: the pair's etcd accepts it. */
export async function clientTlsFrom(dir: string): Promise<ClientTls> {
  const pki = (file: string) => readFile(path.join(dir, "pki", file), "utf8");
  return { ca: await pki("ca.crt"), cert: await pki("client.crt"), key: await pki("client.key") };
}

/** A two-node local pair in its own temp dir, on free loopback ports. */
export class TestPair {
  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly ports: { alpha: [number, number]; beta: [number, number] },
    private readonly tls = true,
  ) {}

  static async create(
    binDir: string,
    extra: { yaml?: (ports: number[]) => string; tls?: false; failover?: string } = {},
  ): Promise<TestPair> {
    const dir = await scratchDir("test");
    const ports = await freePorts(4);
    const [a1 = 0, a2 = 0, b1 = 0, b2 = 0] = ports;
    const yaml =
      extra.yaml?.(ports) ??
      `cluster: test
${extra.tls === false ? "tls: false\n" : ""}etcd:
  binDir: ${binDir}
${extra.failover ? `failover:\n${extra.failover}\n` : ""}nodes:
  - name: alpha
    address: 127.0.0.1
    clientPort: ${a1}
    peerPort: ${a2}
    local: { dir: alpha }
  - name: beta
    address: 127.0.0.1
    clientPort: ${b1}
    peerPort: ${b2}
    local: { dir: beta }
`;
    const configFile = path.join(dir, "etcd-pair.yaml");
    await writeFile(configFile, yaml);
    return new TestPair(dir, configFile, { alpha: [a1, a2], beta: [b1, b2] }, extra.tls !== false);
  }

  run(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
    return cli(["-c", this.configFile, ...args], options);
  }

  nodeDir(node: string): string {
    return path.join(this.dir, node);
  }

  /** A node's client URL (https: the pair runs with TLS unless its config says tls: false). */
  url(node: "alpha" | "beta"): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.ports[node][0]}`;
  }

  clientTls(): Promise<ClientTls> {
    return clientTlsFrom(this.dir);
  }

  /** A member's own certificate (good for its peer connections too). */
  async memberTls(node: "alpha" | "beta"): Promise<ClientTls> {
    const pki = (file: string) => readFile(path.join(this.dir, "pki", file), "utf8");
    return { ca: await pki("ca.crt"), cert: await pki(`${node}.crt`), key: await pki(`${node}.key`) };
  }

  /**
   * The pid the local supervisor recorded for a node, while that etcd lives: while one of its threads runs, as
   * the supervisor itself judges it (its first thread can be a zombie while the others still hold its ports).
   */
  async etcdPid(node: string): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(path.join(this.nodeDir(node), "etcd.pid"), "utf8")).trim());
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("etcd") && cmdline !== "") return undefined;
      const tasks = await readdir(`/proc/${pid}/task`);
      const states = await Promise.all(
        tasks.map((t) =>
          readFile(`/proc/${pid}/task/${t}/stat`, "utf8").then(
            (stat) => stat.replace(/^.*\) /s, "")[0],
            () => "X",
          ),
        ),
      );
      return states.some((state) => state !== "Z" && state !== "X") ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Signals a node's etcd and waits until it is gone (at most 30 s, then fails saying so). */
  async kill(node: string, signal: NodeJS.Signals): Promise<void> {
    const pid = await this.etcdPid(node);
    if (pid === undefined) throw new Error(`etcd on ${node} is not running`);
    process.kill(pid, signal);
    await until(
      `etcd on ${node} (pid ${pid}) gone after ${signal}`,
      async () => (await this.etcdPid(node)) === undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 50,
      },
    );
  }

  /** Ends every etcd this pair started, by the pids it recorded. */
  async stop(): Promise<void> {
    await this.run(["down"]).catch(() => undefined);
    for (const node of ["alpha", "beta"]) {
      const pid = await this.etcdPid(node);
      if (pid !== undefined) process.kill(pid, "SIGKILL");
    }
  }

  /** stop, then remove the pair's dir at once (a file may make many pairs); used after each test, pass or fail. */
  async cleanup(): Promise<void> {
    await this.stop();
    // The pair lock's files on this machine (in /run/lock, outside the pair's dir); nothing runs on the pair now.
    for (const node of ["alpha", "beta"]) {
      const { lockFile, holderFile } = lockFilesOf(node, this.nodeDir(node));
      await rm(lockFile, { force: true });
      await rm(holderFile, { force: true });
    }
    await removeDir(this.dir);
  }
}
