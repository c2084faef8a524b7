#!/usr/bin/env bash
# Real test hosts on this machine: systemd as PID 1, sshd and etcd, each in its own network namespace,
# run by systemd-nspawn on an overlay of one cached Debian root fs. Needs root.
#
#   hosts.sh rootfs              build the cached root fs once (debootstrap, ~2 min)
#   hosts.sh up NAME...          start hosts (10.77.0.11, .12, ... on a bridge; sshd on 127.0.0.1:22011, ...);
#                                this machine joins the bridge as 10.77.0.254 (test clients reach etcd there)
#   hosts.sh poweroff NAME       power loss: SIGKILL the container's init (its disk survives)
#   hosts.sh start NAME          power it back on
#   hosts.sh reboot NAME         clean reboot: systemctl reboot inside, wait for it to end, boot again
#   hosts.sh partition NAME      cut its link to the bridge (SSH still reaches it);  hosts.sh heal NAME: restore all
#   hosts.sh cut NAME            cut it off from everything: its link to the bridge and SSH (open SSH sessions end)
#   hosts.sh drop NAME ADDRESS   NAME's packets to ADDRESS are dropped (one path cut);  hosts.sh undrop NAME ADDRESS
#   hosts.sh exec NAME COMMAND   run COMMAND as root on NAME through its namespace (works while it is cut off)
#   hosts.sh copy NAME SRC PATH  copy this machine's SRC (file or dir) to PATH on NAME's disk (e.g. a witness's CLI)
#   hosts.sh down                tear everything down, by the ids recorded under $STATE
#
# ETCD_PAIR_E2E_SLOT=N (0-9, default 0) runs a separate set of hosts beside slot 0: subnet 10.(77+N).0.0/24,
# sshd forwarders on 127.0.0.1:(22010+100N+i), its own namespaces and state dir.
#
# Every process, mount and namespace it creates is recorded under $STATE and removed by `down` only.
set -euo pipefail

CACHE=${ETCD_PAIR_E2E_CACHE:-/var/cache/etcd-pair-e2e}
SLOT=${ETCD_PAIR_E2E_SLOT:-0}
case "$SLOT" in [0-9]) ;; *) echo "e2e-hosts: ETCD_PAIR_E2E_SLOT must be 0-9" >&2; exit 2 ;; esac
if [ "$SLOT" = 0 ]; then P=ep; else P=ep$SLOT; fi
STATE=${ETCD_PAIR_E2E_STATE:-/run/etcd-pair-e2e$([ "$SLOT" = 0 ] || echo "-$SLOT")}
ROOTFS=$CACHE/rootfs
BRIDGE_NS=$P-bridge
SUBNET=10.$((77 + SLOT)).0
PORT_BASE=$((22010 + 100 * SLOT))
CONTROLLER_LINK=$P-ctl
log() { printf 'e2e-hosts: %s\n' "$*" >&2; }

# index NAME: the host's number, from the order hosts were first started in (recorded).
index_of() {
  local name=$1 n=0
  mkdir -p "$STATE"
  touch "$STATE/names"
  if ! grep -qx "$name" "$STATE/names"; then echo "$name" >>"$STATE/names"; fi
  n=$(grep -nx "$name" "$STATE/names" | cut -d: -f1)
  echo "$n"
}

