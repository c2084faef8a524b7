import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { E2E_CACHE, execOn, hostAddress, hosts } from "./e2eHosts.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** What the built CLI needs at run time besides itself: ssh2 is kept out of the bundle, with its dependencies. */
const RUNTIME_MODULES = ["ssh2", "asn1", "safer-buffer", "bcrypt-pbkdf", "tweetnacl", "cpu-features", "nan"];
export const WITNESS_HOME = "/root/etcd-pair";
export const WITNESS_CLI = "/usr/local/lib/etcd-pair/etcd-pair.js";

/**
 * Makes e2e host `name` a witness as an operator would set one up: node and the built CLI copied onto it, the
 * controller's pki dir, SSH key and config (rewritten to reach alpha and beta on their own addresses and sshd,
 * not through this machine's forwarders), host keys recorded by a first `status`. Returns its config's path.
 */
export async function makeWitness(name: string, controllerDir: string, controllerConfig: string): Promise<string> {
  await hosts("copy", name, process.execPath, "/usr/local/bin/node");
  for (const file of await readdir(path.join(ROOT, "dist/bundle")))
    await hosts("copy", name, path.join(ROOT, "dist/bundle", file), path.join(path.dirname(WITNESS_CLI), file));
  for (const module of RUNTIME_MODULES)
    await hosts(
      "copy",
      name,
      path.join(ROOT, "node_modules", module),
      `/usr/local/lib/etcd-pair/node_modules/${module}`,
    );
  await hosts("copy", name, path.join(controllerDir, "pki"), `${WITNESS_HOME}/pki`);
  await hosts("copy", name, path.join(E2E_CACHE, "id_ed25519"), `${WITNESS_HOME}/id_ed25519`);
  let yaml = await readFile(controllerConfig, "utf8");
  for (const n of [1, 2]) {
    const { address, sshPort } = hostAddress(n);
    yaml = yaml.replace(`host: 127.0.0.1, port: ${sshPort}`, `host: ${address}, port: 22`);
  }
  yaml = yaml
    .replaceAll(path.join(E2E_CACHE, "id_ed25519"), `${WITNESS_HOME}/id_ed25519`)
    .replace(
      /fenceCommand: .*/,
      `fenceCommand: ssh -i ${WITNESS_HOME}/id_ed25519 root@"$ETCD_PAIR_FENCE_ADDRESS" systemctl poweroff --force`,
    );
  const local = path.join(controllerDir, `witness-${name}.yaml`);
  await writeFile(local, yaml);
  await hosts("copy", name, local, `${WITNESS_HOME}/etcd-pair.yaml`);
  await execOn(name, `chmod 600 ${WITNESS_HOME}/id_ed25519 && chmod 700 ${WITNESS_HOME}/pki`);
  return `${WITNESS_HOME}/etcd-pair.yaml`;
}
