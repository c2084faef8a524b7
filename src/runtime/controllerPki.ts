import { createHash } from "node:crypto";
import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PairSpec } from "../config/resolve.js";
import type { NodeObservation } from "../plan/observed.js";
import { pairView } from "../plan/pairView.js";
import { EXPIRY_WARNING_DAYS } from "../plan/tlsState.js";
import type { ControllerFile, ControllerPki } from "../plan/pki.js";
import type { KeyPair } from "../pki/certificates.js";
import { certificateFacts } from "../pki/facts.js";
import { InstallSourceError } from "./errors.js";
import { makeDirs, refuseUnwritableDir } from "./writableTarget.js";

/** The certificate issuer, loaded only when something must be issued (see pki/facts.ts). */
const issuing = () => import("../pki/certificates.js");

/** A certificate closer than this to its end is issued again by `up` (status warns from the same point). */
const RENEW_BEFORE_MS = EXPIRY_WARNING_DAYS * 24 * 3600 * 1000;

async function readPair(certFile: string, keyFile: string): Promise<KeyPair | undefined> {
  try {
    return { certPem: await readFile(certFile, "utf8"), keyPem: await readFile(keyFile, "utf8") };
  } catch {
    return undefined;
  }
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode });
  await chmod(temp, mode);
  await rename(temp, file);
}

async function writePair(certFile: string, keyFile: string, pair: KeyPair): Promise<void> {
  await writeAtomically(keyFile, pair.keyPem, 0o600);
  await writeAtomically(certFile, pair.certPem, 0o644);
}

function fileOf(file: string, content: string): ControllerFile {
  return { path: file, sha256: createHash("sha256").update(content).digest("hex") };
}

/** Still good: issued by this CA, its key's, carries every name wanted, and not about to expire. */
function stillGood(pair: KeyPair | undefined, ca: KeyPair, names: string[], now: Date): pair is KeyPair {
  if (!pair) return false;
  try {
    const facts = certificateFacts(pair.certPem);
    return (
      facts.issuedBy(ca.certPem) &&
      facts.matchesKey(pair.keyPem) &&
      names.every((name) => facts.names.includes(name)) &&
      facts.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

/**
 * For a plan: the files `up` would copy, as they are now (a file not made yet shows no hash); with `renew`, the
 * member and client files as `certs renew` would issue them anew.
 */
async function plannedPki(pair: PairSpec, dir: string, caCert: string, renew: boolean): Promise<ControllerPki> {
  const current = async (file: string): Promise<ControllerFile> => {
    const content = await readFile(file, "utf8").catch(() => undefined);
    return content === undefined ? { path: file, sha256: "(created by up)" } : fileOf(file, content);
  };
  const planned = async (file: string): Promise<ControllerFile> =>
    renew ? { path: file, sha256: "(issued anew by certs renew)" } : current(file);
  const members: ControllerPki["members"] = {};
  for (const node of pair.nodes) {
    members[node.name] = {
      cert: await planned(path.join(dir, `${node.name}.crt`)),
      key: await planned(path.join(dir, `${node.name}.key`)),
    };
  }
  const client = {
    cert: await planned(path.join(dir, "client.crt")),
    key: await planned(path.join(dir, "client.key")),
  };
  return { ca: await current(caCert), members, client };
}

/**
 * The pair's CA and certificates on the controller, created where missing and issued again where they no
 * longer fit (another CA, a missing name, less than 30 days left). Keys are 0600 in a 0700 directory.
 */
export async function ensurePki(
  pair: PairSpec,
  observations: readonly NodeObservation[],
  /** write: false plans only; renew: issue member and client certificates again even where they still fit. */
  options: { write: boolean; renew?: boolean; now?: Date },
): Promise<ControllerPki | undefined> {
  const tls = pair.tls;
  if (!tls) return undefined;
  const now = options.now ?? new Date();
  if (!options.write) {
    return plannedPki(pair, tls.dir, tls.ca?.cert ?? path.join(tls.dir, "ca.crt"), options.renew ?? false);
  }
  // Tried first, and made one level at a time: Node's recursive mkdir loops forever under /proc.
  await refuseUnwritableDir(
    tls.dir,
    "tls.dir",
    "tls.dir names where the CA and keys are kept: a dir this user can write",
  );
  await makeDirs(tls.dir, 0o700);
  // A dir that existed keeps its mode through mkdir: the keys in it are for this user only.
  await chmod(tls.dir, 0o700);
  const at = (file: string) => path.join(tls.dir, file);
  let ca: KeyPair;
  let caCertFile: string;
  if (tls.ca) {
    const given = await readPair(tls.ca.cert, tls.ca.key);
    if (!given) {
      throw new InstallSourceError(
        `cannot read the CA ${tls.ca.cert} / ${tls.ca.key}`,
        "tls.ca.cert and tls.ca.key are relative to the config file; or remove tls.ca to let etcd-pair create a CA",
      );
    }
    ca = given;
    caCertFile = tls.ca.cert;
  } else {
    caCertFile = at("ca.crt");
    const existing = await readPair(caCertFile, at("ca.key"));
    ca = existing ?? (await (await issuing()).createCa(pair.cluster, now));
    if (!existing) await writePair(caCertFile, at("ca.key"), ca);
  }
  const members: ControllerPki["members"] = {};
  for (const node of pair.nodes) {
    const hostname = pairView(pair, observations).of(node).hostname;
    const [certFile, keyFile] = [at(`${node.name}.crt`), at(`${node.name}.key`)];
    let member = await readPair(certFile, keyFile);
    // A host name learnt later does not justify a new certificate; the address must be there.
    if (options.renew || !stillGood(member, ca, [node.address], now)) {
      member = await (await issuing()).issueMember(ca, { name: node.name, address: node.address, hostname }, now);
      await writePair(certFile, keyFile, member);
    }
    members[node.name] = { cert: fileOf(certFile, member.certPem), key: fileOf(keyFile, member.keyPem) };
  }
  let client = await readPair(at("client.crt"), at("client.key"));
  if (options.renew || !stillGood(client, ca, [], now)) {
    client = await (await issuing()).issueClient(ca, now);
    await writePair(at("client.crt"), at("client.key"), client);
  }
  return {
    ca: fileOf(caCertFile, ca.certPem),
    members,
    client: { cert: fileOf(at("client.crt"), client.certPem), key: fileOf(at("client.key"), client.keyPem) },
  };
}
