/**
 * Neighbor Discovery (RFC 4861; Linux `net/ipv6/ndisc.c`, host side): the `NeighProto` of the
 * IPv6 `NeighTable` (solicitations for resolution and NUD probes, failures reported to the
 * transport as destination unreachable / address unreachable → EHOSTUNREACH), NS / NA input
 * with the RFC 4861 §7.1 validity checks, answers to solicitations for our addresses, the
 * §7.2.5 update rules through `NeighTable.updateEntry` (R/S/O flags → Linux `neigh_update`
 * flags), and DAD probes / conflict detection for `Addrconf`.
 *
 * Validity (counted in `stats.ndisc.invalid` and dropped): hop limit other than 255, code
 * other than 0, a message shorter than its fixed part, a multicast target, a malformed option,
 * an NS from `::` that is not to a solicited-node group or carries a source link-layer
 * address, an NA to a multicast address with S set. RS / RA / Redirect are counted and ignored
 * (this host does not autoconfigure from routers).
 *
 * Ownership: `rcv` borrows its skb (the ICMPv6 layer frees it). Messages are built in fresh skbs:
 * multicast ones go straight to the device, unicast NAs through the neighbour table.
 */
import { InetAddr, MutAddr, isMulticast, isUnspecified, pseudoHeaderSum, type Addr } from '../../inet/index.js';
import type { NetDevice } from '../../netdev/index.js';
import { pskbMayPull, skbPush, skbPut, type SkBuff } from '../../skb/index.js';
import { readMac } from '../../wire/addr.js';
import { WIRE_OK } from '../../wire/errors.js';
import {
  ICMPV6_ADDR_UNREACH, ICMPV6_DEST_UNREACH, ND_NA_OVERRIDE, ND_NA_ROUTER, ND_NA_SOLICITED, ND_OPT_SOURCE_LL_ADDR,
  ND_OPT_TARGET_LL_ADDR, NDISC_NA_LEN, NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION, NDISC_NS_LEN, NdOptIter,
  emitNdisc, ndiscLen, type NdNaRepr, type NdNsRepr, type NdiscRepr,
} from '../../wire/icmpv6.js';
import { IPPROTO_ICMPV6, IPV6_HLEN, emitIpv6, type Ipv6Repr } from '../../wire/ipv6.js';
import {
  NEIGH_UPDATE_F_CREATE, NEIGH_UPDATE_F_ISROUTER, NEIGH_UPDATE_F_OVERRIDE, NEIGH_UPDATE_F_OVERRIDE_ISROUTER,
  NEIGH_UPDATE_F_WEAK_OVERRIDE, NUD_REACHABLE, NUD_STALE, type NeighProto, type Neighbour,
} from '../neighbour.js';
import { MAX_HEADER, type RxMeta } from '../types.js';
import { ALL_NODES, ipv6McastMac, isSolicitedNode, solicitedNode } from './addr6.js';
import type { Inet6Ifaddr } from './addrconf.js';
import type { Ipv6Stack } from './stack.js';

/** NDP messages are sent and accepted with this hop limit only (RFC 4861 §7.1) */
export const NDISC_HOP_LIMIT = 255;

export class Ndisc implements NeighProto {
  readonly family = 6 as const;
  private readonly it = new NdOptIter();
  private readonly target = new MutAddr();
  private readonly srcTmp = new MutAddr();
  private readonly ns: NdNsRepr = { kind: 'ns', target: InetAddr.ANY6, sourceLl: null };
  private readonly na: NdNaRepr = { kind: 'na', target: InetAddr.ANY6, router: false, solicited: false, override: false, targetLl: null };
  private readonly ip: Ipv6Repr = { src: InetAddr.ANY6, dst: InetAddr.ANY6, nextHeader: IPPROTO_ICMPV6, hopLimit: NDISC_HOP_LIMIT, payloadLen: 0, trafficClass: 0, flowLabel: 0 };

  constructor(private readonly stack: Ipv6Stack) {}

  // ---- NeighProto ----

