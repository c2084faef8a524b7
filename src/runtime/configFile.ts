import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseConfig } from "../config/parse.js";
import { resolvePair, type PairSpec } from "../config/resolve.js";
import { UsageError } from "./errors.js";

export const CONFIG_ENV = "ETCD_PAIR_CONFIG";
export const DEFAULT_CONFIG = "etcd-pair.yaml";

/** --config, then $ETCD_PAIR_CONFIG, then ./etcd-pair.yaml. */
export function locateConfig(flag: string | undefined): string {
  return path.resolve(flag ?? (process.env[CONFIG_ENV] || DEFAULT_CONFIG));
}

export async function loadPair(flag: string | undefined): Promise<{ file: string; pair: PairSpec }> {
  const file = locateConfig(flag);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT" ? `no config at ${file}` : `cannot read ${file}: ${(err as Error).message}`,
      `pass --config FILE, set ${CONFIG_ENV}, or create one with 'etcd-pair init'`,
    );
  }
  const shown = path.relative(process.cwd(), file) || file;
  return { file, pair: resolvePair(parseConfig(text, shown), path.dirname(file)) };
}
