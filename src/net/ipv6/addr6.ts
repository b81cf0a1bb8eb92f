/**
 * IPv6 address helpers the stack needs beyond src/inet: scopes (RFC 4291 / RFC 6724 §3.1),
 * modified EUI-64 interface identifiers (RFC 4291 App. A), solicited-node groups (RFC 4291
 * §2.7.1), the multicast MAC mapping (RFC 2464 §7), and `AddrMap`, an allocation-free lookup
 * table keyed by address (seeded hash, chained buckets) for the PMTU cache, ICMPv6 rate-limit
 * peers and the local-address table. Pure functions and data; no I/O, no clock.
 */
import { InetAddr, addrEquals, addrHash, isLinkLocal, isLoopback, isMulticast, type Addr } from '../../inet/index.js';

export const SCOPE_INTERFACE = 0x1;
export const SCOPE_LINK = 0x2;
export const SCOPE_SITE = 0x5;
export const SCOPE_GLOBAL = 0xe;

/** RFC 6724 scope of an address: multicast scope nibble, link for fe80::/10, interface for ::1 */
export function addrScope(a: Addr): number {
  if (isMulticast(a)) return (a.w0 >>> 16) & 0xf;
  if (isLoopback(a)) return SCOPE_INTERFACE;
  if (isLinkLocal(a)) return SCOPE_LINK;
  return SCOPE_GLOBAL;
}

export function scopeName(s: number): 'host' | 'link' | 'global' {
  return s === SCOPE_INTERFACE ? 'host' : s === SCOPE_LINK ? 'link' : 'global';
}

/** fe80::/64 with the modified EUI-64 interface identifier of a 48-bit MAC */
export function linkLocalFromMac(mac: number): InetAddr {
  const hi = Math.floor(mac / 4294967296) & 0xffff;
  const lo = mac >>> 0;
  const m0 = (hi >>> 8) ^ 0x02;
  const m1 = hi & 0xff;
  const m2 = lo >>> 24;
  const w2 = (m0 << 24) | (m1 << 16) | (m2 << 8) | 0xff;
  const w3 = (0xfe << 24) | (lo & 0xffffff);
  return InetAddr.of(0xfe800000, 0, w2, w3);
}

/** the solicited-node group ff02::1:ffXX:XXXX of `a` */
export function solicitedNode(a: Addr): InetAddr {
  return InetAddr.of(0xff020000, 0, 1, (0xff000000 | (a.w3 & 0xffffff)) >>> 0);
}

/** true when `a` is a solicited-node group address */
export function isSolicitedNode(a: Addr): boolean {
  return a.w0 === 0xff020000 && a.w1 === 0 && a.w2 === 1 && a.w3 >>> 24 === 0xff;
}

/** the solicited-node group of `target` equals `group` (allocation-free) */
export function isSolicitedNodeOf(group: Addr, target: Addr): boolean {
  return isSolicitedNode(group) && (group.w3 & 0xffffff) === (target.w3 & 0xffffff);
}

/** ff02::1 (all nodes, link scope) */
export const ALL_NODES = InetAddr.of(0xff020000, 0, 0, 1);
/** ff01::1 (all nodes, interface scope) */
export const ALL_NODES_IF = InetAddr.of(0xff010000, 0, 0, 1);
/** ff02::2 (all routers) */
export const ALL_ROUTERS = InetAddr.of(0xff020000, 0, 0, 2);

export function isAllNodes(a: Addr): boolean {
  return (a.w0 === 0xff020000 || a.w0 === 0xff010000) && a.w1 === 0 && a.w2 === 0 && a.w3 === 1;
}

/** Ethernet address of an IPv6 multicast group: 33:33 + the low 32 bits */
export function ipv6McastMac(a: Addr): number {
  return 0x333300000000 + (a.w3 >>> 0);
}

/** number of leading bits `a` and `b` share (0..128) */
export function commonPrefixLen(a: Addr, b: Addr): number {
  const x0 = (a.w0 ^ b.w0) >>> 0;
  if (x0 !== 0) return Math.clz32(x0);
  const x1 = (a.w1 ^ b.w1) >>> 0;
  if (x1 !== 0) return 32 + Math.clz32(x1);
  const x2 = (a.w2 ^ b.w2) >>> 0;
  if (x2 !== 0) return 64 + Math.clz32(x2);
  const x3 = (a.w3 ^ b.w3) >>> 0;
  return x3 !== 0 ? 96 + Math.clz32(x3) : 128;
}

/** the first `len` bits of `a` and `b` agree (allocation-free, unlike src/inet's `prefixMatch`) */
export function prefixEquals(a: Addr, b: Addr, len: number): boolean {
  return len <= 0 || commonPrefixLen(a, b) >= len;
}

/** `a` masked to its first `len` bits */
export function maskAddr(a: Addr, len: number): InetAddr {
  const m = (bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0);
  return InetAddr.of(a.w0 & m(len), a.w1 & m(len - 32), a.w2 & m(len - 64), a.w3 & m(len - 96));
}

interface Slot<V> {
  key: InetAddr;
  value: V;
  next: Slot<V> | null;
}

/**
 * A map from address to `V`. `get` allocates nothing; `set` allocates one slot for a new key.
 * Iteration order is unspecified.
 */
export class AddrMap<V> {
  private readonly buckets = new Map<number, Slot<V>>();
  private count = 0;

  constructor(private readonly seed: number) {}

  get size(): number {
    return this.count;
  }

  get(a: Addr): V | undefined {
    let s = this.buckets.get(addrHash(a, this.seed)) ?? null;
    while (s !== null) {
      if (addrEquals(s.key, a)) return s.value;
      s = s.next;
    }
    return undefined;
  }

  set(a: Addr, v: V): void {
    const h = addrHash(a, this.seed);
    const head = this.buckets.get(h) ?? null;
    for (let s = head; s !== null; s = s.next) {
      if (addrEquals(s.key, a)) {
        s.value = v;
        return;
      }
    }
    this.buckets.set(h, { key: InetAddr.from(a), value: v, next: head });
    this.count++;
  }

  delete(a: Addr): boolean {
    const h = addrHash(a, this.seed);
    let prev: Slot<V> | null = null;
    for (let s = this.buckets.get(h) ?? null; s !== null; prev = s, s = s.next) {
      if (!addrEquals(s.key, a)) continue;
      if (prev === null) {
        if (s.next === null) this.buckets.delete(h);
        else this.buckets.set(h, s.next);
      } else prev.next = s.next;
      this.count--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
  }

  *entries(): IterableIterator<[InetAddr, V]> {
    for (const head of this.buckets.values()) for (let s: Slot<V> | null = head; s !== null; s = s.next) yield [s.key, s.value];
  }
}
