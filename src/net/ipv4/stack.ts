/**
 * `Ipv4Stack`: one host's IPv4 layer, a `FamilyStack` behind the `InetLayer` — interface
 * addresses, the routing table (longest prefix match), path MTU, IPv4 input with Linux SNMP
 * accounting, option validation (`ip-options.ts`: malformed → parameter problem, source
 * routes dropped), reassembly, delivery to transports through the shared `ProtocolTable` (ICMP is
 * handled here), output (header, route, MTU, fragmentation, neighbour resolution, `dev.xmit`),
 * and ARP (registered with `Netif` for ETH_P_ARP next to ETH_P_IP).
 *
 * Local destinations (our addresses and 127.0.0.0/8, which `lo` holds as 127.0.0.1/8) are
 * routed out of the loopback device `lo` (route MTU 65520, Linux `IP_MAX_MTU`); they come back through `rcv` on `lo` in a
 * later scheduler turn, never inside `output`.
 *
 * Addresses are `Addr` (v4-mapped) at every boundary; internally IPv4 numbers. Transports get
 * the reused `RxMeta` with each datagram and the reused `IcmpErr` with each ICMP error and each
 * local failure (neighbour resolution failed: EHOSTUNREACH, `local`).
 *
 * Ownership: `rcv` and `output` take the skb they are given; every path hands it on or frees
 * it. Malformed input is counted and dropped, never thrown. Configuration calls throw
 * `ErrnoError`. Hot paths allocate nothing (scratch views and addresses are fields).
 */
import { InetAddr, MutAddr, isUnspecified, type Addr } from '../../inet/index.js';
import type { NetDevice } from '../../netdev/index.js';
import { PACKET_HOST, type Netif, type PacketHandler } from '../../netif/index.js';
import type { Rng } from '../../rand/index.js';
import { CHECKSUM_COMPLETE, CHECKSUM_NONE, pskbMayPull, skbFree, skbPull, skbPush, skbTrim, type SkBuff, type SkbCache } from '../../skb/index.js';
import type { Scheduler } from '../../time/index.js';
import { ErrnoError, ERRNO } from '../../uapi/index.js';
import { ipv4AddrToString, writeMac } from '../../wire/addr.js';
import { WIRE_BAD_LENGTH, WIRE_BAD_VERSION } from '../../wire/errors.js';
import { ETH_BROADCAST, ETH_HLEN, ETH_P_ARP, ETH_P_IP } from '../../wire/ethernet.js';
import { ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED } from '../../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPV4_HLEN, IPV4_MAX_TOTAL_LEN, IP_DF, IP_MF, IP_OFFMASK, Ipv4View } from '../../wire/ipv4.js';
import { Arp } from './arp.js';
import { ICMP_EXC_FRAGTIME, ICMP_FRAG_NEEDED, ICMP_HOST_UNREACH, ICMP_PARAMETERPROB, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH, Icmp, icmpErrFatal, icmpErrno, type PingOptions, type PingResult } from './icmp.js';
import { Ipv4Fragmenter, type FragSink } from './frag.js';
import { IPOPT_OK, IPOPT_SRR, ipOptionsCheck } from './options.js';
import { Ipv4Reasm, type ReasmParams } from './reasm.js';
import { NeighTable, type NeighParams, type NeighState } from '../neighbour.js';
import { PmtuCache } from './pmtu.js';
import {
  IP_DEFAULT_TTL, IcmpErr, RxMeta, newIpv4Stats, type FamilyStack, type Ipv4Stats, type OutputOptions, type ProtocolTable, type Route,
} from '../types.js';

export interface AddressInfo {
  dev: string;
  /** IPv4 number */
  address: number;
  prefixLen: number;
}

export interface RouteInfo {
  /** 'a.b.c.d/n' */
  dst: string;
  /** gateway, absent for on-link routes */
  via?: string;
  dev: string;
  /** preferred source ('' when chosen per destination) */
  src: string;
}

interface IfAddr {
  dev: NetDevice;
  address: number;
  prefixLen: number;
  mask: number;
  /** directed broadcast, or -1 for /31 and /32 */
  bcast: number;
}

