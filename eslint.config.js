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
    // The pure core must not reach the outside world: effects live in transport/ and phases/.
    files: ["src/config/**", "src/plan/**", "src/render/**", "src/etcd/**", "src/service/**", "src/pki/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: ["node:fs", "node:fs/promises", "node:child_process", "node:net", "ssh2", "fs", "child_process"],
        },
      ],
    },
  },
);
