import { createHmac } from "node:crypto";
import { appendFile, readFile } from "node:fs/promises";
import type { ServerHostKeyAlgorithm } from "ssh2";

/**
 * known_hosts as OpenSSH's ssh reads it (hostfile.c): `@revoked` keys are refused whatever else lists them, host
 * names match case-insensitively (with `*`, `?` and `!` patterns, or hashed after lowercasing), and a host is
 * named `host` on port 22, `[host]:port` otherwise. Stricter than ssh, which only prefers a known host's key
 * types and calls a key of another type "changed": a known host is offered only its known key types, and a key of
 * another type is refused as unknown for that type, never recorded.
 */

/** One key line of an OpenSSH known_hosts file. */
export interface KnownKey {
  /** `@revoked` or `@cert-authority` in front of the line; a plain line has none. */
  marker?: "revoked" | "cert-authority";
  /** Comma-separated host patterns, e.g. `alpha,10.0.0.*,!10.0.0.9`. */
  patterns: string[];
  /** "|1|salt|hash" entries (HashKnownHosts yes). */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
}

const MARKERS: Record<string, KnownKey["marker"]> = { "@revoked": "revoked", "@cert-authority": "cert-authority" };
const SHA1_BYTES = 20;

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString();
}

function blobTypeOrUndefined(blob: Buffer): string | undefined {
  return blob.length >= 4 && blob.readUInt32BE(0) <= blob.length - 4 ? keyTypeOf(blob) : undefined;
}