build_rootfs() {
  if [ -e "$ROOTFS/.complete" ]; then log "root fs cached in $ROOTFS"; return; fi
  for tool in debootstrap systemd-nspawn socat ip ssh-keygen; do
    command -v "$tool" >/dev/null || { log "missing $tool: apt-get install systemd-container debootstrap socat iproute2 openssh-client"; exit 1; }
  done
  rm -rf "$ROOTFS.partial"
  mkdir -p "$CACHE"
  log "debootstrap into $ROOTFS (a few minutes)"
  debootstrap --variant=minbase \
    --include=systemd-sysv,udev,dbus,libpam-systemd,libnss-myhostname,openssh-server,sudo,etcd-server,etcd-client,iproute2,iputils-ping,procps,ca-certificates \
    bookworm "$ROOTFS.partial" "$("$(dirname "$0")/../apt-mirror.sh")" >&2
  local r=$ROOTFS.partial
  : >"$r/etc/machine-id"
  # No fixed hostname: each container is named after its machine (-M), resolvable through nss-myhostname.
  rm -f "$r/etc/hostname"
  rm -f "$r"/etc/ssh/ssh_host_*
  # Host keys are made at first boot, so every host has its own; ed25519 only (RSA is slow).
  cat >"$r/etc/systemd/system/ssh-hostkey.service" <<'UNIT'
[Unit]
Description=Generate this host's SSH host key
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
[Install]
WantedBy=multi-user.target
UNIT
  ln -sf /etc/systemd/system/ssh-hostkey.service "$r/etc/systemd/system/multi-user.target.wants/ssh-hostkey.service"
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\n' >"$r/etc/ssh/sshd_config.d/e2e.conf"
  # The packaged etcd.service is never used: disabled, not masked.
  rm -f "$r/etc/systemd/system/multi-user.target.wants/etcd.service" "$r/etc/systemd/system/etcd2.service"
  # A controller key for root, a sudo user and a user without sudo.
  ssh-keygen -q -t ed25519 -N "" -C etcd-pair-e2e -f "$CACHE/id_ed25519" <<<y >/dev/null 2>&1 || true
  install -d -m 700 "$r/root/.ssh"
  install -m 600 "$CACHE/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
  for user in deploy nosudo; do
    chroot "$r" useradd -m -s /bin/sh "$user"
    install -d -m 700 -o "$(chroot "$r" id -u "$user")" -g "$(chroot "$r" id -g "$user")" "$r/home/$user/.ssh"
    install -m 600 -o "$(chroot "$r" id -u "$user")" -g "$(chroot "$r" id -g "$user")" "$CACHE/id_ed25519.pub" "$r/home/$user/.ssh/authorized_keys"
  done
  echo 'deploy ALL=(ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/deploy"
  chmod 440 "$r/etc/sudoers.d/deploy"
  touch "$r/.complete"
  mv "$r" "$ROOTFS"
  log "root fs ready in $ROOTFS"
}

ensure_bridge() {
  if [ -e "$STATE/bridge" ]; then return; fi
  ip netns add "$BRIDGE_NS"
  ip -n "$BRIDGE_NS" link add br0 type bridge
  ip -n "$BRIDGE_NS" link set br0 up
  echo "$BRIDGE_NS" >"$STATE/bridge"
  # This machine's own leg on the bridge, so test clients (writers, readers) reach the hosts' etcd ports
  # directly; it goes when the bridge namespace is deleted.
  ip link add "$CONTROLLER_LINK" type veth peer name ctl0 netns "$BRIDGE_NS"
  ip -n "$BRIDGE_NS" link set ctl0 master br0 up
  ip addr add "$SUBNET.254/24" dev "$CONTROLLER_LINK"
  ip link set "$CONTROLLER_LINK" up
}

# net_up NAME: its namespace, a veth into the bridge, its address. Kept across power cycles.
net_up() {
  local name=$1 i ns veth
  i=$(index_of "$name"); ns=$P-$name; veth=$P-ve-$name
  if [ -e "$STATE/$name.netns" ]; then return; fi
  ip netns add "$ns"
  echo "$ns" >"$STATE/$name.netns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" netns "$BRIDGE_NS"
  ip -n "$BRIDGE_NS" link set "$veth" master br0 up
  ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}

# disk NAME: overlay of the root fs with a per-host upper dir (the host's disk).
disk_up() {
  local name=$1 dir=$STATE/$name
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  if ! mountpoint -q "$dir/root"; then
    mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
    echo "$dir/root" >"$STATE/$name.mount"
  fi
}

boot() {
  local name=$1 dir=$STATE/$name pid init i
  if [ -e "$STATE/$name.pid" ] && kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then return; fi
  setsid systemd-nspawn -q -D "$dir/root" -M "$name" --boot --register=no --keep-unit \
    --network-namespace-path="/run/netns/$P-$name" --capability=CAP_NET_ADMIN >"$dir/console.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/$name.pid"
  # The container's init (PID 1 inside): killing it ends every process of the container's PID namespace.
  # (the child of systemd-nspawn that is PID 1 of its own PID namespace).
  init=
  for i in $(seq 200); do
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
      if [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$child/status" 2>/dev/null)" = 1 ]; then init=$child; fi
    done
    [ -n "$init" ] && break
    sleep 0.05
  done
  [ -n "$init" ] || { log "$name: systemd-nspawn started no init (see $dir/console.log)"; exit 1; }
  echo "$init" >"$STATE/$name.init"
}

# forward NAME: sshd of NAME on 127.0.0.1:PORT; while NAME is cut off ($STATE/NAME.cut), connections are closed.
forward() {
  local name=$1 i port
  i=$(index_of "$name"); port=$((PORT_BASE + i))
  if [ -e "$STATE/$name.socat" ] && kill -0 "$(cat "$STATE/$name.socat")" 2>/dev/null; then return; fi
  setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
    "SYSTEM:test ! -e $STATE/$name.cut && exec ip netns exec $P-$name socat STDIO TCP\:127.0.0.1\:22" \
    >/dev/null 2>&1 </dev/null &
  echo $! >"$STATE/$name.socat"
}

