import type { PairSpec } from "../config/resolve.js";
import type { LookCommand } from "./command.js";

export const configValidate: LookCommand<object, null, { file: string; pair: PairSpec }> = {
  path: ["config", "validate"],
  description: "validate the config file and print it with defaults applied",
  changesHosts: false,
  input: () => ({}),
  prepare: async () => null,
  run: async (ctx) => ({ file: await ctx.configFile(), pair: await ctx.pair() }),
  report: ({ file, pair }) => ({ json: pair, stdout: JSON.stringify(pair, null, 2), stderr: `${file}: valid` }),
};
