import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  judgeHostKey,
  keyTypeOf,
  knownHostsLine,
  knownHostsName,
  parseKnownHosts,
} from "../../src/transport/knownHosts.js";

/** An ssh-ed25519 public key blob: string "ssh-ed25519", string key. */
function ed25519Blob(): Buffer {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const part = (b: Buffer) => Buffer.concat([lengthOf(b), b]);
  return Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]);
}

function lengthOf(b: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(b.length, 0);
  return out;
}

describe("known_hosts", () => {
  const key = ed25519Blob();
  const other = ed25519Blob();

  it("names hosts as OpenSSH does", () => {
    expect(knownHostsName("alpha.example", 22)).toBe("alpha.example");
    expect(knownHostsName("127.0.0.1", 2201)).toBe("[127.0.0.1]:2201");
  });

  it("matches, rejects a changed key, and says unknown for a host it has no line for", () => {
    const entries = parseKnownHosts(`# comment\n${knownHostsLine("[127.0.0.1]:2201", key)}`);
    expect(keyTypeOf(key)).toBe("ssh-ed25519");
    expect(judgeHostKey(entries, "[127.0.0.1]:2201", key)).toBe("match");
    expect(judgeHostKey(entries, "[127.0.0.1]:2201", other)).toBe("changed");
    expect(judgeHostKey(entries, "[127.0.0.1]:2202", key)).toBe("unknown");
  });

  it("reads hashed entries (HashKnownHosts yes) and comma-separated names", () => {
    const salt = Buffer.from("0123456789abcdef0123");
    const hash = createHmac("sha1", salt).update("beta.example").digest();
    const text = `|1|${salt.toString("base64")}|${hash.toString("base64")} ssh-ed25519 ${key.toString("base64")}\nalpha,10.0.0.1 ssh-ed25519 ${other.toString("base64")}\n`;
    const entries = parseKnownHosts(text);
    expect(judgeHostKey(entries, "beta.example", key)).toBe("match");
    expect(judgeHostKey(entries, "beta.example", other)).toBe("changed");
    expect(judgeHostKey(entries, "10.0.0.1", other)).toBe("match");
  });
});
