import { readFile } from "node:fs/promises";
import path from "node:path";
import type { PairSpec } from "../config/resolve.js";
import { derivePairState, type PairState } from "../plan/pairState.js";
import { judgeTls, type TlsState } from "../plan/tlsState.js";
import { certificateFacts } from "../pki/facts.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";

export interface StatusReport extends PairState {
  tls: TlsState;
}

/** The pair's certificates as kept on the controller (what `up` copies to the hosts). */
async function controllerCertificates(pair: PairSpec): Promise<{ label: string; file: string; notAfter?: Date }[]> {
  const tls = pair.tls;
  if (!tls) return [];
  const files = [
    { label: "CA", file: tls.ca?.cert ?? path.join(tls.dir, "ca.crt") },
    ...pair.nodes.map((node) => ({ label: node.name, file: path.join(tls.dir, `${node.name}.crt`) })),
    { label: "client (etcd-pair)", file: path.join(tls.dir, "client.crt") },
  ];
  return Promise.all(
    files.map(async (cert) => {
      try {
        return { ...cert, notAfter: certificateFacts(await readFile(cert.file, "utf8")).notAfter };
      } catch {
        return cert;
      }
    }),
  );
}

export async function runStatus(hosts: Hosts): Promise<StatusReport> {
  const [observations, certificates] = await Promise.all([observePair(hosts), controllerCertificates(hosts.pair)]);
  const state = derivePairState(hosts.pair, observations);
  const tls = judgeTls(hosts.pair.tls ? certificates : undefined, new Date());
  return {
    ...state,
    healthy: state.healthy && tls.problems.length === 0,
    problems: [...state.problems, ...tls.problems],
    tls,
  };
}