interface RouteEntry {
  dst: number;
  prefixLen: number;
  mask: number;
  /** 0 for on-link routes */
  gateway: number;
  dev: NetDevice;
  /** preferred source, 0 = select per packet from the device's addresses */
  prefsrc: number;
}

/** network mask of a prefix length, as a uint32 */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function isMulticastV4(a: number): boolean {
  return a >>> 28 === 0xe;
}

export interface Ipv4StackOptions {
  sched: Scheduler;
  skbs: SkbCache;
  rng?: Rng;
  netif: Netif;
  protos: ProtocolTable;
  neigh?: Partial<NeighParams>;
  reasm?: Partial<ReasmParams>;
}

const LOOPBACK_NET = 0x7f000000;
/** largest IPv4 route MTU (Linux `IP_MAX_MTU`): the 65536-byte loopback MTU does not fit tot_len */
export const IP_MAX_MTU = 0xfff0;

function ipMtu(dev: NetDevice): number {
  return dev.mtu < IP_MAX_MTU ? dev.mtu : IP_MAX_MTU;
}

export class Ipv4Stack implements FamilyStack, PacketHandler, FragSink<number> {
  readonly family = 4 as const;
  readonly sched: Scheduler;
  readonly skbs: SkbCache;
  readonly rng: Rng | null;
  readonly netif: Netif;
  readonly protos: ProtocolTable;
  readonly stats: Ipv4Stats = newIpv4Stats();
  readonly arp: Arp;
  readonly neigh: NeighTable;
  readonly icmp: Icmp;
  readonly reasm: Ipv4Reasm;
  readonly pmtu: PmtuCache;
  private readonly frag: Ipv4Fragmenter;

  private readonly ifaddrs: IfAddr[] = [];
  /** our addresses → owning device */
  private readonly localOwner = new Map<number, NetDevice>();
  /** sorted by prefix length, longest first; ties in insertion order */
  private readonly rtable: RouteEntry[] = [];
  private ipId: number;

  private readonly ipv = new Ipv4View();
  private readonly meta = new RxMeta();
  private readonly errInfo = new IcmpErr();
  private readonly nhKey = new MutAddr();
  /** output context while fragmenting (fragXmit) */

  constructor(opts: Ipv4StackOptions) {
    this.sched = opts.sched;
    this.skbs = opts.skbs;
    this.rng = opts.rng ?? null;
    this.netif = opts.netif;
    this.protos = opts.protos;
    this.ipId = this.rng !== null ? this.rng.fork('ipv4-ident').nextU32() & 0xffff : 0;
    this.arp = new Arp({
      sched: this.sched,
      rng: this.rng,
      skbs: this.skbs,
      isLocalV4: (a) => this.isLocalV4(a),
      isBroadcastOn: (dev, a) => this.isBroadcastOn(dev, a),
      selectSource: (dev, dst) => this.selectSource(dev, dst),
      linkFailure: (skb) => this.linkFailure(skb),
    }, opts.neigh);
    this.stats.arp = this.arp.stats;
    this.neigh = this.arp.tbl;
    this.icmp = new Icmp(this);
    this.reasm = new Ipv4Reasm({
      sched: this.sched,
      stats: this.stats,
      sendFragTimeExceeded: (skb) => this.icmp.sendError(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0),
    }, opts.reasm);
    this.pmtu = new PmtuCache(this.sched);
    this.frag = new Ipv4Fragmenter(this.skbs, this.skbs.mem, this.stats);
    this.netif.register(ETH_P_IP, this);
    this.netif.register(ETH_P_ARP, this.arp);
    this.addAddress(this.netif.lo, 0x7f000001, 8);
  }

  /** the loopback device */
  get lo(): NetDevice {
    return this.netif.lo;
  }

  // ---- addresses ----

