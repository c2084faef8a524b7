import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueClient, issueMember } from "../../src/pki/certificates.js";
import { certificateFacts } from "../../src/pki/facts.js";
import { ETCD_BUILDS, requireBuild, PRIMARY_TEST_BUILDS } from "../helpers/etcdBinaries.js";
import { httpsGet, type ClientTls } from "../helpers/etcdHttp.js";
import { TestPair } from "../helpers/pair.js";
import { readAll, Writer } from "../helpers/writer.js";

describe.each(PRIMARY_TEST_BUILDS)("mutual TLS by default on etcd $series", (build) => {
  let pair: TestPair;
  let tls: ClientTls;
  /** A client certificate and a member certificate from a CA the pair never saw. */
  let stranger: { client: ClientTls; member: ClientTls };

  beforeAll(async () => {
    requireBuild(build);
    pair = await TestPair.create(build.binDir);
    expect((await pair.run(["up"])).code).toBe(0);
    tls = await pair.clientTls();
    const now = new Date();
    const otherCa = await createCa("stranger", now);
    const client = await issueClient(otherCa, now);
    const member = await issueMember(otherCa, { name: "gamma", address: "127.0.0.1" }, now);
    stranger = {
      client: { ca: tls.ca, cert: client.certPem, key: client.keyPem },
      member: { ca: tls.ca, cert: member.certPem, key: member.keyPem },
    };
  });
  afterAll(async () => {
    await pair?.cleanup();
  });

  it("clients: etcd-pair's certificate is accepted; none, or one from another CA, is refused", async () => {
    expect(await httpsGet(`${pair.url("alpha")}/version`, tls)).toBe(200);
    await expect(httpsGet(`${pair.url("alpha")}/version`, { ca: tls.ca })).rejects.toThrow();
    await expect(httpsGet(`${pair.url("alpha")}/version`, stranger.client)).rejects.toThrow();
  });

  it("peers: only the peer's own certificate is accepted on the peer port; any other, even of the pair's CA, refused", async () => {
    const peerPort = `https://127.0.0.1:${pair.ports.alpha[1]}/members`;
    const beta = await pair.memberTls("beta");
    expect(await httpsGet(peerPort, beta)).toBe(200);
    await expect(httpsGet(peerPort, stranger.member)).rejects.toThrow();
    await expect(httpsGet(peerPort, { ca: tls.ca })).rejects.toThrow();
    // The pair's CA signed these, but none is beta's: etcd-pair's client certificate, alpha's own, a third name.
    const pki = (file: string) => readFile(path.join(pair.dir, "pki", file), "utf8");
    const gamma = await issueMember(
      { certPem: await pki("ca.crt"), keyPem: await pki("ca.key") },
      { name: "gamma", address: "127.0.0.1" },
      new Date(),
    );
    for (const other of [tls, await pair.memberTls("alpha"), { ca: tls.ca, cert: gamma.certPem, key: gamma.keyPem }]) {
      await expect(httpsGet(peerPort, other)).rejects.toThrow();
    }
  });

  it("TLS below 1.2 is refused", async () => {
    await expect(httpsGet(`${pair.url("alpha")}/version`, { ...tls, maxVersion: "TLSv1.1" })).rejects.toThrow();
    expect(await httpsGet(`${pair.url("alpha")}/version`, { ...tls, maxVersion: "TLSv1.2" })).toBe(200);
  });

  it("audit passes on the pair up made, and fails (exit 3) on a weakened one", async () => {
    const audit = await pair.run(["audit", "--json"]);
    const report = JSON.parse(audit.stdout) as {
      passed: boolean;
      nodes: { checks: { id: string; result: string }[] }[];
    };
    expect(report.nodes.flatMap((n) => n.checks.filter((c) => c.result === "fail"))).toEqual([]);
    expect(audit.code).toBe(0);
    const key = path.join(pair.nodeDir("beta"), "pki", "member.key");
    await chmod(key, 0o644);
    const weakened = await pair.run(["audit"]).finally(() => chmod(key, 0o600));
    expect(weakened.code).toBe(3);
    expect(weakened.stdout).toMatch(/beta\s+member-key\s+FAIL\s+member key is 0600: .*member\.key: 644/);
    expect(weakened.stdout).toContain("audit FAILED");
  });

  it("certs renew: new member and client certificates, rolled out learner first, no acknowledged write lost", async () => {
    const before = await pair.memberTls("alpha");
    const writer = new Writer([pair.url("alpha")], "/renew/", 2, tls);
    await writer.waitFor(50);
    const renew = await pair.run(["certs", "renew", "--json"]);
    await writer.waitFor(writer.acked.length + 50);
    const acked = await writer.stop();
    expect(renew.code).toBe(0);
    const order = [...renew.stderr.matchAll(/restart etcd on (\w+) with its new certificate/g)].map((m) => m[1]);
    expect(order).toEqual(["beta", "alpha"]);
    expect((await pair.memberTls("alpha")).cert).not.toBe(before.cert);
    tls = await pair.clientTls();
    const data = await readAll(pair.url("beta"), "/renew/", tls);
    expect(acked.filter((w) => data.get(w.key) !== w.value)).toEqual([]);
    expect((await pair.run(["check"])).code).toBe(0);
    // The old client certificate is from the same CA: still accepted (renewal is no revocation).
    expect(await httpsGet(`${pair.url("alpha")}/version`, before)).toBe(200);
    console.log(
      `etcd ${build.series} certs renew: ${acked.length} writes, 0 lost, longest gap ${writer.longestGapMs()} ms`,
    );
  });

  it("the documented CA rotation: bundle with the new CA, sign with it, drop the old one; the pair stays healthy", async () => {
    const pki = (file: string) => path.join(pair.dir, "pki", file);
    const old = { certPem: await readFile(pki("ca.crt"), "utf8"), keyPem: await readFile(pki("ca.key"), "utf8") };
    const oldClient = await pair.clientTls();
    const fresh = await createCa("test-next", new Date());
    const renew = async () => {
      const result = await pair.run(["certs", "renew"]);
      expect(result.stderr).not.toContain("FAIL");
      expect(result.code).toBe(0);
      expect((await pair.run(["check"])).code).toBe(0);
    };
    // 1: both members trust both CAs; certificates still from the old one.
    await writeFile(pki("ca.crt"), old.certPem + fresh.certPem);
    await renew();
    // 2: the new CA signs (first in the file); the members still trust the old one too.
    await writeFile(pki("ca.crt"), fresh.certPem + old.certPem);
    await writeFile(pki("ca.key"), fresh.keyPem, { mode: 0o600 });
    await renew();
    expect(certificateFacts(await readFile(pki("alpha.crt"), "utf8")).issuedBy(fresh.certPem)).toBe(true);
    // 3: only the new CA is trusted: a client certificate of the old CA is refused from now on.
    await writeFile(pki("ca.crt"), fresh.certPem);
    await renew();
    tls = await pair.clientTls();
    expect(await httpsGet(`${pair.url("alpha")}/version`, tls)).toBe(200);
    await expect(httpsGet(`${pair.url("alpha")}/version`, { ...oldClient, ca: tls.ca })).rejects.toThrow();
  });

  it("status shows each certificate's expiry", async () => {
    const status = JSON.parse((await pair.run(["status", "--json"])).stdout) as {
      tls: { mode: string; certificates: { label: string; daysLeft: number }[] };
    };
    expect(status.tls.mode).toBe("mutual");
    expect(status.tls.certificates.map((c) => [c.label, c.daysLeft])).toEqual([
      ["CA", 3649],
      ["alpha", 364],
      ["beta", 364],
      ["client (etcd-pair)", 364],
    ]);
  });
});

describe("plain text only by tls: false", () => {
  let pair: TestPair;
  const build = ETCD_BUILDS[0];

  afterAll(async () => {
    await pair?.cleanup();
  });

  it("up and status warn that the pair runs in plain text", async () => {
    if (!build) throw new Error("no etcd build");
    requireBuild(build);
    pair = await TestPair.create(build.binDir, { tls: false });
    const up = await pair.run(["up"]);
    expect(up.code).toBe(0);
    expect(up.stderr).toContain("the pair runs in plain text (tls: false)");
    const status = await pair.run(["status"]);
    expect(status.code).toBe(0);
    expect(status.stderr).toContain("the pair runs in plain text (tls: false)");
    expect(status.stdout).toContain("TLS: off (plain text)");
  });
});
