import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { z } from "zod";
import { pathProblems, type DirInspector } from "./paths.js";
import { configSchema, type Config } from "./schema.js";

export interface ConfigProblem {
  /** Dotted path of the field, e.g. nodes[1].clientPort; empty for the whole file. */
  field: string;
  line: number;
  column: number;
  message: string;
}

/** A config that cannot be used. Nothing has touched any host when this is thrown. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.field ? `${problem.field}: ` : "";
  return `${file}:${problem.line}:${problem.column}: ${where}${problem.message}`;
}

type PathKey = string | number;

export function fieldName(path: readonly PathKey[]): string {
  return path.reduce<string>(
    (name, key) => (typeof key === "number" ? `${name}[${key}]` : name ? `${name}.${key}` : key),
    "",
  );
}

/** Where the config file lies, for the checks of the paths it names on this machine (see paths.ts). */
export interface ConfigPlace {
  /** The config file's dir: relative paths in it start there. */
  configDir: string;
  /** Looks at this machine's file system (the CLI passes one; the pure core does no I/O). */
  notADirectory?: DirInspector;
}

/** Parses and validates config text. `file` is only used in messages; with `place`, paths are checked too. */
export function parseConfig(text: string, file: string, place?: ConfigPlace): Config {
  const lineCounter = new LineCounter();
  const { doc, raw } = readYaml(text, file, lineCounter);
  const locate = (path: readonly PathKey[], key?: string) => {
    const offset = offsetOf(doc, path, key);
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.flatMap((issue) => problemsOf(issue, raw, locate)),
    );
  }
  const semantic = [
    ...semanticProblems(result.data),
    ...(place ? pathProblems(result.data, place.configDir, place.notADirectory) : []),
  ];
  if (semantic.length > 0) {
    throw new ConfigError(
      file,
      semantic.map(({ path, message }) => ({ field: fieldName(path), ...locate(path), message })),
    );
  }
  return result.data;
}

/**
 * The YAML document and its plain value. Anything the YAML library throws (an alias bomb: "billion laughs")
 * becomes a ConfigError at the place it concerns, not a stack trace.
 */
function readYaml(text: string, file: string, lineCounter: LineCounter): { doc: Document; raw: unknown } {
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(file, [{ field: "", line: 1, column: 1, message: `YAML: ${firstLine(String(err))}` }]);
  }
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((err) => {
        const pos = lineCounter.linePos(err.pos[0]);
        return { field: "", line: pos.line, column: pos.col, message: `YAML: ${firstLine(err.message)}` };
      }),
    );
  }
  try {
    return { doc, raw: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {} };
  } catch (err) {
    const pos = lineCounter.linePos(firstAliasOffset(doc));
    const message = /alias/i.test(String(err))
      ? `YAML: aliases expand to too much (more than ${MAX_ALIAS_COUNT} nodes): a config needs few, if any`
      : `YAML: ${firstLine((err as Error).message)}`;
    throw new ConfigError(file, [{ field: "", line: pos.line, column: pos.col, message }]);
  }
}

/** Plenty for anchors shared between two nodes; far below what a "billion laughs" document asks for. */
const MAX_ALIAS_COUNT = 100;

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

type Locate = (path: readonly PathKey[], key?: string) => { line: number; column: number };

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  return path.reduce<unknown>(
    (value, key) => (value && typeof value === "object" ? (value as Record<PathKey, unknown>)[key] : undefined),
    root,
  );
}

function problemsOf(issue: z.core.$ZodIssue, raw: unknown, locate: Locate): ConfigProblem[] {
  const path = issue.path.filter((k): k is PathKey => typeof k !== "symbol");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      field: fieldName([...path, key]),
      ...locate(path, key),
      message: `unknown key "${key}" (check its spelling; see 'etcd-pair config schema')`,
    }));
  }
  if (issue.code === "invalid_union") {
    // The branch whose shape fits (e.g. an object given where a string or an object may go) says what is wrong.
    const fitting = issue.errors.filter((branch) =>
      branch.every((inner) => inner.path.length > 0 || !["invalid_type", "invalid_value"].includes(inner.code)),
    );
    if (fitting.length === 1 && fitting[0]) {
      return fitting[0].flatMap((inner) =>
        problemsOf({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, raw, locate),
      );
    }
  }
  let message = issue.message;
  if (issue.code === "invalid_type" && valueAt(raw, path) === undefined) message = `is required (${issue.message})`;
  return [{ field: fieldName(path), ...locate(path), message }];
}

