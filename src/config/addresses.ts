const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
/** A name whose last label is all digits is no host name (RFC 1123 2.1): it is meant as an IPv4 address. */
const NUMERIC_LAST_LABEL = /(^|\.)\d+$/;

export const ADDRESS_FORMS = "must be an IPv4/IPv6 address or a host name (no scheme, no port)";

/** RFC 5952's form (lowercase, no leading zeros, the longest run of zeros as ::), as URLs carry it. */
function canonicalIPv6(value: string): string | undefined {
  try {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** 127.000.000.001 → 127.0.0.1; undefined unless it is four decimal numbers 0-255. */
function canonicalIPv4(value: string): string | undefined {
  const parts = value.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join(".");
}

/**
 * Why `value` cannot be a node's address, or undefined when it can. Only one spelling of an IP address is taken:
 * etcd (Go) refuses IPv4 parts with leading zeros at its start, and it matches member URLs as text.
 */
export function addressProblem(value: string): string | undefined {
  if (value.includes(":")) {
    const [ip = "", zone] = value.split("%");
    const canonical = /^[0-9a-fA-F:.]+$/.test(ip) ? canonicalIPv6(ip) : undefined;
    if (canonical === undefined) return ADDRESS_FORMS;
    if (zone !== undefined) return `${value}: a zone (%...) cannot go into etcd's URLs; use a global address`;
    return canonical === value ? undefined : `write this IPv6 address as ${canonical} (its canonical form)`;
  }
  if (canonicalIPv4(value) === value) return undefined;
  if (NUMERIC_LAST_LABEL.test(value)) {
    const canonical = canonicalIPv4(value);
    return canonical
      ? `write this IPv4 address as ${canonical} (no leading zeros)`
      : "is not an IPv4 address: four decimal numbers 0-255, e.g. 10.0.0.11 (and no host name ends in digits)";
  }
  return HOSTNAME.test(value) ? undefined : ADDRESS_FORMS;
}
