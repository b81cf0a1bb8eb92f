/**
 * The neighbour table (Linux `net/core/neighbour.c`), shared by ARP (IPv4) and NDP (IPv6): one
 * table per family, one entry per (device, next-hop address), the NUD state machine, the queue
 * of packets waiting for resolution, and Linux's bounds and garbage collection. The family's
 * protocol (`NeighProto`: ARP or NDP) sends solicitations and reports failed packets.
 *
 * NUD (Linux `neigh_timer_handler`, `__neigh_event_send`, `neigh_update`):
 *  - NONE / FAILED + a packet → INCOMPLETE: packet queued, `mcast_solicit` (3) multicast /
 *    broadcast solicitations `retrans_time` (1 s) apart, then FAILED: queued packets reported
 *    through `resolutionFailed` (EHOSTUNREACH to the transport) and dropped (`unresDiscards`).
 *  - REACHABLE (confirmed): after `reachable_time` (base 30 s × [0.5, 1.5) from the rng) since
 *    the last confirmation → DELAY if used within `delay_first_probe_time`, else STALE.
 *  - STALE: usable; the next packet goes out and starts DELAY (5 s): confirmed meanwhile →
 *    REACHABLE, else PROBE: `ucast_solicit` (3) unicast solicitations, then FAILED.
 *  - PERMANENT (admin): never changes, never collected.
 * Solicitations follow the entry's timer only — never one per queued packet.
 *
 * Bounds (Linux defaults; PERMANENT entries are not counted, as Linux's `gc_entries`):
 * creating an entry with ≥ `gc_thresh3` (1024) entries, or ≥
 * `gc_thresh2` (512) with the last forced GC ≥ 5 s ago, runs a forced GC that removes, oldest
 * first, unreferenced (no timer running, nothing queued) non-permanent entries that are FAILED or
 * not updated for 5 s, down to `gc_thresh2`; at `gc_thresh3` with nothing collectable the
 * entry is not created and the packet dropped (`tableFulls`, `unresDiscards`). A periodic GC
 * every `gc_interval` (30 s), while the table holds ≥ `gc_thresh1` (128) entries, removes
 * unreferenced FAILED entries and entries unused for `gc_stale_time` (60 s). Below `gc_thresh1`
 * nothing is collected and no GC timer runs (the stack goes quiet).
 *
 * Ownership: `output` takes the skb (data at the L3 header, `networkHeader` set, ETH_HLEN
 * headroom); it is sent with its Ethernet header or queued. Allocation-free per packet except
 * for new entries.
 */
import { InetAddr, addrEquals, addrHash, addrToString, type Addr } from '../inet/index.js';
import type { NetDevice } from '../netdev/index.js';
import type { Rng } from '../rand/index.js';
import { skbFree, skbPush, type SkBuff } from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { writeMac } from '../wire/addr.js';
import { ETH_HLEN } from '../wire/ethernet.js';

export const NUD_NONE = 0x00;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** states in which the cached MAC is used */
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;
export const NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE;

/** Linux `NEIGH_UPDATE_F_*` */
export const NEIGH_UPDATE_F_OVERRIDE = 0x1;
export const NEIGH_UPDATE_F_WEAK_OVERRIDE = 0x2;
export const NEIGH_UPDATE_F_OVERRIDE_ISROUTER = 0x4;
export const NEIGH_UPDATE_F_ISROUTER = 0x40000000;
export const NEIGH_UPDATE_F_ADMIN = 0x80000000;
/** create the entry when absent (implied by ADMIN); ours, not Linux's */
export const NEIGH_UPDATE_F_CREATE = 0x20000000;

export type NeighState = 'none' | 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent';

export function neighStateName(s: number): NeighState {
  switch (s) {
    case NUD_INCOMPLETE: return 'incomplete';
    case NUD_REACHABLE: return 'reachable';
    case NUD_STALE: return 'stale';
    case NUD_DELAY: return 'delay';
    case NUD_PROBE: return 'probe';
    case NUD_FAILED: return 'failed';
    case NUD_NOARP: return 'noarp';
    case NUD_PERMANENT: return 'permanent';
    default: return 'none';
  }
}

