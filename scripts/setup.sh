#!/usr/bin/env bash
# Sets up a fresh Debian machine for etcd-pair: etcd 3.4.23, 3.5.16, 3.5.30, 3.6.14 and 3.7.1
# (scripts/install-etcd.sh; 3.6/3.7 from the release tarballs in ../shared/etcd/), a C compiler
# for one test, xfsprogs for the power-loss test, npm dependencies, and the build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-etcd.sh
# A test builds a tiny multithreaded program (the supervisor's liveness test must see every thread).
if ! command -v cc >/dev/null; then
  echo "setup: installing gcc (apt)" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >&2
fi
# The power-loss test puts each node on a loop-mounted ext4 image and shuts it down without a flush (xfs_io).
missing=""
command -v xfs_io >/dev/null || missing="$missing xfsprogs"
command -v mkfs.ext4 >/dev/null || missing="$missing e2fsprogs"
if [ -n "$missing" ]; then
  echo "setup: installing$missing (apt)" >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: Node.js 20+ and npm are needed (apt-get install nodejs npm, or from nodejs.org)" >&2
  exit 1
fi
echo "setup: npm ci" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "setup: build" >&2
npm run --silent build >&2
