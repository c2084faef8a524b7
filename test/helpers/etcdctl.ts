import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** etcdctl against one endpoint, for tests that write and read data directly. */
export async function etcdctl(binDir: string, port: number, args: readonly string[]): Promise<string> {
  const { stdout } = await run(`${binDir}/etcdctl`, [`--endpoints=http://127.0.0.1:${port}`, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    timeout: 20_000,
  });
  return stdout;
}