  /** `ip addr add ADDR/LEN dev DEV`: adds the address and its connected route; throws ErrnoError */
  addAddress(dev: NetDevice, addr: number, prefixLen: number): void {
    addr >>>= 0;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new ErrnoError('EINVAL', 'addAddress', { msg: 'bad prefix length' });
    if (addr === 0 || isMulticastV4(addr) || addr === 0xffffffff) throw new ErrnoError('EINVAL', 'addAddress', { msg: 'not a unicast address' });
    if (this.localOwner.has(addr)) throw new ErrnoError('EEXIST', 'addAddress', { msg: `${ipv4AddrToString(addr)} already assigned` });
    const mask = prefixMask(prefixLen);
    const net = (addr & mask) >>> 0;
    this.ifaddrs.push({ dev, address: addr, prefixLen, mask, bcast: prefixLen >= 31 ? -1 : (net | ~mask) >>> 0 });
    this.localOwner.set(addr, dev);
    // the loopback's prefix lives in Linux's local table only (local delivery covers it)
    if (dev !== this.netif.lo && !this.rtable.some((r) => r.dst === net && r.prefixLen === prefixLen && r.gateway === 0 && r.dev === dev)) {
      this.insertRoute({ dst: net, prefixLen, mask, gateway: 0, dev, prefsrc: addr });
    }
  }

  /** every address (the loopback's included) */
  addresses(): AddressInfo[] {
    return this.ifaddrs.map((a) => ({ dev: a.dev.name, address: a.address, prefixLen: a.prefixLen }));
  }

  /** one of our addresses, or in 127.0.0.0/8 (IPv4 number) */
  isLocalV4(a: number): boolean {
    a >>>= 0;
    return this.localOwner.has(a) || (a & 0xff000000) === LOOPBACK_NET;
  }

  isLocalAddress(a: Addr): boolean {
    return a.w0 === 0 && a.w1 === 0 && a.w2 === 0xffff && this.isLocalV4(a.w3);
  }

  /** limited broadcast, or the directed broadcast of one of `dev`'s subnets */
  isBroadcastOn(dev: NetDevice, a: number): boolean {
    a >>>= 0;
    if (a === 0xffffffff) return true;
    const ifa = this.ifaddrs;
    for (let i = 0; i < ifa.length; i++) if (ifa[i]!.dev === dev && ifa[i]!.bcast === a) return true;
    return false;
  }

  /** limited broadcast, or the directed broadcast of any of our subnets */
  isBroadcastAddr(a: number): boolean {
    a >>>= 0;
    if (a === 0xffffffff) return true;
    const ifa = this.ifaddrs;
    for (let i = 0; i < ifa.length; i++) if (ifa[i]!.bcast === a) return true;
    return false;
  }

  /** source address for packets out of `dev` towards `dst` (Linux `inet_select_addr`) */
  selectSource(dev: NetDevice, dst: number): number {
    const ifa = this.ifaddrs;
    let first = 0;
    for (let i = 0; i < ifa.length; i++) {
      const a = ifa[i]!;
      if (a.dev !== dev) continue;
      if (((a.address ^ dst) & a.mask) === 0) return a.address;
      if (first === 0) first = a.address;
    }
    if (first !== 0) return first;
    for (let i = 0; i < ifa.length; i++) if (ifa[i]!.dev !== this.netif.lo) return ifa[i]!.address;
    return 0;
  }

  // ---- routes ----

  /**
   * `ip route add DST/LEN [via GW] [dev DEV]` (numbers). A gateway must be on-link (covered by
   * a connected route, on `dev` when given). Throws ErrnoError: EINVAL (host bits set, neither
   * via nor dev), ENETUNREACH (gateway not on-link), EEXIST (same prefix).
   */
  addRoute(dst: number, prefixLen: number, gateway: number, devIn: NetDevice | null): void {
    const sc = 'addRoute';
    dst >>>= 0;
    gateway >>>= 0;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new ErrnoError('EINVAL', sc, { msg: 'bad prefix length' });
    const mask = prefixMask(prefixLen);
    if (((dst & mask) >>> 0) !== dst) throw new ErrnoError('EINVAL', sc, { msg: 'Invalid prefix for given prefix length' });
    let dev = devIn;
    if (gateway !== 0) {
      const onlink = this.rtable.find((e) => e.gateway === 0 && ((gateway ^ e.dst) & e.mask) === 0 && (dev === null || e.dev === dev));
      if (onlink === undefined || this.isLocalV4(gateway)) throw new ErrnoError('ENETUNREACH', sc, { msg: 'Nexthop has invalid gateway' });
      dev = onlink.dev;
    }
    if (dev === null) throw new ErrnoError('EINVAL', sc, { msg: 'need via or dev' });
    if (this.rtable.some((e) => e.dst === dst && e.prefixLen === prefixLen)) throw new ErrnoError('EEXIST', sc, { msg: 'route exists' });
    this.insertRoute({ dst, prefixLen, mask, gateway, dev, prefsrc: 0 });
  }

