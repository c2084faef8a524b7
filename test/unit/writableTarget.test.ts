import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/runtime/errors.js";
import { makeDirs, refuseUnwritableDir, refuseUnwritableFile } from "../../src/runtime/writableTarget.js";
import { scratchDir } from "../helpers/scratch.js";

describe("file-writing targets are tried at once, and the try leaves nothing behind", () => {
  it("makeDirs fails under /proc instead of looping (Node's recursive mkdir spins there)", async () => {
    await expect(makeDirs("/proc/etcd-pair-test/a/b")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("makeDirs makes every missing level", async () => {
    const dir = await scratchDir("targets");
    await makeDirs(path.join(dir, "a", "b", "c"));
    expect(await readdir(path.join(dir, "a", "b"))).toEqual(["c"]);
  });

  it.each([
    ["/proc/etcd-pair-review", "the file system there takes no new entries"],
    ["/dev/null/review", "/dev/null is not a directory"],
    ["/sys/review", "cannot write under /sys/review"],
  ])("refuses the dir %s", async (dir, message) => {
    const refused = refuseUnwritableDir(dir, "--write-files", "hint");
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toThrow(message);
  });

  it("takes a dir that exists or can be made, and leaves no trace of trying", async () => {
    const dir = await scratchDir("targets");
    await refuseUnwritableDir(dir, "--write-files", "hint");
    await refuseUnwritableDir(path.join(dir, "new", "deeper"), "--write-files", "hint");
    await refuseUnwritableFile(path.join(dir, "etcd-pair.yaml"), "init");
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a file target that is a dir, lies in a missing dir, or under a file", async () => {
    const dir = await scratchDir("targets");
    await writeFile(path.join(dir, "file"), "x\n");
    await expect(refuseUnwritableFile(dir, "init")).rejects.toThrow("is a directory");
    await expect(refuseUnwritableFile(path.join(dir, "no", "x.yaml"), "init")).rejects.toThrow("does not exist");
    await expect(refuseUnwritableFile(path.join(dir, "file", "x.yaml"), "init")).rejects.toThrow(
      "file is not a directory",
    );
    expect(await readdir(dir)).toEqual(["file"]);
  });
});
