/**
 * ARP and the neighbour table (Linux `net/core/neighbour.c` + `net/ipv4/arp.c`, reduced).
 *
 * One entry per (device, next-hop IPv4). States and Linux defaults:
 *  - INCOMPLETE: resolving; up to `MCAST_SOLICIT` (3) broadcast requests `RETRANS_TIME_US` (1 s)
 *    apart, packets queued (at most `QUEUE_MAX_SKBS` / `QUEUE_MAX_BYTES`, oldest dropped);
 *    no answer → FAILED: queued packets dropped, counted, and reported to their protocol as
 *    EHOSTUNREACH (Linux `ip_link_failure`).
 *  - REACHABLE: confirmed by a unicast reply; after `REACHABLE_TIME_US` (30 s) → STALE.
 *  - STALE: usable; the next packet goes out at once and starts DELAY.
 *  - DELAY: usable; after `DELAY_PROBE_TIME_US` (5 s) → REACHABLE if an upper layer confirmed
 *    the neighbour meanwhile (`confirm`), else PROBE.
 *  - PROBE: usable; up to `UCAST_SOLICIT` (3) unicast requests 1 s apart, then FAILED.
 *  - FAILED: the next packet restarts resolution (INCOMPLETE).
 *  - PERMANENT: set by `addPermanent`, never changes.
 * Broadcast and multicast next hops map to their MACs without resolution.
 * Replies and requests from a host with an entry update it (gratuitous ARP included);
 * requests for one of our addresses are answered and create a STALE entry for the sender.
 *
 * Ownership: `output` takes the skb (data at the Ethernet header, src MAC and ethertype
 * already written); `arpRcv` takes the ARP skb. Timers are `Timer` objects owned by entries.
 */
import type { NetDevice } from '../netdev/index.js';
import { pskbMayPull, skbFree, skbPut, type SkBuff, type SkbCache } from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { writeMac } from '../wire/addr.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ArpView, emitArp, type ArpRepr } from '../wire/arp.js';
import { WIRE_OK } from '../wire/errors.js';
import { ETH_BROADCAST, ETH_HLEN, ETH_P_ARP, emitEthernet, type EthernetRepr } from '../wire/ethernet.js';
import type { Ipv4Stats } from './types.js';

export const NUD_NONE = 0x00;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_PERMANENT = 0x80;
/** states in which the cached MAC is used */
const NUD_VALID = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

export type NeighState = 'none' | 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'permanent';

/** Linux `retrans_time` */
export const RETRANS_TIME_US = 1_000_000;
/** Linux `base_reachable_time` (not randomised here) */
export const REACHABLE_TIME_US = 30_000_000;
/** Linux `delay_first_probe_time` */
export const DELAY_PROBE_TIME_US = 5_000_000;
/** Linux `mcast_solicit` / `ucast_solicit` */
export const MCAST_SOLICIT = 3;
export const UCAST_SOLICIT = 3;
/** per-entry queue of packets waiting for resolution */
export const QUEUE_MAX_SKBS = 64;
export const QUEUE_MAX_BYTES = 256 * 1024;

export function neighStateName(s: number): NeighState {
  switch (s) {
    case NUD_INCOMPLETE: return 'incomplete';
    case NUD_REACHABLE: return 'reachable';
    case NUD_STALE: return 'stale';
    case NUD_DELAY: return 'delay';
    case NUD_PROBE: return 'probe';
    case NUD_FAILED: return 'failed';
    case NUD_PERMANENT: return 'permanent';
    default: return 'none';
  }
}

/** what the neighbour table needs from the IPv4 stack */
export interface NeighHost {
  readonly sched: Scheduler;
  readonly skbs: SkbCache;
  readonly stats: Ipv4Stats;
  isLocalAddress(a: number): boolean;
  /** a broadcast address (limited, or directed for a subnet of `dev`) */
  isBroadcastOn(dev: NetDevice, a: number): boolean;
  /** source address for packets from `dev` towards `dst` (Linux `inet_select_addr`) */
  selectSource(dev: NetDevice, dst: number): number;
  /** a queued packet was dropped because its next hop failed; borrows `skb` (IP header at networkHeader) */
  linkFailure(skb: SkBuff): void;
}

export class Neighbour implements TimerTarget {
  mac = 0;
  state = NUD_NONE;
  /** requests sent in the current INCOMPLETE / PROBE round */
  probes = 0;
  /** time of the last confirmation (µs) */
  confirmed = 0;
  /** source address for requests (the first queued packet's source) */
  probeSrc = 0;
  qHead: SkBuff | null = null;
  qTail: SkBuff | null = null;
  qLen = 0;
  qBytes = 0;
  readonly timer: Timer;

  constructor(readonly tbl: NeighTable, readonly dev: NetDevice, readonly ip: number) {
    this.timer = new Timer(this, 0);
  }

  onTimer(_t: Timer): void {
    this.tbl.timerFired(this);
  }
}

export class NeighTable {
  private readonly entries = new Map<number, Neighbour>();
  private readonly arpView = new ArpView();
  private readonly arpRepr: ArpRepr = { op: 0, senderMac: 0, senderIp: 0, targetMac: 0, targetIp: 0 };
  private readonly ethRepr: EthernetRepr = { dst: 0, src: 0, etherType: ETH_P_ARP };