/** Offset of the node at `path` (or of `key` inside it); falls back to the nearest existing ancestor. */
function offsetOf(doc: Document, path: readonly PathKey[], key?: string): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(doc.contents) ?? 0;
  for (const step of key === undefined ? path : [...path, key]) {
    const child = childOf(node, step);
    if (!child) break;
    if (isPair(child.pair) && step === key) {
      offset = rangeStart(child.pair.key as Node) ?? offset;
      break;
    }
    node = child.value;
    offset = rangeStart(child.value) ?? rangeStart(child.pair?.key as Node) ?? offset;
  }
  return offset;
}

function childOf(node: unknown, step: PathKey): { value: unknown; pair?: { key: unknown } } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && item.key.value === step);
    return pair ? { value: pair.value, pair } : undefined;
  }
  if (node && typeof node === "object" && "items" in node && Array.isArray(node.items) && typeof step === "number") {
    const value: unknown = node.items[step];
    return value === undefined ? undefined : { value };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === "object" && "range" in node && Array.isArray(node.range)) {
    return node.range[0] as number;
  }
  return undefined;
}

interface SemanticProblem {
  path: PathKey[];
  message: string;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

/** Rules that span fields: what a schema alone cannot say. */
export function semanticProblems(config: Config): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const [first, second] = config.nodes;
  if (first && second && first.name === second.name) {
    problems.push({
      path: ["nodes", 1, "name"],
      message: `duplicates nodes[0].name "${first.name}": names must differ`,
    });
  }
  const bound = new Map<string, string>();
  config.nodes.forEach((node, index) => {
    const clientPort = node.clientPort ?? config.etcd.clientPort;
    const peerPort = node.peerPort ?? config.etcd.peerPort;
    if (clientPort === peerPort) {
      problems.push({
        path: ["nodes", index, node.peerPort !== undefined ? "peerPort" : "clientPort"],
        message: `client and peer port are both ${clientPort}: they must differ`,
      });
    }
    if (Boolean(node.local) === Boolean(node.ssh)) {
      problems.push({
        path: ["nodes", index],
        message: "needs exactly one of local: { dir } (this machine) or ssh: { ... } (a real host)",
      });
    }
    if (node.local && !LOOPBACK.test(node.address)) {
      problems.push({
        path: ["nodes", index, "address"],
        message: `a local node must use a loopback address (127.x.x.x or ::1), not ${node.address}`,
      });
    }
    for (const [kind, portNumber] of [
      ["clientPort", clientPort],
      ["peerPort", peerPort],
    ] as const) {
      const socket = `${node.address}:${portNumber}`;
      const owner = bound.get(socket);
      if (owner) {
        problems.push({ path: ["nodes", index, kind], message: `${socket} is already used by ${owner}` });
      }
      bound.set(socket, `nodes[${index}].${kind}`);
    }
  });
  if (config.etcd.install === "apt") {
    const where = config.etcd.binDir !== undefined && config.etcd.binDir !== "/usr/bin";
    if (where)
      problems.push({ path: ["etcd", "binDir"], message: "install: apt puts etcd in /usr/bin: leave binDir unset" });
    config.nodes.forEach((node, index) => {
      if (node.binDir !== undefined && node.binDir !== "/usr/bin") {
        problems.push({
          path: ["nodes", index, "binDir"],
          message: "install: apt puts etcd in /usr/bin: leave binDir unset",
        });
      }
    });
  }
  if (config.etcd.install !== "preinstalled") {
    config.nodes.forEach((node, index) => {
      if (node.local) {
        problems.push({
          path: ["etcd", "install"],
          message: `installs etcd on SSH hosts only; nodes[${index}] (${node.name}) is local: use preinstalled and binDir`,
        });
      }
    });
  }
  return problems;
}
