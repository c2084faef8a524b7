import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { idToHex, parseLossless } from "../../src/etcd/json.js";
import {
  clockEstimate,
  parseDiskSpace,
  parseListeningPorts,
  parsePackagedUnit,
  parsePeerReach,
  parseProbe,
} from "../../src/plan/probe.js";
import { lastLine, parseEndpointStatus, parseMemberList } from "../../src/etcd/status.js";

const fixture = (name: string) =>
  readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures", name), "utf8");

describe("etcdctl JSON", () => {
  it("a failed status's reason is its last line, not the `null` etcdctl 3.6+ prints on stdout after it", () => {
    const output = [
      "Failed to get the status of endpoint http://127.0.0.1:1 (context deadline exceeded)",
      "null",
      "",
    ].join("\n");
    expect(lastLine(output)).toBe(
      "Failed to get the status of endpoint http://127.0.0.1:1 (context deadline exceeded)",
    );
    expect(lastLine("null\n")).toBe("");
  });

  it("keeps uint64 member IDs exact (JSON.parse would round them)", () => {
    const text = '{"id":16240339510576480156}';
    expect(JSON.parse(text).id.toString(16)).not.toBe("e16146bd67a6ff9c");
    expect(idToHex((parseLossless(text) as { id: unknown }).id)).toBe("e16146bd67a6ff9c");
    expect(idToHex((parseLossless('{"id":255}') as { id: unknown }).id)).toBe("00000000000000ff");
  });

  it("parses endpoint status of a 3.4.23 learner", () => {
    const status = parseEndpointStatus(
      '[{"Endpoint":"http://127.0.0.1:3343","Status":{"header":{"cluster_id":9723286739154810070,"member_id":16240339510576480156,"revision":2,"raft_term":2},"version":"3.4.23","dbSize":20480,"leader":2587720529590150607,"raftIndex":7,"raftTerm":2,"raftAppliedIndex":7,"dbSizeInUse":16384,"isLearner":true}}]',
    );
    expect(status).toEqual({
      endpoint: "http://127.0.0.1:3343",
      clusterId: "86f00dc5e896b4d6",
      memberId: "e16146bd67a6ff9c",
      leaderId: "23e96e1c8034e5cf",
      revision: 2,
      raftTerm: 2,
      raftIndex: 7,
      appliedIndex: 7,
      dbSizeBytes: 20480,
      dbSizeInUseBytes: 16384,
      version: "3.4.23",
      isLearner: true,
      errors: [],
    });
  });

  it("parses a member list with a learner that has not started (no name yet)", () => {
    const list = parseMemberList(
      '{"header":{"cluster_id":3555523269620631705,"member_id":16488143842956190788,"raft_term":2},"members":[{"ID":8231885899473187790,"peerURLs":["http://127.0.0.1:3354"],"isLearner":true},{"ID":16488143842956190788,"name":"a","peerURLs":["http://127.0.0.1:3352"],"clientURLs":["http://127.0.0.1:3351"]}]}',
    );
    expect(list.clusterId).toBe("3157c193645f8899");
    expect(list.members).toEqual([
      { id: "723d889c75a573ce", name: "", peerUrls: ["http://127.0.0.1:3354"], clientUrls: [], isLearner: true },
      {
        id: "e4d1a7779cf2a444",
        name: "a",
        peerUrls: ["http://127.0.0.1:3352"],
        clientUrls: ["http://127.0.0.1:3351"],
        isLearner: false,
      },
    ]);
  });

  it("rejects output that is not status JSON", () => {
    expect(() => parseEndpointStatus("Error: context deadline exceeded")).toThrow(/unexpected endpoint status/);
    expect(() => parseMemberList("[]")).toThrow(/unexpected member list/);
  });
});

