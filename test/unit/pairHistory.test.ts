import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLayout } from "../../src/config/layout.js";
import { derivePairState } from "../../src/plan/pairState.js";
import {
  describeNodes,
  describeOutcome,
  historyAppendCommand,
  historySteps,
  HISTORY_ROTATE_BYTES,
  lastEvent,
  mergeHistories,
  parseHistory,
  parseHistoryLines,
  type HistoryEvent,
} from "../../src/plan/history.js";
import { nextSteps } from "../../src/plan/nextSteps.js";
import { unreachable, type NodeObservation } from "../../src/plan/observed.js";
import { pairPaused, pauseMarker, planPause, planResume } from "../../src/plan/pause.js";
import { parseProbe } from "../../src/plan/probe.js";
import { guardedFileSection, MARK } from "../../src/plan/probeSections.js";
import { LEARNER_ID, MAIN_ID, member, runningLearner, runningMain } from "../helpers/observations.js";
import { scratchDir } from "../helpers/scratch.js";
import { DEMO_PAIR, localNode } from "../helpers/specs.js";

const sh = (command: string) => spawnSync("sh", ["-c", command], { encoding: "utf8" });

const failover: HistoryEvent = {
  id: "failover-demo-1764000900-0000000f",
  at: "2026-11-27T00:00:05.000Z",
  kind: "failover",
  actor: "op@ctl",
  automatic: false,
  from: "alpha",
  to: "beta",
  generation: "demo-1764000900-0000000f",
  lostRevisions: 3,
  loss: "3 revision(s) lost",
};
const pause: HistoryEvent = { id: "p1", at: "2026-11-27T00:00:01.000Z", kind: "pause", actor: "op@ctl", note: "why" };
const resume: HistoryEvent = { id: "r1", at: "2026-11-27T00:00:09.000Z", kind: "resume", actor: "op@ctl" };

describe("the history record: one step per node, a line an operator could append by hand", () => {
  it("appends the event as one JSON line to each node's history, hostile text and all, read back unchanged", async () => {
    const dir = await scratchDir("history");
    const nodes = [localNode("alpha", 1, 2, path.join(dir, "alpha")), localNode("beta", 3, 4, path.join(dir, "beta"))];
    const hostile: HistoryEvent = {
      ...failover,
      actor: `o'p "x" $(touch ${dir}/pwned) \`id\` %s %n \\`,
      note: "two\nlines\u001b[31m and a tab\t",
    };
    const steps = historySteps(nodes, hostile);
    expect(steps.map((s) => [s.id, s.node, s.onFailure])).toEqual([
      ["failover.history", "alpha", "warn"],
      ["failover.history", "beta", "warn"],
    ]);
    for (const step of steps) {
      const action = step.actions[0];
      if (action?.kind !== "exec") throw new Error("expected an exec");
      expect(action.node).toBe(step.node);
      expect(sh(action.command).status).toBe(0);
      expect(sh(action.command).status).toBe(0);
    }
    for (const node of nodes) {
      const text = await readFile(nodeLayout(node).historyFile, "utf8");
      expect(text.split("\n")).toHaveLength(3);
      expect(parseHistory(text)).toEqual([hostile, hostile]);
    }
    expect(sh(`test -e ${dir}/pwned`).status).not.toBe(0);
  });

  it("archives a history file past its size after the append that took it there, and begins a new one", async () => {
    const dir = await scratchDir("history-rotate");
    const node = localNode("alpha", 1, 2, path.join(dir, "alpha"));
    const layout = nodeLayout(node);
    const append = (event: HistoryEvent) => sh(historyAppendCommand(node, event));
    expect(append(pause).status).toBe(0);
    const full = await readFile(layout.historyFile, "utf8");
    await writeFile(layout.historyFile, full.repeat(Math.ceil(HISTORY_ROTATE_BYTES / full.length)));
    expect(append(resume).status).toBe(0);
    const archived = path.join(layout.archiveDir, "history-20261127T000009Z.jsonl");
    const kept = parseHistory(await readFile(archived, "utf8"));
    expect(kept.at(-1)).toEqual(resume);
    expect(sh(`test -e ${layout.historyFile}`).status).not.toBe(0);
    expect(append(pause).status).toBe(0);
    expect(parseHistory(await readFile(layout.historyFile, "utf8"))).toEqual([pause]);
  });

  it("names its step after the command that records it", () => {
    const [node] = [localNode("alpha", 1, 2)];
    expect(historySteps([node], pause)[0]?.id).toBe("pause.history");
    expect(historySteps([node], { ...pause, kind: "start-alone" })[0]?.id).toBe("alone.history");
    expect(historySteps([node], { ...pause, kind: "switchover" })[0]?.id).toBe("switch.history");
    expect(historySteps([node], pause, "watch")[0]?.id).toBe("watch.history");
    expect(historySteps([], pause)).toEqual([]);
  });
});

