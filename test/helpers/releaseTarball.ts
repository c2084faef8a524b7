import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ReleaseTarball {
  file: string;
  sha256: string;
  version: string;
}

/**
 * An etcd release tarball in the official layout (etcd-vX.Y.Z-linux-amd64/{etcd,etcdctl,etcdutl}), built
 * from binaries on this machine: the test hosts have no route to any download. Cached in `outDir`.
 */
export async function buildReleaseTarball(binDir: string, outDir: string): Promise<ReleaseTarball> {
  const { stdout } = await run(path.join(binDir, "etcd"), ["--version"]);
  const version = /etcd Version: (\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  if (!version) throw new Error(`no version in the output of ${binDir}/etcd --version`);
  const name = `etcd-v${version}-linux-amd64`;
  const file = path.join(outDir, `${name}.tar.gz`);
  if (!(await stat(file).catch(() => undefined))) {
    const work = await mkdtemp(path.join(os.tmpdir(), "etcd-release-"));
    try {
      await mkdir(path.join(work, name));
      for (const tool of ["etcd", "etcdctl", "etcdutl"]) {
        await copyFile(path.join(binDir, tool), path.join(work, name, tool)).catch((err: NodeJS.ErrnoException) => {
          if (tool !== "etcdutl" || err.code !== "ENOENT") throw err;
        });
      }
      await mkdir(outDir, { recursive: true });
      await run("tar", ["-czf", `${file}.tmp`, "-C", work, name]);
      await rename(`${file}.tmp`, file);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const sha256 = createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
  return { file, sha256, version };
}
