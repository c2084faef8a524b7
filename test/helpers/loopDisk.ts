import { spawnSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";

/** Runs a system tool; throws with its stderr when it fails. */
function run(tool: string, args: readonly string[]): string {
  const result = spawnSync(tool, args, { encoding: "utf8" });
  if (result.error) throw new Error(`${tool}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${tool} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** xfs_io (xfsprogs; scripts/setup.sh installs it) sends FS_IOC_SHUTDOWN; a missing tool fails the test. */
export function requirePowerLossTools(): void {
  for (const tool of ["xfs_io", "losetup", "mkfs.ext4"]) {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
    if (found.status !== 0) throw new Error(`${tool} is missing: run ./scripts/setup.sh (it installs xfsprogs)`);
  }
}

/**
 * An ext4 file system in an image file on a loop device, mounted on a dir: a disk of its own whose page cache
 * can be lost. `powerLoss` does what fstests' godown does: FS_IOC_SHUTDOWN with the no-log-flush flag (xfs_io's
 * `shutdown` without -f), so dirty pages and the journal's uncommitted transactions are dropped, not written;
 * then the file system is unmounted and mounted again, and ext4 replays its journal: what is left is what had
 * reached the disk (fsync'ed, or written back by the kernel before). Everything it set up is undone by `release`,
 * by the loop device name it recorded.
 */
export class LoopDisk {
  private mounted = false;
  private device: string | undefined;

  private constructor(
    readonly image: string,
    readonly mountpoint: string,
    private readonly options: readonly string[],
  ) {}

  /**
   * A sparse image of `sizeMb`, formatted, attached and mounted on `mountpoint` (created if missing), with ext4's
   * default mount options unless `options` (mount -o) says otherwise.
   */
  static async create(image: string, mountpoint: string, sizeMb: number, options: string[] = []): Promise<LoopDisk> {
    const disk = new LoopDisk(image, mountpoint, options);
    run("truncate", ["-s", `${sizeMb}M`, image]);
    run("mkfs.ext4", ["-q", "-F", image]);
    disk.device = run("losetup", ["--find", "--show", image]).trim();
    await mkdir(mountpoint, { recursive: true });
    disk.mount();
    return disk;
  }

  mount(): void {
    if (!this.device) throw new Error(`${this.image} is not attached`);
    run("mount", [...(this.options.length ? ["-o", this.options.join(",")] : []), this.device, this.mountpoint]);
    this.mounted = true;
  }

  /** The power goes: from now on nothing reaches the disk, and what was not synced never will. */
  cutPower(): void {
    run("xfs_io", ["-x", "-c", "shutdown", this.mountpoint]);
  }

  /**
   * The power comes back: unmount the shut-down file system and mount it again (ext4 replays its journal). Every
   * process that had a file open on it must be gone first.
   */
  powerOn(): void {
    run("umount", [this.mountpoint]);
    this.mounted = false;
    // On a loop device of its own: a mount of the same device can get the shut-down file system back (every open
    // fails with EIO) while the kernel still holds it (seen on etcd 3.7.1 right after its kill).
    if (this.device) run("losetup", ["--detach", this.device]);
    this.device = run("losetup", ["--find", "--show", this.image]).trim();
    this.mount();
  }

  /** Unmounts, detaches the loop device, removes the image. */
  async release(): Promise<void> {
    if (this.mounted) {
      run("umount", [this.mountpoint]);
      this.mounted = false;
    }
    if (this.device) {
      run("losetup", ["--detach", this.device]);
      this.device = undefined;
    }
    await rm(this.image, { force: true });
  }
}
