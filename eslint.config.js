import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "test/golden/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // The pure core (config -> plan -> rendered commands) reaches nothing outside: no file system, no processes,
    // no network, and no value from the effectful layers (cli/, commands/, runtime/, transport/). Types may be
    // shared: an owner's type (the transport's ExecOutcome) is imported as a type.
    files: [
      "src/config/**",
      "src/plan/**",
      "src/render/**",
      "src/etcd/**",
      "src/service/**",
      "src/pki/**",
      "src/shell/**",
    ],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: ["node:fs", "node:fs/promises", "node:child_process", "node:net", "ssh2", "fs", "child_process"].map(
            (name) => ({ name, message: "the pure core does no I/O: effects live in runtime/ and transport/" }),
          ),
          patterns: [
            {
              group: ["**/cli/**", "**/commands/**", "**/runtime/**", "**/transport/**"],
              allowTypeImports: true,
              message: "the pure core imports no value from cli/, commands/, runtime/ or transport/ (types are fine)",
            },
          ],
        },
      ],
    },
  },
);