  constructor(private readonly host: NeighHost) {}

  private static key(dev: NetDevice, ip: number): number {
    return dev.ifindex * 4294967296 + (ip >>> 0);
  }

  lookup(dev: NetDevice, ip: number): Neighbour | null {
    return this.entries.get(NeighTable.key(dev, ip)) ?? null;
  }

  private lookupOrCreate(dev: NetDevice, ip: number): Neighbour {
    const k = NeighTable.key(dev, ip);
    let n = this.entries.get(k);
    if (n === undefined) {
      n = new Neighbour(this, dev, ip >>> 0);
      this.entries.set(k, n);
    }
    return n;
  }

  /** every entry, for `ip neigh show` */
  list(): { dev: string; ip: number; mac: number; state: NeighState }[] {
    const out: { dev: string; ip: number; mac: number; state: NeighState }[] = [];
    for (const n of this.entries.values()) out.push({ dev: n.dev.name, ip: n.ip, mac: n.mac, state: neighStateName(n.state) });
    return out;
  }

  /** `ip neigh replace IP lladdr MAC nud permanent` */
  addPermanent(dev: NetDevice, ip: number, mac: number): void {
    const n = this.lookupOrCreate(dev, ip);
    this.host.sched.cancel(n.timer);
    n.mac = mac;
    n.state = NUD_PERMANENT;
    n.probes = 0;
    this.flush(n);
  }

  // ---- output ----

  /**
   * Sends `skb` (data at the Ethernet header) to `nexthop` on `dev`, resolving the MAC first
   * when needed. Takes ownership. `src` is the packet's IPv4 source (used for ARP requests).
   */
  output(skb: SkBuff, dev: NetDevice, nexthop: number, src: number): void {
    if (this.host.isBroadcastOn(dev, nexthop)) {
      writeMac(skb.dv, skb.data, ETH_BROADCAST);
      dev.xmit(skb);
      return;
    }
    if (nexthop >>> 28 === 0xe) {
      // multicast: 01:00:5e + low 23 bits of the group (RFC 1112), no resolution
      writeMac(skb.dv, skb.data, 0x01005e000000 + (nexthop & 0x7fffff));
      dev.xmit(skb);
      return;
    }
    const n = this.lookupOrCreate(dev, nexthop);
    const st = n.state;
    if ((st & NUD_VALID) !== 0) {
      writeMac(skb.dv, skb.data, n.mac);
      dev.xmit(skb);
      if (st === NUD_STALE) {
        n.state = NUD_DELAY;
        this.host.sched.arm(n.timer, this.host.sched.now() + DELAY_PROBE_TIME_US);
      }
      return;
    }
    this.enqueue(n, skb);
    if (st !== NUD_INCOMPLETE) {
      n.state = NUD_INCOMPLETE;
      n.probes = 0;
      n.probeSrc = src;
      this.solicit(n);
    }
  }

  private enqueue(n: Neighbour, skb: SkBuff): void {
    const arp = this.host.stats.arp;
    while (n.qHead !== null && (n.qLen >= QUEUE_MAX_SKBS || n.qBytes + skb.len > QUEUE_MAX_BYTES)) {
      const old = n.qHead;
      n.qHead = old.next;
      if (n.qHead === null) n.qTail = null;
      old.next = null;
      n.qLen--;
      n.qBytes -= old.len;
      arp.unresDiscards++;
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
  private flush(n: Neighbour): void {
    let skb = n.qHead;
    n.qHead = n.qTail = null;
    n.qLen = n.qBytes = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      writeMac(skb.dv, skb.data, n.mac);
      n.dev.xmit(skb);
      skb = next;
    }
  }

  /** sends one request (broadcast while INCOMPLETE, unicast while PROBE) and arms the retransmit */
  private solicit(n: Neighbour): void {
    n.probes++;
    const host = this.host;
    const src = n.probeSrc !== 0 && host.isLocalAddress(n.probeSrc) ? n.probeSrc : host.selectSource(n.dev, n.ip);
    const dst = n.state === NUD_PROBE ? n.mac : ETH_BROADCAST;
    if (this.sendArp(n.dev, ARPOP_REQUEST, dst, src, 0, n.ip)) host.stats.arp.outRequests++;
    host.sched.arm(n.timer, host.sched.now() + RETRANS_TIME_US);
  }

  /**
   * Upper-layer reachability confirmation (Linux `neigh_confirm`, e.g. TCP saw new data ACKed):
   * refreshes `confirmed`; a DELAY entry then returns to REACHABLE without probing.
   */
  confirm(dev: NetDevice, ip: number): void {
    const n = this.lookup(dev, ip);
    if (n !== null && (n.state & NUD_VALID) !== 0) n.confirmed = this.host.sched.now();
  }

  timerFired(n: Neighbour): void {
    const now = this.host.sched.now();
    switch (n.state) {
      case NUD_INCOMPLETE:
        if (n.probes >= MCAST_SOLICIT) this.fail(n);
        else this.solicit(n);
        break;
      case NUD_PROBE:
        if (n.probes >= UCAST_SOLICIT) this.fail(n);
        else this.solicit(n);
        break;
      case NUD_REACHABLE:
        if (now < n.confirmed + REACHABLE_TIME_US) this.host.sched.arm(n.timer, n.confirmed + REACHABLE_TIME_US);
        else n.state = NUD_STALE;
        break;
      case NUD_DELAY:
        if (now <= n.confirmed + DELAY_PROBE_TIME_US) {
          n.state = NUD_REACHABLE;
          this.host.sched.arm(n.timer, n.confirmed + REACHABLE_TIME_US);
        } else {
          n.state = NUD_PROBE;
          n.probes = 0;
          this.solicit(n);
        }
        break;
      default:
        break;
    }
  }

  private fail(n: Neighbour): void {
    const host = this.host;
    n.state = NUD_FAILED;
    n.probes = 0;
    host.stats.arp.resFailed++;
    let skb = n.qHead;
    n.qHead = n.qTail = null;
    n.qLen = n.qBytes = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      host.stats.arp.unresDiscards++;
      host.linkFailure(skb);
      skbFree(skb);
      skb = next;
    }
  }

