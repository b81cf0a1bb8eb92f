/**
 * Path MTU cache (Linux route exceptions `fib_nh_exception`, `__ip_rt_update_pmtu`): per
 * destination, the MTU learned from ICMP "fragmentation needed" (IPv4) / "packet too big"
 * (IPv6). An update only lowers the path MTU; a value under `minPmtu` (`ip_rt_min_pmtu` 552)
 * is raised to it and the entry locked (Linux then stops setting DF: the datagram is fragmented
 * instead). Entries expire `expiresUs` (`ip_rt_mtu_expires` 600 s) after their last update; the
 * cache holds at most `maxEntries` destinations (oldest dropped), so forged ICMP cannot grow it.
 * No timers: expiry is checked on lookup. Keys are numbers (the IPv4 address; a hash for IPv6).
 */
import type { Clock } from '../../time/index.js';

export const IP_RT_MIN_PMTU = 552;
export const IP_RT_MTU_EXPIRES_US = 600_000_000;
export const PMTU_CACHE_MAX = 4096;

interface PmtuEntry {
  mtu: number;
  expires: number;
  locked: boolean;
}

export class PmtuCache {
  private readonly map = new Map<number, PmtuEntry>();

  constructor(
    private readonly clock: Clock,
    readonly minPmtu = IP_RT_MIN_PMTU,
    readonly expiresUs = IP_RT_MTU_EXPIRES_US,
    readonly maxEntries = PMTU_CACHE_MAX,
  ) {}

  get size(): number {
    return this.map.size;
  }

  private entry(key: number): PmtuEntry | null {
    if (this.map.size === 0) return null;
    const e = this.map.get(key);
    if (e === undefined) return null;
    if (this.clock.now() >= e.expires) {
      this.map.delete(key);
      return null;
    }
    return e;
  }

  /** path MTU towards `key` given the device MTU (no allocation) */
  mtu(key: number, devMtu: number): number {
    const e = this.entry(key);
    return e !== null && e.mtu < devMtu ? e.mtu : devMtu;
  }

  /** the learned MTU is locked (below the minimum): send without DF */
  locked(key: number): boolean {
    const e = this.entry(key);
    return e !== null && e.locked;
  }

  /** what `update(key, mtu, devMtu)` would return, without learning anything */
  peek(key: number, mtu: number, devMtu: number): number {
    const old = this.entry(key);
    const cur = old !== null && old.mtu < devMtu ? old.mtu : devMtu;
    const lock = mtu < this.minPmtu;
    if (lock) mtu = Math.min(cur, this.minPmtu);
    return mtu > cur || (mtu === cur && !lock) ? 0 : mtu;
  }

  /**
   * Learns `mtu` for `key` (Linux `__ip_rt_update_pmtu`); returns the resulting path MTU, or 0
   * when nothing changed because the value is not below the current one.
   */
  update(key: number, mtu: number, devMtu: number): number {
    const now = this.clock.now();
    const old = this.entry(key);
    const cur = old !== null && old.mtu < devMtu ? old.mtu : devMtu;
    let lock = false;
    if (mtu < this.minPmtu) {
      lock = true;
      mtu = Math.min(cur, this.minPmtu);
    }
    if (mtu > cur || (mtu === cur && !lock)) return 0;
    if (old !== null) {
      this.map.delete(key);
    } else if (this.map.size >= this.maxEntries) {
      const first = this.map.keys().next();
      if (first.done !== true) this.map.delete(first.value);
    }
    this.map.set(key, { mtu, expires: now + this.expiresUs, locked: lock || (old?.locked ?? false) });
    return mtu;
  }

  clear(): void {
    this.map.clear();
  }
}
