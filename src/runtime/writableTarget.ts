import { mkdir, open, rmdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "./errors.js";

/**
 * Where this machine writes files for the operator (--write-files, init, tls.dir): each target is tried before
 * anything else happens, so a bad one is refused at once (exit 2) instead of failing half-way. Trying is the
 * only honest test: root ignores modes, and read-only mounts and /proc say no only when asked.
 */

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Why the file system said no, in words. */
function reasonOf(err: unknown): string {
  switch (errnoOf(err)) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "read-only file system";
    case "ENOSPC":
      return "no space left on the device";
    case "ENOENT":
      // mkdir in a directory that exists says ENOENT on /proc and its kind: they take no new entries.
      return "the file system there takes no new entries";
    default:
      return (err as Error).message;
  }
}

/** The path itself if it exists, else its nearest ancestor that does. */
async function nearestExisting(target: string): Promise<{ at: string; isDir: boolean; exact: boolean }> {
  let at = path.resolve(target);
  for (;;) {
    try {
      const info = await stat(at);
      return { at, isDir: info.isDirectory(), exact: at === path.resolve(target) };
    } catch (err) {
      // ENOTDIR: a component on the way is a file; keep walking up to it.
      if (!["ENOENT", "ENOTDIR"].includes(errnoOf(err) ?? "") || at === path.dirname(at)) throw err;
      at = path.dirname(at);
    }
  }
}

/** Creates and removes a file in dir: proves that files can be written there. */
async function tryWriteIn(dir: string): Promise<void> {
  const probe = path.join(dir, `.etcd-pair-probe-${process.pid}`);
  const handle = await open(probe, "wx");
  await handle.close();
  await unlink(probe);
}

/**
 * Refuses (UsageError) unless `dir` exists as a writable directory or can be created; leaves nothing behind.
 * `what` names the option, e.g. "--write-files".
 */
export async function refuseUnwritableDir(dir: string, what: string, hint: string): Promise<void> {
  const found = await nearestExisting(dir);
  if (!found.isDir) {
    throw new UsageError(`${what}: cannot write under ${dir}: ${found.at} is not a directory`, hint);
  }
  try {
    if (found.exact) {
      await tryWriteIn(dir);
    } else {
      // The first missing level, made and removed again: the rest is made inside it, on the same file system.
      const first = path.join(found.at, path.relative(found.at, path.resolve(dir)).split(path.sep)[0] ?? "");
      await mkdir(first);
      await rmdir(first);
    }
  } catch (err) {
    throw new UsageError(`${what}: cannot write under ${dir}: ${reasonOf(err)}`, hint);
  }
}

/** Refuses (UsageError) unless `file` can be written: its directory exists and takes files, and it is no dir. */
export async function refuseUnwritableFile(file: string, what: string): Promise<void> {
  const found = await nearestExisting(file);
  const dir = path.dirname(path.resolve(file));
  if (found.exact && found.isDir) {
    throw new UsageError(`${what}: ${file} is a directory`, "name a file (in it, or elsewhere)");
  }
  if (!found.exact && !found.isDir) {
    throw new UsageError(`${what}: cannot write ${file}: ${found.at} is not a directory`, "name another file");
  }
  if (!found.exact && found.at !== dir) {
    throw new UsageError(
      `${what}: the directory ${dir} does not exist`,
      "create it first, or name a file in another one",
    );
  }
  try {
    // An existing file is opened for writing (and left as it is); else a new file is tried next to it.
    if (found.exact) await (await open(file, "r+")).close();
    else await tryWriteIn(dir);
  } catch (err) {
    throw new UsageError(`${what}: cannot write ${file}: ${reasonOf(err)}`, "name a file in a directory you can write");
  }
}

/**
 * mkdir -p that fails instead of looping: Node's recursive mkdir spins forever under /proc (it retries on the
 * ENOENT such file systems answer). Creates one level at a time.
 */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const found = await nearestExisting(dir);
  if (found.exact) return;
  let at = found.at;
  for (const part of path.relative(found.at, path.resolve(dir)).split(path.sep)) {
    at = path.join(at, part);
    await mkdir(at, mode === undefined ? {} : { mode });
  }
}
