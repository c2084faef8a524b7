// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/etcd-pair.js: one file loads in ~0.2 s where
// the module tree took ~0.4 s, and every command pays that at startup. The certificate issuer stays a
// separate chunk, loaded only when something is issued; ssh2 (native parts) is loaded from node_modules.
import { rm } from "node:fs/promises";
import { build } from "esbuild";

// Chunk names carry content hashes: stale ones from an earlier build must not pile up.
await rm("dist/bundle", { recursive: true, force: true });

await build({
  entryPoints: { "etcd-pair": "dist/cli/main.js" },
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["ssh2"],
  // Bundled CommonJS packages call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __etcdPairRequire } from 'node:module'; const require = __etcdPairRequire(import.meta.url);",
  },
  logLevel: "warning",
});
