/**
 * UDP socket lookup (Linux `__udp4_lib_lookup` / `__udp6_lib_lookup` and `compute_score`): the
 * socket a datagram (saddr:sport → daddr:dport) belongs to. Every socket on the port is scored:
 * a socket that cannot take the datagram scores -1; otherwise the family match gives a base
 * (an AF_INET socket beats a dual-stack AF_INET6 one for IPv4), and a specific bound address, a
 * connected peer address and a connected peer port each add 4. The highest score wins; on ties
 * the most recently bound socket (Linux adds sockets at the head of the port's chain, so two
 * SO_REUSEADDR sockets on one address see unicast go to the newer one). When the winner is an
 * unconnected SO_REUSEPORT socket, the datagram goes to
 * one member of its group chosen by the flow hash (Linux `reuseport_select_sock`:
 * reciprocal_scale over the members in group order), so one flow always lands on one socket.
 *
 * Allocation-free: three passes over the port's users at most, no arrays.
 */
import { addrEquals, isUnspecified, isV4, tupleHash, type Addr, type PortTable } from '../inet/index.js';
import { IPPROTO_UDP } from './constants.js';
import type { UdpSock } from './sock.js';

/** a socket bound to `::` (IPv6 wildcard; dual-stack unless v6only) */
function isAny6(a: Addr): boolean {
  return a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 0;
}

/**
 * Linux compute_score for a datagram of `family`: -1 when `us` cannot receive it, else its score.
 */
export function udpScore(us: UdpSock, family: 4 | 6, saddr: Addr, sport: number, daddr: Addr): number {
  if (us.closed) return -1;
  const la = us.laddr;
  let score: number;
  if (family === 4) {
    if (us.sockFamily === 6) {
      // dual-stack: only a `::` or v4-mapped binding of a socket that is not v6only
      if (us.v6only || !(isAny6(la) || isV4(la))) return -1;
      score = 1;
    } else {
      score = 2;
    }
  } else {
    if (us.sockFamily === 4 || isV4(la)) return -1;
    score = 2;
  }
  if (!isUnspecified(la)) {
    if (!addrEquals(la, daddr)) return -1;
    score += 4;
  }
  if (us.connected) {
    if (!addrEquals(us.raddr, saddr)) return -1;
    score += 4;
    if (us.rport !== 0) {
      if (us.rport !== sport) return -1;
      score += 4;
    }
  }
  return score;
}

/** true when `m` is in the same SO_REUSEPORT group as `lead` and unconnected */
function sameGroup(m: UdpSock, lead: UdpSock): boolean {
  return m.reusePort && !m.connected && !m.closed && m.owner === lead.owner && m.sockFamily === lead.sockFamily &&
    m.v6only === lead.v6only && addrEquals(m.laddr, lead.laddr);
}

/** Linux reciprocal_scale: maps a 32-bit hash onto [0, n) */
export function reciprocalScale(hash: number, n: number): number {
  return Math.floor(((hash >>> 0) * n) / 4294967296);
}

/**
 * The socket for a unicast datagram, or null. `secret` keys the reuseport flow hash.
 */
export function udpLookup(
  ports: PortTable, secret: number, family: 4 | 6, saddr: Addr, sport: number, daddr: Addr, dport: number,
): UdpSock | null {
  const users = ports.users(dport);
  const n = users.length;
  let best: UdpSock | null = null;
  let bestScore = -1;
  for (let i = 0; i < n; i++) {
    const us = users[i] as UdpSock;
    const s = udpScore(us, family, saddr, sport, daddr);
    if (s >= 0 && s >= bestScore) {
      bestScore = s;
      best = us;
    }
  }
  if (best === null || !best.reusePort || best.connected) return best;
  // SO_REUSEPORT: spread flows over the group's members that score as well as the winner
  let members = 0;
  for (let i = 0; i < n; i++) {
    const m = users[i] as UdpSock;
    if (sameGroup(m, best) && udpScore(m, family, saddr, sport, daddr) === bestScore) members++;
  }
  if (members <= 1) return best;
  const h = tupleHash(secret, IPPROTO_UDP, saddr, sport, daddr, dport);
  let k = reciprocalScale(h, members);
  for (let i = 0; i < n; i++) {
    const m = users[i] as UdpSock;
    if (sameGroup(m, best) && udpScore(m, family, saddr, sport, daddr) === bestScore && k-- === 0) return m;
  }
  return best;
}