  /** Linux `ndisc_solicit`: NS for `n` (multicast to its solicited-node group, or unicast to `unicastMac`) */
  solicit(n: Neighbour, unicastMac: number | null): void {
    const stack = this.stack;
    const dev = n.dev;
    let src: Addr | null = null;
    const q = n.qHead;
    if (q !== null && q.networkHeader >= 0 && q.networkHeader + IPV6_HLEN <= q.tail) {
      this.srcTmp.readV6(q.dv, q.networkHeader + 8);
      if (stack.addrconf.isUsableLocal(this.srcTmp)) src = this.srcTmp;
    }
    if (src === null) src = stack.addrconf.selectSource(dev, n.addr);
    if (src === null) return;
    const dst = unicastMac === null ? solicitedNode(n.addr) : n.addr;
    const ns = this.ns;
    ns.target = n.addr;
    ns.sourceLl = dev.mac;
    const skb = this.build(src, dst, ns);
    if (skb === null) return;
    this.xmitDirect(skb, dev, unicastMac ?? ipv6McastMac(dst));
    stack.stats.icmp.outMsgs++;
    stack.stats.icmp.outNeighborSolicits++;
  }

  /** a queued packet whose next hop failed: EHOSTUNREACH to its transport (Linux `ndisc_error_report`) */
  resolutionFailed(skb: SkBuff): void {
    this.stack.icmp.localError(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH);
  }

  /** one DAD probe for a tentative address: NS from :: to its solicited-node group, no SLLA */
  sendDadProbe(ifa: Inet6Ifaddr): void {
    const ns = this.ns;
    ns.target = ifa.addr;
    ns.sourceLl = null;
    const skb = this.build(InetAddr.ANY6, ifa.snm, ns);
    if (skb === null) return;
    this.xmitDirect(skb, ifa.dev, ipv6McastMac(ifa.snm));
    this.stack.stats.icmp.outMsgs++;
    this.stack.stats.icmp.outNeighborSolicits++;
  }

  // ---- building ----

