import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addressProblem } from "../../src/config/addresses.js";
import { ConfigError, parseConfig } from "../../src/config/parse.js";
import { notADirectory } from "../../src/runtime/configFile.js";
import { scratchDirSync } from "../helpers/scratch.js";

/** Two local nodes; `alpha` and `beta` stand for their dirs, `extra` for lines added at the top. */
function config(alpha: string, beta: string, extra = ""): string {
  return `${extra}cluster: demo
nodes:
  - name: alpha
    address: 127.0.0.1
    clientPort: 23791
    peerPort: 23801
    local: { dir: ${JSON.stringify(alpha)} }
  - name: beta
    address: 127.0.0.1
    clientPort: 23792
    peerPort: 23802
    local: { dir: ${JSON.stringify(beta)} }
`;
}

function problems(text: string, configDir = "/srv/pair/conf"): string {
  try {
    parseConfig(text, "etcd-pair.yaml", { configDir, notADirectory });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    for (const line of message.split("\n")) expect(line).toMatch(/^etcd-pair\.yaml:\d+:\d+: /);
    return message;
  }
  throw new Error("config was accepted");
}

describe("addresses: one spelling of an IP address", () => {
  it.each([
    ["127.000.000.001", "write this IPv4 address as 127.0.0.1"],
    ["010.0.0.1", "write this IPv4 address as 10.0.0.1"],
    ["127.1", "is not an IPv4 address"],
    ["256.0.0.1", "is not an IPv4 address"],
    ["2130706433", "is not an IPv4 address"],
    ["host.123", "is not an IPv4 address"],
    ["0:0:0:0:0:0:0:1", "write this IPv6 address as ::1"],
    ["2001:DB8::1", "write this IPv6 address as 2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "write this IPv6 address as 2001:db8::1:0:0:1"],
    ["fe80::1%eth0", "a zone (%...) cannot go into etcd's URLs"],
    [":::1", "must be an IPv4/IPv6 address or a host name"],
    ["127.0.0.1:2379", "must be an IPv4/IPv6 address or a host name"],
    ["-host", "must be an IPv4/IPv6 address or a host name"],
  ])("refuses %s", (value, message) => {
    expect(addressProblem(value)).toContain(message);
  });

  it.each(["127.0.0.1", "10.0.0.11", "::1", "2001:db8::1", "fe80::1", "beta.example.net", "host-1", "a1"])(
    "takes %s",
    (value) => expect(addressProblem(value)).toBeUndefined(),
  );

  it("locates a non-canonical address in the config", () => {
    const text = config("a", "b").replace(
      "address: 127.0.0.1\n    clientPort: 23792",
      "address: 127.000.000.001\n    clientPort: 23792",
    );
    expect(problems(text)).toContain("etcd-pair.yaml:9:14: nodes[1].address: write this IPv4 address as 127.0.0.1");
  });
});

describe("local dirs: normalized, distinct, not nested, not a system path", () => {
  const home = os.homedir();
  it.each([
    ["through ..", "alpha", "alpha/../alpha", "write it as alpha"],
    ["a double slash", "alpha", "x//beta", "write it as x/beta"],
    ["a dot inside", "alpha", "x/./beta", "write it as x/beta"],
    [
      "the same dir, spelt two ways",
      "alpha",
      "/srv/pair/conf/alpha",
      "both nodes use the same dir (/srv/pair/conf/alpha)",
    ],
    [
      "one inside the other",
      "alpha",
      "alpha/beta",
      "/srv/pair/conf/alpha/beta is inside alpha's dir /srv/pair/conf/alpha",
    ],
    ["the other holding the first", "data/alpha", "data", "/srv/pair/conf/data holds alpha's dir"],
    ["nested through ..", "../conf/alpha/b", "../conf/alpha", "holds alpha's dir /srv/pair/conf/alpha/b"],
    ["/", "alpha", "/", "/ is a system directory"],
    ["/etc", "alpha", "/etc", "/etc is a system directory"],
    ["/usr", "/usr", "beta", "/usr is a system directory"],
    ["/var", "alpha", "/var", "/var is a system directory"],
    ["/tmp itself", "alpha", "/tmp/", "/tmp is a system directory"],
    ["/dev/null", "alpha", "/dev/null", "/dev/null is on /dev, a kernel file system"],
    ["under /proc", "alpha", "/proc/pair", "/proc/pair is on /proc"],
    ["under /sys", "alpha", "/sys/fs/pair", "is on /sys"],
    ["the home dir as ~", "alpha", "~", `${home} is the home directory itself`],
    ["the home dir spelt out", "alpha", home, `${home} is the home directory itself`],
    ["~user", "alpha", "~root/x", "only ~ and ~/ are expanded"],
    ["the config's own dir", "alpha", ".", "/srv/pair/conf holds this config file"],
    ["a parent of the config's dir", "alpha", "..", "/srv/pair holds this config file"],
  ])("refuses %s", (_name, alpha, beta, message) => {
    expect(problems(config(alpha, beta))).toContain(message);
  });

  it("takes ./ in front, a / at the end, ../ at the start, and ~/", () => {
    expect(() => parseConfig(config("./alpha", "../data/beta/"), "x", { configDir: "/srv/pair/conf" })).not.toThrow();
    expect(() =>
      parseConfig(config("~/pairs/alpha", "/tmp/pair/beta"), "x", { configDir: "/srv/pair/conf" }),
    ).not.toThrow();
  });

  it("refuses a dir that is a file, or lies under one, on this machine", () => {
    const dir = scratchDirSync("config-inputs");
    writeFileSync(path.join(dir, "notes.txt"), "x\n");
    expect(problems(config("notes.txt", "beta"), dir)).toContain(
      `nodes[0].local.dir: ${dir}/notes.txt is not a directory`,
    );
    expect(problems(config("alpha", "notes.txt/beta"), dir)).toContain(`${dir}/notes.txt is not a directory`);
  });
});

describe("tls.dir and YAML that would end in a stack trace", () => {
  it.each([
    ["under /proc", "tls: { dir: /proc/pki }\n", "etcd-pair.yaml:1:13: tls.dir: /proc/pki is on /proc"],
    ["/dev/null", "tls: { dir: /dev/null }\n", "tls.dir: /dev/null is on /dev"],
    ["a system dir", "tls: { dir: /etc }\n", "tls.dir: /etc is a system directory"],
  ])("refuses tls.dir %s", (_name, extra, message) => {
    expect(problems(config("alpha", "beta", extra))).toContain(message);
  });

  it("refuses a tls.dir that is a file", () => {
    const dir = scratchDirSync("config-inputs");
    mkdirSync(path.join(dir, "sub"));
    writeFileSync(path.join(dir, "sub", "pki"), "x\n");
    expect(problems(config("alpha", "beta", "tls: { dir: sub/pki }\n"), dir)).toContain(
      `${dir}/sub/pki is not a directory`,
    );
  });

  it("refuses an alias bomb (billion laughs) at its first alias, quickly", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const [name, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const started = performance.now();
    expect(problems(`${levels.join("\n")}\n`)).toContain("etcd-pair.yaml:2:8: YAML: aliases expand to too much");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("takes a few aliases (shared settings)", () => {
    const text = config("alpha", "beta")
      .replace("address: 127.0.0.1", "address: &lo 127.0.0.1")
      .replace("address: 127.0.0.1", "address: *lo");
    expect(() => parseConfig(text, "x", { configDir: "/srv/pair/conf" })).not.toThrow();
  });

  it("refuses a document nested too deep for the parser as a located YAML error", () => {
    expect(problems(`${"[".repeat(5000)}${"]".repeat(5000)}\n`)).toMatch(/etcd-pair\.yaml:\d+:\d+: /);
  });
});
