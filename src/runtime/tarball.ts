import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { EtcdInstall } from "../config/resolve.js";
import type { LocalTarball } from "../plan/install.js";
import { InstallSourceError } from "./errors.js";

const DOWNLOAD_TIMEOUT_MS = 300_000;

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function downloadCache(): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return path.join(base, "etcd-pair", "downloads");
}

/** The URL's tarball in the controller's cache, downloaded once; its sha256 is checked before it is kept. */
async function downloaded(url: string, sha256: string, fileName: string, fetchIt: boolean): Promise<string> {
  const file = path.join(downloadCache(), sha256, fileName);
  const cached = await sha256OfFile(file).catch(() => undefined);
  if (cached === sha256 || !fetchIt) return file;
  let body: Uint8Array;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    body = new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    throw new InstallSourceError(
      `cannot download ${url}: ${(err as Error).message}`,
      "check the URL, or download the tarball yourself and set etcd.install.tarball.file",
    );
  }
  const actual = createHash("sha256").update(body).digest("hex");
  if (actual !== sha256) {
    throw new InstallSourceError(
      `${url} has sha256 ${actual}, but etcd.install.tarball.sha256 is ${sha256}`,
      "compare with the SHA256SUMS published with the release and fix the config (nothing was kept)",
    );
  }
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, body);
  await rename(temp, file).catch(async (err: unknown) => {
    await rm(temp, { force: true });
    throw err;
  });
  return file;
}

/**
 * The controller's copy of the release tarball that `install: tarball` uploads, checked against the
 * config's sha256 (a plan that only prints may skip the download). undefined for other install kinds.
 */
export async function controllerTarball(
  install: EtcdInstall,
  options: { fetch: boolean },
): Promise<LocalTarball | undefined> {
  if (install.kind !== "tarball") return undefined;
  const { sha256, fileName } = install;
  if ("url" in install.source) {
    return { path: await downloaded(install.source.url, sha256, fileName, options.fetch), sha256, fileName };
  }
  const file = install.source.file;
  const actual = await sha256OfFile(file).catch((err: Error) => {
    throw new InstallSourceError(
      `cannot read ${file}: ${err.message}`,
      "etcd.install.tarball.file is relative to the config file",
    );
  });
  if (actual !== sha256) {
    throw new InstallSourceError(
      `${file} has sha256 ${actual}, but etcd.install.tarball.sha256 is ${sha256}`,
      "compare with the SHA256SUMS published with the release and fix the config",
    );
  }
  return { path: file, sha256, fileName };
}
