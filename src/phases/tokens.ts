import { randomBytes } from "node:crypto";

/** A cluster token unique to this generation: cluster name plus random hex. */
export function newClusterToken(cluster: string): string {
  return `${cluster}-${randomBytes(6).toString("hex")}`;
}

export function newCanaryValue(): string {
  return `${new Date().toISOString()}-${randomBytes(4).toString("hex")}`;
}
