import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

/**
 * Every file and dir under `root`: path, size, content hash and mode (what a change would alter). Files named in
 * `logs` (relative to root) are listed by name only: a running etcd appends to its log on its own (a line per
 * client connection it sees, a probe's included).
 */
export async function fingerprint(root: string, logs: readonly string[] = []): Promise<string[]> {
  const entries: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir).catch(() => [])).sort()) {
      const full = path.join(dir, name);
      const info = await stat(full);
      if (info.isDirectory()) {
        entries.push(`${path.relative(root, full)}/ ${info.mode.toString(8)}`);
        await walk(full);
      } else if (logs.includes(path.relative(root, full))) {
        entries.push(`${path.relative(root, full)} (etcd's log)`);
      } else {
        const hash = createHash("sha256")
          .update(await readFile(full))
          .digest("hex")
          .slice(0, 16);
        entries.push(`${path.relative(root, full)} ${info.size} ${hash} ${info.mode.toString(8)}`);
      }
    }
  }
  await walk(root);
  return entries;
}
