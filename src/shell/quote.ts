const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for POSIX sh: single quotes, with embedded single quotes as '\''. */
export function shQuote(word: string): string {
  if (word.length > 0 && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one sh command line. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}
