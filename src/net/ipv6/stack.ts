/**
 * `Ipv6Stack`: one host's IPv6 layer, a `FamilyStack` behind the `InetLayer` (Linux
 * `net/ipv6/ip6_input.c`, `ip6_output.c`, `exthdrs.c`, reduced to a host: no forwarding).
 *
 * Input (`rcv`, registered with `Netif` for ETH_P_IPV6): version, payload length (truncated →
 * `inTruncatedPkts`, padding trimmed), martians (multicast or — off loopback — loopback
 * sources and destinations, multicast scope 0 / interface-local from the wire →
 * `inAddrErrors`), destination (ours, incl. tentative for NDP only; joined multicast groups;
 * else `inAddrErrors` — no forwarding), then the extension-header chain (RFC 8200 §4):
 *  - hop-by-hop only right after the header; elsewhere it is an unknown next header;
 *  - options (hop-by-hop, destination): Pad1/PadN (≤ 7 bytes of padding in a row, PadN bytes
 *    zero), router alert; at most 8 non-padding options per header; an unknown option's two high
 *    bits: 00 skip, 01 discard, 10 discard + parameter problem code 2 at the option, 11 the same
 *    unless the destination is multicast; malformed → discard (`inHdrErrors`);
 *  - routing: segments left 0 → ignored whatever the type; otherwise (no type is processed by a
 *    host) parameter problem code 0 pointing at the routing type; multicast destination → drop;
 *  - fragment: atomic fragments (offset 0, M clear) are processed as whole datagrams (RFC
 *    6946); others go to reassembly (`Ip6Reasm`) and the chain continues in the datagram;
 *  - no next header (59): consumed; ICMPv6: this stack's `Icmpv6`; anything else: the shared
 *    `ProtocolTable`, or parameter problem code 1 pointing at the next-header field naming it
 *    (not for multicast destinations);
 *  - at most `IPV6_MAX_EXTHDRS` (16) extension headers; every header must be in the packet.
 * Transports get `skb.data` at the L4 header and the reused `RxMeta` (family 6).
 *
 * Output (`output`): route (local → `lo`; multicast → the given or first device; else longest
 * prefix), source address selection when none is given, hop limit 64 (1 for multicast), the
 * traffic class from `opts.tos`, flow label 0; over the path MTU (device MTU lowered by PMTU
 * discovery) a datagram is fragmented when `opts.df === false` (sockets that allow it: UDP,
 * ping), else it fails with -EMSGSIZE (TCP). Next hops are resolved by NDP through the
 * `NeighTable`; multicast maps to 33:33 + the low 32 bits.
 *
 * Ownership: `rcv` and `output` take their skb. Malformed input is counted and dropped, never
 * thrown. Configuration calls throw `ErrnoError`. Per-packet paths allocate nothing except where
 * a comment says otherwise (reassembly queues, neighbour entries, PMTU entries).
 */
import { InetAddr, isLinkLocal, isLoopback, isMulticast, isUnspecified, prefixMatch, type Addr } from '../../inet/index.js';
import type { NetDevice } from '../../netdev/index.js';
import { PACKET_HOST, type Netif, type PacketHandler } from '../../netif/index.js';
import type { Rng } from '../../rand/index.js';
import { CHECKSUM_COMPLETE, CHECKSUM_NONE, pskbMayPull, skbFree, skbPull, skbPush, skbTrim, type SkBuff, type SkbCache } from '../../skb/index.js';
import type { Scheduler } from '../../time/index.js';
import { ERRNO, ErrnoError } from '../../uapi/index.js';
import { writeMac } from '../../wire/addr.js';
import { ETH_HLEN, ETH_P_IPV6 } from '../../wire/ethernet.js';
import {
  ICMPV6_DEST_UNREACH, ICMPV6_EXC_FRAGTIME, ICMPV6_HDR_FIELD, ICMPV6_PARAMPROB, ICMPV6_PORT_UNREACH, ICMPV6_TIME_EXCEED,
  ICMPV6_UNK_NEXTHDR, ICMPV6_UNK_OPTION,
} from '../../wire/icmpv6.js';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_ROUTING, IPV6_FRAG_MF,
  IPV6_FRAG_OFFMASK, IPV6_HLEN, IPV6_MAX_PAYLOAD, IPV6_TLV_JUMBO, IPV6_TLV_PAD1, IPV6_TLV_PADN, IPV6_TLV_ROUTERALERT,
  Ipv6View,
} from '../../wire/ipv6.js';
import type { PingOptions, PingResult } from '../ping.js';
import type { RouteInfo } from '../ipv4/stack.js';
import { NeighTable, type NeighParams, type NeighState } from '../neighbour.js';
import { RxMeta, type FamilyStack, type OutputOptions, type ProtocolTable, type Route } from '../types.js';
import { SCOPE_INTERFACE, addrScope, ipv6McastMac, linkLocalFromMac, maskAddr, scopeName } from './addr6.js';
import { Addrconf, IFA_F_DADFAILED, IFA_F_NODAD, IFA_F_TENTATIVE, type AddrconfHost, type Inet6Ifaddr } from './addrconf.js';
import { Ipv6Fragmenter, type Frag6Sink } from './frag.js';
import { Icmpv6 } from './icmp.js';
import { Ndisc } from './ndisc.js';
import { Ip6Reasm, type ReasmHost } from './reasm.js';
import { PmtuCache, RT6_METRIC_CONNECTED, RT6_METRIC_STATIC, Route6Table } from './route.js';
import { newIpv6Stats, type Ipv6Stats } from './stats.js';

