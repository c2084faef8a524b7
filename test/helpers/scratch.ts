import { mkdtempSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const created: string[] = [];

/** A fresh temp dir named etcd-pair-<purpose>-*, removed after the test file (test/setup/scratch.ts). */
export async function scratchDir(purpose: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `etcd-pair-${purpose}-`));
  created.push(dir);
  return dir;
}

/** scratchDir for module-level setup, where no await is possible. */
export function scratchDirSync(purpose: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `etcd-pair-${purpose}-`));
  created.push(dir);
  return dir;
}

/** Removes one dir now (an etcd data dir holds 64 MiB WAL segments: tests must not pile them up). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function removeScratchDirs(): Promise<void> {
  await Promise.all(created.splice(0).map(removeDir));
}
