/**
 * IPv6 routes (Linux `net/ipv6/route.c`, reduced to a host's needs) and the path-MTU cache.
 *
 * `Route6Table`: prefix routes (on-link prefixes of our addresses, `fe80::/64` per device,
 * static routes with or without a gateway, the default route `::/0`), longest prefix first,
 * then lowest metric; only routes whose device is up match. Lookups allocate nothing.
 *
 * `PmtuCache` (Linux route exceptions `rt6_exception`): the path MTU learned from ICMPv6
 * Packet Too Big per destination, never below IPV6_MIN_MTU (1280, RFC 8201 §4) and only ever
 * lowered by a PTB; an entry expires `ip6_rt_mtu_expires` (600 s) after it was learned, lazily
 * on lookup (no timer: the stack goes quiet). At most `PMTU_MAX` entries: the oldest goes first.
 */
import type { InetAddr, Addr } from '../../inet/index.js';
import type { NetDevice } from '../../netdev/index.js';
import type { Scheduler } from '../../time/index.js';
import { IPV6_MIN_MTU } from '../../wire/ipv6.js';
import { AddrMap, prefixEquals } from './addr6.js';

export const RT6_METRIC_CONNECTED = 256;
export const RT6_METRIC_STATIC = 1024;
/** Linux `net.ipv6.route.mtu_expires` */
export const PMTU_EXPIRES_US = 600_000_000;
export const PMTU_MAX = 4096;

export interface Route6Entry {
  dst: InetAddr;
  prefixLen: number;
  /** null for on-link routes */
  gateway: InetAddr | null;
  dev: NetDevice;
  metric: number;
  /** 'kernel' (from an address) or 'static' */
  proto: 'kernel' | 'static';
}

export class Route6Table {
  /** longest prefix first, then lowest metric, ties in insertion order */
  readonly entries: Route6Entry[] = [];

  add(e: Route6Entry): boolean {
    if (this.entries.some((r) => r.prefixLen === e.prefixLen && r.dst.equals(e.dst) && r.dev === e.dev && r.metric === e.metric)) return false;
    let i = 0;
    const t = this.entries;
    while (i < t.length && (t[i]!.prefixLen > e.prefixLen || (t[i]!.prefixLen === e.prefixLen && t[i]!.metric <= e.metric))) i++;
    t.splice(i, 0, e);
    return true;
  }

  remove(pred: (e: Route6Entry) => boolean): number {
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (pred(this.entries[i]!)) {
        this.entries.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /** best route for `dst` (through `oif` when given), or null */
  lookup(dst: Addr, oif: NetDevice | null): Route6Entry | null {
    const t = this.entries;
    for (let i = 0; i < t.length; i++) {
      const e = t[i]!;
      if (!e.dev.up || (oif !== null && e.dev !== oif)) continue;
      if (prefixEquals(dst, e.dst, e.prefixLen)) return e;
    }
    return null;
  }
}

class PmtuEntry {
  constructor(public mtu: number, public expires: number) {}
}

export class PmtuCache {
  private readonly map: AddrMap<PmtuEntry>;

  constructor(private readonly sched: Scheduler, seed: number) {
    this.map = new AddrMap<PmtuEntry>(seed);
  }

  get size(): number {
    return this.map.size;
  }

  /** the learned path MTU to `dst`, or 0 when none (or expired: then removed) */
  get(dst: Addr): number {
    const e = this.map.get(dst);
    if (e === undefined) return 0;
    if (this.sched.now() >= e.expires) {
      this.map.delete(dst);
      return 0;
    }
    return e.mtu;
  }

  /**
   * A Packet Too Big reported `mtu` for `dst` whose current path MTU is `current`: lowers it
   * (clamped to 1280). Returns the new path MTU, or 0 when nothing changed.
   */
  update(dst: Addr, mtu: number, current: number): number {
    if (mtu < IPV6_MIN_MTU) mtu = IPV6_MIN_MTU;
    if (mtu >= current) return 0;
    const now = this.sched.now();
    const e = this.map.get(dst);
    if (e !== undefined) {
      e.mtu = mtu;
      e.expires = now + PMTU_EXPIRES_US;
      return mtu;
    }
    if (this.map.size >= PMTU_MAX) this.evictOne(now);
    this.map.set(dst, new PmtuEntry(mtu, now + PMTU_EXPIRES_US));
    return mtu;
  }

  private evictOne(now: number): void {
    let oldest: InetAddr | null = null;
    let at = Infinity;
    for (const [k, v] of this.map.entries()) {
      if (v.expires <= now) {
        oldest = k;
        break;
      }
      if (v.expires < at) {
        at = v.expires;
        oldest = k;
      }
    }
    if (oldest !== null) this.map.delete(oldest);
  }

  list(): { dst: string; mtu: number; expiresUs: number }[] {
    const out: { dst: string; mtu: number; expiresUs: number }[] = [];
    for (const [k, v] of this.map.entries()) out.push({ dst: k.toString(), mtu: v.mtu, expiresUs: v.expires });
    return out;
  }

  clear(): void {
    this.map.clear();
  }
}
