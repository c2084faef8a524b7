import { randomBytes } from "node:crypto";

/**
 * A cluster token unique to this generation: `<cluster>-<unix seconds>-<random hex>`. The seconds order
 * generations, so a start script can tell a newer generation on its peer from an older one.
 */
export function newClusterToken(cluster: string, now = new Date()): string {
  return `${cluster}-${Math.floor(now.getTime() / 1000)}-${randomBytes(4).toString("hex")}`;
}

export function newCanaryValue(): string {
  return `${new Date().toISOString()}-${randomBytes(4).toString("hex")}`;
}
