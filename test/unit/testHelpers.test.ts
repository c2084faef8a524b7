import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_TEST_SERIES, ETCD_BUILDS, requireBuild, selectBuilds } from "../helpers/etcdBinaries.js";
import { expectGolden, goldenUpdateAllowed } from "../helpers/golden.js";
import { readAll } from "../helpers/writer.js";

/** The helpers that decide what the tests run on and what they compare with must not let a test pass by default. */
describe("ETCD_PAIR_TEST_VERSIONS", () => {
  const series = (value: string | undefined) => selectBuilds(value).map((b) => b.series);

  it("lists the five tested builds, each by its full version", () => {
    expect(ETCD_BUILDS.map((b) => b.series)).toEqual(["3.4.23", "3.5.16", "3.5.30", "3.6.14", "3.7.1"]);
  });

  it("defaults to 3.5.30 and 3.6.14; all, others and prefixes select from every build", () => {
    expect(DEFAULT_TEST_SERIES).toEqual(["3.5.30", "3.6.14"]);
    expect(series(undefined)).toEqual(["3.5.30", "3.6.14"]);
    expect(series("")).toEqual(["3.5.30", "3.6.14"]);
    expect(series("default")).toEqual(["3.5.30", "3.6.14"]);
    expect(series("all")).toEqual(["3.4.23", "3.5.16", "3.5.30", "3.6.14", "3.7.1"]);
    expect(series("others")).toEqual(["3.4.23", "3.5.16", "3.7.1"]);
    expect(series("3.4, 3.5.16")).toEqual(["3.4.23", "3.5.16"]);
    expect(series("3.5")).toEqual(["3.5.16", "3.5.30"]);
    expect(series("3.5.,3.5")).toEqual(["3.5.16", "3.5.30"]);
    expect(series("3.7.1")).toEqual(["3.7.1"]);
    expect(series("3")).toEqual(ETCD_BUILDS.map((b) => b.series));
  });

  it("a version no build provides fails with a message, never an empty selection", () => {
    expect(() => selectBuilds("3.8")).toThrow(
      /ETCD_PAIR_TEST_VERSIONS=3\.8: no etcd build "3\.8" \(known: 3\.4\.23, 3\.5\.16, 3\.5\.30, 3\.6\.14, 3\.7\.1;/,
    );
    expect(() => selectBuilds("3.4.22")).toThrow(/no etcd build "3\.4\.22"/);
    // Parts are whole numbers: 3.5.3 is not 3.5.30, and 3.7.10 is not 3.7.1.
    expect(() => selectBuilds("3.5.3")).toThrow(/no etcd build "3\.5\.3"/);
    expect(() => selectBuilds("3.7.10")).toThrow(/no etcd build "3\.7\.10"/);
    expect(() => selectBuilds(",")).toThrow(/no etcd build ""/);
  });
});

describe("requireBuild", () => {
  it("fails with what to run when a build is missing, or holds another version than it says", () => {
    expect(() => requireBuild({ series: "3.5.30", binDir: "/nonexistent/bin" })).toThrow(
      /etcd 3\.5\.30: \/nonexistent\/bin\/etcd is missing: run \.\/scripts\/install-etcd\.sh/,
    );
    // Debian bookworm's 3.4.23 in /usr/bin (scripts/install-etcd.sh puts it there).
    expect(() => requireBuild({ series: "3.4.99", binDir: "/usr/bin" })).toThrow(
      /etcd 3\.4\.99 expected in \/usr\/bin, but it holds etcd 3\.4\.23/,
    );
    expect(() => requireBuild({ series: "3.4.23", binDir: "/usr/bin" })).not.toThrow();
  });
});

describe("golden files", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("are written only with UPDATE_GOLDEN=1, and never in CI", () => {
    expect(goldenUpdateAllowed({})).toBe(false);
    expect(goldenUpdateAllowed({ UPDATE_GOLDEN: "1" })).toBe(true);
    expect(goldenUpdateAllowed({ UPDATE_GOLDEN: "1", CI: "true" })).toBe(false);
    expect(goldenUpdateAllowed({ UPDATE_GOLDEN: "1", CI: "1" })).toBe(false);
    expect(goldenUpdateAllowed({ UPDATE_GOLDEN: "1", CI: "false" })).toBe(true);
  });

  it("a missing golden file fails the test instead of being written", () => {
    vi.stubEnv("UPDATE_GOLDEN", "");
    expect(() => expectGolden("no-such-golden-file.txt", "anything")).toThrow(/is missing: run with UPDATE_GOLDEN=1/);
    vi.stubEnv("UPDATE_GOLDEN", "1");
    vi.stubEnv("CI", "true");
    expect(() => expectGolden("no-such-golden-file.txt", "anything")).toThrow(
      /CI is set, so UPDATE_GOLDEN=1 writes nothing/,
    );
  });

  it("a different golden file fails the test", () => {
    vi.stubEnv("UPDATE_GOLDEN", "");
    expect(() => expectGolden("etcdctl.env", "not what the golden file holds")).toThrow(
      /differs from test\/golden\/etcdctl\.env/,
    );
  });
});

describe("readAll", () => {
  /** A stand-in for etcd's gateway that answers every request with `status` and `body`. */
  async function answering(status: number, body: unknown): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((_request, response) => {
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it("a failed read throws: it never reads as an empty range (every key 'absent')", async () => {
    for (const [status, body] of [
      [503, { error: "etcdserver: request timed out", code: 14 }],
      [404, { error: "Not Found" }],
      [200, {}],
    ] as const) {
      const server = await answering(status, body);
      try {
        await expect(readAll(server.url, "/x/")).rejects.toThrow(
          `reading /x/ from ${server.url} failed: HTTP ${status}`,
        );
      } finally {
        await server.close();
      }
    }
  });

  it("an empty range with a header is an empty map", async () => {
    const server = await answering(200, { header: { revision: "7" } });
    try {
      expect((await readAll(server.url, "/x/")).size).toBe(0);
    } finally {
      await server.close();
    }
  });
});