/** default hop limit (`net.ipv6.conf.all.hop_limit`) */
export const IPV6_DEFAULT_HOPLIMIT = 64;
/** default multicast hop limit (IPV6_MULTICAST_HOPS) */
export const IPV6_DEFAULT_MCAST_HOPS = 1;
/** extension headers walked per datagram at most */
export const IPV6_MAX_EXTHDRS = 16;
/** Linux `net.ipv6.max_hbh_opts_number` / `max_dst_opts_number` */
export const IPV6_MAX_OPTS = 8;

export interface Ipv6StackOptions {
  sched: Scheduler;
  skbs: SkbCache;
  rng?: Rng | null;
  netif: Netif;
  protos: ProtocolTable;
  neigh?: Partial<NeighParams>;
}

export interface Ipv6AddressInfo {
  dev: string;
  address: InetAddr;
  prefixLen: number;
  scope: 'host' | 'link' | 'global';
  /** 'tentative', 'dadfailed', 'nodad', 'permanent' as `ip -6 addr` prints them */
  flags: string[];
}

/** `RouteInfo` with `dst` as 'prefix/len', plus the route's metric and origin */
export interface Ipv6RouteInfo extends RouteInfo {
  metric: number;
  proto: 'kernel' | 'static';
}

export class Ipv6Stack implements FamilyStack, PacketHandler, Frag6Sink<Addr>, AddrconfHost, ReasmHost {
  readonly family = 6 as const;
  readonly sched: Scheduler;
  readonly skbs: SkbCache;
  readonly rng: Rng | null;
  readonly netif: Netif;
  readonly protos: ProtocolTable;
  readonly stats: Ipv6Stats = newIpv6Stats();
  readonly addrconf: Addrconf;
  readonly rt = new Route6Table();
  readonly pmtu: PmtuCache;
  readonly ndisc: Ndisc;
  readonly neigh: NeighTable;
  readonly icmp: Icmpv6;
  readonly reasm: Ip6Reasm;
  private readonly frag: Ipv6Fragmenter;
  private fragId: number;
  private readonly configured = new Set<NetDevice>();

  private readonly ipv = new Ipv6View();
  private readonly meta = new RxMeta();
  /** set while a datagram is walked: it came as link-layer multicast / to a multicast group */
  private curLinkMcast = false;
  /** output context while fragmenting (fragXmit) */

  constructor(opts: Ipv6StackOptions) {
    this.sched = opts.sched;
    this.skbs = opts.skbs;
    this.rng = opts.rng ?? null;
    this.netif = opts.netif;
    this.protos = opts.protos;
    const seedRng = this.rng !== null ? this.rng.fork('ipv6') : null;
    const seed = seedRng !== null ? seedRng.nextU32() : 0x6a09e667;
    this.fragId = seedRng !== null ? seedRng.nextU32() : 1;
    this.meta.family = 6;
    this.addrconf = new Addrconf(this, this.stats.ndisc, seed ^ 0x1111);
    this.pmtu = new PmtuCache(this.sched, seed ^ 0x2222);
    this.ndisc = new Ndisc(this);
    this.neigh = new NeighTable(this, this.ndisc, opts.neigh);
    this.icmp = new Icmpv6(this, seed ^ 0x3333);
    this.reasm = new Ip6Reasm(this, seed ^ 0x4444);
    this.frag = new Ipv6Fragmenter(this.skbs, this.skbs.mem, this.stats);
    this.netif.register(ETH_P_IPV6, this);
    this.addrconf.add(this.netif.lo, InetAddr.LOOPBACK6, 128, true);
    for (const d of this.netif.devices()) if (d !== this.netif.lo) this.addDevice(d);
  }