# cut NAME: no link to the bridge, no new SSH session, and the open ones end (the forwarder's children).
cut_off() {
  local name=$1
  touch "$STATE/$name.cut"
  ip -n "$BRIDGE_NS" link set "$P-ve-$name" down
  if [ -e "$STATE/$name.socat" ]; then pkill -KILL -P "$(cat "$STATE/$name.socat")" 2>/dev/null || true; fi
}

heal_link() {
  local name=$1
  rm -f "$STATE/$name.cut"
  ip -n "$BRIDGE_NS" link set "$P-ve-$name" up
}

# exec NAME COMMAND: as root on NAME over ssh inside its own namespace, so it works while NAME is cut off.
exec_on() {
  local name=$1
  shift
  ip netns exec "$P-$name" ssh -q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=5 -i "$CACHE/id_ed25519" root@127.0.0.1 "$@"
}

# wait_ssh NAME: sshd answers inside NAME's namespace (also while NAME is cut off).
wait_ssh() {
  local name=$1 i port deadline
  i=$(index_of "$name"); port=$((PORT_BASE + i)); deadline=$((SECONDS + 60))
  until exec_on "$name" true 2>/dev/null; do
    if [ $SECONDS -gt $deadline ]; then log "$name: no SSH after 60 s (see $STATE/$name/console.log)"; exit 1; fi
    sleep 0.2
  done
  log "$name up: ssh root@127.0.0.1 -p $port, address $SUBNET.$((10 + i))"
}

start() {
  local name=$1
  disk_up "$name"; boot "$name"; forward "$name"; wait_ssh "$name"
}

poweroff() {
  local name=$1 pid init
  [ -e "$STATE/$name.pid" ] || return 0
  pid=$(cat "$STATE/$name.pid"); init=$(cat "$STATE/$name.init" 2>/dev/null || true)
  # Power loss: SIGKILL the container's init; the kernel kills the rest of its PID namespace. Its disk stays.
  if [ -n "$init" ]; then kill -9 "$init" 2>/dev/null || true; fi
  local i
  for i in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid" | cut -c1)" = Z ]; then break; fi
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$STATE/$name.pid" "$STATE/$name.init"
}

# reboot NAME: a clean reboot from inside (systemd stops every unit), then power on again.
reboot() {
  local name=$1 i pid
  [ -e "$STATE/$name.pid" ] || { log "$name is not running"; exit 1; }
  pid=$(cat "$STATE/$name.pid")
  exec_on "$name" 'systemctl reboot' || true
  # systemd-nspawn exits once the container has shut down (it does not reboot in place).
  for i in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid" | cut -c1)" = Z ]; then break; fi
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; then
    log "$name did not shut down within 30 s: powering it off"
  fi
  poweroff "$name"
  start "$name"
}

down() {
  [ -d "$STATE" ] || return 0
  for f in "$STATE"/*.socat; do if [ -e "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi; rm -f "$f"; done
  for f in "$STATE"/*.pid; do [ -e "$f" ] || continue; poweroff "$(basename "$f" .pid)"; done
  for f in "$STATE"/*.mount; do [ -e "$f" ] || continue; umount "$(cat "$f")" 2>/dev/null || umount -l "$(cat "$f")"; rm -f "$f"; done
  for f in "$STATE"/*.netns; do [ -e "$f" ] || continue; ip netns del "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
  if [ -e "$STATE/bridge" ]; then ip netns del "$BRIDGE_NS" 2>/dev/null || true; ip link del "$CONTROLLER_LINK" 2>/dev/null || true; rm -f "$STATE/bridge"; fi
  rm -rf "$STATE"
}

cmd=${1:-}
shift || true
case "$cmd" in
  rootfs) build_rootfs ;;
  up) build_rootfs; mkdir -p "$STATE"; ensure_bridge; for n in "$@"; do net_up "$n"; start "$n"; done ;;
  start) start "$1" ;;
  reboot) reboot "$1" ;;
  poweroff) poweroff "$1" ;;
  partition) ip -n "$BRIDGE_NS" link set "$P-ve-$1" down ;;
  cut) cut_off "$1" ;;
  heal) heal_link "$1" ;;
  drop) ip -n "$P-$1" route replace blackhole "$2/32" ;;
  undrop) ip -n "$P-$1" route del blackhole "$2/32" ;;
  exec) exec_on "$@" ;;
  copy) mkdir -p "$(dirname "$STATE/$1/root/$3")"; cp -a "$2" "$STATE/$1/root/$3" ;;
  down) down ;;
  *) sed -n '2,23p' "$0" >&2; exit 2 ;;
esac
