import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseHealthAnswer, parseMemberHealth, splitHttpAnswers, type MemberHealth } from "../../src/etcd/health.js";
import { describeHealth, healthProblems } from "../../src/plan/memberHealth.js";
import { parseProbe } from "../../src/plan/probe.js";

/** What `GET /version`, `/livez?verbose`, `/readyz?verbose` pipelined over one TLS connection got from real etcd. */
const capture = (name: string) =>
  readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/health", `${name}.txt`), "utf8");

const allOk = { ok: true, failed: [] };
const learnerNotReady = { ok: false, failed: [{ check: "non_learner", reason: "not supported for learner" }] };

describe("pipelined HTTP answers", () => {
  it("splits three answers by Content-Length, though /version's body ends without a newline", () => {
    const answers = splitHttpAnswers(capture("3.6.14-learner"));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 503]);
    expect(answers[0]?.body).toBe('{"etcdserver":"3.6.14","etcdcluster":"3.6.0","storage":"3.6.0"}');
    expect(answers[1]?.body).toBe("[+]serializable_read ok\nok\n");
    expect(answers[2]?.body).toContain("[-]non_learner failed: not supported for learner\n");
  });

  it("reads an answer without Content-Length up to the next status line", () => {
    const text = "HTTP/1.1 200 OK\r\n\r\nfirst\nHTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnone";
    expect(splitHttpAnswers(text)).toEqual([
      { status: 200, body: "first\n" },
      { status: 404, body: "none" },
    ]);
  });

  it("keeps what came before a connection that was cut, and nothing of a torn header", () => {
    expect(splitHttpAnswers("")).toEqual([]);
    expect(splitHttpAnswers("HTTP/1.1 200 OK\r\nContent-Len")).toEqual([]);
  });
});

describe("etcd /livez and /readyz, as real etcd answered them", () => {
  const health = (name: string) => parseMemberHealth(splitHttpAnswers(capture(name)), 2);

  it("3.4.23 has neither (404): no health, as on any etcd before 3.4.29 / 3.5.11", () => {
    expect(splitHttpAnswers(capture("3.4.23-main")).map((a) => a.status)).toEqual([200, 404, 404]);
    expect(health("3.4.23-main")).toBeUndefined();
    expect(health("3.4.23-learner")).toBeUndefined();
  });

  it("3.5.16 has both and no non_learner check: its learner is ready", () => {
    expect(health("3.5.16-main")).toEqual({ live: allOk, ready: allOk });
    expect(health("3.5.16-learner")).toEqual({ live: allOk, ready: allOk });
  });

  it.each(["3.5.30", "3.6.14", "3.7.1"])("%s: main ready; learner not ready on non_learner alone", (version) => {
    expect(health(`${version}-main`)).toEqual({ live: allOk, ready: allOk });
    expect(health(`${version}-learner`)).toEqual({ live: allOk, ready: learnerNotReady });
  });

  it("a /readyz that did not answer in time, after /livez did, is not ready", () => {
    const cut = splitHttpAnswers(capture("3.6.14-main")).slice(0, 2);
    expect(parseMemberHealth(cut, 2)?.ready).toEqual({
      ok: false,
      failed: [{ check: "answer", reason: "no answer within 2 s" }],
    });
  });

  it("an error answer without verbose lines fails on its status", () => {
    expect(parseHealthAnswer({ status: 500, body: "internal error\n" })).toEqual({
      ok: false,
      failed: [{ check: "HTTP 500", reason: "internal error" }],
    });
  });
});

describe("the probe's versions section carries /version, /livez and /readyz", () => {
  const probeOf = (answer: string) => `@@etcd-pair:running\n@@etcd-pair:versions\n${answer}\n@@etcd-pair:hostname\nh\n`;

  it("a 3.5.30 learner: versions and health", () => {
    const observation = parseProbe("beta", probeOf(capture("3.5.30-learner")));
    expect(observation.versions).toEqual({ server: "3.5.30", cluster: "3.5.0" });
    expect(observation.health).toEqual({ live: allOk, ready: learnerNotReady });
    expect(observation.hostname).toBe("h");
  });

  it("3.4.23: versions, no health; an older probe's HTTP/1.0 answer to /version alone likewise", () => {
    const old = parseProbe("alpha", probeOf(capture("3.4.23-main")));
    expect(old.versions).toEqual({ server: "3.4.23", cluster: "3.4.0" });
    expect(old.health).toBeUndefined();
    const http10 =
      'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"etcdserver":"3.5.30","etcdcluster":"3.5.0"}';
    expect(parseProbe("alpha", probeOf(http10))).toMatchObject({ versions: { server: "3.5.30", cluster: "3.5.0" } });
    expect(parseProbe("alpha", probeOf(http10)).health).toBeUndefined();
  });
});

describe("what check makes of /livez and /readyz", () => {
  const corrupt = { check: "data_corruption", reason: "alarm activated: CORRUPT" };
  const of = (live: MemberHealth["live"], ready: MemberHealth["ready"]): MemberHealth => ({ live, ready });

  it("a learner failing non_learner alone is fine; a main failing it is not", () => {
    expect(healthProblems(of(allOk, learnerNotReady), true)).toEqual([]);
    expect(healthProblems(of(allOk, learnerNotReady), false)).toEqual([
      "/readyz fails: non_learner: not supported for learner",
    ]);
    expect(describeHealth(of(allOk, learnerNotReady), true)).toBe(
      "live yes, ready no (non_learner: expected on a learner)",
    );
  });

  it("a learner's /readyz failing on anything else is a problem, named", () => {
    const ready = { ok: false, failed: [...learnerNotReady.failed, corrupt] };
    expect(healthProblems(of(allOk, ready), true)).toEqual([
      "/readyz fails: data_corruption: alarm activated: CORRUPT",
    ]);
  });

  it("any member's /livez failing is a problem", () => {
    const dead = { ok: false, failed: [{ check: "serializable_read", reason: "context deadline exceeded" }] };
    expect(healthProblems(of(dead, learnerNotReady), true)).toEqual([
      "/livez fails: serializable_read: context deadline exceeded",
    ]);
    expect(healthProblems(of(allOk, allOk), false)).toEqual([]);
  });
});
