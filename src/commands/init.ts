import { access, writeFile } from "node:fs/promises";
import { STARTER_CONFIG } from "../config/starter.js";
import { DEFAULT_CONFIG } from "../runtime/configFile.js";
import type { LookCommand } from "./command.js";
import { UsageError } from "../runtime/errors.js";
import { refuseUnwritableFile } from "../runtime/writableTarget.js";

interface InitInput {
  file: string;
  force: boolean;
}

export const init: LookCommand<InitInput, null, { file: string }> = {
  path: ["init"],
  description: "write a commented starter config",
  arguments: [{ name: "[file]", description: "where to write it", default: DEFAULT_CONFIG }],
  options: [{ flags: "--force", description: "overwrite an existing file" }],
  changesHosts: false,
  input: ([file], options) => {
    if (file !== undefined && !file.trim()) throw new UsageError("init needs a file name", `e.g. ${DEFAULT_CONFIG}`);
    return { file: file || DEFAULT_CONFIG, force: options.force === true };
  },
  prepare: async (_ctx, input) => {
    // Tried before the question of overwriting: a directory or a missing one is never "exists already".
    await refuseUnwritableFile(input.file, "init");
    const exists = await access(input.file).then(
      () => true,
      () => false,
    );
    if (exists && !input.force) throw new UsageError(`${input.file} exists already`, "pass --force to overwrite it");
    return null;
  },
  run: async (_ctx, input) => {
    await writeFile(input.file, STARTER_CONFIG);
    return { file: input.file };
  },
  report: ({ file }) => ({
    json: { file },
    stderr: `wrote ${file}: edit it, then run 'etcd-pair plan' and 'etcd-pair up'`,
  }),
};
