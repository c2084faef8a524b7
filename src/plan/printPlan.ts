import type { Action, Step } from "./step.js";

function mode(value: number): string {
  return value.toString(8).padStart(4, "0");
}

function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `${prefix}${line}`)
    .join("\n");
}

function printAction(action: Action): string {
  switch (action.kind) {
    case "exec": {
      const expect = action.expect ? `   # expect: ${action.expect.describe}` : "";
      return `[${action.node}] $ ${action.command}${expect}`;
    }
    case "upload":
      return `[${action.node}] write ${action.path} (mode ${mode(action.mode)}${action.owner ? `, owner ${action.owner}` : ""}):\n${indent(action.content, "    | ")}`;
    case "copy":
      return `[${action.node}] copy ${action.source} (sha256 ${action.sha256}) to ${action.path} (mode ${mode(action.mode)}${action.owner ? `, owner ${action.owner}` : ""})`;
    case "poll": {
      const stop = action.abort ? `; stop at once when: ${action.abort.describe}` : "";
      const every = `# repeat every ${action.intervalMs} ms, up to ${action.timeoutMs / 1000} s, until: ${action.until.describe}${stop}`;
      return [...action.probes.map((probe) => `[${probe.node}] $ ${probe.command}`), every].join("\n");
    }
  }
}

/** Every command and file of a plan, in the order the runner would run them. */
export function printSteps(steps: readonly Step[]): string {
  return steps
    .map((step, index) => {
      const header = `## ${index + 1}. ${step.title}   [${step.kind}: ${step.id}]`;
      return [header, ...step.actions.map(printAction)].join("\n");
    })
    .join("\n\n");
}

/** A JSON-safe view of steps (expectations become their descriptions). */
export function stepsToJson(steps: readonly Step[]): unknown[] {
  return steps.map((step) => ({
    id: step.id,
    title: step.title,
    node: step.node,
    kind: step.kind,
    actions: step.actions.map((action) => {
      switch (action.kind) {
        case "exec":
          return {
            kind: "exec",
            node: action.node,
            command: action.command,
            expect: action.expect?.describe ?? "exit 0",
          };
        case "upload":
          return {
            kind: "upload",
            node: action.node,
            path: action.path,
            mode: mode(action.mode),
            content: action.content,
          };
        case "copy":
          return {
            kind: "copy",
            node: action.node,
            source: action.source,
            sha256: action.sha256,
            path: action.path,
            mode: mode(action.mode),
          };
        case "poll":
          return {
            kind: "poll",
            probes: action.probes,
            until: action.until.describe,
            timeoutMs: action.timeoutMs,
            intervalMs: action.intervalMs,
          };
      }
    }),
  }));
}