/** Linux `neigh_parms` / `neigh_table` tunables (µs for times) */
export interface NeighParams {
  gcThresh1: number;
  gcThresh2: number;
  gcThresh3: number;
  gcIntervalUs: number;
  gcStaleTimeUs: number;
  retransTimeUs: number;
  baseReachableTimeUs: number;
  delayFirstProbeTimeUs: number;
  mcastSolicit: number;
  ucastSolicit: number;
  appSolicit: number;
  /** Linux `mcast_resolicit` (multicast probes after the unicast ones in PROBE) */
  mcastResolicit: number;
  /** unresolved queue per entry: packets and bytes (Linux `unres_qlen` / `_bytes`) */
  queueLenPackets: number;
  queueLenBytes: number;
  /** min time between overriding updates from unsolicited replies (Linux `locktime`) */
  locktimeUs: number;
}

export const NEIGH_DEFAULTS: Readonly<NeighParams> = {
  gcThresh1: 128,
  gcThresh2: 512,
  gcThresh3: 1024,
  gcIntervalUs: 30_000_000,
  gcStaleTimeUs: 60_000_000,
  retransTimeUs: 1_000_000,
  baseReachableTimeUs: 30_000_000,
  delayFirstProbeTimeUs: 5_000_000,
  mcastSolicit: 3,
  ucastSolicit: 3,
  appSolicit: 0,
  mcastResolicit: 0,
  queueLenPackets: 101,
  queueLenBytes: 212_992,
  locktimeUs: 1_000_000,
};

/** forced GC spares entries updated within this long (Linux: 5 s) */
const FORCED_GC_FRESH_US = 5_000_000;

/** neighbour-table counters (Linux `ndtc_*` + ours) */
export interface NeighStats {
  allocs: number;
  destroys: number;
  /** resolutions that gave up (Linux `res_failed`) */
  resFailed: number;
  /** packets dropped unresolved: queue overflow, failed resolution, table full */
  unresDiscards: number;
  /** entries not created because the table was full (Linux `table_fulls`) */
  tableFulls: number;
  forcedGcRuns: number;
  periodicGcRuns: number;
  /** solicitations handed to the protocol */
  solicits: number;
}

export function newNeighStats(): NeighStats {
  return { allocs: 0, destroys: 0, resFailed: 0, unresDiscards: 0, tableFulls: 0, forcedGcRuns: 0, periodicGcRuns: 0, solicits: 0 };
}

/** what the table needs from its host */
export interface NeighHost {
  readonly sched: Scheduler;
  readonly rng: Rng | null;
}

/** the family's resolution protocol (ARP, NDP) */
export interface NeighProto {
  readonly family: 4 | 6;
  /** send a solicitation for n: multicast/broadcast when unicastMac is null, else unicast (NUD probe) */
  solicit(n: Neighbour, unicastMac: number | null): void;
  /** a queued skb whose resolution failed: report it to its transport (EHOSTUNREACH). Borrows it. */
  resolutionFailed(skb: SkBuff): void;
}

export class Neighbour implements TimerTarget {
  mac = 0;
  state = NUD_NONE;
  /** solicitations counted as Linux does (INCOMPLETE starts at `ucast_solicit`) */
  probes = 0;
  /** last reachability confirmation, last state update, last use (µs) */
  confirmed = 0;
  updated = 0;
  used = 0;
  /** NDP: the neighbour is a router */
  isRouter = false;
  qHead: SkBuff | null = null;
  qTail: SkBuff | null = null;
  qLen = 0;
  qBytes = 0;
  readonly timer: Timer;
  /** hash chain and GC (creation-order) list links: table-private */
  hashNext: Neighbour | null = null;
  gcPrev: Neighbour | null = null;
  gcNext: Neighbour | null = null;
  hash = 0;
  dead = false;

  constructor(readonly tbl: NeighTable, readonly dev: NetDevice, readonly addr: InetAddr) {
    this.timer = new Timer(this, 0);
  }

  onTimer(_t: Timer): void {
    this.tbl.timerHandler(this);
  }
}

const TIMER_GC = 1;

export class NeighTable implements TimerTarget {
  readonly params: NeighParams;
  readonly stats: NeighStats = newNeighStats();
  /** current randomised reachable time (Linux `neigh_rand_reach_time`) */
  reachableTime: number;
  private readonly buckets = new Map<number, Neighbour>();
  private lastHit: Neighbour | null = null;
  private gcHead: Neighbour | null = null;
  private gcTail: Neighbour | null = null;
  private count = 0;
  /** entries subject to GC: all but PERMANENT ones (Linux `gc_entries`) */
  private gcEntries = 0;
  private lastFlush = -Infinity;
  private readonly gcTimer: Timer;
  private readonly seed: number;

