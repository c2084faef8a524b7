import { X509Certificate } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ensurePki } from "../../src/runtime/controllerPki.js";
import { scratchDir } from "../helpers/scratch.js";
import { freshHost } from "../helpers/observations.js";
import { DEMO_PAIR } from "../helpers/specs.js";
import { createCa, issueClient, issueMember, LEAF_DAYS } from "../../src/pki/certificates.js";
import { certificateFacts } from "../../src/pki/facts.js";
import { EXPIRY_WARNING_DAYS, judgeTls } from "../../src/plan/tlsState.js";

const NOW = new Date("2026-11-27T12:00:00Z");
const DAY = 24 * 3600 * 1000;

describe("certificates", () => {
  it("a CA only for etcd: self-signed, may sign, ten years, ECDSA P-256", async () => {
    const ca = await createCa("demo", NOW);
    const cert = new X509Certificate(ca.certPem);
    expect(cert.subject).toBe("CN=etcd-pair demo etcd CA");
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: "prime256v1" });
    expect(new Date(cert.validTo).getTime() - NOW.getTime()).toBeGreaterThan(3649 * DAY);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("a member certificate: server and client auth, its address and host name, signed by the CA", async () => {
    const ca = await createCa("demo", NOW);
    const member = await issueMember(ca, { name: "alpha", address: "10.0.0.1", hostname: "alpha.lan" }, NOW);
    const cert = new X509Certificate(member.certPem);
    expect(cert.subject).toBe("CN=alpha");
    expect(cert.subjectAltName).toBe("IP Address:10.0.0.1, DNS:alpha.lan");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(cert.ca).toBe(false);
    const facts = certificateFacts(member.certPem);
    expect(facts.issuedBy(ca.certPem)).toBe(true);
    expect(facts.issuedBy((await createCa("other", NOW)).certPem)).toBe(false);
    expect(facts.names).toEqual(["10.0.0.1", "alpha.lan"]);
    expect(Math.round((facts.notAfter.getTime() - NOW.getTime()) / DAY)).toBe(LEAF_DAYS);
  });

  it("a DNS address and IPv6 addresses get the right SAN kinds", async () => {
    const ca = await createCa("demo", NOW);
    const dns = new X509Certificate((await issueMember(ca, { name: "a", address: "etcd-a.example.net" }, NOW)).certPem);
    expect(dns.subjectAltName).toBe("DNS:etcd-a.example.net");
    const v6 = new X509Certificate((await issueMember(ca, { name: "a", address: "fd00::1" }, NOW)).certPem);
    expect(v6.subjectAltName).toBe("IP Address:FD00:0:0:0:0:0:0:1");
  });

  it("etcd-pair's client certificate has client auth only and no names", async () => {
    const ca = await createCa("demo", NOW);
    const cert = new X509Certificate((await issueClient(ca, NOW)).certPem);
    expect([cert.subject, cert.keyUsage, cert.subjectAltName]).toEqual([
      "CN=etcd-pair",
      ["1.3.6.1.5.5.7.3.2"],
      undefined,
    ]);
  });
});

describe("TLS state in status", () => {
  const cert = (label: string, days: number) => ({
    label,
    file: `/pki/${label}.crt`,
    notAfter: new Date(NOW.getTime() + days * DAY),
  });

  it("a leaf never outlives its CA", async () => {
    // A CA made 3550 days ago ends in 100 days: a member certificate issued now ends with it, not in 365.
    const ca = await createCa("demo", new Date(NOW.getTime() - 3550 * DAY));
    const caEnd = new Date(new X509Certificate(ca.certPem).validTo);
    const member = await issueMember(ca, { name: "alpha", address: "127.0.0.1" }, NOW);
    expect(new Date(new X509Certificate(member.certPem).validTo)).toEqual(caEnd);
    const young = await issueClient(await createCa("demo", NOW), NOW);
    const days = (new Date(new X509Certificate(young.certPem).validTo).getTime() - NOW.getTime()) / DAY;
    expect(Math.round(days)).toBe(LEAF_DAYS);
  });

  it("a certificate is checked against its key: a crash between writing the two is issued again", async () => {
    const ca = await createCa("demo", NOW);
    const one = await issueClient(ca, NOW);
    const other = await issueClient(ca, NOW);
    expect(certificateFacts(one.certPem).matchesKey(one.keyPem)).toBe(true);
    expect(certificateFacts(one.certPem).matchesKey(other.keyPem)).toBe(false);
    expect(certificateFacts(one.certPem).matchesKey("not a key")).toBe(false);

    const dir = path.join(await scratchDir("pki"), "pki");
    await mkdir(dir, { mode: 0o755 });
    const pair = { ...DEMO_PAIR, tls: { dir } };
    const observed = [freshHost("alpha"), freshHost("beta")];
    await ensurePki(pair, observed, { write: true, now: NOW });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    // The client's key replaced, its certificate not (a crash between the two writes).
    await writeFile(path.join(dir, "client.key"), other.keyPem);
    await ensurePki(pair, observed, { write: true, now: NOW });
    const cert = await readFile(path.join(dir, "client.crt"), "utf8");
    const key = await readFile(path.join(dir, "client.key"), "utf8");
    expect(certificateFacts(cert).matchesKey(key)).toBe(true);
    expect(key).not.toBe(other.keyPem);
  });

  it("an expiring CA is rotated, not renewed by up", () => {
    const soon = judgeTls([cert("CA", 10), cert("alpha", 10)], NOW);
    expect(soon.warnings).toEqual([
      expect.stringMatching(/^certificate CA expires in 10 days .*: rotate the CA: up never replaces it/),
      expect.stringMatching(/^certificate alpha expires in 10 days .*: run 'etcd-pair up'/),
    ]);
  });

  it("plain text is a warning, never silent", () => {
    expect(judgeTls(undefined, NOW)).toMatchObject({
      mode: "plaintext",
      problems: [],
      warnings: [expect.stringContaining("tls: false")],
    });
  });

  it("days left per certificate; a warning inside 30 days; expired or missing makes the pair unhealthy", () => {
    const fine = judgeTls([cert("CA", 3000), cert("alpha", 200)], NOW);
    expect(fine).toMatchObject({ mode: "mutual", problems: [], warnings: [] });
    expect(fine.certificates.map((c) => c.daysLeft)).toEqual([3000, 200]);
    const soon = judgeTls([cert("alpha", EXPIRY_WARNING_DAYS - 1)], NOW);
    expect(soon.warnings).toEqual([expect.stringContaining("certificate alpha expires in 29 days")]);
    const expired = judgeTls([cert("beta", -1), { label: "client", file: "/pki/client.crt" }], NOW);
    expect(expired.problems).toEqual([
      expect.stringContaining("certificate beta expired on"),
      "certificate client (/pki/client.crt) is missing: run 'etcd-pair up' to issue it",
    ]);
  });
});
