/**
 * `PortTable`: one transport protocol's local ports (Linux `inet_bind_hashbucket` / UDP's port
 * hash), shared in shape by TCP and UDP (one instance per protocol).
 *
 * Contract:
 * - `bind` applies Linux's conflict rules (inet_csk_bind_conflict / udp_lib_lport_inuse): two
 *   users of one port conflict when their addresses overlap — equal, or one is a wildcard whose
 *   family covers the other (`::` without v6only covers IPv4; `0.0.0.0` never covers IPv6; two
 *   `::` always overlap) — unless both set SO_REUSEADDR and the one already there is not
 *   listening, or both set SO_REUSEPORT with the same owner. On success it sets `u.laddr` and
 *   `u.lport`. Port 0 picks an ephemeral port from a seeded random start, odd ports first
 *   (Linux's bind parity), accepting only ports no overlapping user holds.
 * - `connectPort` is RFC 6056 algorithm 3 as Linux `__inet_hash_connect` runs it: the start is
 *   a keyed hash of (laddr, raddr, rport) plus a per-bucket perturbation that advances after
 *   each success; even ports first, then odd; ports whose bucket was created by `bind` are
 *   skipped, ports created by connects are shared when `tupleFree(p)` says the 4-tuple is free.
 *   Exhaustion → -EADDRNOTAVAIL. Deterministic given the secret.
 * - `listenCheck` re-runs the conflict check when a bound TCP socket starts listening (Linux
 *   calls `get_port` again from `inet_csk_listen_start`).
 * - The table holds references to users until `unbind`; it never calls back into them.
 */
import { addrEquals, fmix, isV4, mix, type Addr, type InetAddr } from './addr.js';
import { tupleHash } from './flow.js';

/** a socket as the port table sees it (implemented by TcpSock and UdpSock) */
export interface PortUser {
  /** AF_INET → 4, AF_INET6 → 6 (dual-stack unless v6only) */
  readonly sockFamily: 4 | 6;
  /** bound address (InetAddr.ANY4 / ANY6 for wildcards) */
  laddr: InetAddr;
  /** 0 = unbound */
  lport: number;
  reuseAddr: boolean;
  reusePort: boolean;
  v6only: boolean;
  /** TCP LISTEN (SO_REUSEADDR never shares with a listener) */
  readonly listening: boolean;
  /** SO_REUSEPORT group key ("uid"); the same owner may share */
  readonly owner: number;
}

const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EINVAL = 22;

/** perturbation table size (Linux INET_TABLE_PERTURB_SIZE is 2^16; 2^8 keeps it small) */
const PERTURB_SIZE = 256;

const EMPTY: readonly PortUser[] = Object.freeze([]);

interface Bucket {
  users: PortUser[];
  /** position of each user in `users` (O(1) removal: a busy server port holds every connection) */
  index: Map<PortUser, number>;
  /** created by `connectPort` (Linux fastreuse == -1): connects may share it, binds are checked */
  byConnect: boolean;
}

/** true when `a`'s address is the IPv6 wildcard `::` */
function isAny6(a: Addr): boolean {
  return a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 0;
}

/**
 * Linux inet_rcv_saddr_equal(sk, sk2, match_wildcard = true) in family-neutral form: do the
 * bound addresses `a` (of a user with `aV6only`) and `b` overlap?
 */
export function bindAddrsOverlap(a: Addr, aV6only: boolean, b: Addr, bV6only: boolean): boolean {
  const aAny6 = isAny6(a);
  const bAny6 = isAny6(b);
  if (aAny6 && bAny6) return true;
  const a4 = isV4(a);
  const b4 = isV4(b);
  if (aAny6) return b4 ? !aV6only : true;
  if (bAny6) return a4 ? !bV6only : true;
  if (a4 !== b4) return false;
  // same family, both specific or IPv4 wildcard
  if (a4 && (a.w3 === 0 || b.w3 === 0)) return true;
  return addrEquals(a, b);
}

export class PortTable {
  private readonly buckets = new Map<number, Bucket>();
  private readonly perturb = new Uint32Array(PERTURB_SIZE);
  /** xorshift state for the small random parts (bind start, perturbation jitter) */
  private rs: number;
  /** number of ports in the range */
  readonly span: number;

  constructor(
    private readonly secret: number,
    readonly low = 32768,
    readonly high = 60999,
  ) {
    if (!(low >= 1 && high <= 65535 && low <= high)) throw new RangeError(`bad port range ${low}-${high}`);
    this.span = high - low + 1;
    this.rs = fmix(mix(secret >>> 0, 0x7f4a7c15)) | 1;
  }

  /** bind u to (addr, port); port 0 picks an ephemeral port. → the port, or -EADDRINUSE */
  bind(u: PortUser, addr: InetAddr, port: number): number {
    if (u.lport !== 0) return -EINVAL;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -EINVAL;
    if (port === 0) {
      port = this.findOpenPort(u, addr);
      if (port < 0) return -EADDRINUSE;
    } else if (this.conflicts(u, addr, port, true)) {
      return -EADDRINUSE;
    }
    this.insert(u, addr, port, false);
    return port;
  }

  /** the bound user `u` is about to listen: 0, or -EADDRINUSE when it may not (Linux listen_start) */
  listenCheck(u: PortUser): number {
    if (u.lport === 0) return -EINVAL;
    return this.conflicts(u, u.laddr, u.lport, true) ? -EADDRINUSE : 0;
  }

