import { describe, expect, it } from "vitest";
import { latencyChart } from "../../bench/chart.js";
import { electionWaitMs } from "../../bench/etcdLog.js";
import { lagAt } from "../../bench/scenarios/lag.js";
import { longestGap, percentile, summarize } from "../../bench/stats.js";
import { markdownTable, textTable } from "../../bench/table.js";

describe("bench statistics", () => {
  it("summarizes repetitions as median, min and max", () => {
    expect(summarize([5, 1, 3])).toEqual({ n: 3, median: 3, min: 1, max: 5 });
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, median: 2.5, min: 1, max: 4 });
    expect(() => summarize([])).toThrow();
  });

  it("takes nearest-rank percentiles: always a value that was observed", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7, 3], 99)).toBe(7);
    expect(percentile([7], 1)).toBe(7);
  });

  it("finds the longest gap between instants, in any order", () => {
    expect(longestGap([10, 0, 2, 3])).toEqual({ gap: 7, from: 3 });
    expect(longestGap([5])).toEqual({ gap: 0, from: 5 });
  });
});

describe("learner lag at a sample", () => {
  const acks: [number, number][] = [
    [10, 101],
    [20, 102],
    [30, 103],
  ];
  it("counts what the main had acknowledged by then and the learner lacked, and the age of the oldest", () => {
    expect(lagAt({ at: 35, revision: 101 }, acks)).toEqual({ entries: 2, ms: 15 });
    expect(lagAt({ at: 25, revision: 101 }, acks)).toEqual({ entries: 1, ms: 5 });
  });
  it("is zero when the learner has everything acknowledged so far", () => {
    expect(lagAt({ at: 25, revision: 102 }, acks)).toEqual({ entries: 0, ms: 0 });
    expect(lagAt({ at: 5, revision: 100 }, acks)).toEqual({ entries: 0, ms: 0 });
  });
});

describe("etcd's election wait from its log", () => {
  const line = (ts: string, msg: string) => JSON.stringify({ level: "info", ts, msg });
  it("is the time from the single-node tick fast-forward to becoming leader, on the last start", () => {
    const log = [
      line("2026-11-27T10:00:00.000Z", "started as single-node; fast-forwarding election ticks"),
      line("2026-11-27T10:00:00.900Z", "aa became leader at term 2"),
      "not json",
      line("2026-11-27T10:05:00.100Z", "started as single-node; fast-forwarding election ticks"),
      line("2026-11-27T10:05:00.350Z", "raft.node: aa elected leader aa at term 3"),
      line("2026-11-27T10:05:00.350Z", "aa became leader at term 3"),
    ].join("\n");
    expect(electionWaitMs(log)).toBe(250);
  });
  it("is null when the log shows no single-node election", () => {
    expect(electionWaitMs(line("2026-11-27T10:00:00.000Z", "aa became leader at term 2"))).toBeNull();
    expect(electionWaitMs("")).toBeNull();
  });
});

describe("bench output", () => {
  const runs = [
    {
      version: "3.5.16",
      figures: [
        {
          id: "P1",
          name: "crash-failover RTO",
          unit: "ms",
          tool: { n: 3, median: 1200, min: 900, max: 1500 },
          baseline: { n: 3, median: 800, min: 700, max: 900, name: "by hand" },
          ratio: 1.5,
          target: "≤ 1.2× baseline",
        },
        {
          id: "P4",
          name: "up",
          unit: "ms",
          tool: { n: 2, median: 1500, min: 1400, max: 1600 },
          details: { stepMedianMs: { "main.ready": 300 } },
        },
      ],
    },
  ];
  it("prints a row per figure, with the baseline, the ratio and the steps of up", () => {
    const text = textTable(runs);
    expect(text).toMatch(
      /P1\s+3\.5\.16\s+crash-failover RTO\s+1200 ms\s+900 ms\s+1500 ms\s+3\s+800 ms\s+1\.50×\s+≤ 1\.2× baseline/,
    );
    expect(text).toMatch(/step main\.ready\s+300 ms/);
    expect(markdownTable(runs).split("\n")[2]).toBe(
      "| P1 | 3.5.16 | crash-failover RTO | 1200 ms | 900 ms | 1500 ms | 3 | 800 ms | 1.50× | ≤ 1.2× baseline |",
    );
  });

  it("charts each trace with its events, the longest gap and the failed attempts", () => {
    const svg = latencyChart(
      [
        {
          title: "failover <test>",
          acked: [
            [-100, 2],
            [0, 3],
            [900, 40],
          ],
          failed: [100, 200],
          events: [
            { at: 0, label: "crash" },
            { at: 1000, label: "done" },
          ],
        },
      ],
      "caption",
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("failover &lt;test&gt;");
    // acked at 3 ms and at 940 ms: 937 ms without an acknowledged write.
    expect(svg).toContain("no acknowledged write for 937 ms");
    expect(svg).toContain(">crash<");
    expect(svg).toContain('text-anchor="end">done<');
    expect((svg.match(/M-?\d+,\d+h0/g) ?? []).length).toBe(3);
  });
});
