#!/usr/bin/env bash
# Builds (up) and removes (down) a namespace whose kernel talks VXLAN to our stack on loopback,
# the same network the interop suite makes (test/interop/netns.ts), for trying things by hand.
#
#   scripts/netns.sh up   [-n NAME] [-4|-6] [-m MTU] [-i VNI] [-p OUR_PORT] [-k KERNEL_PORT]
#   scripts/netns.sh down [-n NAME]
#   scripts/netns.sh status
#
# up: namespace NAME (default dmtsh) with device NAME-vx (VNI, default 42): created in the root
# namespace with local 127.0.0.1 (-6: ::1) and dstport KERNEL_PORT (default 4789), localbypass
# turned off over rtnetlink (iproute2 6.1 lacks 'nolocalbypass'; needs `npm run build`), moved
# into NAME, FDB default entry to OUR_PORT (default 4790), MTU (default 1450), kernel side
# 198.18.42.1/24 and fd42::1/64, IPv6 on without DAD, tx checksum offload off. Then, e.g.:
#   devmem ncdevmem ... --link vxlan:local=127.0.0.1:4790,remote=127.0.0.1:4789,vni=42 --addr 198.18.42.2/24
#   ip netns exec dmtsh ping 198.18.42.2
# down: deletes the namespace (and with it the device and its UDP socket). Needs root.
# Traffic stays on loopback and in the namespace: it has no default route.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
[ $# -gt 0 ] && shift
NAME=dmtsh OUTER=4 MTU=1450 VNI=42 OURPORT=4790 KPORT=4789
while getopts "n:46m:i:p:k:" o; do
  case $o in
    n) NAME=$OPTARG ;;
    4) OUTER=4 ;;
    6) OUTER=6 ;;
    m) MTU=$OPTARG ;;
    i) VNI=$OPTARG ;;
    p) OURPORT=$OPTARG ;;
    k) KPORT=$OPTARG ;;
    *) echo "usage: $0 up|down|status [-n NAME] [-4|-6] [-m MTU] [-i VNI] [-p OUR_PORT] [-k KERNEL_PORT]" >&2; exit 2 ;;
  esac
done
DEV="${NAME:0:12}-vx"

case $cmd in
  up)
    [ "$(id -u)" = 0 ] || { echo "netns.sh: needs root" >&2; exit 1; }
    RTNL=dist/test/interop/rtnl.js
    [ -f $RTNL ] || { echo "netns.sh: $RTNL missing: run 'npm run build' first" >&2; exit 1; }
    if [ "$OUTER" = 6 ]; then LOCAL=::1; else LOCAL=127.0.0.1; fi
    ip netns add "$NAME"
    trap 'echo "netns.sh: setup failed, removing $NAME" >&2; ip netns del "$NAME" 2>/dev/null; ip link del "$DEV" 2>/dev/null; exit 1' ERR
    ip netns exec "$NAME" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.router_solicitations=0
    ip link add "$DEV" type vxlan id "$VNI" local "$LOCAL" dstport "$KPORT" nolearning
    node $RTNL localbypass "$DEV" 0
    ip link set "$DEV" netns "$NAME"
    bridge -n "$NAME" fdb append 00:00:00:00:00:00 dev "$DEV" dst "$LOCAL" port "$OURPORT"
    ip -n "$NAME" link set lo up
    ip -n "$NAME" link set "$DEV" mtu "$MTU" up
    ip -n "$NAME" addr add 198.18.42.1/24 dev "$DEV"
    ip -n "$NAME" -6 addr add fd42::1/64 dev "$DEV" nodad
    if command -v ethtool >/dev/null; then ip netns exec "$NAME" ethtool -K "$DEV" tx off >/dev/null 2>&1 || true; fi
    trap - ERR
    echo "up: netns $NAME, $DEV vni $VNI mtu $MTU, kernel $LOCAL:$KPORT -> us $LOCAL:$OURPORT, kernel side 198.18.42.1/24 fd42::1/64"
    echo "    our side: --link vxlan:local=$([ "$OUTER" = 6 ] && echo "[::1]" || echo 127.0.0.1):$OURPORT,remote=$([ "$OUTER" = 6 ] && echo "[::1]" || echo 127.0.0.1):$KPORT,vni=$VNI --addr 198.18.42.2/24 --addr fd42::2/64"
    ;;
  down)
    ip netns del "$NAME" 2>/dev/null && echo "down: $NAME removed" || echo "down: no namespace $NAME"
    ip link del "$DEV" 2>/dev/null || true
    ;;
  status)
    ip netns list | grep -E '^dmt' || echo "no dmt* namespaces"
    ip -o link show | grep -E ': dmt' || true
    ;;
  *)
    echo "usage: $0 up|down|status [-n NAME] [-4|-6] [-m MTU] [-i VNI] [-p OUR_PORT] [-k KERNEL_PORT]" >&2
    exit 2
    ;;
esac
