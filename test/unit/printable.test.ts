import { describe, expect, it } from "vitest";
import { formatStepFailure, printable } from "../../src/cli/format.js";
import { StepFailure } from "../../src/runtime/runner.js";

// What a host (or whoever writes its logs) could send: a window title, a clipboard write (OSC 52), a colour, a
// cursor move that overwrites the line above, a bell; and C1 controls.
const HOSTILE =
  "ok\u001b]0;pwned\u0007 \u001b]52;c;ZWNobyBoaQ==\u0007\u001b[31mred\u001b[2K\u001b[1A\u0008\u009b2J end";

describe("text from hosts reaches the terminal without its control characters", () => {
  it("every control character but newline and tab is replaced; the rest is kept", () => {
    const safe = printable(`${HOSTILE}\nline two\tcolumn`);
    // eslint-disable-next-line no-control-regex
    expect(safe).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(safe).toContain("\nline two\tcolumn");
    expect(safe).toContain("pwned");
    expect(printable("plain ünïcödé — text")).toBe("plain ünïcödé — text");
  });

  it("a failed step's reason, stderr and log tail are shown printable", () => {
    const failure = new StepFailure({
      step: { id: "main.start", title: "start etcd on alpha", node: "alpha", kind: "change", actions: [] },
      host: "alpha (local)",
      command: "true",
      reason: `exit code 1 ${HOSTILE}`,
      outcome: { code: 1, stdout: "", stderr: HOSTILE },
      diagnostics: HOSTILE,
    });
    const text = formatStepFailure(failure);
    expect(text).not.toContain("\u001b]");
    expect(text).not.toContain("\u0007");
    expect(text).not.toContain("\u009b");
    expect(text.match(/pwned/g)).toHaveLength(3);
  });
});
