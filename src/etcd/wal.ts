import { createHash } from "node:crypto";

/**
 * The identity a data dir's WAL records. Every WAL file starts with a CRC record, then a metadata record
 * (etcdserverpb.Metadata: NodeID, ClusterID), which etcd writes again at the head of each new file. A record is an
 * 8-byte little-endian length (low 56 bits; the top byte flags padding, its low 3 bits the padding's size), then a
 * walpb.Record: field 1 type (1 = metadata), field 2 crc, field 3 data.
 */
export interface WalIdentity {
  memberId: string;
  clusterId: string;
}

const METADATA_TYPE = 1n;

function hex16(value: bigint): string {
  return value.toString(16).padStart(16, "0");
}

/** Protobuf fields of one message: varints as bigint, length-delimited fields as bytes. Stops at what it cannot read. */
function fields(bytes: Uint8Array): Map<number, bigint | Uint8Array> {
  const result = new Map<number, bigint | Uint8Array>();
  let at = 0;
  const varint = (): bigint | undefined => {
    let value = 0n;
    for (let shift = 0n; at < bytes.length && shift < 70n; shift += 7n) {
      const byte = bytes[at++] ?? 0;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
    return undefined;
  };
  while (at < bytes.length) {
    const key = varint();
    if (key === undefined) break;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const value = varint();
      if (value === undefined) break;
      result.set(field, value);
    } else if (wire === 2) {
      const length = varint();
      if (length === undefined || at + Number(length) > bytes.length) break;
      result.set(field, bytes.subarray(at, at + Number(length)));
      at += Number(length);
    } else {
      break;
    }
  }
  return result;
}

/** The head of a WAL file as `od -An -v -tx1` prints it -> its member and cluster IDs, when it holds them. */
export function parseWalHead(odOutput: string): WalIdentity | undefined {
  const bytes = Uint8Array.from(
    odOutput
      .split(/\s+/)
      .filter((b) => /^[0-9a-f]{2}$/i.test(b))
      .map((b) => parseInt(b, 16)),
  );
  let at = 0;
  for (let record = 0; record < 3 && at + 8 <= bytes.length; record++) {
    const frame = bytes.subarray(at, at + 8);
    const length = frame.subarray(0, 7).reduceRight((value, byte) => value * 256 + byte, 0);
    const flags = frame[7] ?? 0;
    const padding = flags & 0x80 ? flags & 0x07 : 0;
    if (length === 0 || at + 8 + length > bytes.length) return undefined;
    const body = fields(bytes.subarray(at + 8, at + 8 + length));
    const data = body.get(3);
    if (body.get(1) === METADATA_TYPE && data instanceof Uint8Array) {
      const metadata = fields(data);
      const memberId = metadata.get(1);
      const clusterId = metadata.get(2);
      if (typeof memberId !== "bigint" || typeof clusterId !== "bigint") return undefined;
      return { memberId: hex16(memberId), clusterId: hex16(clusterId) };
    }
    at += 8 + length + padding;
  }
  return undefined;
}

function sha1Prefix(data: string | Uint8Array): Uint8Array {
  return createHash("sha1").update(data).digest().subarray(0, 8);
}

/**
 * The cluster ID etcd gives a one-member cluster bootstrapped (or restored from a snapshot) with this peer URL and
 * --initial-cluster-token: the member ID is the first 8 bytes of sha1(peer URLs + token), the cluster ID the first
 * 8 bytes of sha1 of the member IDs (etcd's membership.computeMemberId and RaftCluster.genID).
 */
export function bootstrapClusterId(peerUrl: string, token: string): string {
  return Buffer.from(sha1Prefix(sha1Prefix(`${peerUrl}${token}`))).toString("hex");
}
