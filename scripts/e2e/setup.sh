#!/usr/bin/env bash
# Installs what the end-to-end suite needs (Debian packages) and builds its cached root fs. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap socat:socat ip:iproute2 ssh:openssh-client ssh-keygen:openssh-client; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e-setup: apt-get install ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
./scripts/e2e/hosts.sh rootfs
