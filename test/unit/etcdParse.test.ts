import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { idToHex, parseLossless } from "../../src/etcd/json.js";
import { parseListeningPorts, parseProbe } from "../../src/etcd/probe.js";
import { parseEndpointStatus, parseMemberList } from "../../src/etcd/status.js";

const fixture = (name: string) =>
  readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures", name), "utf8");

describe("etcdctl JSON", () => {
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