  private insertRoute(e: RouteEntry): void {
    let i = 0;
    while (i < this.rtable.length && this.rtable[i]!.prefixLen >= e.prefixLen) i++;
    this.rtable.splice(i, 0, e);
  }

  routes(): RouteInfo[] {
    return this.rtable.map((e) => {
      const info: RouteInfo = {
        dst: `${ipv4AddrToString(e.dst)}/${e.prefixLen}`, dev: e.dev.name, src: e.prefsrc !== 0 ? ipv4AddrToString(e.prefsrc) : '',
      };
      if (e.gateway !== 0) info.via = ipv4AddrToString(e.gateway);
      return info;
    });
  }

  /** longest-prefix match over routes whose device is up (optionally only `oif`'s); no allocation */
  private lookupRoute(dst: number, oif = 0): RouteEntry | null {
    const t = this.rtable;
    for (let i = 0; i < t.length; i++) {
      const e = t[i]!;
      if (((dst ^ e.dst) & e.mask) === 0 && e.dev.up && (oif === 0 || e.dev.ifindex === oif)) return e;
    }
    return null;
  }

  /**
   * Route to `dst` (Linux `ip_route_output`): local destinations over `lo`, else the longest
   * prefix, with the path MTU learned for `dst`. Allocates: per connection, not per packet.
   */
  route(dst: Addr, oif?: number): Route | null {
    if (dst.w0 !== 0 || dst.w1 !== 0 || dst.w2 !== 0xffff) return null;
    const d = dst.w3 >>> 0;
    if (this.isLocalV4(d)) {
      const lo = this.netif.lo;
      const a = InetAddr.v4(d);
      return { family: 4, dev: lo, src: a, nexthop: a, mtu: ipMtu(lo), local: true };
    }
    const e = this.lookupRoute(d, oif ?? 0);
    if (e === null) return null;
    const nexthop = e.gateway !== 0 ? e.gateway : d;
    const src = e.prefsrc !== 0 ? e.prefsrc : this.selectSource(e.dev, nexthop);
    return { family: 4, dev: e.dev, src: InetAddr.v4(src), nexthop: InetAddr.v4(nexthop), mtu: this.pmtu.mtu(d, ipMtu(e.dev)), local: false };
  }

  // ---- neighbours ----

  /** `ip neigh replace IP lladdr MAC dev DEV nud permanent` */
  addNeighbour(dev: NetDevice, ip: number, mac: number): void {
    if (this.neigh.addPermanent(dev, this.nhKey.setV4(ip), mac) === null) throw new ErrnoError('ENOBUFS', 'addNeighbour', { msg: 'neighbour table full' });
  }

  neighbours(): { dev: string; addr: string; mac: number; state: NeighState }[] {
    return this.neigh.list();
  }

  /** upper-layer confirmation that `nexthop` on `dev` is alive (Linux `dst_confirm_neigh`) */
  confirmNeighbour(dev: NetDevice, nexthop: Addr): void {
    this.neigh.confirm(dev, nexthop);
  }

  /**
   * The host is shutting down: reassembly queues are dropped (their timers with them) and every
   * ping in flight rejects with `errno` (default ENETDOWN), so no promise outlives the host.
   */
  close(errno: number = ERRNO.ENETDOWN): void {
    this.reasm.clear();
    this.icmp.abortPings(errno);
  }

  // ---- ICMP conveniences ----

  ping(dst: number | string, opts?: PingOptions): Promise<PingResult> {
    return this.icmp.ping(dst, opts);
  }

