#!/usr/bin/env bash
# Installs the etcd versions etcd-pair is tested with, without changing the system's apt sources:
#   3.4.23 from Debian bookworm (apt, into /usr/bin), and
#   3.5.x from Debian trixie (downloaded .debs unpacked into a cache dir).
# Prints nothing to stdout; progress goes to stderr. Safe to re-run.
set -euo pipefail

cache="${ETCD_PAIR_CACHE:-$HOME/.cache/etcd-pair}"
log() { printf 'install-etcd: %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root to install packages with apt-get (or install etcd-server etcd-client yourself)"
    exit 1
  fi
}

install_bookworm_etcd() {
  if [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ]; then
    log "etcd $(/usr/bin/etcd --version | sed -n 's/^etcd Version: //p') already in /usr/bin"
    return
  fi
  need_root
  log "installing etcd-server and etcd-client from Debian (apt)"
  apt-get update -qq >&2
  # The package starts its own etcd.service where systemd runs; we never use that unit.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >&2
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd.service >&2 || true
  fi
}

# download_release SUITE NAME: unpacks that suite's etcd-server/etcd-client into $cache/etcd/NAME
download_release() {
  local suite=$1 name=$2
  local dest="$cache/etcd/$name"
  if [ -x "$dest/bin/etcd" ] && [ -x "$dest/bin/etcdctl" ]; then
    log "etcd $("$dest/bin/etcd" --version | sed -n 's/^etcd Version: //p') already in $dest/bin"
    return
  fi
  need_root
  local work
  work=$(mktemp -d); chmod 755 "$work"
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  local mirror
  mirror=$("$(dirname "$0")/apt-mirror.sh")
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$work/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
  log "downloading etcd-server and etcd-client from Debian $suite"
  apt-get "${opts[@]}" update -qq >&2
  (cd "$work" && apt-get "${opts[@]}" download etcd-server etcd-client >&2)
  mkdir -p "$work/root"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  mkdir -p "$dest/bin"
  for tool in etcd etcdctl etcdutl; do
    if [ -x "$work/root/usr/bin/$tool" ]; then cp "$work/root/usr/bin/$tool" "$dest/bin/$tool"; fi
  done
  log "etcd $("$dest/bin/etcd" --version | sed -n 's/^etcd Version: //p') unpacked into $dest/bin"
}

install_bookworm_etcd
download_release trixie trixie
