import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";
import { pemCertificates } from "./facts.js";

x509.cryptoProvider.set(webcrypto as Crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 24 * 3600 * 1000;
const CA_DAYS = 3650;
export const LEAF_DAYS = 365;

/** A certificate and its private key, PEM (the key PKCS#8, which etcd reads). */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** Who a member certificate is for: its name, and where clients and peers reach it. */
export interface MemberIdentity {
  name: string;
  address: string;
  hostname?: string;
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)$/;

function serial(): string {
  // Positive 16-byte serial: top bit clear.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function importKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(pem), ALGORITHM, false, ["sign"]);
}

/** The certificates of a PEM bundle, each a PEM block of its own (a CA file may hold two while it is rotated). */

/** The CA that signs: the first certificate of the CA file. */
function signingCa(ca: KeyPair): string {
  const first = pemCertificates(ca.certPem)[0];
  if (!first) throw new Error("the CA file holds no certificate");
  return first;
}

/** A CA used only for this pair's etcd (CIS etcd 2.7): ECDSA P-256, ten years. */
export async function createCa(cluster: string, now: Date): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=etcd-pair ${cluster} etcd CA`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: `${await keyPem(keys.privateKey)}\n` };
}

async function issue(
  ca: KeyPair,
  subject: string,
  usages: string[],
  names: x509.JsonGeneralName[],
  now: Date,
): Promise<KeyPair> {
  const keys = await newKeys();
  const issuer = new x509.X509Certificate(signingCa(ca));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension(usages),
    await x509.AuthorityKeyIdentifierExtension.create(issuer),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.subject,
    notBefore: new Date(now.getTime() - 60_000),
    // Never past the CA's own end: a leaf that outlives its CA is not trusted for its last days anyway.
    notAfter: new Date(Math.min(now.getTime() + LEAF_DAYS * DAY_MS, issuer.notAfter.getTime())),
    signingKey: await importKey(ca.keyPem),
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions,
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: `${await keyPem(keys.privateKey)}\n` };
}

/** The names a member's certificate must carry: its address (IP or DNS) and its host name. */
function memberNames(member: MemberIdentity): string[] {
  return [...new Set([member.address, member.hostname].filter((n): n is string => Boolean(n)))];
}

/** One certificate per member, for its client and peer listeners: serverAuth + clientAuth (peers dial too). */
export async function issueMember(ca: KeyPair, member: MemberIdentity, now: Date): Promise<KeyPair> {
  const names = memberNames(member).map((name): x509.JsonGeneralName =>
    IP.test(name) ? { type: "ip", value: name } : { type: "dns", value: name },
  );
  return issue(
    ca,
    `CN=${member.name}`,
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    names,
    now,
  );
}

/** etcd-pair's own client certificate (clientAuth only). */
export async function issueClient(ca: KeyPair, now: Date): Promise<KeyPair> {
  return issue(ca, "CN=etcd-pair", [x509.ExtendedKeyUsage.clientAuth], [], now);
}