  /** Linux `neigh_update` for ARP-learned information */
  private update(n: Neighbour, mac: number, state: number): void {
    if (n.state === NUD_PERMANENT) return;
    const sched = this.host.sched;
    if (state === NUD_STALE && (n.state & NUD_VALID) !== 0 && n.mac === mac) return;
    n.mac = mac;
    n.probes = 0;
    if (state === NUD_REACHABLE) {
      n.state = NUD_REACHABLE;
      n.confirmed = sched.now();
      sched.arm(n.timer, n.confirmed + REACHABLE_TIME_US);
    } else {
      n.state = NUD_STALE;
      sched.cancel(n.timer);
    }
    this.flush(n);
  }

  // ---- input ----

  /**
   * An ARP packet (data at the ARP header) arrived on `dev`; `linkBcast` tells whether the frame
   * was sent to the broadcast MAC. Takes ownership.
   */
  arpRcv(skb: SkBuff, dev: NetDevice, linkBcast: boolean): void {
    const host = this.host;
    const arp = host.stats.arp;
    if (!pskbMayPull(skb, ARP_LEN)) {
      arp.inErrors++;
      skbFree(skb);
      return;
    }
    const v = this.arpView.rebind(skb.buf, skb.dv, skb.data, skb.tail - skb.data);
    if (v.check() !== WIRE_OK) {
      arp.inErrors++;
      skbFree(skb);
      return;
    }
    const op = v.op;
    const sha = v.senderMac;
    const sip = v.senderIp;
    const tip = v.targetIp;
    skbFree(skb);
    if (op === ARPOP_REQUEST) arp.inRequests++;
    else if (op === ARPOP_REPLY) arp.inReplies++;
    else return;
    // multicast / loopback targets, our own frames looped back, address conflicts: ignore
    if (tip >>> 28 === 0xe || tip >>> 24 === 127 || sha === dev.mac) return;
    if (sip === 0) {
      // duplicate address detection probe (RFC 5227): answer for our addresses
      if (op === ARPOP_REQUEST && host.isLocalAddress(tip)) this.reply(dev, tip, sha, 0);
      return;
    }
    if (host.isLocalAddress(sip) || sip >>> 28 === 0xe || host.isBroadcastOn(dev, sip)) return;
    if (op === ARPOP_REQUEST && host.isLocalAddress(tip)) {
      this.update(this.lookupOrCreate(dev, sip), sha, NUD_STALE);
      this.reply(dev, tip, sha, sip);
      return;
    }
    const n = this.lookup(dev, sip);
    if (n !== null) this.update(n, sha, op === ARPOP_REPLY && !linkBcast ? NUD_REACHABLE : NUD_STALE);
  }

  private reply(dev: NetDevice, ourIp: number, toMac: number, toIp: number): void {
    if (this.sendArp(dev, ARPOP_REPLY, toMac, ourIp, toMac, toIp)) this.host.stats.arp.outReplies++;
  }

  /** builds and transmits one ARP frame; false when no skb could be allocated */
  private sendArp(dev: NetDevice, op: number, ethDst: number, spa: number, tha: number, tpa: number): boolean {
    const skb = this.host.skbs.alloc(ETH_HLEN + ARP_LEN, 0);
    if (skb === null) return false;
    const at = skbPut(skb, ETH_HLEN + ARP_LEN);
    const e = this.ethRepr;
    e.dst = ethDst;
    e.src = dev.mac;
    emitEthernet(e, skb.dv, at);
    const a = this.arpRepr;
    a.op = op;
    a.senderMac = dev.mac;
    a.senderIp = spa;
    a.targetMac = tha;
    a.targetIp = tpa;
    emitArp(a, skb.dv, at + ETH_HLEN);
    skb.protocol = ETH_P_ARP;
    skb.macHeader = at;
    skb.ifindex = dev.ifindex;
    dev.xmit(skb);
    return true;
  }
}
