/**
 * npm run bench: what failover, switchover, replication, provisioning and status cost, on local hosts for
 * both etcd versions (or the e2e hosts with --hosts e2e). Figures are printed, written as JSON and an SVG
 * chart; nothing here passes or fails on a timing.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { format, resolveConfig } from "prettier";
import { ETCD_BUILDS, requireBuild } from "../test/helpers/etcdBinaries.js";
import { latencyChart } from "./chart.js";
import type { Figure, Trace } from "./figures.js";
import { e2eHosts, localHosts, type BenchHosts, type BenchPair } from "./pairs.js";
import { benchCatchUp } from "./scenarios/catchup.js";
import { benchFailover } from "./scenarios/failover.js";
import { benchLag } from "./scenarios/lag.js";
import { benchPutLatency } from "./scenarios/putLatency.js";
import { benchStatus } from "./scenarios/status.js";
import { benchSwitchover } from "./scenarios/switchover.js";
import { benchUpgrade } from "./scenarios/upgrade.js";
import { benchWatch } from "./scenarios/watch.js";
import { summarize } from "./stats.js";
import { markdownTable, textTable, type VersionRun } from "./table.js";

const USAGE = `usage: npm run bench -- [--hosts local|e2e] [--versions 3.5.30,3.6.14] [--reps N] [--only P1,P2,...]
                        [--quick] [--out DIR] [--update-doc]
  --versions    etcd builds by version (test/helpers/etcdBinaries.ts); e2e hosts run 3.4.23 and 3.5.16 only
  --quick       1 repetition, P1 at 1 MB only, P6 on 100 MB: a few minutes, for a look
  --out DIR     where the JSON and SVG go (default bench/results, or docs/bench with --update-doc)
  --update-doc  write this run's table and machine into BENCHMARKS.md (between its markers)`;

const { values: flags } = parseArgs({
  options: {
    hosts: { type: "string", default: "local" },
    versions: { type: "string", default: "3.5.30,3.6.14" },
    reps: { type: "string" },
    only: { type: "string", default: "P1,P2,P3,P4,P5,P6,P7,P8,P9" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    "update-doc": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (flags.help || !["local", "e2e"].includes(flags.hosts ?? "")) {
  console.error(USAGE);
  process.exit(flags.help ? 0 : 2);
}
const quick = flags.quick ?? false;
/** P8 runs watch with this detectAfter (the default is 10 s; a shorter one keeps the run short, the floor moves with it). */
const WATCH_DETECT_AFTER_S = 3;
const reps = Number(flags.reps ?? (quick ? 1 : 3));
const only = new Set((flags.only ?? "").split(",").map((s) => s.trim().toUpperCase()));
const builds = ETCD_BUILDS.filter((b) => (flags.versions ?? "").split(",").some((v) => b.series.startsWith(v.trim())));
if (!Number.isInteger(reps) || reps < 1 || builds.length === 0) {
  console.error(USAGE);
  process.exit(2);
}

/** The commit measured, in full, and whether the work tree differed from it (then it is not what was measured). */
function measuredCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const changes = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" });
    return { commit, dirty: changes.trim() !== "" };
  } catch {
    return { commit: "unknown", dirty: true };
  }
}
const measured = measuredCommit();
// Figures written into the docs must name the exact code they measured.
if (flags["update-doc"] && measured.dirty) {
  console.error("bench: --update-doc measures committed code only: commit (or stash) your changes first");
  process.exit(2);
}

const progress = (line: string) => console.error(`bench: ${line}`);

/** Every `up` a scenario runs is a P4 sample. */
function recordingUps(hosts: BenchHosts, ups: BenchPair["up"][]): BenchHosts {
  return {
    ...hosts,
    get version() {
      return hosts.version;
    },
    create: async () => {
      const pair = await hosts.create();
      ups.push(pair.up);
      return pair;
    },
  };
}

function upFigure(ups: readonly BenchPair["up"][]): Figure {
  const ids = ups[0]?.steps.map((s) => s.id) ?? [];
  const stepMedianMs = Object.fromEntries(
    ids.map((id) => [id, summarize(ups.map((u) => u.steps.find((s) => s.id === id)?.durationMs ?? 0)).median]),
  );
  return {
    id: "P4",
    name: "etcd-pair up, spawn to exit (every pair of this run)",
    unit: "ms",
    tool: summarize(ups.map((u) => u.wallMs)),
    details: { stepMedianMs },
  };
}