  /**
   * Adds `child` on its parent's port without a conflict check (Linux `inet_inherit_port`: an
   * accepted connection keeps the listener's bucket). `child.laddr` must be set; sets lport.
   */
  inherit(child: PortUser, port: number): void {
    const b = this.buckets.get(port);
    if (b === undefined) this.insert(child, child.laddr, port, false);
    else {
      b.index.set(child, b.users.length);
      b.users.push(child);
      child.lport = port;
    }
  }

  unbind(u: PortUser): void {
    const port = u.lport;
    if (port === 0) return;
    const b = this.buckets.get(port);
    if (b !== undefined) {
      const i = b.index.get(u);
      if (i !== undefined) {
        const last = b.users.pop()!;
        if (last !== u) {
          b.users[i] = last;
          b.index.set(last, i);
        }
        b.index.delete(u);
      }
      if (b.users.length === 0) this.buckets.delete(port);
    }
    u.lport = 0;
  }

  /**
   * RFC 6056 port for connect(laddr → raddr:rport) (see the module contract). `tupleFree(p)`
   * says whether the 4-tuple with local port p is free. On success `u` is added to the port's
   * users with `u.laddr = laddr`, `u.lport = port`. → port, or -EADDRNOTAVAIL
   */
  connectPort(u: PortUser, laddr: InetAddr, raddr: InetAddr, rport: number, tupleFree: (p: number) => boolean): number {
    if (u.lport !== 0) return -EINVAL;
    const lo = this.low;
    // Linux: [low, high + 1) with an even number of ports when there are more than one
    let remaining = this.span;
    if (remaining > 1) remaining &= ~1;
    const h = tupleHash(this.secret, 0, laddr, 0, raddr, rport);
    const h2 = tupleHash(this.secret ^ 0x5bd1e995, 0, laddr, 0, raddr, rport);
    const index = h & (PERTURB_SIZE - 1);
    let offset = ((this.perturb[index]! + h2) >>> 0) % remaining;
    offset &= ~1; // even ports first (bind takes the odd ones first)
    const step = 2;
    for (let pass = 0; pass < 2; pass++) {
      let port = lo + offset;
      for (let i = 0; i < remaining; i += step, port += step) {
        if (port >= lo + remaining) port -= remaining;
        const b = this.buckets.get(port);
        if (b !== undefined && (!b.byConnect || !tupleFree(port))) continue;
        if (b === undefined && !tupleFree(port)) continue;
        // a little randomness in the next start (Linux: max(i, rand(8) · step))
        const jitter = this.rand(8) * step;
        this.perturb[index] = (this.perturb[index]! + Math.max(i, jitter) + step) >>> 0;
        this.insert(u, laddr, port, true);
        return port;
      }
      offset++;
      if (!((offset & 1) && remaining > 1)) break;
    }
    return -EADDRNOTAVAIL;
  }

  /** users bound to `port` (for demux of wildcard/specific binds and reuseport groups) */
  users(port: number): readonly PortUser[] {
    const b = this.buckets.get(port);
    return b === undefined ? EMPTY : b.users;
  }

  /** ports with at least one user */
  get size(): number {
    return this.buckets.size;
  }

  // ---- internals ----

  private insert(u: PortUser, addr: InetAddr, port: number, byConnect: boolean): void {
    let b = this.buckets.get(port);
    if (b === undefined) {
      b = { users: [], index: new Map(), byConnect };
      this.buckets.set(port, b);
    } else if (!byConnect) {
      b.byConnect = false; // an explicit bind joined: connects no longer share it (Linux fastreuse 0)
    }
    b.index.set(u, b.users.length);
    b.users.push(u);
    u.laddr = addr;
    u.lport = port;
  }

  /**
   * Linux inet_bind_conflict for each overlapping user of `port`. `relax` is true for an
   * explicit port (SO_REUSEADDR and SO_REUSEPORT may share), false for an ephemeral search
   * (any overlapping user makes the port busy).
   */
  private conflicts(u: PortUser, addr: Addr, port: number, relax: boolean): boolean {
    const b = this.buckets.get(port);
    if (b === undefined) return false;
    for (let i = 0; i < b.users.length; i++) {
      const u2 = b.users[i]!;
      if (u2 === u) continue;
      if (!bindAddrsOverlap(addr, u.v6only, u2.laddr, u2.v6only)) continue;
      if (!relax) return true;
      if (u.reuseAddr && u2.reuseAddr && !u2.listening) continue;
      if (u.reusePort && u2.reusePort && u.owner === u2.owner) continue;
      return true;
    }
    return false;
  }

  /** Linux inet_csk_find_open_port: random start, odd ports first, then even */
  private findOpenPort(u: PortUser, addr: Addr): number {
    const lo = this.low;
    let remaining = this.span;
    if (remaining > 1) remaining &= ~1;
    let offset = this.rand(remaining);
    if (remaining > 1) offset |= 1;
    for (let pass = 0; pass < 2; pass++) {
      let port = lo + offset;
      for (let i = 0; i < remaining; i += 2, port += 2) {
        if (port >= lo + remaining) port -= remaining;
        if (!this.conflicts(u, addr, port, false)) return port;
      }
      if (remaining <= 1) break;
      offset--; // the other parity
      if (offset < 0) offset += remaining;
    }
    // an odd-sized range has one port past the even span
    if (this.span & 1 && this.span > 1 && !this.conflicts(u, addr, this.high, false)) return this.high;
    return -1;
  }

  /** uniform-ish integer in [0, n) from the table's own seeded stream */
  private rand(n: number): number {
    let x = this.rs;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rs = x;
    return (x >>> 0) % n;
  }
}
