import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTROLLER } from "../../src/plan/fence.js";
import type { Step } from "../../src/plan/step.js";
import { Hosts } from "../../src/runtime/hosts.js";
import { runSteps, StepFailure, type Reporter } from "../../src/runtime/runner.js";
import { scratchDir } from "../helpers/scratch.js";
import { DEMO_PAIR } from "../helpers/specs.js";
import { until } from "../helpers/until.js";

/** A step that runs `command` on this machine (the controller's local transport). */
function step(id: Step["id"], command: string, onFailure?: Step["onFailure"]): Step {
  return {
    id,
    title: `run ${command}`,
    node: CONTROLLER,
    kind: "verify",
    actions: [{ kind: "exec", node: CONTROLLER, command }],
    hint: "a hint",
    diagnose: "echo diagnosis",
    ...(onFailure ? { onFailure } : {}),
  };
}

function recorder() {
  const warnings: string[] = [];
  const finished: string[] = [];
  const reporter: Reporter = {
    stepStarted: () => undefined,
    stepFinished: (record) => finished.push(`${record.id} ${record.status}`),
    info: () => undefined,
    warn: (message) => warnings.push(message),
  };
  return { reporter, warnings, finished };
}

describe("runner: a step's failure policy", () => {
  it("a failed step that stops (the default) ends the run with everything an operator needs", async () => {
    const hosts = new Hosts(DEMO_PAIR);
    const { reporter, finished } = recorder();
    const run = runSteps(
      [step("main.smoke", "echo out; echo broken >&2; exit 3"), step("pair.canary", "true")],
      hosts,
      reporter,
    );
    const failure = await run.then(
      () => undefined,
      (err: unknown) => err,
    );
    await hosts.close();
    if (!(failure instanceof StepFailure)) throw new Error(`expected a StepFailure, got ${String(failure)}`);
    expect(failure).toMatchObject({
      host: `${CONTROLLER} (local)`,
      command: "echo out; echo broken >&2; exit 3",
      reason: "exit code 3",
      outcome: { code: 3, stdout: "out\n", stderr: "broken\n" },
      diagnostics: "diagnosis",
    });
    expect(failure.step.id).toBe("main.smoke");
    expect(finished).toEqual(["main.smoke failed"]);
  });

  it('a failed step marked "warn" is recorded and warned about, and the run goes on', async () => {
    const hosts = new Hosts(DEMO_PAIR);
    const { reporter, warnings, finished } = recorder();
    const records = await runSteps(
      [step("assess.loss", "exit 5", "warn"), step("pair.canary", "echo fine")],
      hosts,
      reporter,
    ).finally(() => hosts.close());
    expect(records.map((r) => [r.id, r.status, r.reason ?? r.output])).toEqual([
      ["assess.loss", "failed", "exit code 5"],
      ["pair.canary", "ok", "fine\n"],
    ]);
    expect(finished).toEqual(["assess.loss failed", "pair.canary ok"]);
    expect(warnings).toEqual([`run exit 5 failed on ${CONTROLLER} (local) (passed over): exit code 5`]);
  });
});

describe("a CLI killed with SIGKILL", () => {
  it("takes the step command it was running with it (a re-run must not race it), not what it started with setsid", async () => {
    const dir = await scratchDir("killed");
    const script = path.join(dir, "cli.mts");
    const transport = JSON.stringify(path.resolve("src/transport/local.ts"));
    // The step: starts a session of its own that outlives it (as etcd's start does), then would leave a mark.
    const command = `setsid sh -c 'echo $$ >${dir}/setsid.pid; sleep 30' </dev/null >/dev/null 2>&1 & echo $$ >${dir}/step.pid; sleep 3; touch ${dir}/step-finished`;
    await writeFile(
      script,
      `import { LocalTransport } from ${transport};\nawait new LocalTransport("test").exec(${JSON.stringify(command)});\n`,
    );
    const cli = spawn(process.execPath, ["--import", "tsx", script], { stdio: "ignore" });
    const stepPid = await until("the step running", () => pidIn(`${dir}/step.pid`));
    const sessionPid = await until("its own session started", () => pidIn(`${dir}/setsid.pid`));
    cli.kill("SIGKILL");
    try {
      await until("the step's shell gone with its CLI", () => !alive(stepPid), { timeoutMs: 2000, intervalMs: 20 });
      expect(alive(sessionPid)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(existsSync(`${dir}/step-finished`)).toBe(false);
    } finally {
      if (alive(sessionPid)) process.kill(sessionPid, "SIGTERM");
    }
  });
});

async function pidIn(file: string): Promise<number | undefined> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim() ? Number(text) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
