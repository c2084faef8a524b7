import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shJoin, shQuote } from "../../src/shell/quote.js";

/** What sh makes of a quoted word: the round trip is the real test of quoting. */
function throughSh(word: string): string {
  return spawnSync("/bin/sh", ["-c", `printf '%s' ${shQuote(word)}`], { encoding: "utf8" }).stdout;
}

describe("POSIX sh quoting", () => {
  it("leaves plain words alone", () => {
    expect(shJoin(["/usr/bin/etcdctl", "--endpoints=http://127.0.0.1:2379", "get", "/a/b"])).toBe(
      "/usr/bin/etcdctl --endpoints=http://127.0.0.1:2379 get /a/b",
    );
  });

  it.each(["", "two words", "it's", "$(reboot)", "`id`", "a\nb", "; rm -rf /", "*", "\\", "'\"'", "~root", "a&b|c>d"])(
    "round-trips %j through sh",
    (word) => {
      expect(throughSh(word)).toBe(word);
    },
  );
});