async function benchVersion(base: BenchHosts): Promise<{ run: VersionRun; traces: Trace[] }> {
  const ups: BenchPair["up"][] = [];
  const hosts = recordingUps(base, ups);
  const figures: Figure[] = [];
  const traces: Trace[] = [];
  if (only.has("P1")) {
    for (const bytes of quick ? [1e6] : [1e6, 100e6]) {
      const { figures: f, trace } = await benchFailover(hosts, bytes, reps, progress);
      figures.push(...f);
      if (bytes === 1e6) traces.push(trace);
    }
  }
  if (only.has("P2")) {
    const { figures: f, trace } = await benchSwitchover(hosts, reps, progress);
    figures.push(...f);
    traces.push(trace);
  }
  if (only.has("P9")) figures.push(...(await benchUpgrade(hosts, reps, progress)));
  if (only.has("P3")) figures.push(...(await benchLag(hosts, reps, quick ? 5 : 10, progress)));
  if (only.has("P5")) figures.push(...(await benchStatus(hosts, quick ? 5 : 10, progress)));
  if (only.has("P6")) figures.push(...(await benchCatchUp(hosts, quick ? 100e6 : 1e9, reps, progress)));
  if (only.has("P7")) figures.push(...(await benchPutLatency(hosts, reps, quick ? 500 : 2000, progress)));
  if (only.has("P8")) figures.push(...(await benchWatch(hosts, reps, WATCH_DETECT_AFTER_S, progress)));
  if (only.has("P4") && ups.length === 0) await (await hosts.create()).cleanup();
  if (only.has("P4")) figures.push(upFigure(ups));
  return { run: { version: base.version, figures }, traces };
}

function machine(): Record<string, string | number> {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: sh("sh", ["-c", '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    tmpFilesystem: sh("findmnt", ["-no", "FSTYPE,SOURCE", "-T", os.tmpdir()]),
    commit: measured.commit,
    dirty: measured.dirty ? "yes: the work tree had uncommitted changes" : "no",
  };
}

function shortCommit(m: Record<string, string | number>): string {
  return `${String(m.commit).slice(0, 12)}${m.dirty === "no" ? "" : "-dirty"}`;
}

async function updateDoc(file: string, block: string): Promise<void> {
  const doc = await readFile(file, "utf8");
  const begin = `<!-- bench:${flags.hosts}:begin -->`;
  const end = `<!-- bench:${flags.hosts}:end -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} … ${end} block`);
  // Formatted as the lint wants it, so a doc update never turns `npm test` red.
  const updated = `${doc.slice(0, from + begin.length)}\n${block}\n${doc.slice(to)}`;
  await writeFile(file, await format(updated, { filepath: file, ...((await resolveConfig(file)) ?? {}) }));
}

async function main(): Promise<void> {
  const started = new Date();
  const runs: VersionRun[] = [];
  const traces: Trace[] = [];
  for (const build of builds) {
    requireBuild(build);
    const hosts = flags.hosts === "e2e" ? e2eHosts(build) : localHosts(build);
    progress(`${hosts.kind} hosts, etcd ${build.series}`);
    try {
      const result = await benchVersion(hosts);
      runs.push(result.run);
      traces.push(
        ...result.traces.map((t) => ({ ...t, title: `${t.title} (etcd ${result.run.version}, ${hosts.kind} hosts)` })),
      );
    } finally {
      await hosts.close();
    }
  }
  const took = Math.round((Date.now() - started.getTime()) / 1000);
  const report = {
    startedAt: started.toISOString(),
    durationS: took,
    hosts: flags.hosts,
    reps,
    quick,
    machine: machine(),
    runs,
    traces,
  };
  const out = path.resolve(flags.out ?? (flags["update-doc"] ? "docs/bench" : "bench/results"));
  await mkdir(out, { recursive: true });
  const base = path.join(out, `bench-${flags.hosts}`);
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 1)}\n`);
  await writeFile(
    `${base}.svg`,
    latencyChart(traces, `${shortCommit(report.machine)}, ${started.toISOString().slice(0, 16)}Z.`),
  );
  console.error(`\n${textTable(runs)}\n`);
  console.error(`bench: ${took} s; wrote ${base}.json and ${base}.svg`);
  if (flags["update-doc"]) {
    const m = report.machine;
    const block = [
      `Run of ${started.toISOString().slice(0, 16)}Z on ${flags.hosts} hosts, commit ${m.commit}, ${reps} repetition(s), ${took} s: ` +
        `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}, Node ${m.node}, temp dirs on ${m.tmpFilesystem}.`,
      "",
      markdownTable(runs),
      "",
      `![write latency around a failover and a switchover](${path.relative(process.cwd(), `${base}.svg`)})`,
    ].join("\n");
    await updateDoc(path.resolve("BENCHMARKS.md"), block);
    progress("BENCHMARKS.md updated");
  }
}

main().catch((err: unknown) => {
  console.error(`bench: failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
