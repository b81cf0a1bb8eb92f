/**
 * `TcpDemux`: finds the socket for an incoming segment (Linux `__inet_lookup_established` +
 * `__inet_lookup_listener`, and their IPv6 twins).
 *
 * Contract:
 * - The established table (connections in every state but LISTEN and CLOSE, TIME_WAIT included)
 *   is an array of chains indexed by `tupleHash` of the 4-tuple under a per-host secret; lookups
 *   take scratch addresses and allocate nothing, and grow the table only on insert.
 * - Listeners are kept per local port. For a segment to `daddr:dport` the best listener wins:
 *   one bound to `daddr` beats a wildcard; at equal specificity a socket of the segment's family
 *   beats a dual-stack AF_INET6 one (Linux compute_score). An IPv4 segment may reach an AF_INET6
 *   listener bound to `::` (or to the v4-mapped address) unless it is v6only; an IPv6 segment
 *   never reaches an IPv4 listener. When the winner has SO_REUSEPORT, the segment's flow hash
 *   picks one member of its group (same owner, family, v6only and address), as
 *   `reuseport_select_sock` does with `reciprocal_scale`.
 * - The table holds references only; sockets are inserted and removed by the protocol.
 */
import { addrEquals, isUnspecified, isV4, tupleHash, type Addr } from '../inet/index.js';
import type { TcpSock } from './sock.js';

const IPPROTO_TCP = 6;
const INITIAL_BUCKETS = 256;

export class TcpDemux {
  private table: (TcpSock | null)[] = new Array<TcpSock | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  /** connections hashed */
  count = 0;
  /** listeners by local port */
  private readonly listeners = new Map<number, TcpSock[]>();
  listenerCount = 0;
  /** result of the last successful lookupEstablished; cleared by every insert/remove */
  private lastHit: TcpSock | null = null;

  constructor(
    private readonly secret: number,
    private readonly reuseportSecret: number,
  ) {}

  /** hash of a connection's 4-tuple as the table keys it */
  hashOf(laddr: Addr, lport: number, raddr: Addr, rport: number): number {
    return tupleHash(this.secret, IPPROTO_TCP, raddr, rport, laddr, lport);
  }

  insert(tp: TcpSock): void {
    this.lastHit = null;
    if (this.count >= this.table.length) this.grow();
    const h = this.hashOf(tp.laddr, tp.lport, tp.raddr, tp.rport);
    tp.hashValue = h;
    const i = h & this.mask;
    tp.hashNext = this.table[i];
    this.table[i] = tp;
    tp.hashed = true;
    this.count++;
  }

  remove(tp: TcpSock): void {
    if (!tp.hashed) return;
    this.lastHit = null;
    const i = tp.hashValue & this.mask;
    let cur = this.table[i];
    let prev: TcpSock | null = null;
    while (cur !== null && cur !== tp) {
      prev = cur;
      cur = cur.hashNext;
    }
    if (cur === tp) {
      if (prev === null) this.table[i] = tp.hashNext;
      else prev.hashNext = tp.hashNext;
      this.count--;
    }
    tp.hashNext = null;
    tp.hashed = false;
  }

  /** the connection for the 4-tuple, or null (allocation-free) */
  lookupEstablished(laddr: Addr, lport: number, raddr: Addr, rport: number): TcpSock | null {
    // the table has not changed since the last hit: same tuple, same answer (no hashing)
    const c = this.lastHit;
    if (
      c !== null && c.lport === lport && c.rport === rport && addrEquals(c.raddr, raddr) && addrEquals(c.laddr, laddr)
    ) return c;
    const h = this.hashOf(laddr, lport, raddr, rport);
    let tp = this.table[h & this.mask];
    while (tp !== null) {
      if (
        tp.hashValue === h && tp.lport === lport && tp.rport === rport && addrEquals(tp.raddr, raddr) &&
        addrEquals(tp.laddr, laddr)
      ) {
        this.lastHit = tp;
        return tp;
      }
      tp = tp.hashNext;
    }
    return null;
  }