describe("reading a history file", () => {
  it("keeps every event and skips, counting them, lines that are not one", () => {
    const lines = [
      JSON.stringify(pause),
      "not json",
      "",
      JSON.stringify({ ...pause, id: "" }),
      JSON.stringify({ ...pause, kind: "explode" }),
      JSON.stringify({ ...pause, at: "yesterday" }),
      JSON.stringify({ ...pause, lostRevisions: -1 }),
      JSON.stringify({ ...pause, lostRevisions: "3" }),
      JSON.stringify({ ...pause, automatic: "yes" }),
      JSON.stringify({ ...pause, note: 7 }),
      JSON.stringify([pause]),
      "null",
      JSON.stringify(failover),
      JSON.stringify({ ...failover, id: "f2", lostRevisions: null }),
      '{"id":"cut","at":"2026-11-27T00:00:01Z","kind":"pau',
    ];
    const { events, malformed } = parseHistoryLines(lines.join("\n"));
    expect(events).toEqual([pause, failover, { ...failover, id: "f2", lostRevisions: null }]);
    expect(malformed).toBe(11);
    expect(parseHistory("")).toEqual([]);
  });

  it("drops fields it does not know instead of carrying them", () => {
    expect(parseHistory(JSON.stringify({ ...pause, extra: "x" }))).toEqual([pause]);
  });
});

describe("merging the nodes' histories", () => {
  it("is one event per id, oldest first, the earliest record of an id kept", () => {
    const rerun = { ...failover, at: "2026-11-27T00:00:30.000Z", lostRevisions: null, loss: "not measured" };
    const alpha = [pause, failover, resume];
    const beta = [failover, rerun, resume];
    expect(mergeHistories([alpha, beta])).toEqual([pause, failover, resume]);
    expect(mergeHistories([beta, alpha])).toEqual([pause, failover, resume]);
    expect(mergeHistories([[rerun], []])).toEqual([rerun]);
    expect(mergeHistories([])).toEqual([]);
  });

  it("orders by time, not by the text of the time, and then by id", () => {
    const early = { ...pause, id: "b", at: "2026-11-27T01:00:00+02:00" };
    const late = { ...pause, id: "a", at: "2026-11-27T00:00:00.5Z" };
    const tie = { ...pause, id: "a0", at: "2026-11-26T23:00:00Z" };
    expect(mergeHistories([[late, early, tie]]).map((e) => e.id)).toEqual(["a0", "b", "a"]);
    expect(lastEvent(mergeHistories([[failover, pause, resume]]), "failover")).toEqual(failover);
    expect(lastEvent([pause], "failover")).toBeUndefined();
  });

  it("describes nodes and outcome for the table", () => {
    expect(describeNodes(failover)).toBe("alpha → beta");
    expect(describeNodes({ ...resume, kind: "rejoin", node: "alpha", to: "beta" })).toBe("alpha (learner of beta)");
    expect(describeNodes({ ...resume, kind: "start-alone", node: "alpha" })).toBe("alpha");
    expect(describeNodes(resume)).toBe("-");
    expect(describeOutcome(failover)).toBe("lost: 3 revision(s)");
    expect(describeOutcome({ ...failover, lostRevisions: null, note: "fence: fence-command" })).toBe(
      "lost: unknown; fence: fence-command",
    );
    expect(describeOutcome(pause)).toBe("why");
    expect(describeOutcome(resume)).toBe("-");
  });
});

/** A probe's output with `paused` as the pause marker's section, as the probe's own shell prints it. */
async function probeWithMarker(content: string | undefined): Promise<NodeObservation> {
  const dir = await scratchDir("paused");
  const file = path.join(dir, "paused");
  if (content !== undefined) await writeFile(file, content);
  const section = sh(guardedFileSection("paused", file));
  expect(section.status).toBe(0);
  const output = [`${MARK}binaries`, "etcd", section.stdout + `${MARK}hostname`, "host-1", ""].join("\n");
  return parseProbe("alpha", output);
}

