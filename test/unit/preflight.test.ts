import { describe, expect, it } from "vitest";
import type { NodeSpec, PairSpec } from "../../src/config/resolve.js";
import { snapshotVerifyCommand } from "../../src/etcd/snapshot.js";
import { peerUrl } from "../../src/etcd/urls.js";
import { parseVersion, type EtcdVersion } from "../../src/etcd/version.js";
import { bootstrapClusterId, parseWalHead } from "../../src/etcd/wal.js";
import { ownEntries } from "../../src/plan/ownership.js";
import { parseProbe, probeCommand } from "../../src/plan/probe.js";
import { judgeSnapshotFile } from "../../src/plan/snapshot.js";
import { nodeLayout } from "../../src/config/layout.js";
import type { NodeObservation } from "../../src/plan/observed.js";
import { LOW_FREE_BYTES, MIN_FREE_BYTES, preflight } from "../../src/plan/preflight.js";
import { planUp } from "../../src/plan/up.js";
import { localSupervisor } from "../../src/service/local.js";
import { systemdService } from "../../src/service/systemd.js";
import { freshHost, readyHost as host } from "../helpers/observations.js";
import { DEMO_PAIR, SSH_PAIR } from "../helpers/specs.js";

const GiB = 1024 ** 3;

const problems = (result: ReturnType<typeof preflight>) => result.blockers.map((b) => b.problem).join("\n");