  addListener(tp: TcpSock): void {
    let list = this.listeners.get(tp.lport);
    if (list === undefined) {
      list = [];
      this.listeners.set(tp.lport, list);
    }
    list.push(tp);
    this.listenerCount++;
  }

  removeListener(tp: TcpSock): void {
    const list = this.listeners.get(tp.lport);
    if (list === undefined) return;
    const i = list.indexOf(tp);
    if (i < 0) return;
    list.splice(i, 1);
    this.listenerCount--;
    if (list.length === 0) this.listeners.delete(tp.lport);
  }

  /**
   * The listener for a segment from `saddr:sport` to `daddr:dport` (see the module contract),
   * or null. Allocation-free.
   */
  lookupListener(daddr: Addr, dport: number, saddr: Addr, sport: number): TcpSock | null {
    if (this.listenerCount === 0) return null;
    const list = this.listeners.get(dport);
    if (list === undefined) return null;
    const v4 = isV4(daddr);
    let best: TcpSock | null = null;
    let bestScore = 0;
    for (let i = 0; i < list.length; i++) {
      const l = list[i]!;
      const s = score(l, daddr, v4);
      if (s > bestScore) {
        best = l;
        bestScore = s;
      }
    }
    if (best === null || !best.reusePort) return best;
    // SO_REUSEPORT group of the winner: pick by the flow hash
    let n = 0;
    for (let i = 0; i < list.length; i++) if (sameGroup(best, list[i]!)) n++;
    if (n <= 1) return best;
    const h = tupleHash(this.reuseportSecret, IPPROTO_TCP, saddr, sport, daddr, dport);
    let k = Math.floor((h / 4294967296) * n); // reciprocal_scale
    for (let i = 0; i < list.length; i++) {
      const l = list[i]!;
      if (!sameGroup(best, l)) continue;
      if (k === 0) return l;
      k--;
    }
    return best;
  }

  /** listeners on `port` (tests) */
  listenersOn(port: number): readonly TcpSock[] {
    return this.listeners.get(port) ?? [];
  }

  /** every hashed connection (cold path: close-all, stats) */
  forEach(fn: (tp: TcpSock) => void): void {
    for (let i = 0; i < this.table.length; i++) {
      for (let t = this.table[i]; t !== null;) {
        const n: TcpSock | null = t.hashNext;
        fn(t);
        t = n;
      }
    }
  }

  private grow(): void {
    const old = this.table;
    const size = old.length * 2;
    this.table = new Array<TcpSock | null>(size).fill(null);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      for (let t = old[i]; t !== null;) {
        const n: TcpSock | null = t.hashNext;
        const j = t.hashValue & this.mask;
        t.hashNext = this.table[j];
        this.table[j] = t;
        t = n;
      }
    }
  }
}

/** Linux compute_score, reduced: 0 = no match; specific 4, wildcard 2; +1 for the segment's family */
function score(l: TcpSock, daddr: Addr, v4: boolean): number {
  const la = l.laddr;
  if (v4) {
    if (l.sockFamily === 6 && l.v6only) return 0;
    if (isV4(la)) {
      if (la.w3 === daddr.w3) return 4 + (l.sockFamily === 4 ? 1 : 0);
      if (la.w3 === 0) return 2 + (l.sockFamily === 4 ? 1 : 0);
      return 0;
    }
    // an AF_INET6 socket bound to `::` (dual-stack)
    return isUnspecified(la) ? 2 : 0;
  }
  if (l.sockFamily === 4 || isV4(la)) return 0;
  if (addrEquals(la, daddr)) return 5;
  return isUnspecified(la) ? 3 : 0;
}

function sameGroup(a: TcpSock, b: TcpSock): boolean {
  return (
    b.reusePort && b.owner === a.owner && b.sockFamily === a.sockFamily && b.v6only === a.v6only &&
    addrEquals(b.laddr, a.laddr)
  );
}
