import path from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The project's own lint config, as `npm run lint` applies it to a file at `file`. */
async function problems(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe("layers (eslint)", () => {
  it.each([
    ["src/plan/x.ts", 'import { StderrReporter } from "../cli/reporter.js";\nexport const x = StderrReporter;\n'],
    ["src/plan/x.ts", 'import { Hosts } from "../runtime/hosts.js";\nexport const x = Hosts;\n'],
    ["src/render/x.ts", 'import { up } from "../commands/up.js";\nexport const x = up;\n'],
    ["src/config/x.ts", 'import { LocalTransport } from "../transport/local.js";\nexport const x = LocalTransport;\n'],
    ["src/etcd/x.ts", 'import { readFile } from "node:fs/promises";\nexport const x = readFile;\n'],
    ["src/service/x.ts", 'import { spawn } from "node:child_process";\nexport const x = spawn;\n'],
  ])("the pure core may not import a value from an effectful layer: %s %j", async (file, code) => {
    expect((await problems(file, code)).join("\n")).toMatch(/no-restricted-imports/);
  });

  it("types cross layers freely, and the effectful layers import the core", async () => {
    const typeOnly = 'import type { ExecOutcome } from "../transport/types.js";\nexport type X = ExecOutcome;\n';
    expect(await problems("src/plan/x.ts", typeOnly)).toEqual([]);
    const effectful = 'import { planUp } from "../plan/up.js";\nexport const x = planUp;\n';
    expect(await problems("src/commands/x.ts", effectful)).toEqual([]);
  });
});