  /** an skb holding IPv6 header + the message (data at the IPv6 header), or null without memory */
  private build(src: Addr, dst: Addr, r: NdiscRepr): SkBuff | null {
    const len = ndiscLen(r);
    const skb = this.stack.skbs.alloc(MAX_HEADER + len, MAX_HEADER);
    if (skb === null) return null;
    const at = skbPut(skb, len);
    emitNdisc(r, skb.buf, skb.dv, at, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len));
    const nh = skbPush(skb, IPV6_HLEN);
    const ip = this.ip;
    ip.src = src;
    ip.dst = dst;
    ip.payloadLen = len;
    emitIpv6(ip, skb.dv, nh);
    skb.networkHeader = nh;
    skb.transportHeader = at;
    return skb;
  }

  private xmitDirect(skb: SkBuff, dev: NetDevice, mac: number): void {
    this.stack.xmitLink(skb, dev, mac);
  }

  /** Linux `ndisc_send_na` */
  private sendNa(dev: NetDevice, dst: Addr, target: InetAddr, solicited: boolean, override: boolean, withTlla: boolean): void {
    const na = this.na;
    na.target = target;
    na.router = false;
    na.solicited = solicited;
    na.override = override;
    na.targetLl = withTlla ? dev.mac : null;
    const skb = this.build(target, dst, na);
    if (skb === null) return;
    const st = this.stack.stats.icmp;
    st.outMsgs++;
    st.outNeighborAdvertisements++;
    if (isMulticast(dst)) this.xmitDirect(skb, dev, ipv6McastMac(dst));
    else this.stack.neighXmit(skb, dev, dst);
  }

  // ---- input ----

  private invalid(): void {
    this.stack.stats.ndisc.invalid++;
  }

  /** our own multicast looped back by the link (source MAC is ours) */
  private looped(skb: SkBuff, dev: NetDevice): boolean {
    const mh = skb.macHeader;
    return mh >= 0 && mh + 12 <= skb.tail && readMac(skb.dv, mh + 6) === dev.mac;
  }

  /** an NDP message (`skb.data` at it, checksum verified); borrows `skb` */
  rcv(skb: SkBuff, meta: RxMeta): void {
    const o = skb.data;
    const type = skb.buf[o]!;
    if (type !== NDISC_NEIGHBOUR_SOLICITATION && type !== NDISC_NEIGHBOUR_ADVERTISEMENT) return;
    if (meta.ttl !== NDISC_HOP_LIMIT || skb.buf[o + 1] !== 0 || meta.dev === null) {
      this.invalid();
      return;
    }
    if (skb.len < NDISC_NS_LEN || !pskbMayPull(skb, skb.len)) {
      this.invalid();
      return;
    }
    if (type === NDISC_NEIGHBOUR_SOLICITATION) this.recvNs(skb, meta, meta.dev);
    else this.recvNa(skb, meta, meta.dev);
  }

  /** the link-layer address option `want` (-1 when absent), or -2 when an option is malformed */
  private llOption(skb: SkBuff, fixed: number, want: number): number {
    const it = this.it.rebind(skb.dv, skb.data + fixed, skb.len - fixed);
    let mac = -1;
    for (;;) {
      const rc = it.next();
      if (rc < 0) break;
      if (rc !== WIRE_OK) return -2;
      if (it.type === want) {
        const m = it.linkAddr;
        if (m < 0) return -2;
        mac = m;
      }
    }
    return mac;
  }

  private recvNs(skb: SkBuff, meta: RxMeta, dev: NetDevice): void {
    const stack = this.stack;
    const tgt = this.target.readV6(skb.dv, skb.data + 8);
    if (isMulticast(tgt)) return this.invalid();
    const dad = isUnspecified(meta.src);
    if (dad && !isSolicitedNode(meta.dst)) return this.invalid();
    const slla = this.llOption(skb, NDISC_NS_LEN, ND_OPT_SOURCE_LL_ADDR);
    if (slla === -2 || (dad && slla >= 0)) return this.invalid();
    const ifa = stack.addrconf.lookupOnDev(dev, tgt);
    if (ifa === null) return;
    if (!ifa.usable) {
      // another node's DAD for our tentative address: the address is a duplicate (RFC 4862 §5.4.3)
      if (dad && ifa.tentative && !this.looped(skb, dev)) stack.addrconf.dadFailure(ifa);
      return;
    }
    if (dad) {
      this.sendNa(dev, ALL_NODES, ifa.addr, false, true, true);
      return;
    }
    const inc = isMulticast(meta.dst);
    const flags = NEIGH_UPDATE_F_WEAK_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE;
    const n = !inc || slla >= 0
      ? stack.neigh.update(dev, meta.src, slla >= 0 ? slla : null, NUD_STALE, flags | NEIGH_UPDATE_F_CREATE)
      : stack.neigh.lookup(dev, meta.src);
    if (n === null) return;
    this.sendNa(dev, meta.src, ifa.addr, true, inc, inc);
  }

  private recvNa(skb: SkBuff, meta: RxMeta, dev: NetDevice): void {
    const stack = this.stack;
    if (skb.len < NDISC_NA_LEN) return this.invalid();
    const tgt = this.target.readV6(skb.dv, skb.data + 8);
    if (isMulticast(tgt)) return this.invalid();
    const f = skb.buf[skb.data + 4]!;
    const solicited = (f & ND_NA_SOLICITED) !== 0;
    if (solicited && isMulticast(meta.dst)) return this.invalid();
    const tlla = this.llOption(skb, NDISC_NA_LEN, ND_OPT_TARGET_LL_ADDR);
    if (tlla === -2) return this.invalid();
    const ifa = stack.addrconf.lookupOnDev(dev, tgt);
    if (ifa !== null) {
      // an advertisement for our tentative address: it is in use elsewhere; for a valid one, ignore
      if (ifa.tentative && !this.looped(skb, dev)) stack.addrconf.dadFailure(ifa);
      return;
    }
    const n = stack.neigh.lookup(dev, tgt);
    if (n === null) return;
    const flags = NEIGH_UPDATE_F_WEAK_OVERRIDE | ((f & ND_NA_OVERRIDE) !== 0 ? NEIGH_UPDATE_F_OVERRIDE : 0) |
      NEIGH_UPDATE_F_OVERRIDE_ISROUTER | ((f & ND_NA_ROUTER) !== 0 ? NEIGH_UPDATE_F_ISROUTER : 0);
    stack.neigh.updateEntry(n, tlla >= 0 ? tlla : null, solicited ? NUD_REACHABLE : NUD_STALE, flags);
  }
}
