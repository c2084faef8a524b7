import type { NodeLayout } from "../config/layout.js";
import { shQuote } from "../shell/quote.js";

/**
 * Who owns what in a node's dir on a systemd host. Root writes markers, install scratch, logs and archives there,
 * so nothing root writes into may be changeable by the etcd account: the dir itself and every dir root writes in
 * are root's, and etcd owns only its data dir (the unit's only writable path). Otherwise whoever holds the etcd
 * account could rename root's dirs and plant symlinks that redirect root's writes (README: Security).
 */
export const PAIR_DIR_MODES = {
  /** Root's; others may pass through to data/ and state/ but not list it. */
  root: { mode: "711", owner: "root:root" },
  /** The start script (run as etcd) reads the markers; only root writes them. */
  state: { mode: "750", owner: "root:etcd" },
  /** Archived data dirs, snapshots, the tarball and its unpacked tree: root's alone. */
  archive: { mode: "700", owner: "root:root" },
  install: { mode: "700", owner: "root:root" },
} as const;

/** The dirs root writes in, whose owner and kind `claimPairDirCommand` checks. */
function rootDirs(layout: NodeLayout): string[] {
  return [layout.stateDir, layout.archiveDir, layout.installDir];
}

/**
 * Makes the node's dir root's (0711) and checks that nothing in it can redirect root's writes: no symlink directly
 * in it, and state/, archive/ and install/ (where they exist) are root's own dirs. Such a leftover of an older
 * layout, or of someone with the etcd account, is refused, never followed or removed: a person looks first.
 * Needs no etcd user (it runs before a tarball install creates it).
 */
export function claimPairDirCommand(layout: NodeLayout): string {
  const q = shQuote;
  const r = q(layout.root);
  const refuse = (what: string) =>
    `{ echo "${what}: it is not etcd-pair's (made by the etcd account, or an older layout?); ` +
    `look at it, then move it away" >&2; exit 1; }`;
  return [
    `if [ -L ${r} ]; then ${refuse(`${layout.root} is a symbolic link`)}; fi`,
    `mkdir -p ${r} && chown root:root ${r} && chmod ${PAIR_DIR_MODES.root.mode} ${r} || exit 1`,
    `l=$(find ${r} -mindepth 1 -maxdepth 1 -type l | head -n 1)`,
    `if [ -n "$l" ]; then ${refuse("$l is a symbolic link")}; fi`,
    `for d in ${rootDirs(layout).map(q).join(" ")}; do ` +
      `if [ -e "$d" ] && { [ ! -d "$d" ] || [ "$(stat -c %u "$d")" != 0 ]; }; then ` +
      `${refuse("$d is not a directory of root's")}; fi; done`,
    `mkdir -p -m 0700 ${q(layout.archiveDir)} ${q(layout.installDir)} && ` +
      `chmod 0700 ${q(layout.archiveDir)} ${q(layout.installDir)}`,
  ].join("\n");
}

/**
 * Creates the node's dirs. On a systemd host: the claim above, then state/ root:etcd 0750 and data/ etcd's 0700
 * (the unit creates data/ too, before each start). A local node's dir is its user's, 0700.
 */
export function securePairDirCommand(layout: NodeLayout, configDir: string): string {
  const q = shQuote;
  if (!layout.dataOwner) {
    const dirs = [...new Set([configDir, layout.root, layout.stateDir, layout.archiveDir])].map(q).join(" ");
    return `mkdir -p ${dirs} && chmod 700 ${q(layout.root)}`;
  }
  const state = q(layout.stateDir);
  return [
    `mkdir -p ${q(configDir)} || exit 1`,
    claimPairDirCommand(layout),
    `mkdir -p ${state} && chown ${PAIR_DIR_MODES.state.owner} ${state} && chmod ${PAIR_DIR_MODES.state.mode} ${state}`,
    dataDirCommand(layout),
  ].join("\n");
}

/** data/, etcd's own (0700): the only path its unit may write. `install` by full path in a unit file. */
export function dataDirCommand(layout: NodeLayout, install = "install"): string {
  // The unit runs etcd as etcd whatever the layout says (it is only installed on systemd hosts).
  const [user, group] = (layout.dataOwner ?? "etcd:etcd").split(":");
  return `${install} -d -o ${user} -g ${group} -m 0700 ${shQuote(layout.dataDir)}`;
}

/** What the probe's `stat -c '%a %U:%G %F %n'` lines say: path -> `<mode> <owner>:<group> <kind>`. */
export function parsePairDir(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const found: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([0-7]+) (\S+:\S+) (.+?) (\/.*)$/.exec(line.trim());
    if (match?.[4]) found[match[4]] = `${match[1]} ${match[2]} ${match[3]}`;
  }
  return found;
}

/**
 * Whether a systemd host's node dir or state dir is not as `securePairDirCommand` leaves them (an older layout, or
 * changed since): `up` then runs that command again, which also refuses what it must not follow.
 */
export function pairDirNeedsSecuring(layout: NodeLayout, pairDir: Record<string, string> | undefined): boolean {
  if (!layout.dataOwner || !pairDir) return false;
  const expected: [string, { mode: string; owner: string }][] = [
    [layout.root, PAIR_DIR_MODES.root],
    [layout.stateDir, PAIR_DIR_MODES.state],
  ];
  return expected.some(([path, m]) => {
    const found = pairDir[path];
    return found !== undefined && found !== `${m.mode} ${m.owner} directory`;
  });
}
