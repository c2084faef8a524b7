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

/** ETCD_PAIR_E2E_SLOT: which set of hosts (scripts/e2e/hosts.sh), so two suites can run side by side. */
const SLOT = Number(process.env.ETCD_PAIR_E2E_SLOT ?? "0");

/** This machine's address on the hosts' bridge (the witness, test clients). */
export const CONTROLLER_ADDRESS = `10.${77 + SLOT}.0.254`;

/** Host number n (in the order first started): its etcd address and its sshd forwarder port on 127.0.0.1. */
export function hostAddress(n: number): { address: string; sshPort: number } {
  return { address: `10.${77 + SLOT}.0.${10 + n}`, sshPort: 22010 + 100 * SLOT + n };
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

/** Runs a command as root on host NAME through its own namespace: works while the host is cut off (hosts.sh cut). */
export async function execOn(name: string, command: string): Promise<string> {
  const { stdout } = await run(SCRIPT, ["exec", name, command], { timeout: 60_000 });
  return stdout;
}
