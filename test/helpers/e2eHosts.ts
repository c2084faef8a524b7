import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/e2e/hosts.sh");
export const E2E_CACHE = process.env.ETCD_PAIR_E2E_CACHE ?? "/var/cache/etcd-pair-e2e";

/** Drives scripts/e2e/hosts.sh: real systemd + sshd hosts in their own network namespaces. */
export async function hosts(...args: string[]): Promise<void> {
  await run(SCRIPT, args, { timeout: 600_000 });
}

/** Host number n (in the order first started): its etcd address and its sshd forwarder port on 127.0.0.1. */
export function hostAddress(n: number): { address: string; sshPort: number } {
  return { address: `10.77.0.${10 + n}`, sshPort: 22010 + n };
}

/** Runs a command as root on host number n over SSH (for assertions the CLI has no command for). */
export async function onHost(n: number, command: string): Promise<string> {
  const { sshPort } = hostAddress(n);
  const { stdout } = await run(
    "ssh",
    [
      "-q",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-i",
      path.join(E2E_CACHE, "id_ed25519"),
      "-p",
      String(sshPort),
      "root@127.0.0.1",
      command,
    ],
    { timeout: 60_000 },
  );
  return stdout;
}