  /** ICMP port unreachable about a datagram no socket wanted (borrowed); never for link broadcasts (RFC 1122) */
  sendPortUnreach(skb: SkBuff, meta: RxMeta): void {
    if (meta.linkBcast) return;
    this.icmp.sendError(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
  }

  // ---- input ----

  /** ETH_P_IP handler (Linux `ip_rcv` + `ip_local_deliver`): `skb.data` at the IP header */
  rcv(skb: SkBuff, dev: NetDevice, pktType: number): void {
    const st = this.stats;
    st.inReceives++;
    if (!pskbMayPull(skb, IPV4_HLEN)) return this.drop(skb, 'hdr');
    const v = this.ipv.rebind(skb.buf, skb.dv, skb.data, skb.tail - skb.data);
    const rc = v.check();
    if (rc === WIRE_BAD_VERSION || rc === WIRE_BAD_LENGTH) return this.drop(skb, 'hdr');
    let hl = v.headerLen;
    if (hl > skb.tail - skb.data) {
      if (!pskbMayPull(skb, hl)) return this.drop(skb, 'hdr');
      v.rebind(skb.buf, skb.dv, skb.data, skb.tail - skb.data);
    }
    if (!v.verifyChecksum()) {
      st.inCsumErrors++;
      return this.drop(skb, 'hdr');
    }
    const tl = v.totalLen;
    if (tl > skb.len) return this.drop(skb, 'trunc');
    if (tl < hl) return this.drop(skb, 'hdr');
    if (tl < skb.len) {
      skbTrim(skb, tl);
      if (skb.ipSummed === CHECKSUM_COMPLETE) skb.ipSummed = CHECKSUM_NONE;
    }
    const src = v.src;
    const dst = v.dst;
    const frag = v.fragWord;
    const isLo = dev === this.netif.lo;
    // martian sources (Linux drops them in route input, outside the Ip MIB): counted as discards
    if (isMulticastV4(src) || src === 0xffffffff || (src === 0 && dst !== 0xffffffff)) return this.drop(skb, 'discard');
    if (!isLo && ((src & 0xff000000) === LOOPBACK_NET || (dst & 0xff000000) === LOOPBACK_NET)) return this.drop(skb, 'addr');
    // a source that is ours or a subnet broadcast (fib_validate_source: RTN_LOCAL / RTN_BROADCAST)
    if (!isLo && src !== 0 && (this.localOwner.has(src) || this.isBroadcastAddr(src))) return this.drop(skb, 'discard');
    let bcast = false;
    if (!this.localOwner.has(dst) && !(isLo && (dst & 0xff000000) === LOOPBACK_NET)) {
      if (!this.isBroadcastOn(dev, dst)) return this.drop(skb, 'addr');
      bcast = true;
    }
    skb.networkHeader = skb.data;
    if (hl > IPV4_HLEN) {
      // Linux ip_rcv_options: malformed options → parameter problem; source routes dropped
      const bad = ipOptionsCheck(skb.buf, skb.data, hl);
      if (bad === IPOPT_SRR) return this.drop(skb, 'discard');
      if (bad !== IPOPT_OK) {
        if (!bcast && pktType === PACKET_HOST) this.icmp.sendError(skb, ICMP_PARAMETERPROB, 0, bad);
        return this.drop(skb, 'hdr');
      }
    }
    if ((frag & (IP_MF | IP_OFFMASK)) !== 0) {
      const whole = this.reasm.defrag(skb, pktType !== PACKET_HOST);
      if (whole === null) return;
      skb = whole;
      // the datagram's header is fragment 0's, whose options the completing fragment may lack
      hl = (skb.buf[skb.data]! & 0x0f) << 2;
    }
    const nh = skb.data;
    const proto = skb.buf[nh + 9]!;
    skb.transportHeader = nh + hl;
    skbPull(skb, hl);
    const m = this.meta;
    m.family = 4;
    m.src.setV4(src);
    m.dst.setV4(dst);
    m.dev = dev;
    m.tos = skb.buf[nh + 1]!;
    m.ttl = skb.buf[nh + 8]!;
    m.linkBcast = bcast || pktType !== PACKET_HOST;
    if (proto === IPPROTO_ICMP) {
      st.inDelivers++;
      this.icmp.rcv(skb, m);
      return;
    }
    const t = this.protos.get(proto);
    if (t === null) {
      st.inUnknownProtos++;
      if (!m.linkBcast) this.icmp.sendError(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
      skbFree(skb);
      return;
    }
    st.inDelivers++;
    t.rcv(skb, m);
  }

  private drop(skb: SkBuff, why: 'hdr' | 'trunc' | 'addr' | 'discard'): void {
    const st = this.stats;
    if (why === 'hdr') st.inHdrErrors++;
    else if (why === 'trunc') st.inTruncatedPkts++;
    else if (why === 'addr') st.inAddrErrors++;
    else st.inDiscards++;
    skbFree(skb);
  }

  // ---- output ----

  /**
   * Sends an L4 datagram (Linux `ip_queue_xmit` / `ip_output`): `skb.data` at the L4 header with
   * at least ETH_HLEN + IPV4_HLEN headroom (reserve MAX_HEADER). Takes the skb. An unspecified
   * `src` picks the route's preferred source. Pushes a 20-byte header (id from a per-stack
   * counter, DF unless `df: false` or the path MTU is locked, TTL 64), routes, and sends: over
   * `lo` for local destinations, else through the neighbour table. Over the path MTU: DF set →
   * -EMSGSIZE (`fragFails`); DF clear → fragmented. A GSO skb may exceed the MTU when the device
   * does TSO (the NIC cuts it). Returns 0 (sent or queued) or -ENETUNREACH / -EMSGSIZE / -ENOBUFS.
   */
  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number {
    const st = this.stats;
    st.outRequests++;
    if (dst.w0 !== 0 || dst.w1 !== 0 || dst.w2 !== 0xffff) {
      st.outNoRoutes++;
      skbFree(skb);
      return -ERRNO.ENETUNREACH;
    }
    const d = dst.w3 >>> 0;
    let s = isUnspecified(src) ? 0 : src.w3 >>> 0;
    let dev: NetDevice;
    let nexthop = d;
    let mtu: number;
    let df = opts?.df !== false;
    const local = this.isLocalV4(d);
    if (local) {
      dev = this.netif.lo;
      mtu = ipMtu(dev);
      if (s === 0) s = d;
    } else {
      const e = this.lookupRoute(d);
      if (e === null) {
        st.outNoRoutes++;
        skbFree(skb);
        return -ERRNO.ENETUNREACH;
      }
      dev = e.dev;
      if (e.gateway !== 0) nexthop = e.gateway;
      if (s === 0) s = e.prefsrc !== 0 ? e.prefsrc : this.selectSource(dev, nexthop);
      mtu = this.pmtu.mtu(d, ipMtu(dev));
      if (df && this.pmtu.locked(d)) df = false;
    }
    const tl = skb.len + IPV4_HLEN;
    if (tl > IPV4_MAX_TOTAL_LEN) {
      st.fragFails++;
      skbFree(skb);
      return -ERRNO.EMSGSIZE;
    }
    if (skb.data - skb.head < IPV4_HLEN + ETH_HLEN) {
      st.outDiscards++;
      skbFree(skb);
      return -ERRNO.ENOBUFS;
    }
    // a GSO skb goes to the device whole: its TSO, or software GSO before its driver (nic-tx)
    const gso = skb.gsoSize > 0 && !local;
    const nh = skbPush(skb, IPV4_HLEN);
    const v = this.ipv.rebind(skb.buf, skb.dv, nh, IPV4_HLEN);
    v.headerLen = IPV4_HLEN;
    v.tos = opts?.tos ?? 0;
    v.totalLen = tl;
    // a GSO skb reserves one id per segment the NIC will cut (Linux ip_select_ident_segs)
    let segs = 1;
    if (skb.gsoSize > 0 && proto === IPPROTO_TCP) {
      const thl = (skb.buf[nh + IPV4_HLEN + 12]! >> 4) << 2;
      segs = Math.max(1, Math.ceil((skb.len - IPV4_HLEN - thl) / skb.gsoSize));
    }
    v.ident = this.ipId;
    this.ipId = (this.ipId + segs) & 0xffff;
    v.fragWord = df ? IP_DF : 0;
    v.ttl = opts?.ttl ?? IP_DEFAULT_TTL;
    v.protocol = proto;
    v.src = s;
    v.dst = d;
    v.fillChecksum();
    skb.networkHeader = nh;
    skb.transportHeader = nh + IPV4_HLEN;
    skb.protocol = ETH_P_IP;
    skb.ifindex = dev.ifindex;
    skb.next = null;
    if (tl > mtu && !gso) {
      if (df) {
        st.fragFails++;
        skbFree(skb);
        return -ERRNO.EMSGSIZE;
      }
      return this.frag.fragment(skb, mtu, dev, nexthop, this);
    }
    this.finishOutput(skb, dev, nexthop);
    return 0;
  }

  /** one fragment from the fragmenter (data at its IP header; protocol and ifindex set) */
  fragXmit(f: SkBuff, dev: NetDevice, nexthop: number): void {
    this.finishOutput(f, dev, nexthop);
  }

  /** Linux `ip_finish_output2`: link-layer header and transmit (data at the IP header) */
  private finishOutput(skb: SkBuff, dev: NetDevice, nexthop: number): void {
    if (dev === this.netif.lo) {
      const mh = skbPush(skb, ETH_HLEN);
      writeMac(skb.dv, mh, 0);
      writeMac(skb.dv, mh + 6, 0);
      skb.dv.setUint16(mh + 12, ETH_P_IP);
      skb.macHeader = mh;
      dev.xmit(skb);
      return;
    }
    let mac = -1;
    if (this.isBroadcastOn(dev, nexthop)) mac = ETH_BROADCAST;
    else if (isMulticastV4(nexthop)) mac = 0x01005e000000 + (nexthop & 0x7fffff);
    if (mac >= 0) {
      const mh = skbPush(skb, ETH_HLEN);
      writeMac(skb.dv, mh, mac);
      writeMac(skb.dv, mh + 6, dev.mac);
      skb.dv.setUint16(mh + 12, ETH_P_IP);
      skb.macHeader = mh;
      dev.xmit(skb);
      return;
    }
    this.neigh.output(skb, dev, this.nhKey.setV4(nexthop), ETH_P_IP);
  }

  // ---- errors towards transports ----

  /**
   * Reports an error about one of our datagrams to its transport's `err` (ICMP's own echo
   * requests to `Icmp.err`). `buf`/`dv` hold the datagram's IPv4 header at `ipOff` (absolute),
   * `avail` bytes of it readable. "Fragmentation needed": the transport gets `info` = the path
   * MTU the report allows (the current one when it would not lower it), and the path MTU of the
   * datagram's destination is lowered only when a protocol's `err` took it (did not return false).
   */
  deliverIcmpErr(type: number, code: number, info: number, buf: Uint8Array, dv: DataView, ipOff: number, avail: number, local: boolean): void {
    if (avail < IPV4_HLEN) return;
    const ihl = (dv.getUint8(ipOff) & 0x0f) << 2;
    if (ihl < IPV4_HLEN || avail < ihl + 8) return;
    const proto = dv.getUint8(ipOff + 9);
    const osrc = dv.getUint32(ipOff + 12);
    const odst = dv.getUint32(ipOff + 16);
    const reported = info;
    let devMtu = 0;
    if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED && !local) {
      const r = this.lookupRoute(odst);
      if (r !== null) {
        devMtu = ipMtu(r.dev);
        const mtu = this.pmtu.peek(odst, info, devMtu);
        info = mtu !== 0 ? mtu : this.pmtu.mtu(odst, devMtu);
      }
    }
    const e = this.errInfo;
    e.family = 4;
    e.type = type;
    e.code = code;
    e.errno = icmpErrno(type, code);
    e.fatal = icmpErrFatal(type, code);
    e.info = info;
    e.local = local;
    e.src.setV4(osrc);
    e.dst.setV4(odst);
    e.proto = proto;
    e.buf = buf;
    e.dv = dv;
    e.l4Off = ipOff + ihl;
    e.l4Len = avail - ihl;
    let took = false;
    if (proto === IPPROTO_ICMP) {
      took = this.icmp.err(e);
    } else {
      const t = this.protos.get(proto);
      if (t !== null && t.err !== undefined) took = t.err(e) !== false;
    }
    if (took && devMtu !== 0) this.pmtu.update(odst, reported, devMtu);
  }

  /** neighbour resolution failed for a queued packet (Linux `ip_link_failure`); borrows `skb` */
  linkFailure(skb: SkBuff): void {
    const nh = skb.networkHeader;
    if (nh < 0) return;
    this.deliverIcmpErr(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, skb.buf, skb.dv, nh, skb.tail - nh, true);
  }
}
