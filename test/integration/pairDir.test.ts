import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nodeLayout, type NodeLayout } from "../../src/config/layout.js";
import { pairDirNeedsSecuring, parsePairDir, securePairDirCommand } from "../../src/plan/pairDir.js";
import { SSH_TLS_PAIR } from "../helpers/specs.js";

/**
 * The command `up` runs on a systemd host to make the node's dir root's, run for real as root on this machine
 * against a dir laid out as a systemd host's (paths moved into a temporary dir), with the etcd account attacking it.
 */
const [alpha] = SSH_TLS_PAIR.nodes;

function asRoot(command: string) {
  return spawnSync("/bin/sh", ["-c", command], { encoding: "utf8" });
}

function asEtcd(command: string) {
  return spawnSync("setpriv", ["--reuid=etcd", "--regid=etcd", "--init-groups", "/bin/sh", "-c", command], {
    encoding: "utf8",
  });
}

const modeOf = async (file: string) => {
  const s = await stat(file);
  return `${(s.mode & 0o777).toString(8)} ${s.uid === 0 ? "root" : s.uid}`;
};

describe("the node dir on a systemd host: root's, and etcd owns only data/", () => {
  let base: string;
  let layout: NodeLayout;
  let victim: string;

  beforeEach(async () => {
    if (process.getuid?.() !== 0) throw new Error("this test runs the command as root: run the tests as root");
    if (asRoot("id -u etcd").status !== 0) throw new Error("this test needs the user etcd (setup.sh installs etcd)");
    base = await mkdtemp(path.join(os.tmpdir(), "pairdir-"));
    await chmod(base, 0o755); // as /var/lib is: etcd passes through to the node's dir
    const real = nodeLayout(alpha);
    const moved = (p: string) => path.join(base, path.relative("/var/lib/etcd-pair", p));
    layout = {
      ...real,
      root: moved(real.root),
      stateDir: moved(real.stateDir),
      archiveDir: moved(real.archiveDir),
      installDir: moved(real.installDir),
      dataDir: moved(real.dataDir),
    };
    victim = path.join(base, "victim");
    await writeFile(victim, "root's file\n");
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const secure = () => asRoot(securePairDirCommand(layout, path.join(base, "etc")));

  it("leaves the dir 0711 root, state/ 0750 root:etcd, data/ 0700 etcd, and etcd can change nothing of root's", async () => {
    expect(secure()).toMatchObject({ status: 0, stderr: "" });
    expect(await modeOf(layout.root)).toBe("711 root");
    expect(await modeOf(layout.stateDir)).toBe("750 root");
    expect(await modeOf(layout.archiveDir)).toBe("700 root");
    expect(await modeOf(layout.installDir)).toBe("700 root");
    expect((await modeOf(layout.dataDir)).startsWith("700 ")).toBe(true);
    expect(asEtcd(`touch ${layout.dataDir}/db`).status).toBe(0);
    // What the etcd account did to the older layout, each refused now.
    expect(asEtcd(`mv ${layout.stateDir} ${layout.root}/state.moved`).stderr).toMatch(/Permission denied/);
    expect(asEtcd(`ln -s ${victim} ${layout.root}/trial-run.log`).stderr).toMatch(/Permission denied/);
    expect(asEtcd(`ln -s ${victim} ${layout.stateDir}/generation`).stderr).toMatch(/Permission denied/);
    expect(asEtcd(`echo 1 >${layout.stateDir}/start-approved`).stderr).toMatch(/Permission denied/);
    // The start script (as etcd) still reads the markers root writes.
    expect(asRoot(`echo token >${layout.stateDir}/generation`).status).toBe(0);
    expect(asEtcd(`cat ${layout.stateDir}/generation`).stdout).toBe("token\n");
    const probed = parsePairDir(asRoot(`stat -c '%a %U:%G %F %n' ${layout.root} ${layout.stateDir}`).stdout);
    expect(pairDirNeedsSecuring(layout, probed)).toBe(false);
  });

  it("takes back a dir of the older layout (etcd's), and refuses what etcd planted in it, following nothing", async () => {
    expect(
      asRoot(`mkdir -p ${layout.stateDir} && chown -R etcd:etcd ${layout.root} && chmod 700 ${layout.root}`).status,
    ).toBe(0);
    const before = parsePairDir(asRoot(`stat -c '%a %U:%G %F %n' ${layout.root} ${layout.stateDir}`).stdout);
    expect(pairDirNeedsSecuring(layout, before)).toBe(true);
    // Planted while etcd owned the dir: a symlink where root writes its trial run's log.
    expect(asEtcd(`ln -s ${victim} ${layout.root}/trial-run.log`).status).toBe(0);
    const refused = secure();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${layout.root}/trial-run.log is a symbolic link`);
    expect(await readFile(victim, "utf8")).toBe("root's file\n");
    // The dir is root's already: etcd cannot remove its own link any more; a person moves it away.
    expect(asEtcd(`rm ${layout.root}/trial-run.log`).status).not.toBe(0);
    asRoot(`mv ${layout.root}/trial-run.log ${base}/looked-at`);
    // state/ made by etcd (it renamed root's away and made its own): refused too.
    const second = secure();
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`${layout.stateDir} is not a directory of root's`);
    asRoot(`mv ${layout.stateDir} ${base}/state-of-etcd`);
    expect(secure().status).toBe(0);
    expect(await modeOf(layout.root)).toBe("711 root");
    expect(await modeOf(layout.stateDir)).toBe("750 root");
  });
});
