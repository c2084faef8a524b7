import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { remoteCommand } from "../../src/transport/ssh.js";

/** Runs what the host's login shell would get, with `shell -c`, as sshd does. */
const asLoginShell = (shell: string, sent: string) =>
  spawnSync(shell, ["-c", sent], { encoding: "utf8", input: "from stdin\n" });

// A command only POSIX sh reads as meant: `$(…)`, `&&`, `[ … ]`, a quote inside quotes, a newline, `$?`.
const POSIX_ONLY = `x=$(printf '%s' "it's"); [ "$x" = "it's" ] && echo "ok $x"
cat; false || echo "status $?"`;

describe("commands sent over SSH", () => {
  it("are always run by sh, with or without become", () => {
    expect(remoteCommand("echo hi", false)).toBe("sh -c 'echo hi'");
    expect(remoteCommand("echo hi", true)).toBe("sudo -n sh -c 'echo hi'");
  });

  it("mean the same whatever POSIX login shell parses them, stdin included", () => {
    const result = asLoginShell("/bin/sh", remoteCommand(POSIX_ONLY, false));
    expect(result.stdout).toBe("ok it's\nfrom stdin\nstatus 1\n");
  });
});
