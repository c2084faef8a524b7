#!/usr/bin/env bash
# Installs the etcd versions etcd-pair is tested with, without changing the system's apt sources:
#   3.4.23 from Debian bookworm (apt, into /usr/bin),
#   3.5.16 from Debian trixie and 3.5.30 from Debian sid (downloaded .debs unpacked into the cache dir), and
#   3.6.14 and 3.7.1 from the release tarballs in ../shared/etcd/ beside the checkout (sha256 checked against
#   the values below, which are those of ../shared/etcd/README.md), unpacked into the cache dir.
# The Debian mirror is the one this machine's apt uses (scripts/apt-mirror.sh). Debian sid moves: when it no
# longer serves 3.5.30 (or cannot be reached) this says so and goes on; the tests that need 3.5.30 then fail
# with a message naming it. A missing or altered release tarball is an error.
# Prints nothing to stdout; progress goes to stderr. Safe to re-run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="${ETCD_PAIR_CACHE:-$HOME/.cache/etcd-pair}"
shared="${ETCD_PAIR_SHARED_ETCD:-$root/../shared/etcd}"
log() { printf 'install-etcd: %s\n' "$*" >&2; }
scratch=$(mktemp -d)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
version_of() { "$1/etcd" --version | sed -n 's/^etcd Version: //p'; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root to install packages with apt-get (or install etcd-server etcd-client yourself)"
    exit 1
  fi
}

install_bookworm_etcd() {
  if [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ]; then
    log "etcd $(version_of /usr/bin) already in /usr/bin"
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

# download_release SUITE NAME [WANT]: unpacks that suite's etcd-server/etcd-client into $cache/etcd/NAME/bin.
# With WANT, a copy already there of another version is replaced, and a download of another version is reported.
download_release() {
  local suite=$1 name=$2 want=${3:-}
  local dest="$cache/etcd/$name"
  if [ -x "$dest/bin/etcd" ] && [ -x "$dest/bin/etcdctl" ]; then
    local have
    have=$(version_of "$dest/bin")
    if [ -z "$want" ] || [ "$have" = "$want" ]; then
      log "etcd $have already in $dest/bin"
      return
    fi
    log "etcd $have in $dest/bin is not $want: downloading Debian $suite's again"
  fi
  need_root
  local work
  work=$(mktemp -d -p "$scratch")
  chmod 755 "$work"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  local mirror
  mirror=$("$root/scripts/apt-mirror.sh")
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$work/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
  log "downloading etcd-server and etcd-client from Debian $suite"
  apt-get "${opts[@]}" update -qq >&2
  (cd "$work" && apt-get "${opts[@]}" download etcd-server etcd-client >&2)
  mkdir -p "$work/root"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  rm -rf "$dest.new" && mkdir -p "$dest.new/bin"
  for tool in etcd etcdctl etcdutl; do
    if [ -x "$work/root/usr/bin/$tool" ]; then cp "$work/root/usr/bin/$tool" "$dest.new/bin/$tool"; fi
  done
  rm -rf "$dest" && mv "$dest.new" "$dest"
  local got
  got=$(version_of "$dest/bin")
  log "etcd $got unpacked into $dest/bin"
  if [ -n "$want" ] && [ "$got" != "$want" ]; then
    log "WARNING: Debian $suite now serves etcd $got, not $want: the tests of $want will fail until" \
      "test/helpers/etcdBinaries.ts names $got"
  fi
}

# unpack_tarball VERSION SHA256: unpacks ../shared/etcd/etcd-vVERSION-linux-amd64.tar.gz into $cache/etcd/vVERSION/bin
unpack_tarball() {
  local version=$1 sha256=$2
  local name="etcd-v$version-linux-amd64"
  local tarball="$shared/$name.tar.gz"
  local dest="$cache/etcd/v$version"
  if [ -x "$dest/bin/etcd" ] && [ "$(cat "$dest/sha256" 2>/dev/null)" = "$sha256" ]; then
    log "etcd $(version_of "$dest/bin") already in $dest/bin"
    return
  fi
  if [ ! -f "$tarball" ]; then
    log "$tarball is missing: etcd $version is tested from that release tarball (see ../shared/etcd/README.md)"
    exit 1
  fi
  local got
  got=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    log "$tarball has sha256 $got, not $sha256 (../shared/etcd/README.md): refusing to unpack it"
    exit 1
  fi
  local work
  work=$(mktemp -d -p "$scratch")
  tar -xzf "$tarball" -C "$work"
  for tool in etcd etcdctl etcdutl; do
    if [ ! -x "$work/$name/$tool" ]; then
      log "$tarball has no $name/$tool: not an etcd release tarball"
      exit 1
    fi
  done
  rm -rf "$dest.new" && mkdir -p "$dest.new/bin"
  cp "$work/$name/etcd" "$work/$name/etcdctl" "$work/$name/etcdutl" "$dest.new/bin/"
  echo "$sha256" >"$dest.new/sha256"
  local have
  have=$(version_of "$dest.new/bin")
  if [ "$have" != "$version" ]; then
    log "$tarball holds etcd $have, not $version"
    exit 1
  fi
  rm -rf "$dest" && mv "$dest.new" "$dest"
  log "etcd $version unpacked from $tarball into $dest/bin"
}

install_bookworm_etcd
download_release trixie trixie
# Unstable moves and may be unreachable: a failed download is reported, not fatal (the tests of 3.5.30 fail).
if ! (download_release sid sid 3.5.30); then
  log "WARNING: could not download etcd 3.5.30 from Debian sid: the tests of 3.5.30 will fail until it is in $cache/etcd/sid/bin"
fi
unpack_tarball 3.6.14 423ddac7a82bda0a469af7aa0822da9dfcbf06eb541e505260ea327a753c0507
unpack_tarball 3.7.1 3e27eaeb2a4b8666a054eec99ecdfea8bbba8a557736db5df9de0ee3fd7d79ce
