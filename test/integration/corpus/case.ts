/**
 * One case of the bad-input corpus (corpus.test.ts): config fields, flags, hosts, binaries and data that must each
 * stop etcd-pair with a message naming what is wrong and where, the right exit code, and no change on any host.
 */
export interface Case {
  name: string;
  /** The config text (GOOD edited); `work` is the case's own dir, where the config and both node dirs live. */
  config?: (good: string, work: string) => string;
  /** The CLI's arguments; "{work}" in one stands for the case's dir. */
  args: string[];
  code: number;
  message: RegExp | string;
  /** Extra setup in the work dir (files, a listening port); returns a cleanup. */
  setup?: (dir: string) => Promise<(() => Promise<void>) | void>;
  /** Added to the CLI's environment. */
  env?: Record<string, string>;
}

/** The good config with its first `from` replaced (the case fails loudly if `from` is not there). */
export const edit = (from: string, to: string) => (good: string) => {
  if (!good.includes(from)) throw new Error(`corpus: "${from}" is not in the config`);
  return good.replace(from, to);
};

export const SHA = "ab".repeat(32);