  constructor(readonly host: NeighHost, readonly proto: NeighProto, params?: Partial<NeighParams>) {
    this.params = { ...NEIGH_DEFAULTS, ...params };
    this.gcTimer = new Timer(this, TIMER_GC);
    this.seed = host.rng !== null ? host.rng.fork(`neigh${proto.family}`).nextU32() : 0x5eed;
    this.reachableTime = this.randReachTime();
  }

  private randReachTime(): number {
    const base = this.params.baseReachableTimeUs;
    const r = this.host.rng;
    return r === null ? base : Math.floor(base * (0.5 + r.nextFloat()));
  }

  get size(): number {
    return this.count;
  }

  private hashOf(dev: NetDevice, addr: Addr): number {
    return addrHash(addr, this.seed ^ dev.ifindex);
  }

  lookup(dev: NetDevice, addr: Addr): Neighbour | null {
    // one-entry cache of the last hit (cleared when that entry is destroyed): skips the hash
    // and the Map probe for the steady per-packet case of one next hop
    const c = this.lastHit;
    if (c !== null && c.dev === dev && addrEquals(c.addr, addr)) return c;
    let n = this.buckets.get(this.hashOf(dev, addr)) ?? null;
    while (n !== null) {
      if (n.dev === dev && addrEquals(n.addr, addr)) {
        this.lastHit = n;
        return n;
      }
      n = n.hashNext;
    }
    return null;
  }

  /** Linux `neigh_alloc` + insert; null when the table is full */
  private create(dev: NetDevice, addr: Addr): Neighbour | null {
    const p = this.params;
    const now = this.host.sched.now();
    const entries = this.gcEntries;
    if (entries >= p.gcThresh3 || (entries >= p.gcThresh2 && now > this.lastFlush + FORCED_GC_FRESH_US)) {
      if (this.forcedGc() === 0 && entries >= p.gcThresh3) {
        this.stats.tableFulls++;
        return null;
      }
    }
    const n = new Neighbour(this, dev, InetAddr.from(addr));
    n.updated = n.used = now;
    n.confirmed = now - 2 * p.baseReachableTimeUs;
    const h = this.hashOf(dev, addr);
    n.hash = h;
    n.hashNext = this.buckets.get(h) ?? null;
    this.buckets.set(h, n);
    n.gcPrev = this.gcTail;
    if (this.gcTail === null) this.gcHead = n;
    else this.gcTail.gcNext = n;
    this.gcTail = n;
    this.count++;
    this.gcEntries++;
    this.stats.allocs++;
    if (this.count >= p.gcThresh1 && !this.gcTimer.armed) this.host.sched.arm(this.gcTimer, now + p.gcIntervalUs);
    return n;
  }

  private lookupOrCreate(dev: NetDevice, addr: Addr): Neighbour | null {
    return this.lookup(dev, addr) ?? this.create(dev, addr);
  }

  /** unlinks and kills `n` (its queue, if any, is dropped) */
  private destroy(n: Neighbour): void {
    if (n.dead) return;
    n.dead = true;
    if (this.lastHit === n) this.lastHit = null;
    this.host.sched.cancel(n.timer);
    this.dropQueue(n, false);
    let p = this.buckets.get(n.hash) ?? null;
    if (p === n) {
      if (n.hashNext === null) this.buckets.delete(n.hash);
      else this.buckets.set(n.hash, n.hashNext);
    } else {
      while (p !== null && p.hashNext !== n) p = p.hashNext;
      if (p !== null) p.hashNext = n.hashNext;
    }
    n.hashNext = null;
    if (n.gcPrev === null) this.gcHead = n.gcNext;
    else n.gcPrev.gcNext = n.gcNext;
    if (n.gcNext === null) this.gcTail = n.gcPrev;
    else n.gcNext.gcPrev = n.gcPrev;
    n.gcPrev = n.gcNext = null;
    this.count--;
    if ((n.state & NUD_PERMANENT) === 0) this.gcEntries--;
    this.stats.destroys++;
    if (this.count < this.params.gcThresh1) this.host.sched.cancel(this.gcTimer);
  }

  /** an entry only the table references (Linux refcnt == 1): no timer running, nothing queued */
  private unreferenced(n: Neighbour): boolean {
    return !n.timer.armed && n.qHead === null;
  }

