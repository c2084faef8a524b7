import { isLosslessNumber, parse } from "lossless-json";

/** etcd prints uint64 member and cluster IDs as bare JSON numbers; JSON.parse would round them. */
export function parseLossless(text: string): unknown {
  return parse(text);
}

/** A uint64 ID as etcdctl's table shows it, zero-padded to 16 hex digits. */
export function idToHex(value: unknown): string {
  const digits = isLosslessNumber(value)
    ? value.value
    : typeof value === "number"
      ? String(value)
      : String(value ?? "");
  if (!/^\d+$/.test(digits)) throw new Error(`not a uint64 ID: ${digits}`);
  return BigInt(digits).toString(16).padStart(16, "0");
}

export function toNumber(value: unknown): number {
  if (isLosslessNumber(value)) return Number(value.value);
  if (typeof value === "number") return value;
  return 0;
}

export function field(object: unknown, key: string): unknown {
  return object && typeof object === "object" ? (object as Record<string, unknown>)[key] : undefined;
}
