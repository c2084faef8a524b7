import os from "node:os";
import path from "node:path";
import { controllerPath, localDirOf } from "./resolve.js";
import type { Config } from "./schema.js";

/** A problem with a path the config names: where it is in the config, and why. */
export interface PathProblem {
  path: (string | number)[];
  message: string;
}

/** Directories that hold a system's own files: a node dir there would be chmod 700'ed and written into. */
const SYSTEM_DIRS = new Set([
  "/",
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/local",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/share",
  "/var",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/run",
  "/var/tmp",
  "/etc/etcd-pair",
  "/var/lib/etcd-pair",
]);

/** Kernel file systems: nothing of ours can live there. */
const VIRTUAL_ROOTS = ["/proc", "/sys", "/dev"];

function inside(child: string, parent: string): boolean {
  return child.startsWith(parent === "/" ? "/" : `${parent}/`) && child !== parent;
}

/** Why a resolved dir must not be ours to write into, or undefined. */
function reservedProblem(dir: string): string | undefined {
  const virtualRoot = VIRTUAL_ROOTS.find((root) => dir === root || inside(dir, root));
  if (virtualRoot) return `${dir} is on ${virtualRoot}, a kernel file system: choose a directory of its own`;
  if (dir === os.homedir()) return `${dir} is the home directory itself: choose a directory of its own inside it`;
  if (SYSTEM_DIRS.has(dir)) return `${dir} is a system directory: choose a directory of its own inside it`;
  return undefined;
}

/** "alpha/../beta" or "a//b": one dir must have one spelling (a leading ./ and a trailing / are fine). */
function spellingProblem(raw: string): string | undefined {
  if (raw.startsWith("~") && raw !== "~" && !raw.startsWith("~/")) {
    return "only ~ and ~/ are expanded (not ~user): write the path in full";
  }
  const trimmed = raw.replace(/^(\.\/)+(?=.)/, "").replace(/(?<=.)\/+$/, "");
  const normal = path.posix.normalize(trimmed);
  return normal === trimmed ? undefined : `write it as ${normal} (no ., .. or // inside a path)`;
}

/**
 * Why a dir on this machine cannot be one (it is a file, /dev/null, or a file lies on its way), or undefined.
 * Given by the caller (runtime/configFile.ts): the pure core does no I/O.
 */
export type DirInspector = (dir: string) => string | undefined;

function localDirProblems(config: Config, configDir: string, notADirectory: DirInspector): PathProblem[] {
  const problems: PathProblem[] = [];
  const dirs = config.nodes.map((node) => (node.local ? localDirOf(node, configDir) : undefined));
  config.nodes.forEach((node, index) => {
    const dir = dirs[index];
    if (!node.local || dir === undefined) return;
    const at = ["nodes", index, "local", "dir"];
    const problem =
      spellingProblem(node.local.dir) ??
      reservedProblem(dir) ??
      (dir === configDir || inside(configDir, dir)
        ? `${dir} holds this config file: give the node a directory of its own, e.g. .etcd-pair/${node.name}`
        : undefined) ??
      notADirectory(dir);
    if (problem) problems.push({ path: at, message: problem });
  });
  const [first, second] = dirs;
  if (first !== undefined && second !== undefined && problems.length === 0) {
    const at = ["nodes", 1, "local", "dir"];
    const main = config.nodes[0]?.name ?? "nodes[0]";
    const nested = inside(second, first) ? "is inside" : inside(first, second) ? "holds" : undefined;
    if (first === second) {
      problems.push({ path: at, message: `both nodes use the same dir (${first}): each needs its own` });
    } else if (nested) {
      problems.push({ path: at, message: `${second} ${nested} ${main}'s dir ${first}: side by side, not nested` });
    }
  }
  return problems;
}

function tlsDirProblems(config: Config, configDir: string, notADirectory: DirInspector): PathProblem[] {
  if (config.tls === false) return [];
  const dir = controllerPath(config.tls.dir, configDir);
  const problem = reservedProblem(dir) ?? notADirectory(dir);
  return problem ? [{ path: ["tls", "dir"], message: problem }] : [];
}

/**
 * What the config's paths on this machine must be: each local node's dir in one spelling, its own (distinct, not
 * nested, not a system dir, not holding the config), tls.dir a directory etcd-pair may write.
 */
export function pathProblems(
  config: Config,
  configDir: string,
  notADirectory: DirInspector = () => undefined,
): PathProblem[] {
  return [...localDirProblems(config, configDir, notADirectory), ...tlsDirProblems(config, configDir, notADirectory)];
}