  /** Linux `neigh_forced_gc`: returns the number of entries removed */
  forcedGc(): number {
    const now = this.host.sched.now();
    this.stats.forcedGcRuns++;
    const maxClean = this.gcEntries - this.params.gcThresh2;
    let shrunk = 0;
    let n = this.gcHead;
    while (n !== null && shrunk < maxClean) {
      const next = n.gcNext;
      if (this.unreferenced(n) && (n.state & NUD_PERMANENT) === 0 && (n.state === NUD_FAILED || n.state === NUD_NOARP || n.updated < now - FORCED_GC_FRESH_US)) {
        this.destroy(n);
        shrunk++;
      }
      n = next;
    }
    this.lastFlush = now;
    return shrunk;
  }

  /** Linux `neigh_periodic_work` */
  onTimer(_t: Timer): void {
    const p = this.params;
    if (this.count < p.gcThresh1) return;
    this.stats.periodicGcRuns++;
    const now = this.host.sched.now();
    let n = this.gcHead;
    while (n !== null) {
      const next = n.gcNext;
      const st = n.state;
      if ((st & (NUD_PERMANENT | NUD_IN_TIMER)) === 0 && this.unreferenced(n) && (st === NUD_FAILED || now >= n.used + p.gcStaleTimeUs)) {
        this.destroy(n);
      }
      n = next;
    }
    if (this.count >= p.gcThresh1) this.host.sched.arm(this.gcTimer, now + p.gcIntervalUs);
  }

  /** every entry, for `ip neigh show` (addresses as text) */
  list(): { dev: string; addr: string; mac: number; state: NeighState }[] {
    const out: { dev: string; addr: string; mac: number; state: NeighState }[] = [];
    for (let n = this.gcHead; n !== null; n = n.gcNext) out.push({ dev: n.dev.name, addr: addrToString(n.addr), mac: n.mac, state: neighStateName(n.state) });
    return out;
  }

  /** removes the entry of (dev, addr); false when absent */
  delete(dev: NetDevice, addr: Addr): boolean {
    const n = this.lookup(dev, addr);
    if (n === null) return false;
    this.destroy(n);
    return true;
  }

  /** removes every entry of `dev` (device down or gone), permanent ones too */
  flushDev(dev: NetDevice): void {
    let n = this.gcHead;
    while (n !== null) {
      const next = n.gcNext;
      if (n.dev === dev) this.destroy(n);
      n = next;
    }
  }

  // ---- output ----

  /**
   * Resolves `nexthop` on `dev` and transmits `skb` (data at the L3 header) with an Ethernet
   * header of type `etherType`, or queues it (Linux `neigh_resolve_output`). Takes the skb.
   */
  output(skb: SkBuff, dev: NetDevice, nexthop: Addr, etherType: number): void {
    if (skb.data - skb.head < ETH_HLEN) {
      this.stats.unresDiscards++;
      skbFree(skb);
      return;
    }
    const mh = skbPush(skb, ETH_HLEN);
    const dv = skb.dv;
    writeMac(dv, mh + 6, dev.mac);
    dv.setUint16(mh + 12, etherType);
    skb.macHeader = mh;
    skb.protocol = etherType;
    let n = this.lookup(dev, nexthop);
    if (n === null) {
      n = this.create(dev, nexthop);
      if (n === null) {
        this.stats.unresDiscards++;
        skbFree(skb);
        return;
      }
    }
    const sched = this.host.sched;
    const now = sched.now();
    n.used = now;
    const st = n.state;
    if ((st & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) !== 0) {
      writeMac(dv, mh, n.mac);
      dev.xmit(skb);
      return;
    }
    let immediateProbe = false;
    if ((st & (NUD_STALE | NUD_INCOMPLETE)) === 0) {
      const p = this.params;
      if (p.mcastSolicit + p.appSolicit > 0) {
        n.probes = p.ucastSolicit;
        n.state = NUD_INCOMPLETE;
        n.updated = now;
        sched.arm(n.timer, now + Math.max(p.retransTimeUs, 10_000));
        immediateProbe = true;
      } else {
        n.state = NUD_FAILED;
        n.updated = now;
        this.stats.unresDiscards++;
        skbFree(skb);
        return;
      }
    } else if (st === NUD_STALE) {
      n.state = NUD_DELAY;
      n.updated = now;
      sched.arm(n.timer, now + this.params.delayFirstProbeTimeUs);
      writeMac(dv, mh, n.mac);
      dev.xmit(skb);
      return;
    }
    this.enqueue(n, skb);
    if (immediateProbe) this.probe(n);
  }

