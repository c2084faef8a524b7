import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** etcdctl against one endpoint of a TestPair (with its client certificate), for tests that use data directly. */
export async function etcdctl(binDir: string, pairDir: string, port: number, args: readonly string[]): Promise<string> {
  const pki = (file: string) => path.join(pairDir, "pki", file);
  const tls = [`--cacert=${pki("ca.crt")}`, `--cert=${pki("client.crt")}`, `--key=${pki("client.key")}`];
  const { stdout } = await run(`${binDir}/etcdctl`, [`--endpoints=https://127.0.0.1:${port}`, ...tls, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    timeout: 20_000,
  });
  return stdout;
}
