import { statSync } from "node:fs";
import { open } from "node:fs/promises";
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

/** Why `dir` cannot be a directory on this machine: it exists as something else, or a file lies on its way. */
export function notADirectory(dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      if (statSync(at).isDirectory()) return undefined;
      return at === dir ? `${dir} is not a directory` : `${dir} cannot be made: ${at} is not a directory`;
    } catch {
      if (at === path.dirname(at)) return undefined;
    }
  }
}

/** A config is a few KiB: more is not one (or is /dev/zero), and reading on would only fill the memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The config's text, at most MAX_CONFIG_BYTES of it; a pipe (-c <(...)) is fine, a directory is not. */
async function readConfigText(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONFIG_BYTES) throw Object.assign(new Error("is larger than 1 MiB"), { code: "EFBIG" });
    }
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    await handle.close();
  }
}

function unreadable(file: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = `pass --config FILE, set ${CONFIG_ENV}, or create one with 'etcd-pair init'`;
  if (code === "ENOENT") return new UsageError(`no config at ${file}`, hint);
  if (code === "EISDIR") return new UsageError(`the config ${file} is a directory`, `name the file in it: ${hint}`);
  if (code === "EFBIG") return new UsageError(`the config ${file} is larger than 1 MiB: not a config`, hint);
  return new UsageError(`cannot read ${file}: ${(err as Error).message}`, hint);
}

export async function loadPair(flag: string | undefined): Promise<{ file: string; pair: PairSpec }> {
  if (flag !== undefined && !flag.trim()) throw new UsageError("--config needs a file name", "e.g. -c etcd-pair.yaml");
  const file = locateConfig(flag);
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (err) {
    throw unreadable(file, err);
  }
  const shown = path.relative(process.cwd(), file) || file;
  const configDir = path.dirname(file);
  return { file, pair: resolvePair(parseConfig(text, shown, { configDir, notADirectory }), configDir) };
}