  get lo(): NetDevice {
    return this.netif.lo;
  }

  // ---- devices and addresses ----

  /** enables IPv6 on `dev`: its link-local address (EUI-64, DAD) and `fe80::/64` route. Idempotent. */
  addDevice(dev: NetDevice): void {
    if (dev === this.netif.lo || this.configured.has(dev)) return;
    this.configured.add(dev);
    const ll = linkLocalFromMac(dev.mac);
    if (this.addrconf.add(dev, ll, 64, false) === null) return;
    this.rt.add({ dst: maskAddr(ll, 64), prefixLen: 64, gateway: null, dev, metric: RT6_METRIC_CONNECTED, proto: 'kernel' });
  }

  isLoopbackDev(dev: NetDevice): boolean {
    return dev === this.netif.lo;
  }

  sendDadProbe(ifa: Inet6Ifaddr): void {
    this.ndisc.sendDadProbe(ifa);
  }

  /**
   * `ip -6 addr add ADDR/LEN dev DEV [nodad]`: the address (tentative until DAD passes) and its
   * on-link prefix route. Throws ErrnoError EINVAL (not a unicast IPv6 address, bad length),
   * EEXIST (assigned already).
   */
  addAddress(dev: NetDevice, addr: InetAddr, prefixLen: number, opts: { nodad?: boolean } = {}): void {
    const sc = 'addAddress';
    if (addr.family !== 6 || isUnspecified(addr) || isMulticast(addr)) throw new ErrnoError('EINVAL', sc, { msg: 'not a unicast IPv6 address' });
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) throw new ErrnoError('EINVAL', sc, { msg: 'bad prefix length' });
    if (dev !== this.netif.lo) this.addDevice(dev);
    if (this.addrconf.add(dev, addr, prefixLen, opts.nodad === true) === null) throw new ErrnoError('EEXIST', sc, { msg: `${addr.toString()} already assigned` });
    if (prefixLen < 128) {
      this.rt.add({ dst: maskAddr(addr, prefixLen), prefixLen, gateway: null, dev, metric: RT6_METRIC_CONNECTED, proto: 'kernel' });
    }
  }

  /** `ip -6 addr del`: removes the address (and its prefix route when no other address needs it) */
  removeAddress(dev: NetDevice, addr: InetAddr): void {
    const ifa = this.addrconf.lookupOnDev(dev, addr);
    if (ifa === null) throw new ErrnoError('EADDRNOTAVAIL', 'removeAddress');
    this.addrconf.remove(addr);
    const len = ifa.prefixLen;
    const net = maskAddr(addr, len);
    if (!this.addrconf.list.some((a) => a.dev === dev && a.prefixLen === len && prefixMatch(a.addr, net, len))) {
      this.rt.remove((e) => e.proto === 'kernel' && e.dev === dev && e.prefixLen === len && e.dst.equals(net));
    }
  }

  addresses(): Ipv6AddressInfo[] {
    return this.addrconf.list.map((a) => {
      const flags: string[] = [];
      if ((a.flags & IFA_F_TENTATIVE) !== 0) flags.push('tentative');
      if ((a.flags & IFA_F_DADFAILED) !== 0) flags.push('dadfailed');
      if ((a.flags & IFA_F_NODAD) !== 0) flags.push('nodad');
      flags.push('permanent');
      return { dev: a.dev.name, address: a.addr, prefixLen: a.prefixLen, scope: scopeName(a.scope), flags };
    });
  }

  /** one of our usable addresses, or ::1 */
  isLocalAddress(a: Addr): boolean {
    return isLoopback(a) || this.addrconf.isUsableLocal(a);
  }

  /** source address for `dst` out of `dev` (RFC 6724, simplified), or null */
  selectSource(dev: NetDevice | null, dst: Addr): InetAddr | null {
    return this.addrconf.selectSource(dev, dst);
  }

  // ---- routes ----

  /**
   * `ip -6 route add DST/LEN [via GW] [dev DEV]`: a link-local gateway needs `dev`; another
   * gateway must be on-link (covered by an on-link route, on `dev` when given). Throws
   * ErrnoError EINVAL (bad prefix, host bits set, neither via nor dev, link-local gateway
   * without dev), ENETUNREACH (gateway not on-link), EEXIST.
   */
  addRoute(dst: InetAddr, prefixLen: number, via: InetAddr | null, dev: NetDevice | null, metric = RT6_METRIC_STATIC): void {
    const sc = 'addRoute';
    if (dst.family !== 6 || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) throw new ErrnoError('EINVAL', sc);
    if (!maskAddr(dst, prefixLen).equals(dst)) throw new ErrnoError('EINVAL', sc, { msg: 'Invalid prefix for given prefix length' });
    if (via !== null) {
      if (via.family !== 6 || isMulticast(via) || isUnspecified(via)) throw new ErrnoError('EINVAL', sc, { msg: 'Invalid gateway' });
      if (isLinkLocal(via)) {
        if (dev === null) throw new ErrnoError('EINVAL', sc, { msg: 'link-local gateway needs a device' });
      } else {
        const on = this.rt.entries.find((e) => e.gateway === null && (dev === null || e.dev === dev) && prefixMatch(via, e.dst, e.prefixLen) && e.dev !== this.netif.lo);
        if (on === undefined || this.addrconf.lookup(via) !== null) throw new ErrnoError('ENETUNREACH', sc, { msg: 'Nexthop has invalid gateway' });
        dev = on.dev;
      }
    }
    if (dev === null) throw new ErrnoError('EINVAL', sc, { msg: 'need via or dev' });
    if (!this.rt.add({ dst, prefixLen, gateway: via, dev, metric, proto: 'static' })) throw new ErrnoError('EEXIST', sc);
  }

  /** `ip -6 route del`; false when absent */
  deleteRoute(dst: InetAddr, prefixLen: number): boolean {
    return this.rt.remove((e) => e.proto === 'static' && e.prefixLen === prefixLen && e.dst.equals(dst)) > 0;
  }

  routes(): Ipv6RouteInfo[] {
    return this.rt.entries.map((e) => {
      const r: Ipv6RouteInfo = { dst: `${e.dst.toString()}/${e.prefixLen}`, dev: e.dev.name, src: '', metric: e.metric, proto: e.proto };
      if (e.gateway !== null) r.via = e.gateway.toString();
      return r;
    });
  }

  /** prefix length of the route to `dst` (128 when local or none): the ICMPv6 rate-limit scale */
  routePrefixLen(dst: Addr): number {
    const e = this.rt.lookup(dst, null);
    return e === null ? 128 : e.prefixLen;
  }

  /** first up device other than `lo` (multicast without an interface), or null */
  private defaultMcastDev(): NetDevice | null {
    for (const d of this.netif.devices()) if (d !== this.netif.lo && d.up && this.configured.has(d)) return d;
    return null;
  }

  /** the path MTU towards `dst` leaving through `dev` */
  pathMtu(dst: Addr, dev: NetDevice): number {
    const p = this.pmtu.get(dst);
    return p > 0 && p < dev.mtu ? p : dev.mtu;
  }

  /** Packet Too Big said `mtu` for our datagrams to `dst` (Linux `ip6_update_pmtu`) */
  pmtuUpdate(dst: Addr, mtu: number): void {
    if (this.addrconf.lookup(dst) !== null || isLoopback(dst) || isMulticast(dst)) return;
    const e = this.rt.lookup(dst, null);
    if (e === null) return;
    this.pmtu.update(dst, mtu, this.pathMtu(dst, e.dev));
  }

  /**
   * Route to `dst` (Linux `ip6_route_output`): local (our addresses, ::1) over `lo`; multicast
   * through `oif` or the first device; else the longest prefix (through `oif` when given). `src`
   * is the selected source (:: when there is none). Allocates: per connection, not per packet.
   */
  route(dst: Addr, oif?: number): Route | null {
    const oifDev = oif !== undefined && oif > 0 ? this.netif.deviceByIndex(oif) : null;
    if (oif !== undefined && oif > 0 && oifDev === null) return null;
    const d = InetAddr.from(dst);
    if (isLoopback(dst) || this.addrconf.lookup(dst) !== null) {
      const lo = this.netif.lo;
      return { family: 6, dev: lo, src: d, nexthop: d, mtu: lo.mtu, local: true };
    }
    if (isMulticast(dst)) {
      const dev = oifDev ?? this.defaultMcastDev();
      if (dev === null) return null;
      return { family: 6, dev, src: this.addrconf.selectSource(dev, dst) ?? InetAddr.ANY6, nexthop: d, mtu: dev.mtu, local: false };
    }
    const e = this.rt.lookup(dst, oifDev);
    if (e === null) return null;
    return {
      family: 6, dev: e.dev, src: this.addrconf.selectSource(e.dev, dst) ?? InetAddr.ANY6, nexthop: e.gateway ?? d,
      mtu: this.pathMtu(dst, e.dev), local: false,
    };
  }

  // ---- neighbours ----

  neighbours(): { dev: string; addr: string; mac: number; state: NeighState }[] {
    return this.neigh.list();
  }

  /** `ip -6 neigh replace ADDR lladdr MAC dev DEV nud permanent` */
  addNeighbour(dev: NetDevice, addr: InetAddr, mac: number): void {
    if (addr.family !== 6 || isMulticast(addr)) throw new ErrnoError('EINVAL', 'addNeighbour');
    this.neigh.addPermanent(dev, addr, mac);
  }

  /** ICMPv6 echo to `dst` (see `Icmpv6.ping`) */
  ping6(dst: InetAddr, opts?: PingOptions): Promise<PingResult> {
    return this.icmp.ping(dst, opts);
  }

  // ---- input ----

  private drop(skb: SkBuff, counter: 'inHdrErrors' | 'inAddrErrors' | 'inTruncatedPkts' | 'inDiscards'): void {
    this.stats[counter]++;
    skbFree(skb);
  }

  /** Linux `ipv6_rcv`: `skb.data` at the IPv6 header; takes the skb */
  rcv(skb: SkBuff, dev: NetDevice, pktType: number): void {
    const st = this.stats;
    st.inReceives++;
    if (!pskbMayPull(skb, IPV6_HLEN)) return this.drop(skb, 'inHdrErrors');
    const v = this.ipv.rebind(skb.buf, skb.dv, skb.data, IPV6_HLEN);
    if (v.version !== 6) return this.drop(skb, 'inHdrErrors');
    const plen = v.payloadLen;
    if (plen + IPV6_HLEN > skb.len) return this.drop(skb, 'inTruncatedPkts');
    // a zero payload length with hop-by-hop options would be a jumbogram: not supported
    if (plen === 0 && v.nextHeader === IPPROTO_HOPOPTS) return this.drop(skb, 'inHdrErrors');
    if (plen + IPV6_HLEN < skb.len) {
      skbTrim(skb, plen + IPV6_HLEN);
      if (skb.ipSummed === CHECKSUM_COMPLETE) skb.ipSummed = CHECKSUM_NONE;
    }
    const m = this.meta;
    m.src.readV6(skb.dv, skb.data + 8);
    m.dst.readV6(skb.dv, skb.data + 24);
    const src = m.src;
    const dst = m.dst;
    const onLo = dev === this.netif.lo;
    // martians (RFC 4291 §2.5.3, §2.7, errata 3480)
    if (isMulticast(src)) return this.drop(skb, 'inAddrErrors');
    if (!onLo && (isLoopback(src) || isLoopback(dst))) return this.drop(skb, 'inAddrErrors');
    const mcast = isMulticast(dst);
    if (mcast) {
      const scope = addrScope(dst);
      if (scope === 0 || (scope === SCOPE_INTERFACE && !onLo)) return this.drop(skb, 'inAddrErrors');
    }
    let tentative = false;
    if (mcast) {
      if (!this.addrconf.isJoined(dev, dst)) {
        st.inMcastNotJoined++;
        skbFree(skb);
        return;
      }
      st.inMcastPkts++;
    } else if (!isLoopback(dst)) {
      const ifa = this.addrconf.lookup(dst);
      if (ifa === null) return this.drop(skb, 'inAddrErrors');
      if (!ifa.usable) tentative = true;
    }
    m.dev = dev;
    m.tos = v.trafficClass;
    m.ttl = v.hopLimit;
    m.linkBcast = pktType !== PACKET_HOST || mcast;
    this.curLinkMcast = m.linkBcast;
    skb.networkHeader = skb.data;
    this.walk(skb, v.nextHeader, 6, IPV6_HLEN, tentative);
  }

  /**
   * Walks the extension-header chain and delivers (`skb.data` = `networkHeader` at the IPv6
   * header; `nh` the next header found at offset `nhoff`, its header at `off`). Takes the skb.
   */
  private walk(skb: SkBuff, nh: number, nhoff: number, off: number, tentative: boolean): void {
    const st = this.stats;
    const m = this.meta;
    const mcastDst = isMulticast(m.dst);
    for (let count = 0; ; count++) {
      if (count > IPV6_MAX_EXTHDRS) return this.drop(skb, 'inHdrErrors');
      switch (nh) {
        case IPPROTO_HOPOPTS:
        case IPPROTO_DSTOPTS: {
          // hop-by-hop options must follow the IPv6 header; elsewhere 0 is an unknown next header
          if (nh === IPPROTO_HOPOPTS && nhoff !== 6) {
            this.unknownProto(skb, nhoff, mcastDst);
            return;
          }
          const len = this.extLen(skb, off);
          if (len < 0) return this.drop(skb, 'inHdrErrors');
          if (!this.parseTlv(skb, off, len, nh === IPPROTO_HOPOPTS, mcastDst)) return;
          nhoff = off;
          nh = skb.buf[skb.data + off]!;
          off += len;
          break;
        }
        case IPPROTO_ROUTING: {
          const len = this.extLen(skb, off);
          if (len < 0) return this.drop(skb, 'inHdrErrors');
          if (mcastDst || m.linkBcast) return this.drop(skb, 'inAddrErrors');
          const b = skb.data + off;
          if (skb.buf[b + 3] !== 0) {
            // segments left: a host processes no routing type (type 0 is deprecated, RFC 5095)
            st.inHdrErrors++;
            this.icmp.sendError(skb, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, off + 2, m.linkBcast);
            skbFree(skb);
            return;
          }
          nhoff = off;
          nh = skb.buf[b]!;
          off += len;
          break;
        }
        case IPPROTO_FRAGMENT: {
          if (off + 8 > skb.len || !pskbMayPull(skb, off + 8)) return this.drop(skb, 'inHdrErrors');
          const b = skb.data + off;
          const fo = skb.dv.getUint16(b + 2);
          if ((fo & (IPV6_FRAG_OFFMASK | IPV6_FRAG_MF)) === 0) {
            // atomic fragment (RFC 6946): a whole datagram
            st.reasmReqds++;
            st.reasmOKs++;
            nhoff = off;
            nh = skb.buf[b]!;
            off += 8;
            break;
          }
          if (tentative) return this.drop(skb, 'inAddrErrors');
          const whole = this.reasm.enqueue(skb, m.src, m.dst, m.dev !== null ? m.dev.ifindex : 0, off, nhoff);
          if (whole === null) return;
          skb = whole;
          nh = this.reasm.outNextHeader;
          nhoff = this.reasm.outNhoff;
          off = this.reasm.outOff;
          // the header moved: re-read nothing (meta holds copies); keep walking
          break;
        }
        case IPPROTO_ICMPV6:
          if (!pskbMayPull(skb, off)) return this.drop(skb, 'inHdrErrors');
          skb.transportHeader = skb.data + off;
          skbPull(skb, off);
          st.inDelivers++;
          this.icmp.rcv(skb, m, tentative);
          return;
        case IPPROTO_NONE:
          st.inDelivers++;
          skbFree(skb);
          return;
        default: {
          if (tentative) return this.drop(skb, 'inAddrErrors');
          const t = this.protos.get(nh);
          if (t === null) {
            this.unknownProto(skb, nhoff, mcastDst);
            return;
          }
          if (!pskbMayPull(skb, off)) return this.drop(skb, 'inHdrErrors');
          skb.transportHeader = skb.data + off;
          skbPull(skb, off);
          st.inDelivers++;
          t.rcv(skb, m);
          return;
        }
      }
    }
  }

  /** unknown next header: parameter problem code 1 at the field that named it (not for multicast) */
  private unknownProto(skb: SkBuff, nhoff: number, mcastDst: boolean): void {
    this.stats.inUnknownProtos++;
    if (!mcastDst) this.icmp.sendError(skb, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, nhoff, this.curLinkMcast);
    skbFree(skb);
  }

  /** length of the extension header at `off`, made linear; -1 when it is not all there */
  private extLen(skb: SkBuff, off: number): number {
    if (off + 8 > skb.len || !pskbMayPull(skb, off + 8)) return -1;
    const len = (skb.buf[skb.data + off + 1]! + 1) << 3;
    if (off + len > skb.len || !pskbMayPull(skb, off + len)) return -1;
    return len;
  }

  /**
   * Linux `ip6_parse_tlv`: the options of the header at `off` (`len` bytes). Returns true to go
   * on; false when the datagram was dropped (and freed).
   */
  private parseTlv(skb: SkBuff, off: number, len: number, hbh: boolean, mcastDst: boolean): boolean {
    const b = skb.buf;
    const base = skb.data;
    let p = base + off + 2;
    const end = base + off + len;
    let padlen = 0;
    let nopts = 0;
    while (p < end) {
      const t = b[p]!;
      if (t === IPV6_TLV_PAD1) {
        if (++padlen > 7) return this.tlvBad(skb);
        p++;
        continue;
      }
      if (p + 2 > end) return this.tlvBad(skb);
      const l = b[p + 1]!;
      if (p + 2 + l > end) return this.tlvBad(skb);
      if (t === IPV6_TLV_PADN) {
        padlen += l + 2;
        if (padlen > 7) return this.tlvBad(skb);
        for (let i = 0; i < l; i++) if (b[p + 2 + i] !== 0) return this.tlvBad(skb);
      } else {
        padlen = 0;
        if (++nopts > IPV6_MAX_OPTS) return this.tlvBad(skb);
        if (hbh && t === IPV6_TLV_ROUTERALERT && l === 2) {
          // router alert: nothing for a host to do
        } else if (hbh && t === IPV6_TLV_JUMBO) {
          // jumbograms are not supported: the payload length is not 0 (RFC 2675 §3)
          this.stats.inHdrErrors++;
          this.icmp.sendError(skb, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, p - base, this.curLinkMcast);
          skbFree(skb);
          return false;
        } else {
          const action = t >>> 6;
          if (action === 1 || (action === 3 && mcastDst)) return this.tlvBad(skb);
          if (action === 2 || action === 3) {
            this.stats.inHdrErrors++;
            this.icmp.sendError(skb, ICMPV6_PARAMPROB, ICMPV6_UNK_OPTION, p - base, this.curLinkMcast);
            skbFree(skb);
            return false;
          }
        }
      }
      p += 2 + l;
    }
    return true;
  }

  private tlvBad(skb: SkBuff): boolean {
    this.drop(skb, 'inHdrErrors');
    return false;
  }

  // ---- reassembly / errors hooks ----

  paramProb(skb: SkBuff, code: number, pointer: number): void {
    this.icmp.sendError(skb, ICMPV6_PARAMPROB, code, pointer, this.curLinkMcast);
  }

  fragTimeExceeded(skb: SkBuff): void {
    this.icmp.sendError(skb, ICMPV6_TIME_EXCEED, ICMPV6_EXC_FRAGTIME, 0, false);
  }

  /** ICMPv6 port unreachable about a datagram no transport wanted (borrows `skb`) */
  sendPortUnreach(skb: SkBuff, meta: RxMeta): void {
    this.icmp.sendError(skb, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0, meta.linkBcast);
  }

  // ---- output ----

  /**
   * Sends an L4 datagram (Linux `ip6_xmit` / `ip6_finish_output`): `skb.data` at the L4 header
   * with ETH_HLEN + IPV6_HLEN headroom (reserve MAX_HEADER). Takes the skb. Returns 0 (sent or
   * queued for resolution) or -ENETUNREACH, -EADDRNOTAVAIL (no source address), -EMSGSIZE
   * (over the path MTU and `df` not false, or over 65535), -ENOBUFS.
   */
  output(skb: SkBuff, src: Addr, dst: Addr, proto: number, opts?: OutputOptions): number {
    const st = this.stats;
    st.outRequests++;
    let dev: NetDevice;
    let nexthop: Addr = dst;
    let mtu: number;
    const mcast = isMulticast(dst);
    const local = !mcast && (isLoopback(dst) || this.addrconf.lookup(dst) !== null);
    if (local) {
      dev = this.netif.lo;
      mtu = dev.mtu;
    } else if (mcast) {
      const d = this.defaultMcastDev();
      if (d === null) return this.outFail(skb, 'outNoRoutes', -ERRNO.ENETUNREACH);
      dev = d;
      mtu = dev.mtu;
      st.outMcastPkts++;
    } else {
      const e = this.rt.lookup(dst, null);
      if (e === null) return this.outFail(skb, 'outNoRoutes', -ERRNO.ENETUNREACH);
      dev = e.dev;
      if (e.gateway !== null) nexthop = e.gateway;
      mtu = this.pathMtu(dst, dev);
    }
    let s: Addr = src;
    if (isUnspecified(src)) {
      const sel = local ? InetAddr.from(dst) : this.addrconf.selectSource(dev, dst);
      if (sel === null) return this.outFail(skb, 'outDiscards', -ERRNO.EADDRNOTAVAIL);
      s = sel;
    }
    if (skb.len > IPV6_MAX_PAYLOAD) return this.outFail(skb, 'fragFails', -ERRNO.EMSGSIZE);
    if (skb.data - skb.head < IPV6_HLEN + ETH_HLEN) return this.outFail(skb, 'outDiscards', -ERRNO.ENOBUFS);
    // a GSO skb goes to the device whole: its TSO, or software GSO before its driver (nic-tx)
    const gso = skb.gsoSize > 0 && !local;
    const nh = skbPush(skb, IPV6_HLEN);
    const v = this.ipv.rebind(skb.buf, skb.dv, nh, IPV6_HLEN);
    v.setVtf(opts?.tos ?? 0, 0);
    v.payloadLen = skb.len - IPV6_HLEN;
    v.nextHeader = proto;
    v.hopLimit = opts?.ttl ?? (mcast ? IPV6_DEFAULT_MCAST_HOPS : IPV6_DEFAULT_HOPLIMIT);
    v.setSrc(s);
    v.setDst(dst);
    skb.networkHeader = nh;
    skb.transportHeader = nh + IPV6_HLEN;
    skb.protocol = ETH_P_IPV6;
    skb.ifindex = dev.ifindex;
    skb.next = null;
    if (skb.len > mtu && !gso) {
      if (opts?.df !== false) return this.outFail(skb, 'fragFails', -ERRNO.EMSGSIZE);
      this.fragId = (this.fragId + 1) >>> 0;
      return this.frag.fragment(skb, mtu, this.fragId, dev, nexthop, this);
    }
    this.finishOutput(skb, dev, nexthop);
    return 0;
  }

  private outFail(skb: SkBuff, counter: 'outNoRoutes' | 'outDiscards' | 'fragFails', rc: number): number {
    this.stats[counter]++;
    skbFree(skb);
    return rc;
  }

  /** one fragment from the fragmenter (data at its IPv6 header; protocol and ifindex set) */
  fragXmit(f: SkBuff, dev: NetDevice, nexthop: Addr): void {
    this.finishOutput(f, dev, nexthop);
  }

  /** Linux `ip6_finish_output2`: link-layer header and transmit (data at the IPv6 header) */
  private finishOutput(skb: SkBuff, dev: NetDevice, nexthop: Addr): void {
    if (dev === this.netif.lo) this.xmitLink(skb, dev, 0);
    else if (isMulticast(nexthop)) this.xmitLink(skb, dev, ipv6McastMac(nexthop));
    else this.neigh.output(skb, dev, nexthop, ETH_P_IPV6);
  }

  /** pushes an Ethernet header to `mac` (our MAC as source; 0 on `lo`) and transmits on `dev` */
  xmitLink(skb: SkBuff, dev: NetDevice, mac: number): void {
    if (skb.data - skb.head < ETH_HLEN) {
      this.stats.outDiscards++;
      skbFree(skb);
      return;
    }
    const mh = skbPush(skb, ETH_HLEN);
    writeMac(skb.dv, mh, mac);
    writeMac(skb.dv, mh + 6, dev === this.netif.lo ? 0 : dev.mac);
    skb.dv.setUint16(mh + 12, ETH_P_IPV6);
    skb.macHeader = mh;
    skb.protocol = ETH_P_IPV6;
    skb.ifindex = dev.ifindex;
    dev.xmit(skb);
  }

  /** a packet (data at the IPv6 header) to a unicast next hop on `dev`, resolved by NDP */
  neighXmit(skb: SkBuff, dev: NetDevice, nexthop: Addr): void {
    skb.protocol = ETH_P_IPV6;
    skb.ifindex = dev.ifindex;
    this.neigh.output(skb, dev, nexthop, ETH_P_IPV6);
  }

  /** upper-layer reachability confirmation (TCP progress) for the next hop towards `dst` */
  confirmNeighbour(dev: NetDevice, nexthop: Addr): void {
    this.neigh.confirm(dev, nexthop);
  }

  /** host shutdown: drops reassembly state, stops DAD, rejects pending pings with `errno` */
  close(errno: number = ERRNO.ENETDOWN): void {
    this.reasm.flush();
    for (const ifa of this.addrconf.list) this.sched.cancel(ifa.timer);
    this.icmp.abortPings(errno);
  }
}
