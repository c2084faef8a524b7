import { createHmac } from "node:crypto";

/** One key line of an OpenSSH known_hosts file. */
interface KnownKey {
  patterns: string[];
  /** "|1|salt|hash" entries (HashKnownHosts yes). */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("@")) continue;
    const [hosts = "", keyType = "", key = ""] = line.split(/\s+/);
    if (!key) continue;
    if (hosts.startsWith("|1|")) {
      const [, , salt = "", hash = ""] = hosts.split("|");
      keys.push({
        patterns: [],
        hashed: { salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") },
        keyType,
        key: Buffer.from(key, "base64"),
      });
    } else {
      keys.push({ patterns: hosts.split(","), keyType, key: Buffer.from(key, "base64") });
    }
  }
  return keys;
}

/** The name known_hosts files use for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(entry: KnownKey, name: string): boolean {
  if (entry.hashed) {
    const digest = createHmac("sha1", entry.hashed.salt).update(name).digest();
    return digest.equals(entry.hashed.hash);
  }
  return entry.patterns.includes(name);
}

export type HostKeyVerdict = "match" | "unknown" | "changed";

/** Compares the key a host presented with the known_hosts entries for its name. */
export function judgeHostKey(entries: readonly KnownKey[], name: string, presented: Buffer): HostKeyVerdict {
  const forHost = entries.filter((entry) => matches(entry, name));
  if (forHost.length === 0) return "unknown";
  return forHost.some((entry) => entry.key.equals(presented)) ? "match" : "changed";
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString();
}

export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOf(blob)} ${blob.toString("base64")}\n`;
}