describe("preflight", () => {
  it("passes two fresh hosts whose peers refuse (nothing listens yet) or accept", () => {
    for (const result of ["refused", "open"] as const) {
      const verdict = preflight(SSH_PAIR, [
        host("alpha", { peerReach: { result } }),
        host("beta", { peerReach: { result } }),
      ]);
      expect(verdict).toEqual({ blockers: [], warnings: [] });
    }
  });

  it("keeps probes without the new sections (older output, plan --offline) as they were", () => {
    expect(preflight(DEMO_PAIR, [freshHost("alpha"), freshHost("beta")])).toEqual({ blockers: [], warnings: [] });
  });

  describe("clock skew", () => {
    const skew = (a: Partial<NodeObservation>, b: Partial<NodeObservation>) =>
      preflight(SSH_PAIR, [host("alpha", a), host("beta", b)]);

    it("blocks hosts whose clocks differ by more than a second, naming the one further off", () => {
      const result = skew({ clockOffsetMs: 30 }, { clockOffsetMs: -4_000, clockRttMs: 10 });
      expect(result.blockers).toHaveLength(1);
      expect(result.blockers[0]?.node).toBe("beta");
      expect(result.blockers[0]?.problem).toMatch(/clocks of alpha and beta differ by 4\.0 s \(±15 ms/);
      expect(result.blockers[0]?.problem).toContain("beta -4000 ms, alpha +30 ms");
      expect(result.blockers[0]?.fix).toMatch(/timesyncd|chrony/);
    });

    it("judges the hosts against each other, not against the controller's own clock", () => {
      expect(skew({ clockOffsetMs: 60_000 }, { clockOffsetMs: 60_300 }).blockers).toEqual([]);
    });

    it("gives the round trips' uncertainty the benefit of the doubt", () => {
      // 1.5 s apart, but either estimate may be off by half its round trip: 1500 - (900 + 900) / 2 = 600 ms.
      expect(skew({ clockOffsetMs: 0, clockRttMs: 900 }, { clockOffsetMs: 1_500, clockRttMs: 900 }).blockers).toEqual(
        [],
      );
      // The same gap measured over fast round trips: 1500 - (100 + 100) / 2 = 1400 ms.
      expect(problems(skew({ clockOffsetMs: 0, clockRttMs: 100 }, { clockOffsetMs: 1_500, clockRttMs: 100 }))).toMatch(
        /clocks/,
      );
      // The edge: exactly 1000 ms beyond the uncertainty passes, one more blocks.
      expect(skew({ clockOffsetMs: 0, clockRttMs: 40 }, { clockOffsetMs: 1_040, clockRttMs: 40 }).blockers).toEqual([]);
      expect(
        skew({ clockOffsetMs: 0, clockRttMs: 40 }, { clockOffsetMs: 1_041, clockRttMs: 40 }).blockers,
      ).toHaveLength(1);
    });

    it("needs both clocks to judge", () => {
      expect(skew({ clockOffsetMs: undefined }, { clockOffsetMs: 9_000 }).blockers).toEqual([]);
      expect(skew({ clockRttMs: undefined }, { clockOffsetMs: 9_000 }).blockers).toEqual([]);
    });
  });

  describe("free space", () => {
    const disk = (availableBytes: number) => ({ path: "/var/lib", availableBytes, mountPoint: "/var" });

    it("blocks below 1 GiB, with the free amount, the path and etcd's quota", () => {
      const result = preflight(SSH_PAIR, [host("alpha", { disk: disk(0.5 * GiB) }), host("beta")]);
      expect(result.blockers).toHaveLength(1);
      expect(result.blockers[0]).toMatchObject({ node: "alpha" });
      expect(result.blockers[0]?.problem).toContain("only 0.5 GiB free on /var (the filesystem of /var/lib)");
      expect(result.blockers[0]?.problem).toContain("default quota of 2 GiB");
      expect(result.blockers[0]?.fix).toContain("/var/lib/etcd-pair/demo");
    });

    it("a member that exists already only needs room to restart: 64 MiB", () => {
      const member = (availableBytes: number) =>
        host("alpha", { dataDir: "member", generation: "demo-1-ab", disk: disk(availableBytes) });
      expect(preflight(SSH_PAIR, [member(0.5 * GiB), host("beta")]).blockers).toEqual([]);
      const full = preflight(SSH_PAIR, [member(10 * 1024 ** 2), host("beta")]);
      expect(full.blockers[0]?.problem).toContain("less than 64 MiB");
    });

    it("points local nodes at local.dir", () => {
      const result = preflight(DEMO_PAIR, [freshHost("alpha"), freshHost("beta", { disk: disk(MIN_FREE_BYTES - 1) })]);
      expect(result.blockers[0]?.fix).toContain("local.dir");
    });

    it("warns below 4 GiB, and is quiet from there", () => {
      const low = preflight(SSH_PAIR, [host("alpha"), host("beta", { disk: disk(LOW_FREE_BYTES - 1) })]);
      expect(low.blockers).toEqual([]);
      expect(low.warnings).toEqual([expect.stringMatching(/^beta: only 4\.0 GiB free on \/var/)]);
      const enough = preflight(SSH_PAIR, [host("alpha"), host("beta", { disk: disk(LOW_FREE_BYTES) })]);
      expect(enough.warnings).toEqual([]);
      expect(preflight(SSH_PAIR, [host("alpha"), host("beta", { disk: disk(MIN_FREE_BYTES) })]).blockers).toEqual([]);
    });
  });

  describe("peer reachability", () => {
    it("blocks a host that cannot reach the other's peer URL, and says only the peer port matters", () => {
      const result = preflight(SSH_PAIR, [
        host("alpha", { peerReach: { result: "unreachable", detail: "no answer within 2 s" } }),
        host("beta"),
      ]);
      expect(result.blockers).toEqual([
        {
          node: "alpha",
          problem: "alpha cannot connect to beta's peer URL http://10.0.0.2:2380 (no answer within 2 s)",
          fix: expect.stringMatching(/TCP port 2380 .*both ways.*only the peer ports .*not the client ports/),
        },
      ]);
    });

    it("only warns when it could not test (no bash)", () => {
      const result = preflight(SSH_PAIR, [
        host("alpha"),
        host("beta", { peerReach: { result: "unknown", detail: "sh: 1: timeout: not found" } }),
      ]);
      expect(result.blockers).toEqual([]);
      expect(result.warnings).toEqual([
        expect.stringContaining("beta: could not test the connection to alpha's peer URL http://10.0.0.1:2380"),
      ]);
    });
  });

  describe("the etcd package's own etcd.service", () => {
    it("blocks while it runs, with disable (never mask) as the fix", () => {
      const result = preflight(SSH_PAIR, [
        host("alpha", { packagedUnit: { active: "active", enabled: "enabled" } }),
        host("beta"),
      ]);
      expect(problems(result)).toMatch(/etcd\.service \(the etcd package's own unit\) is active/);
      expect(result.blockers[0]?.fix).toMatch(/^systemctl disable --now etcd\.service /);
      expect(result.blockers[0]?.fix).not.toMatch(/systemctl mask/);
      expect(result.warnings).toEqual([]);
    });

    it("warns when it is only enabled: it would start at boot", () => {
      const result = preflight(SSH_PAIR, [
        host("alpha"),
        host("beta", { packagedUnit: { active: "inactive", enabled: "enabled" } }),
      ]);
      expect(result.blockers).toEqual([]);
      expect(result.warnings).toEqual([expect.stringMatching(/^beta: etcd\.service .* start at boot .*port 2379/)]);
    });

    it.each(["", "not-found", "disabled", "masked"])("says nothing when it is inactive and %j", (enabled) => {
      const result = preflight(SSH_PAIR, [
        host("alpha", { packagedUnit: { active: "inactive", enabled } }),
        host("beta"),
      ]);
      expect(result).toEqual({ blockers: [], warnings: [] });
    });

    it("is not a concern of local nodes", () => {
      const running = { packagedUnit: { active: "active", enabled: "enabled" } };
      expect(preflight(DEMO_PAIR, [host("alpha", running), host("beta", running)])).toEqual({
        blockers: [],
        warnings: [],
      });
    });
  });

  it("warns, and does not block, when the hosts' architectures differ", () => {
    const result = preflight(SSH_PAIR, [host("alpha"), host("beta", { arch: "aarch64" })]);
    expect(result.blockers).toEqual([]);
    expect(result.warnings).toEqual([expect.stringContaining("alpha is x86_64 and beta is aarch64")]);
    expect(preflight(SSH_PAIR, [host("alpha"), host("beta", { arch: "" })]).warnings).toEqual([]);
  });

  it("skips the pair checks when a host cannot be probed", () => {
    const result = preflight(SSH_PAIR, [
      host("alpha", { clockOffsetMs: 50_000 }),
      { ...host("beta", { arch: "aarch64" }), reachable: false, error: "connection refused" },
    ]);
    expect(result.blockers.map((b) => b.problem)).toEqual(["host cannot be probed: connection refused"]);
    expect(result.warnings).toEqual([]);
  });

  it("hands its warnings to up's plan and its blockers stop it", () => {
    const plan = planUp({
      pair: DEMO_PAIR,
      observations: [
        host("alpha", { disk: { path: "/srv", availableBytes: 2 * GiB, mountPoint: "/srv" } }),
        host("beta", { peerReach: { result: "unreachable", detail: "connect: No route to host" } }),
      ],
      service: (node) => localSupervisor(nodeLayout(node)),
      freshToken: "demo-ffffffffffff",
      canaryValue: "canary-1",
    });
    // The demo pair has tls: false, which up always warns about too.
    expect(plan.warnings).toEqual([
      expect.stringMatching(/^alpha: only 2\.0 GiB free/),
      expect.stringContaining("the pair runs in plain text (tls: false)"),
    ]);
    expect(plan.blockers.map((b) => b.problem)).toEqual([
      "beta cannot connect to alpha's peer URL http://127.0.0.1:23801 (connect: No route to host)",
    ]);
  });
});

describe("probe command", () => {
  const [alpha, beta] = DEMO_PAIR.nodes;
  const local = (node: NodeSpec, peer: NodeSpec) =>
    probeCommand(node, nodeLayout(node), localSupervisor(nodeLayout(node)), peer);

  it("runs the peer connection, etcd --version and the member's status as pipeline stages read at the end", () => {
    const command = local(alpha, beta);
    expect(
      command.startsWith(
        `{ echo '@@etcd-pair:peer'; { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' etcd-pair 127.0.0.1 23802 2>&1;`,
      ),
    ).toBe(true);
    const stages = command.split(" | {").length;
    expect(stages).toBeGreaterThanOrEqual(4);
    expect(command).toMatch(/\| \{ exec 3<&0 <\/dev\/null; echo '@@etcd-pair:version'; \S*etcd --version/);
    expect(command).toMatch(/cat <&3\necho '@@etcd-pair:clock'; echo "\$t0"; date \+%s%N\n}$/);
    expect(command).toContain("df -Pk");
    expect(command).not.toContain("etcd.service");
  });

  it("quotes the peer's address and the data dir for the shell", () => {
    const odd = { ...beta, address: "beta's host" };
    const node = { ...alpha, stateDir: "/srv/my pair" };
    const command = local(node, odd);
    expect(command).toContain(`etcd-pair 'beta'\\''s host' 23802`);
    expect(command).toContain(`p='/srv/my pair/data';`);
  });

  it("asks systemd about the packaged etcd.service on SSH hosts only", () => {
    const [a, b] = SSH_PAIR.nodes;
    const command = probeCommand(a, nodeLayout(a), systemdService(a, nodeLayout(a), "demo"), b);
    expect(command).toContain("etcd-pair 10.0.0.2 2380");
    expect(command).toContain(`echo "active=$(systemctl is-active etcd.service 2>/dev/null)"`);
    expect(command).toContain(`echo "enabled=$(systemctl is-enabled etcd.service 2>/dev/null)"`);
  });
});

describe("preconditions of every later command", () => {
  const TOKEN = "demo-1764000000-00000001";
  const [alpha] = DEMO_PAIR.nodes;
  const TARBALL_PAIR: PairSpec = {
    ...SSH_PAIR,
    install: { kind: "tarball", source: { file: "/t.tar.gz" }, sha256: "ab".repeat(32), fileName: "t.tar.gz" },
  };
  const noEtcdutl = { binaries: { etcd: true, etcdctl: true, etcdutl: false } };

  it("refuses a 3.5 binDir without etcdutl, which failover and snapshot restore run; 3.4 needs none", () => {
    const result = preflight(DEMO_PAIR, [freshHost("alpha", noEtcdutl), freshHost("beta")]);
    expect(result.blockers).toEqual([
      {
        node: "alpha",
        problem: expect.stringMatching(/^\/usr\/bin\/etcdutl is missing or not executable: etcd 3\.5\.16 restores/),
        fix: expect.stringContaining("put etcdutl of the same release (etcd 3.5.16) into /usr/bin"),
      },
    ]);
    const v34 = { ...noEtcdutl, version: parseVersion("3.4.23") };
    expect(preflight(DEMO_PAIR, [freshHost("alpha", v34), freshHost("beta", v34)]).blockers).toEqual([]);
  });

  it("lets up install etcd from a tarball (it carries etcdutl), but not snapshot restore, which runs before up", () => {
    const bare = { binaries: { etcd: false, etcdctl: false, etcdutl: false }, version: undefined };
    const hosts = [host("alpha", bare), host("beta")];
    expect(preflight(TARBALL_PAIR, hosts).blockers).toEqual([]);
    expect(problems(preflight(TARBALL_PAIR, hosts, { replacingData: true }))).toMatch(/\/usr\/bin\/etcd is missing/);
  });

  describe("a data dir holding a member must hold this pair's", () => {
    const member = (overrides: Partial<NodeObservation>) => freshHost("alpha", { dataDir: "member", ...overrides });
    const judge = (o: NodeObservation) => problems(preflight(DEMO_PAIR, [o, freshHost("beta")]));
    const clusterOf = (node: NodeSpec, token: string) => bootstrapClusterId(peerUrl(node), token);
    const wal = (clusterId: string) => ({ walIdentity: { memberId: "1".repeat(16), clusterId } });

    it("refuses a member nothing of this pair's claims", () => {
      expect(judge(member({}))).toMatch(
        /\/srv\/etcd-pair\/alpha\/data holds an etcd member that this pair did not create/,
      );
    });

    it("refuses markers of another etcd-pair cluster", () => {
      expect(judge(member({ generation: "prod-1764000000-00000001" }))).toContain(
        "alpha's files belong to etcd-pair cluster prod, not demo",
      );
    });

    it("refuses a member whose WAL names another cluster than its generation's", () => {
      expect(judge(member({ generation: TOKEN, ...wal("0123456789abcdef") }))).toMatch(
        /holds a member of cluster 0123456789abcdef, but this pair's generation demo-1764000000-00000001 is cluster [0-9a-f]{16}/,
      );
    });

    it("accepts the cluster either node bootstrapped or restored with that token, by generation or env file", () => {
      const [a, b] = DEMO_PAIR.nodes;
      expect(judge(member({ generation: TOKEN, ...wal(clusterOf(a, TOKEN)) }))).toBe("");
      expect(judge(member({ envToken: TOKEN, ...wal(clusterOf(b, TOKEN)) }))).toBe("");
      expect(judge(member({ generation: TOKEN }))).toBe("");
    });

    it("is no obstacle to snapshot restore, which archives the data dir first", () => {
      expect(preflight(DEMO_PAIR, [member({}), freshHost("beta")], { replacingData: true }).blockers).toEqual([]);
    });
  });

  describe("a local node's dir must be its own", () => {
    const own = ["archive", "data", "data.inspect", "etcd-start.sh", "etcd.env", "etcd.log", "etcd.pid", "etcdctl.env"];
    const dir = (entries: string[], isDirectory = true) => freshHost("alpha", { nodeDir: { isDirectory, entries } });

    it("passes a dir that holds only etcd-pair's own files", () => {
      expect(
        preflight(DEMO_PAIR, [dir([...own, "state", "trial-run.log", "lost+found"]), freshHost("beta")]).blockers,
      ).toEqual([]);
      expect(ownEntries({ ...alpha, tls: { caFile: "/srv/etcd-pair/alpha/pki/ca.crt" } as NodeSpec["tls"] })).toContain(
        "pki",
      );
    });

    it("refuses one shared with other content, naming it, and a path that is not a directory", () => {
      const shared = preflight(DEMO_PAIR, [dir([...own, "notes.txt", "src"]), freshHost("beta")]);
      expect(shared.blockers).toEqual([
        {
          node: "alpha",
          problem: expect.stringContaining(
            "/srv/etcd-pair/alpha (alpha's local.dir) holds files that are not etcd-pair's (notes.txt, src)",
          ),
          fix: expect.stringContaining("set alpha's local.dir to a new or empty directory"),
        },
      ]);
      expect(problems(preflight(DEMO_PAIR, [dir([], false), freshHost("beta")]))).toContain(
        "exists and is not a directory",
      );
    });
  });

  it("reads the member and cluster IDs from a WAL file's head, as etcd wrote them", () => {
    const head = [
      "04 00 00 00 00 00 00 84 08 04 10 00 00 00 00 00",
      "1f 00 00 00 00 00 00 81 08 01 10 d5 c1 aa 8b 01",
      "1a 15 08 fd 9f b6 d5 a9 a0 e1 94 83 01 10 de f5",
      "90 fd fd da fd 80 2d 00 0e 00 00 00 00 00 00 82",
    ].join("\n");
    // etcd 3.5.16 bootstrapped with --initial-cluster e1=http://127.0.0.1:42380 --initial-cluster-token tok-1.
    expect(parseWalHead(head)).toEqual({ memberId: "832985029aad8ffd", clusterId: "2d01f6d7dfa43ade" });
    expect(bootstrapClusterId("http://127.0.0.1:42380", "tok-1")).toBe("2d01f6d7dfa43ade");
    expect(parseWalHead("")).toBeUndefined();
    expect(parseWalHead("ff ff ff ff ff ff ff 00 01 02")).toBeUndefined();
  });

  it("the probe reads the WAL's head and a local node's dir", () => {
    const command = probeCommand(alpha, nodeLayout(alpha), localSupervisor(nodeLayout(alpha)), DEMO_PAIR.nodes[1]);
    expect(command).toContain(`od -An -v -tx1 -N 128 "$w"`);
    expect(command).toContain(`r=/srv/etcd-pair/alpha; if [ -d "$r" ]; then echo dir; ls -A "$r"`);
    const o = parseProbe("alpha", "@@etcd-pair:nodedir\ndir\netcd.env\nnotes.txt\n@@etcd-pair:wal\n\n");
    expect(o.nodeDir).toEqual({ isDirectory: true, entries: ["etcd.env", "notes.txt"] });
    expect(o.walIdentity).toBeUndefined();
  });

  describe("snapshot restore's check of FILE", () => {
    const outcome = (code: number, stdout: string, stderr = "") => ({ code, stdout, stderr });

    it("passes what snapshot status read once the hash matched", () => {
      const status = '{"hash":1,"revision":4,"totalKey":10,"totalSize":20480}';
      expect(judgeSnapshotFile(alpha, "/s.db", outcome(0, status))).toBeUndefined();
    });

    it("names the file, the host and why, with a fix for a wrong path", () => {
      expect(judgeSnapshotFile(alpha, "/s.db", outcome(1, "", "no such file\n"))).toEqual({
        node: "alpha",
        problem: "snapshot /s.db: no such file",
        fix: expect.stringContaining("the file is read on alpha's host"),
      });
      expect(judgeSnapshotFile(alpha, "/s.db", outcome(1, "", "fails its sha256 check: x"))?.fix).toContain(
        "complete file written by 'etcd-pair snapshot save'",
      );
    });

    it("checks the appended sha256 and snapshot status with the version's own tool, reading only", () => {
      const command = snapshotVerifyCommand(alpha, parseVersion("3.5.16") as EtcdVersion, "/my snap.db");
      expect(command).toMatch(/^f='\/my snap\.db'; /);
      expect(command).toContain(`[ $((s % 512)) -eq 32 ]`);
      expect(command).toContain(`head -c $((s - 32)) "$f" | sha256sum`);
      expect(command).toContain("/usr/bin/etcdutl snapshot status '/my snap.db' -w json");
      expect(command).not.toMatch(/\b(rm|mv|cp|mkdir|chmod)\b/);
      const v34 = snapshotVerifyCommand(alpha, parseVersion("3.4.23") as EtcdVersion, "/s.db");
      expect(v34).toContain("ETCDCTL_API=3 /usr/bin/etcdctl snapshot status /s.db -w json");
    });
  });
});