describe("probe output", () => {
  it.each(["3.4", "3.5"])("reads a leader and a learner probed on etcd %s", (series) => {
    const alpha = parseProbe("alpha", fixture(`probe-${series}-alpha.txt`));
    const beta = parseProbe("beta", fixture(`probe-${series}-beta.txt`));
    expect(alpha.version?.text.startsWith(series)).toBe(true);
    expect(alpha).toMatchObject({ reachable: true, running: true, dataDir: "member" });
    expect(alpha.binaries).toEqual({ etcd: true, etcdctl: true, etcdutl: series === "3.5" });
    expect(alpha.status?.leaderId).toBe(alpha.status?.memberId);
    expect(alpha.members?.members).toHaveLength(2);
    expect(alpha.generation).toMatch(/^demo-[0-9a-f]{12}$/);
    expect(alpha.envToken).toBe(alpha.generation);
    expect(Object.keys(alpha.fileHashes)).toEqual([
      "/srv/etcd-pair/alpha/etcd.env",
      "/srv/etcd-pair/alpha/etcdctl.env",
      "/srv/etcd-pair/alpha/etcd-start.sh",
    ]);
    expect(beta.status?.isLearner).toBe(true);
    expect(beta.status?.leaderId).toBe(alpha.status?.memberId);
    expect(beta.members).toBeUndefined();
    expect(alpha.listeningPorts).toContain(Number(/:(\d+)"/.exec(fixture(`probe-${series}-alpha.txt`))?.[1]));
    // Recorded before the probe had these sections: left out, not guessed.
    for (const o of [alpha, beta]) {
      expect(o.disk).toBeUndefined();
      expect(o.peerReach).toBeUndefined();
      expect(o.packagedUnit).toBeUndefined();
      expect(o.clockOffsetMs).toBeUndefined();
    }
    const timed = parseProbe("alpha", fixture(`probe-${series}-alpha.txt`), { before: 1000, after: 1100 });
    expect(timed.clockOffsetMs).toBeUndefined();
    expect(timed.clockRttMs).toBeUndefined();
  });

  it("reads a stopped node with no data", () => {
    const text = [
      "@@etcd-pair:binaries",
      "etcd",
      "@@etcd-pair:version",
      "@@etcd-pair:datadir",
      "absent",
      "@@etcd-pair:generation",
      "@@etcd-pair:envtoken",
      "@@etcd-pair:hashes",
      "@@etcd-pair:listening",
    ].join("\n");
    expect(parseProbe("beta", text)).toMatchObject({
      running: false,
      dataDir: "absent",
      binaries: { etcd: true, etcdctl: false, etcdutl: false },
      version: undefined,
      generation: undefined,
    });
    expect(parseProbe("beta", text).status).toBeUndefined();
  });

  it("keeps etcdctl's error when a running member does not answer", () => {
    const text =
      "@@etcd-pair:running\n@@etcd-pair:status\nError: context deadline exceeded\n@@etcd-pair:members\nError: x";
    const o = parseProbe("alpha", text);
    expect(o.running).toBe(true);
    expect(o.statusError).toBe("Error: context deadline exceeded");
    expect(o.membersError).toBe("Error: x");
  });

  it("finds listening ports in /proc/net/tcp and tcp6", () => {
    const proc = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:5CE9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
      "   1: 0100007F:5CE9 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
      "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 3 1",
    ].join("\n");
    expect(parseListeningPorts(proc)).toEqual([80, 23785]);
  });
});

describe("probe sections added for preflight", () => {
  const probe = (...lines: string[]) => lines.join("\n");

  it("reads free space from df -Pk, for the nearest existing parent of the data dir", () => {
    const df = [
      "/var/lib",
      "Filesystem     1024-blocks     Used Available Capacity Mounted on",
      "/dev/vda1        264212084 31380732  75010180      30% /",
    ].join("\n");
    expect(parseDiskSpace(df)).toEqual({ path: "/var/lib", availableBytes: 75010180 * 1024, mountPoint: "/" });
    // Spaces in the device and the mount point; a capacity df could not compute.
    const odd = "/mnt/my data\nFilesystem 1024-blocks Used Available Capacity Mounted on\nmy fs 10 0 10 - /mnt/my data";
    expect(parseDiskSpace(odd)).toEqual({ path: "/mnt/my data", availableBytes: 10240, mountPoint: "/mnt/my data" });
    expect(parseDiskSpace("/var/lib")).toBeUndefined(); // df failed
    expect(parseDiskSpace("")).toBeUndefined();
    expect(parseDiskSpace(undefined)).toBeUndefined();
    const o = parseProbe("alpha", probe("@@etcd-pair:disk", df, "@@etcd-pair:listening"));
    expect(o.disk?.availableBytes).toBe(75010180 * 1024);
  });

  it.each<[string, string, ReturnType<typeof parsePeerReach>]>([
    ["connected", "exit=0", { result: "open" }],
    [
      "refused",
      "etcd-pair: connect: Connection refused\netcd-pair: line 1: /dev/tcp/10.0.0.2/2380: Connection refused\nexit=1",
      { result: "refused" },
    ],
    ["timed out", "exit=124", { result: "unreachable", detail: "no answer within 2 s" }],
    [
      "no route",
      "etcd-pair: connect: No route to host\netcd-pair: line 1: /dev/tcp/10.0.0.2/2380: No route to host\nexit=1",
      { result: "unreachable", detail: "connect: No route to host" },
    ],
    [
      "network unreachable",
      "etcd-pair: connect: Network is unreachable\netcd-pair: line 1: /dev/tcp/10.9.0.2/2380: Network is unreachable\nexit=1",
      { result: "unreachable", detail: "connect: Network is unreachable" },
    ],
    [
      "a name that does not resolve",
      "etcd-pair: line 1: beta.invalid: Name or service not known\netcd-pair: line 1: /dev/tcp/beta.invalid/2380: Invalid argument\nexit=1",
      { result: "unreachable", detail: "beta.invalid: Name or service not known" },
    ],
    [
      "no bash",
      "timeout: failed to run command 'bash': No such file or directory\nexit=127",
      { result: "unknown", detail: "timeout: failed to run command 'bash': No such file or directory" },
    ],
    ["no timeout", "sh: 1: timeout: not found\nexit=127", { result: "unknown", detail: "sh: 1: timeout: not found" }],
    ["something else", "etcd-pair: line 1: odd\nexit=1", { result: "unknown", detail: "odd" }],
    ["an empty section", "", undefined],
    ["a cut-off section", "etcd-pair: connect: Connection refused", undefined],
  ])("classifies a peer connection that %s", (_name, text, expected) => {
    expect(parsePeerReach(text)).toEqual(expected);
  });

  it("reads the packaged etcd.service, and nothing where systemd is not the init", () => {
    expect(parsePackagedUnit("active=active\nenabled=enabled")).toEqual({ active: "active", enabled: "enabled" });
    expect(parsePackagedUnit("active=inactive\nenabled=")).toEqual({ active: "inactive", enabled: "" });
    expect(parsePackagedUnit("active=inactive\nenabled=not-found")).toEqual({
      active: "inactive",
      enabled: "not-found",
    });
    expect(parsePackagedUnit("active=failed")).toEqual({ active: "failed", enabled: "" });
    expect(parsePackagedUnit("")).toBeUndefined();
    expect(parsePackagedUnit(undefined)).toBeUndefined();
    const o = parseProbe("alpha", probe("@@etcd-pair:packaged-unit", "active=activating", "enabled=enabled"));
    expect(o.packagedUnit).toEqual({ active: "activating", enabled: "enabled" });
  });

  it("estimates the host's clock offset from the midpoint of what is left of the round trip", () => {
    // Controller: exec at 1_000_000 ms, output back at 1_000_300. The host ran the probe for 200 ms of that,
    // starting at its 1_005_060 ms: the start fell between 1_000_000 and 1_000_100, midpoint 1_000_050.
    const ns = (ms: number) => `${ms}000000`;
    const clock = `${ns(1_005_060)}\n${ns(1_005_260)}`;
    expect(clockEstimate(clock, { before: 1_000_000, after: 1_000_300 })).toEqual({
      clockOffsetMs: 5_010,
      clockRttMs: 100,
    });
    // A host behind the controller.
    expect(clockEstimate(`${ns(998_000)}\n${ns(998_010)}`, { before: 1_000_000, after: 1_000_030 })).toEqual({
      clockOffsetMs: -2_010,
      clockRttMs: 20,
    });
    // The host's elapsed time can exceed the controller's by rounding: no negative round trip.
    expect(clockEstimate(`${ns(1_000_000)}\n${ns(1_000_012)}`, { before: 1_000_000, after: 1_000_010 })).toEqual({
      clockOffsetMs: 0,
      clockRttMs: 0,
    });
    // date without %N (not GNU), a missing end, no section.
    expect(clockEstimate("1700000000%N\n1700000000%N", { before: 0, after: 1 })).toBeUndefined();
    expect(clockEstimate(ns(1_000_000), { before: 0, after: 1 })).toBeUndefined();
    expect(clockEstimate(undefined, { before: 0, after: 1 })).toBeUndefined();
    const o = parseProbe("alpha", probe("@@etcd-pair:clock", ns(1_000_100), ns(1_000_150)), {
      before: 1_000_000,
      after: 1_000_080,
    });
    expect(o).toMatchObject({ clockOffsetMs: 85, clockRttMs: 30 });
    expect(parseProbe("alpha", probe("@@etcd-pair:clock", ns(1), ns(2))).clockOffsetMs).toBeUndefined();
  });

  it("takes uname -m as the arch only when the probe printed it", () => {
    expect(parseProbe("a", "@@etcd-pair:host\nsystemd\netcd-user\naarch64").arch).toBe("aarch64");
    expect(parseProbe("a", "@@etcd-pair:host\nsystemd\netcd-user").arch).toBe("");
  });
});