describe("the probe reads the pause marker, and its text cannot pose as a section", () => {
  it("a marker is its text; no marker is not paused; an empty one still pauses", async () => {
    expect((await probeWithMarker("by op@ctl at T: kernel upgrade\n")).paused).toBe("by op@ctl at T: kernel upgrade");
    expect((await probeWithMarker(undefined)).paused).toBeUndefined();
    expect((await probeWithMarker("")).paused).toBe("(the pause marker holds no text)");
  });

  it("section headers inside the marker stay its text, with or without a last newline", async () => {
    for (const tail of ["", "\n"]) {
      const hostile = `x\n${MARK}running\n${MARK}pid\n4711\n${MARK}hostname\nevil${tail}`;
      const o = await probeWithMarker(hostile);
      expect(o.running).toBe(false);
      expect(o.pid).toBeUndefined();
      expect(o.hostname).toBe("host-1");
      expect(o.paused).toBe(`x ${MARK}running ${MARK}pid 4711 ${MARK}hostname evil`);
    }
  });

  it("a marker without its last newline does not swallow the next section's header", async () => {
    const o = await probeWithMarker("by op@ctl at T");
    expect(o.paused).toBe("by op@ctl at T");
    expect(o.hostname).toBe("host-1");
  });
});

const both = [member(MAIN_ID, "alpha", 23801, false), member(LEARNER_ID, "beta", 23802, true)];
const MARKER = pauseMarker("op@ctl", "2026-11-27T00:00:00Z", "kernel upgrade");

describe("pause and resume plans", () => {
  it("pause marks every reachable node that has no marker, and says which it could not reach", () => {
    const planned = planPause(DEMO_PAIR, [runningMain("alpha", both), unreachable("beta", "no route")], MARKER);
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(MARKER).toBe("by op@ctl at 2026-11-27T00:00:00Z: kernel upgrade");
    expect(planned.plan.steps.map((s) => [s.id, s.node])).toEqual([["pause.mark", "alpha"]]);
    expect(planned.plan.steps[0]?.actions[0]).toMatchObject({
      kind: "upload",
      path: "/srv/etcd-pair/alpha/state/paused",
      content: `${MARKER}\n`,
    });
    expect(planned.plan.unreachable).toEqual([{ node: "beta", error: "no route" }]);
  });

  it("pause is idempotent: a paused node keeps its marker, the other gets the same one", () => {
    const first = "by ann@ctl at 2026-11-26T00:00:00Z";
    const again = planPause(
      DEMO_PAIR,
      [{ ...runningMain("alpha", both), paused: first }, runningLearner("beta")],
      MARKER,
    );
    if (!again.ok) throw new Error(again.refusal.message);
    expect(again.plan.marker).toBe(first);
    expect(again.plan.steps.map((s) => s.node)).toEqual(["beta"]);
    expect(again.plan.steps[0]?.actions[0]).toMatchObject({ content: `${first}\n` });
    const paused = [
      { ...runningMain("alpha", both), paused: first },
      { ...runningLearner("beta"), paused: first },
    ];
    const done = planPause(DEMO_PAIR, paused, MARKER);
    expect(done.ok && done.plan.steps).toEqual([]);
  });

  it("resume archives the markers it finds, refuses only when no node answers", () => {
    const paused = [{ ...runningMain("alpha", both), paused: MARKER }, unreachable("beta", "timed out")];
    const planned = planResume(DEMO_PAIR, paused, "20261127T000000Z");
    if (!planned.ok) throw new Error(planned.refusal.message);
    expect(planned.plan.steps.map((s) => [s.id, s.node])).toEqual([["resume.clear", "alpha"]]);
    const action = planned.plan.steps[0]?.actions[0];
    expect(action?.kind === "exec" && action.command).toContain("archive/paused-20261127T000000Z");
    expect(action?.kind === "exec" && sh(`sh -n -c '${action.command.replace(/'/g, "'\\''")}'`).status).toBe(0);
    expect(planned.plan.unreachable).toEqual([{ node: "beta", error: "timed out" }]);
    const none = planResume(DEMO_PAIR, [runningMain("alpha", both), runningLearner("beta")], "s");
    expect(none.ok && none.plan.steps).toEqual([]);
    const nobody = planResume(DEMO_PAIR, [unreachable("alpha", "x"), unreachable("beta", "y")], "s");
    expect(nobody.ok).toBe(false);
    expect(planPause(DEMO_PAIR, [unreachable("alpha", "x"), unreachable("beta", "y")], MARKER).ok).toBe(false);
  });

  it("status says the pair is paused and that resume ends it", () => {
    const observations = [{ ...runningMain("alpha", both), paused: MARKER }, runningLearner("beta")];
    expect(pairPaused(observations)).toEqual({ text: MARKER, on: ["alpha"] });
    expect(pairPaused([runningMain("alpha", both), runningLearner("beta")])).toBeNull();
    const state = derivePairState(DEMO_PAIR, observations);
    expect(nextSteps(DEMO_PAIR, state.nodes, observations, new Map())).toEqual([
      "etcd-pair resume when maintenance is done (the pair is paused)",
    ]);
  });
});
