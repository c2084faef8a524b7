import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdInstall } from "../../src/config/resolve.js";
import { InstallSourceError } from "../../src/runtime/errors.js";
import { controllerTarball } from "../../src/runtime/tarball.js";

const NAME = "etcd-v3.5.16-linux-amd64.tar.gz";
const BODY = Buffer.from("not really a tarball, but bytes with a known sha256");
const SHA = createHash("sha256").update(BODY).digest("hex");
const WRONG = "0".repeat(64);

describe("the controller's copy of a release tarball (install: tarball)", () => {
  let dir: string;
  let server: Server;
  let requests = 0;
  let base: string;
  const savedCache = process.env.XDG_CACHE_HOME;
  const fromUrl = (sha256: string, name = NAME): EtcdInstall => ({
    kind: "tarball",
    source: { url: `${base}/${name}` },
    sha256,
    fileName: name,
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "etcd-pair-tarball-"));
    process.env.XDG_CACHE_HOME = path.join(dir, "cache");
    server = createServer((request, response) => {
      requests++;
      if (request.url === `/${NAME}`) response.end(BODY);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    process.env.XDG_CACHE_HOME = savedCache;
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("a local file is used where it is, once its sha256 matches", async () => {
    const file = path.join(dir, NAME);
    await writeFile(file, BODY);
    const install: EtcdInstall = { kind: "tarball", source: { file }, sha256: SHA, fileName: NAME };
    expect(await controllerTarball(install, { fetch: true })).toEqual({ path: file, sha256: SHA, fileName: NAME });
    const wrong = controllerTarball({ ...install, sha256: WRONG }, { fetch: true });
    await expect(wrong).rejects.toThrow(new RegExp(`${NAME} has sha256 ${SHA}, but etcd.install.tarball.sha256 is 0+`));
    await expect(wrong).rejects.toBeInstanceOf(InstallSourceError);
    const absent = controllerTarball(
      { ...install, source: { file: path.join(dir, "absent.tar.gz") } },
      { fetch: true },
    );
    await expect(absent).rejects.toThrow("cannot read");
  });

  it("a URL is downloaded once into the cache, then served from it", async () => {
    requests = 0;
    const first = await controllerTarball(fromUrl(SHA), { fetch: true });
    expect(first?.path).toBe(path.join(dir, "cache", "etcd-pair", "downloads", SHA, NAME));
    const again = await controllerTarball(fromUrl(SHA), { fetch: true });
    expect(again).toEqual(first);
    expect(requests).toBe(1);
  });

  it("a download with another sha256, or a 404, is refused and nothing is kept", async () => {
    await expect(controllerTarball(fromUrl(WRONG), { fetch: true })).rejects.toThrow(
      `${base}/${NAME} has sha256 ${SHA}, but etcd.install.tarball.sha256 is ${WRONG}`,
    );
    await expect(readdir(path.join(dir, "cache", "etcd-pair", "downloads", WRONG))).rejects.toThrow("ENOENT");
    await expect(controllerTarball(fromUrl(SHA, "missing.tar.gz"), { fetch: true })).rejects.toThrow("HTTP 404");
  });

  it("a plan does not download: it names where the download will be", async () => {
    requests = 0;
    const other = createHash("sha256").update("other").digest("hex");
    const planned = await controllerTarball(fromUrl(other), { fetch: false });
    expect(planned?.path).toBe(path.join(dir, "cache", "etcd-pair", "downloads", other, NAME));
    expect(requests).toBe(0);
  });
});
