import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_TEST_SERIES, ETCD_BUILDS, selectBuilds } from "../helpers/etcdBinaries.js";
import { expectGolden, goldenUpdateAllowed } from "../helpers/golden.js";
import { readAll } from "../helpers/writer.js";

/** The helpers that decide what the tests run on and what they compare with must not let a test pass by default. */
describe("ETCD_PAIR_TEST_VERSIONS", () => {
  const series = (value: string | undefined) => selectBuilds(value).map((b) => b.series);
  const others = ETCD_BUILDS.filter((b) => b.series !== DEFAULT_TEST_SERIES).map((b) => b.series);

  it("defaults to the one default build; all, others and prefixes select from every build", () => {
    expect(series(undefined)).toEqual([DEFAULT_TEST_SERIES]);
    expect(series("")).toEqual([DEFAULT_TEST_SERIES]);
    expect(series("default")).toEqual([DEFAULT_TEST_SERIES]);
    expect(series("all")).toEqual(ETCD_BUILDS.map((b) => b.series));
    expect(others.length).toBeGreaterThan(0);
    expect(series("others")).toEqual(others);
    expect(series("3.4, 3.5.16")).toEqual(["3.4.23", "3.5."]);
    expect(series("3.5,3.5")).toEqual(["3.5."]);
  });

  it("a version no build provides fails with a message, never an empty selection", () => {
    expect(() => selectBuilds("3.6")).toThrow(
      /ETCD_PAIR_TEST_VERSIONS=3\.6: no etcd build "3\.6" \(known: 3\.4\.23, 3\.5\./,
    );
    expect(() => selectBuilds("3.4.22")).toThrow(/no etcd build "3\.4\.22"/);
    expect(() => selectBuilds(",")).toThrow(/no etcd build ""/);
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