  private enqueue(n: Neighbour, skb: SkBuff): void {
    const p = this.params;
    while (n.qHead !== null && (n.qLen >= p.queueLenPackets || n.qBytes + skb.len > p.queueLenBytes)) {
      const old = n.qHead;
      n.qHead = old.next;
      if (n.qHead === null) n.qTail = null;
      old.next = null;
      n.qLen--;
      n.qBytes -= old.len;
      this.stats.unresDiscards++;
      skbFree(old);
    }
    skb.next = null;
    if (n.qTail === null) n.qHead = skb;
    else n.qTail.next = skb;
    n.qTail = skb;
    n.qLen++;
    n.qBytes += skb.len;
  }

  /** transmits every queued packet with the entry's MAC */
  private flushQueue(n: Neighbour): void {
    let skb = n.qHead;
    n.qHead = n.qTail = null;
    n.qLen = n.qBytes = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      writeMac(skb.dv, skb.macHeader, n.mac);
      n.dev.xmit(skb);
      skb = next;
    }
  }

  /** drops the queue; with `report`, each packet is first reported to its transport */
  private dropQueue(n: Neighbour, report: boolean): void {
    let skb = n.qHead;
    n.qHead = n.qTail = null;
    n.qLen = n.qBytes = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      this.stats.unresDiscards++;
      if (report) this.proto.resolutionFailed(skb);
      skbFree(skb);
      skb = next;
    }
  }

  /** Linux `neigh_probe`: one solicitation, then `probes++` */
  private probe(n: Neighbour): void {
    this.stats.solicits++;
    // Linux arp_solicit / ndisc_solicit: unicast while probes < ucast_solicit (PROBE), else multicast
    const unicast = n.state === NUD_PROBE && n.probes < this.params.ucastSolicit;
    this.proto.solicit(n, unicast ? n.mac : null);
    n.probes++;
  }

  private maxProbes(n: Neighbour): number {
    const p = this.params;
    return p.ucastSolicit + p.appSolicit + (n.state === NUD_PROBE ? p.mcastResolicit : p.mcastSolicit);
  }

  /** Linux `neigh_timer_handler` */
  timerHandler(n: Neighbour): void {
    if (n.dead) return;
    const p = this.params;
    const sched = this.host.sched;
    const now = sched.now();
    const st = n.state;
    if ((st & NUD_IN_TIMER) === 0) return;
    let next = now + p.retransTimeUs;
    if ((st & NUD_REACHABLE) !== 0) {
      if (now < n.confirmed + this.reachableTime) {
        next = n.confirmed + this.reachableTime;
      } else if (now <= n.used + p.delayFirstProbeTimeUs) {
        n.state = NUD_DELAY;
        n.updated = now;
        next = now + p.delayFirstProbeTimeUs;
      } else {
        n.state = NUD_STALE;
        n.updated = now;
        return;
      }
    } else if ((st & NUD_DELAY) !== 0) {
      if (now <= n.confirmed + p.delayFirstProbeTimeUs) {
        n.state = NUD_REACHABLE;
        n.updated = now;
        next = n.confirmed + this.reachableTime;
      } else {
        n.state = NUD_PROBE;
        n.updated = now;
        n.probes = 0;
        next = now + p.retransTimeUs;
      }
    }
    if ((n.state & (NUD_INCOMPLETE | NUD_PROBE)) !== 0 && n.probes >= this.maxProbes(n)) {
      n.state = NUD_FAILED;
      n.updated = now;
      this.stats.resFailed++;
      this.dropQueue(n, true);
      return;
    }
    sched.arm(n.timer, next);
    if ((n.state & (NUD_INCOMPLETE | NUD_PROBE)) !== 0) this.probe(n);
  }

  // ---- updates from the protocol ----

  /**
   * Linux `neigh_update`: sets the link-layer address `mac` (null: keep the known one) and
   * state `newState` of (dev, addr). Flags: NEIGH_UPDATE_F_OVERRIDE (replace a different
   * known address), _WEAK_OVERRIDE (a different address makes a connected entry STALE instead),
   * _ADMIN (may change PERMANENT / NOARP entries; creates), _CREATE (creates), _ISROUTER /
   * _OVERRIDE_ISROUTER (NDP router flag). Returns the entry, or null (absent and not created,
   * or the table is full).
   */
  update(dev: NetDevice, addr: Addr, mac: number | null, newState: number, flags: number): Neighbour | null {
    const create = (flags & (NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_CREATE)) !== 0;
    const n = create ? this.lookupOrCreate(dev, addr) : this.lookup(dev, addr);
    if (n === null) return null;
    this.updateEntry(n, mac, newState, flags);
    return n;
  }

  /** PERMANENT entries leave / rejoin the GC count (Linux `neigh_update_gc_list`) */
  private gcAccount(old: number, nw: number): void {
    const was = (old & NUD_PERMANENT) !== 0;
    if (was !== ((nw & NUD_PERMANENT) !== 0)) this.gcEntries += was ? 1 : -1;
  }

  /** `neigh_update` on a known entry */
  updateEntry(n: Neighbour, lladdr: number | null, newState: number, flags: number): void {
    const sched = this.host.sched;
    const now = sched.now();
    const old = n.state;
    const admin = (flags & NEIGH_UPDATE_F_ADMIN) !== 0;
    if (!admin && (old & (NUD_NOARP | NUD_PERMANENT)) !== 0) return;
    let nw = newState;
    if ((nw & NUD_VALID) === 0) {
      sched.cancel(n.timer);
      this.gcAccount(old, nw);
      n.state = nw;
      n.updated = now;
      if ((old & (NUD_INCOMPLETE | NUD_PROBE)) !== 0 && nw === NUD_FAILED) {
        this.stats.resFailed++;
        this.dropQueue(n, true);
      }
      return;
    }
    let mac: number;
    if (lladdr === null) {
      if ((old & NUD_VALID) === 0) return;
      mac = n.mac;
    } else {
      mac = lladdr;
    }
    if ((nw & NUD_CONNECTED) !== 0) n.confirmed = now;
    let updateIsRouter = (flags & NEIGH_UPDATE_F_OVERRIDE_ISROUTER) !== 0;
    if ((old & NUD_VALID) !== 0) {
      if (mac !== n.mac && (flags & NEIGH_UPDATE_F_OVERRIDE) === 0) {
        updateIsRouter = false;
        if ((flags & NEIGH_UPDATE_F_WEAK_OVERRIDE) !== 0 && (old & NUD_CONNECTED) !== 0) {
          mac = n.mac;
          nw = NUD_STALE;
        } else {
          return;
        }
      } else if (mac === n.mac && nw === NUD_STALE && !admin) {
        nw = old;
      }
    }
    if (nw !== old || mac !== n.mac) n.updated = now;
    if (updateIsRouter) n.isRouter = (flags & NEIGH_UPDATE_F_ISROUTER) !== 0;
    if (nw !== old) {
      sched.cancel(n.timer);
      if ((nw & NUD_PROBE) !== 0) n.probes = 0;
      if ((nw & NUD_IN_TIMER) !== 0) sched.arm(n.timer, now + ((nw & NUD_REACHABLE) !== 0 ? this.reachableTime : 0));
      this.gcAccount(old, nw);
      n.state = nw;
    }
    if (mac !== n.mac) {
      n.mac = mac;
      if ((nw & NUD_CONNECTED) === 0) n.confirmed = now - 2 * this.params.baseReachableTimeUs;
    }
    if (nw === old) return;
    if ((old & NUD_VALID) === 0 && (nw & NUD_VALID) !== 0) this.flushQueue(n);
  }

  /** a solicitation from `addr` carrying its MAC (Linux `neigh_event_ns`): creates / makes STALE */
  eventSolicit(dev: NetDevice, addr: Addr, mac: number): Neighbour | null {
    const n = this.lookupOrCreate(dev, addr);
    if (n === null) return null;
    this.updateEntry(n, mac, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE);
    return n;
  }

  /** upper-layer reachability confirmation (Linux `neigh_confirm`: TCP saw its data ACKed) */
  confirm(dev: NetDevice, addr: Addr): void {
    const n = this.lookup(dev, addr);
    if (n !== null) n.confirmed = this.host.sched.now();
  }

  /** `ip neigh replace ADDR lladdr MAC nud permanent` */
  addPermanent(dev: NetDevice, addr: Addr, mac: number): Neighbour | null {
    return this.update(dev, addr, mac, NUD_PERMANENT, NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE);
  }
}
