/** The commented config `etcd-pair init` writes: two local nodes that work as they are. */
export const STARTER_CONFIG = `# etcd-pair configuration: one etcd main and a permanent learner standby.
# Schema for editors: etcd-pair config schema > etcd-pair.schema.json
# yaml-language-server: $schema=etcd-pair.schema.json

# Name of the pair: lowercase letters, digits and '-'. Part of file names and of every cluster token.
cluster: demo

etcd:
  # Where etcd, etcdctl (and etcdutl on 3.5+) are on the hosts. etcd 3.4.21+, 3.5.5+, 3.6 or 3.7:
  # 'etcd-pair versions' says what each gets wrong.
  binDir: /usr/bin
  # Default ports; a node may set its own.
  clientPort: 2379
  peerPort: 2380
  # How etcd gets onto SSH hosts: preinstalled (in binDir), apt, or
  # { tarball: { file: etcd-v3.5.16-linux-amd64.tar.gz, sha256: "..." } } uploaded from here.
  install: preinstalled

# Mutual TLS for clients and peers: etcd-pair's own CA and certificates, kept in dir (relative to this
# file). Use an existing CA with ca: { cert: ..., key: ... }. tls: false runs in plain text (not advised).
tls:
  dir: pki

# When failover cannot reach the old main: a command run here that powers it off (or cuts it off) and
# exits 0. It gets the old main's name and address in $ETCD_PAIR_FENCE_NODE and $ETCD_PAIR_FENCE_ADDRESS
# (either node can be the main). Without it, failover --yes is your word that the old main is down.
# failover:
#   fenceCommand: ipmitool -H "$ETCD_PAIR_FENCE_NODE-bmc" -U admin -E chassis power off
#   # Proves the fence path without using it ('etcd-pair fence test NODE', and check).
#   fenceCheckCommand: ipmitool -H "$ETCD_PAIR_FENCE_NODE-bmc" -U admin -E chassis power status
#   # etcd-pair watch (automatic failover; needs fenceCommand): the main is dead once the witness and
#   # the learner's host both lose it for detectAfter; at most one automatic failover per minInterval;
#   # none while the learner was more than maxLagRevisions behind at the last look.
#   detectAfter: 10s
#   minInterval: 1h
#   maxLagRevisions: 1000

# Exactly two nodes. The first is the initial main (the only voter); the second becomes its learner.
nodes:
  - name: alpha
    # What etcd binds to and advertises. Local nodes use loopback addresses.
    address: 127.0.0.1
    clientPort: 23791
    peerPort: 23801
    # A local host: etcd runs on this machine, its data, scripts, log and pidfile under dir
    # (relative to this file). A real host instead:
    #   ssh: { host: alpha.example.net, user: deploy, become: true, identityFile: ~/.ssh/id_ed25519 }
    local: { dir: .etcd-pair/alpha }
  - name: beta
    address: 127.0.0.1
    clientPort: 23792
    peerPort: 23802
    local: { dir: .etcd-pair/beta }
`;