/** One line, or undefined for a comment or a line OpenSSH would skip as invalid (never a looser reading). */
function parseLine(raw: string): KnownKey | undefined {
  const fields = raw.trim().split(/\s+/);
  if (!fields[0] || fields[0].startsWith("#")) return undefined;
  let marker: KnownKey["marker"];
  if (fields[0].startsWith("@")) {
    marker = MARKERS[fields[0]];
    if (!marker) return undefined;
    fields.shift();
  }
  const [hosts = "", keyType = "", encoded = ""] = fields;
  const key = Buffer.from(encoded, "base64");
  // A blob of another type than the line names is a corrupt line to OpenSSH: it matches nothing.
  if (!encoded || blobTypeOrUndefined(key) !== keyType) return undefined;
  const base = { ...(marker ? { marker } : {}), keyType, key };
  if (!hosts.startsWith("|")) return { ...base, patterns: hosts.split(",") };
  const [, magic, salt = "", hash = ""] = hosts.split("|");
  const hashed = { salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
  if (magic !== "1" || hashed.salt.length !== SHA1_BYTES || hashed.hash.length !== SHA1_BYTES) return undefined;
  return { ...base, patterns: [], hashed };
}

export function parseKnownHosts(text: string): KnownKey[] {
  return text.split("\n").flatMap((line) => parseLine(line) ?? []);
}

/** The name known_hosts files use for a host: `host` on port 22, `[host]:port` otherwise; lowercase, as ssh does. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's match_pattern: `*` is any run of characters, `?` any one; everything else, `[` too, is literal. */
function wildcardMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** OpenSSH's match_hostname: some pattern matches and no `!pattern` does, ignoring case. */
function matchesPatterns(name: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const entry of patterns) {
    const negated = entry.startsWith("!");
    if (!wildcardMatch(name, (negated ? entry.slice(1) : entry).toLowerCase())) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function matches(entry: KnownKey, name: string): boolean {
  if (entry.hashed) {
    const digest = createHmac("sha1", entry.hashed.salt).update(name).digest();
    return digest.equals(entry.hashed.hash);
  }
  return matchesPatterns(name, entry.patterns);
}

/** The lines for `name`; ssh hashes and compares the lowercased name. */
function linesFor(entries: readonly KnownKey[], name: string): KnownKey[] {
  const lower = name.toLowerCase();
  return entries.filter((entry) => matches(entry, lower));
}

/** The host's plain keys: what it is known by (`@cert-authority` keys sign certificates, which ssh2 cannot use). */
function plainKeysFor(entries: readonly KnownKey[], name: string): KnownKey[] {
  return linesFor(entries, name).filter((entry) => entry.marker === undefined);
}

/**
 * - match: a known key of the host;
 * - revoked: listed by an `@revoked` line for the host: refused, even if a plain line lists it too;
 * - changed: the host is known with another key of the same type (a reinstall, or a man in the middle);
 * - unknown-type: the host is known, but only by keys of other types;
 * - unknown: nothing is known of the host.
 */
export type HostKeyVerdict = "match" | "revoked" | "changed" | "unknown-type" | "unknown";

/** Compares the key a host presented with the known_hosts entries for its name. */
export function judgeHostKey(entries: readonly KnownKey[], name: string, presented: Buffer): HostKeyVerdict {
  const lines = linesFor(entries, name);
  if (lines.some((entry) => entry.marker === "revoked" && entry.key.equals(presented))) return "revoked";
  const known = lines.filter((entry) => entry.marker === undefined);
  if (known.some((entry) => entry.key.equals(presented))) return "match";
  if (known.length === 0) return "unknown";
  const type = keyTypeOf(presented);
  return known.some((entry) => entry.keyType === type) ? "changed" : "unknown-type";
}

/** The key types of the host's known keys, e.g. ["ssh-ed25519"]; none for an unknown host. */
export function knownKeyTypes(entries: readonly KnownKey[], name: string): string[] {
  return [...new Set(plainKeysFor(entries, name).map((entry) => entry.keyType))];
}

/** ssh2's default host key algorithms, in its order of preference, with the key type each is for. */
const HOST_KEY_ALGORITHMS: readonly (readonly [algorithm: ServerHostKeyAlgorithm, keyType: string])[] = [
  ["ssh-ed25519", "ssh-ed25519"],
  ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"],
  ["ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"],
  ["ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"],
  ["rsa-sha2-512", "ssh-rsa"],
  ["rsa-sha2-256", "ssh-rsa"],
  ["ssh-rsa", "ssh-rsa"],
];

/**
 * The host key algorithms to offer a host known by keys of `knownTypes` (ssh2's algorithms.serverHostKey): only
 * those, so the host must prove a key we know; empty when no known type is one ssh2 can negotiate.
 */
export function hostKeyAlgorithmsFor(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  return HOST_KEY_ALGORITHMS.filter(([, type]) => knownTypes.includes(type)).map(([algorithm]) => algorithm);
}

export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name.toLowerCase()} ${keyTypeOf(blob)} ${blob.toString("base64")}\n`;
}

/** Records a host's key; a last line without its newline gets one first, so the two lines stay two. */
export async function appendKnownHost(file: string, name: string, blob: Buffer): Promise<void> {
  const current = await readFile(file).catch(() => Buffer.alloc(0));
  const separator = current.length > 0 && current[current.length - 1] !== 0x0a ? "\n" : "";
  await appendFile(file, separator + knownHostsLine(name, blob), { mode: 0o600 });
}

/** What stops the connection for a verdict other than a match, and what to do about it. */
export function hostKeyRefusal(
  verdict: Exclude<HostKeyVerdict, "match">,
  name: string,
  file: string,
  presented: Buffer,
): string {
  const remove = `ssh-keygen -R '${name}' -f ${file}`;
  switch (verdict) {
    case "revoked":
      return `host key of ${name} is REVOKED (an @revoked line in ${file}): refused; a stolen key may be impersonating the host`;
    case "changed":
      return (
        `host key of ${name} CHANGED (it differs from ${file}): possible man-in-the-middle; ` +
        `if the host was reinstalled, remove its old line (${remove})`
      );
    case "unknown-type":
      return (
        `host key of ${name} is of type ${keyTypeOf(presented)}, for which ${file} lists no key of the host: refused, ` +
        `never recorded (the host is known by other keys); check the key and add it to ${file} by hand`
      );
    case "unknown":
      return `host key of ${name} is unknown (not in ${file}); check it and pass --accept-new-host-keys to record it`;
  }
}

/** A known host that offers none of the key types known_hosts has for it (ssh2: "no matching host key format"). */
export function hostKeyTypesNotOffered(name: string, file: string, knownTypes: readonly string[]): string {
  return (
    `${name} offers no host key of the types ${file} knows it by (${knownTypes.join(", ")}): refused; if its keys ` +
    `were replaced, check the new one and remove the old lines (ssh-keygen -R '${name}' -f ${file})`
  );
}

/** A host known only by key types ssh2 cannot negotiate (e.g. ssh-dss, security keys): nothing could be checked. */
export function hostKeyTypesUnusable(name: string, file: string, knownTypes: readonly string[]): string {
  return (
    `${file} knows ${name} only by key types etcd-pair cannot check (${knownTypes.join(", ")}): ` +
    `add its ssh-ed25519, ecdsa-sha2-nistp* or ssh-rsa key`
  );
}
