#!/usr/bin/env bash
# Sets up a fresh Debian machine for etcd-pair: etcd 3.4 and 3.5 (scripts/install-etcd.sh), npm
# dependencies, and the build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-etcd.sh
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: Node.js 20+ and npm are needed (apt-get install nodejs npm, or from nodejs.org)" >&2
  exit 1
fi
echo "setup: npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "setup: build" >&2
npm run --silent build >&2
