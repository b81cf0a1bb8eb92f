/**
 * `Ipv4Stack`: one host's IPv4 layer — interfaces and addresses, the routing table (longest
 * prefix match), Ethernet/ARP/IPv4 input with Linux SNMP accounting, protocol demultiplexing,
 * output (header, route, MTU, neighbour resolution, `dev.xmit`) and an internal loopback for
 * packets to our own addresses (drained by a zero-delay timer, never by recursion).
 *
 * Ownership: `netifReceive` and `output` take the skb they are given; every path either hands
 * it on or frees it. Malformed input is counted and dropped, never thrown. Configuration calls
 * (`addAddress`, `addRoute`, ...) throw `ErrnoError` on bad arguments.
 *
 * Hot paths (`netifReceive`, `output`, the loopback drain) allocate nothing: views are fields
 * re-bound per packet; routes and neighbours are looked up in place.
 */
import type { NetDevice, RxHandler } from '../netdev/index.js';
import type { Rng } from '../rand/index.js';
import {
  CHECKSUM_COMPLETE, CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, pskbMayPull, skbChecksum, skbFree,
  skbPull, skbPush, skbTrim, type SkBuff, type SkbCache,
} from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { ERRNO, ErrnoError } from '../uapi/index.js';
import { ipv4AddrToString, parseIpv4Addr, writeMac } from '../wire/addr.js';
import { csumFinish } from '../wire/checksum.js';
import { WIRE_BAD_LENGTH, WIRE_BAD_VERSION } from '../wire/errors.js';
import { ETH_BROADCAST, ETH_HLEN, ETH_P_ARP, ETH_P_IP, EthernetView } from '../wire/ethernet.js';
import { ICMP_DEST_UNREACH } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPV4_HLEN, IPV4_MAX_TOTAL_LEN, IP_DF, IP_MF, IP_OFFMASK, Ipv4View } from '../wire/ipv4.js';
import { ICMP_HOST_UNREACH, ICMP_PROT_UNREACH, Icmp, icmpErrFatal, icmpErrno, type PingOptions, type PingResult } from './icmp.js';
import { NeighTable, type NeighHost, type NeighState } from './neighbour.js';
import { IP_DEFAULT_TTL, IcmpErr, newIpv4Stats, type Ipv4Stats, type L4Handler, type Route } from './types.js';

/** per-packet options of `output`; pass a long-lived object on hot paths */
export interface OutputOptions {
  /** TOS / DSCP byte, default 0 */
  tos?: number;
  /** default 64 */
  ttl?: number;
  /** set Don't Fragment, default true */
  df?: boolean;
}

export interface AddressInfo {
  dev: string;
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

const TIMER_LOOPBACK = 1;
/** packets waiting in the loopback queue (Linux `netdev_max_backlog`) */
export const LOOPBACK_QUEUE_MAX = 1000;

/** network mask of a prefix length, as a uint32 */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function isMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}

/** parses 'a.b.c.d/n' (or a bare address, /32); throws ErrnoError EINVAL */
export function parseCidr(s: string, syscall = 'parseCidr'): { addr: number; prefixLen: number } {
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash);
  const p = slash < 0 ? '32' : s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(p) || Number(p) > 32) throw new ErrnoError('EINVAL', syscall, { msg: `invalid prefix length in ${JSON.stringify(s)}` });
  let addr: number;
  try {
    addr = parseIpv4Addr(a);
  } catch {
    throw new ErrnoError('EINVAL', syscall, { msg: `invalid address ${JSON.stringify(s)}` });
  }
  return { addr, prefixLen: Number(p) };
}

function parseAddr(s: string, syscall: string): number {
  try {
    return parseIpv4Addr(s);
  } catch {
    throw new ErrnoError('EINVAL', syscall, { msg: `invalid address ${JSON.stringify(s)}` });
  }
}

export class Ipv4Stack implements RxHandler, TimerTarget, NeighHost {
  readonly sched: Scheduler;
  readonly skbs: SkbCache;
  readonly rng: Rng | null;
  readonly stats: Ipv4Stats = newIpv4Stats();
  readonly neigh: NeighTable;
  readonly icmp: Icmp;

  private readonly devs: NetDevice[] = [];
  private readonly devByIfindex = new Map<number, NetDevice>();
  private readonly ifaddrs: IfAddr[] = [];
  /** our addresses → owning device */
  private readonly localOwner = new Map<number, NetDevice>();
  /** sorted by prefix length, longest first; ties in insertion order */
  private readonly rtable: RouteEntry[] = [];
  private readonly protos: (L4Handler | null)[] = new Array<L4Handler | null>(256).fill(null);
  private ipId: number;

  private readonly ethv = new EthernetView();
  private readonly ipv = new Ipv4View();
  private readonly errInfo = new IcmpErr();

  private loHead: SkBuff | null = null;
  private loTail: SkBuff | null = null;
  private loLen = 0;
  private readonly loTimer: Timer;

  constructor(opts: { sched: Scheduler; skbs: SkbCache; rng?: Rng }) {
    this.sched = opts.sched;
    this.skbs = opts.skbs;
    this.rng = opts.rng ?? null;
    this.ipId = this.rng !== null ? this.rng.fork('ipv4-ident').nextU32() & 0xffff : 0;
    this.loTimer = new Timer(this, TIMER_LOOPBACK);
    this.neigh = new NeighTable(this);
    this.icmp = new Icmp(this);
    this.protos[IPPROTO_ICMP] = this.icmp;
  }

  // ---- interfaces and addresses ----

  /** attaches `dev`: the stack becomes its rx handler */
  addDevice(dev: NetDevice): void {
    if (this.devs.some((d) => d.name === dev.name)) throw new ErrnoError('EEXIST', 'addDevice', { msg: `device ${dev.name} exists` });
    if (this.devByIfindex.has(dev.ifindex)) throw new ErrnoError('EEXIST', 'addDevice', { msg: `ifindex ${dev.ifindex} in use` });
    this.devs.push(dev);
    this.devByIfindex.set(dev.ifindex, dev);
    dev.rxHandler = this;
  }

  device(name: string): NetDevice | null {
    return this.devs.find((d) => d.name === name) ?? null;
  }

  devices(): NetDevice[] {
    return this.devs.slice();
  }

  private devOrThrow(name: string, syscall: string): NetDevice {
    const d = this.device(name);
    if (d === null) throw new ErrnoError('ENODEV', syscall, { msg: `no device ${name}` });
    return d;
  }

  /** `ip addr add CIDR dev NAME`: adds the address and its connected route */
  addAddress(devName: string, cidr: string): void {
    const dev = this.devOrThrow(devName, 'addAddress');
    const { addr, prefixLen } = parseCidr(cidr, 'addAddress');
    if (addr === 0 || isMulticast(addr) || addr === 0xffffffff) throw new ErrnoError('EINVAL', 'addAddress', { msg: 'not a unicast address' });
    if (this.localOwner.has(addr)) throw new ErrnoError('EEXIST', 'addAddress', { msg: `${ipv4AddrToString(addr)} already assigned` });
    const mask = prefixMask(prefixLen);
    const net = (addr & mask) >>> 0;
    this.ifaddrs.push({ dev, address: addr, prefixLen, mask, bcast: prefixLen >= 31 ? -1 : (net | ~mask) >>> 0 });
    this.localOwner.set(addr, dev);
    if (!this.rtable.some((r) => r.dst === net && r.prefixLen === prefixLen && r.gateway === 0 && r.dev === dev)) {
      this.insertRoute({ dst: net, prefixLen, mask, gateway: 0, dev, prefsrc: addr });
    }
  }

  addresses(): AddressInfo[] {
    return this.ifaddrs.map((a) => ({ dev: a.dev.name, address: a.address, prefixLen: a.prefixLen }));
  }

  isLocalAddress(a: number): boolean {
    return this.localOwner.has(a >>> 0);
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
    return ifa.length > 0 ? ifa[0]!.address : 0;
  }

  // ---- routes ----

  /**
   * `ip route add DST [via GW] [dev NAME]`. A gateway must be on-link (covered by a connected
   * route, on `dev` when given). Throws ErrnoError: EINVAL (syntax, host bits set, neither via
   * nor dev), ENODEV, ENETUNREACH (gateway not on-link), EEXIST (same prefix).
   */
  addRoute(r: { dst: string; via?: string; dev?: string }): void {
    const sc = 'addRoute';
    const { addr, prefixLen } = parseCidr(r.dst, sc);
    const mask = prefixMask(prefixLen);
    if (((addr & mask) >>> 0) !== addr) throw new ErrnoError('EINVAL', sc, { msg: 'Invalid prefix for given prefix length' });
    let dev = r.dev !== undefined ? this.devOrThrow(r.dev, sc) : null;
    let gateway = 0;
    if (r.via !== undefined) {
      gateway = parseAddr(r.via, sc);
      const onlink = this.rtable.find((e) => e.gateway === 0 && ((gateway ^ e.dst) & e.mask) === 0 && (dev === null || e.dev === dev));
      if (onlink === undefined || this.localOwner.has(gateway)) {
        throw new ErrnoError('ENETUNREACH', sc, { msg: 'Nexthop has invalid gateway' });
      }
      dev = onlink.dev;
    }
    if (dev === null) throw new ErrnoError('EINVAL', sc, { msg: 'need via or dev' });
    if (this.rtable.some((e) => e.dst === addr && e.prefixLen === prefixLen)) throw new ErrnoError('EEXIST', sc, { msg: 'route exists' });
    this.insertRoute({ dst: addr, prefixLen, mask, gateway, dev, prefsrc: 0 });
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

  /** longest-prefix match over routes whose device is up (no allocation) */
  private lookupRoute(dst: number): RouteEntry | null {
    const t = this.rtable;
    for (let i = 0; i < t.length; i++) {
      const e = t[i]!;
      if (((dst ^ e.dst) & e.mask) === 0 && e.dev.up) return e;
    }
    return null;
  }

  /**
   * Route to `dst` (Linux `ip_route_output`): our own addresses first (local, delivered over the
   * internal loopback; `dev` is the owning device, `mtu` its MTU), then the longest prefix.
   * Allocates the result: call it per connection, not per packet.
   */
  routeOutput(dst: number): Route | null {
    dst >>>= 0;
    const owner = this.localOwner.get(dst);
    if (owner !== undefined) return { dev: owner, src: dst, nexthop: dst, mtu: owner.mtu, local: true };
    const e = this.lookupRoute(dst);
    if (e === null) return null;
    const nexthop = e.gateway !== 0 ? e.gateway : dst;
    return { dev: e.dev, src: e.prefsrc !== 0 ? e.prefsrc : this.selectSource(e.dev, nexthop), nexthop, mtu: e.dev.mtu, local: false };
  }

  // ---- protocols ----

  /** registers the handler of IP protocol `proto`; throws EEXIST when one is registered */
  registerProtocol(proto: number, h: L4Handler): void {
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new ErrnoError('EINVAL', 'registerProtocol');
    if (this.protos[proto] !== null) throw new ErrnoError('EEXIST', 'registerProtocol', { msg: `protocol ${proto} registered` });
    this.protos[proto] = h;
  }

  unregisterProtocol(proto: number): void {
    if (proto >= 0 && proto <= 255) this.protos[proto] = null;
  }

  // ---- neighbours ----

  /** `ip neigh replace IP lladdr MAC dev NAME nud permanent` */
  addNeighbour(devName: string, ip: string | number, mac: number): void {
    const dev = this.devOrThrow(devName, 'addNeighbour');
    this.neigh.addPermanent(dev, typeof ip === 'number' ? ip >>> 0 : parseAddr(ip, 'addNeighbour'), mac);
  }

  neighbours(): { dev: string; ip: number; mac: number; state: NeighState }[] {
    return this.neigh.list();
  }

  /** upper-layer confirmation that `nexthop` on `dev` is alive (Linux `dst_confirm_neigh`) */
  confirmNeighbour(dev: NetDevice, nexthop: number): void {
    this.neigh.confirm(dev, nexthop >>> 0);
  }

  // ---- ICMP conveniences ----

  ping(dst: string | number, opts?: PingOptions): Promise<PingResult> {
    return this.icmp.ping(dst, opts);
  }

  /** ICMP destination unreachable about `skb` (borrowed; networkHeader set); see `Icmp.sendDestUnreach` */
  sendDestUnreach(skb: SkBuff, code: number, info = 0): void {
    this.icmp.sendDestUnreach(skb, code, info);
  }

  // ---- input ----

  /** netdev rx entry point: `skb.data` at the Ethernet header; takes ownership */
  netifReceive(skb: SkBuff, dev: NetDevice): void {
    const st = this.stats;
    if (skb.len < ETH_HLEN || !pskbMayPull(skb, ETH_HLEN)) {
      st.rxLengthErrors++;
      skbFree(skb);
      return;
    }
    const e = this.ethv.rebind(skb.buf, skb.dv, skb.data, ETH_HLEN);
    const dstMac = e.dst;
    const linkBcast = dstMac === ETH_BROADCAST;
    if (!linkBcast && dstMac !== dev.mac) {
      st.rxOtherHost++;
      skbFree(skb);
      return;
    }
    const type = e.etherType;
    skb.macHeader = skb.data;
    skb.protocol = type;
    skbPull(skb, ETH_HLEN);
    if (type === ETH_P_IP) this.ipRcv(skb, dev, linkBcast);
    else if (type === ETH_P_ARP) this.neigh.arpRcv(skb, dev, linkBcast);
    else {
      st.rxUnknownEtherType++;
      skbFree(skb);
    }
  }

  /** IPv4 input (Linux `ip_rcv` + `ip_local_deliver`): `skb.data` at the IP header */
  private ipRcv(skb: SkBuff, dev: NetDevice, linkBcast: boolean): void {
    const st = this.stats;
    st.inReceives++;
    if (!pskbMayPull(skb, IPV4_HLEN)) return this.drop(skb, 'hdr');
    const v = this.ipv.rebind(skb.buf, skb.dv, skb.data, skb.tail - skb.data);
    const rc = v.check();
    if (rc === WIRE_BAD_VERSION || rc === WIRE_BAD_LENGTH) return this.drop(skb, 'hdr');
    const hl = v.headerLen;
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
    const proto = v.protocol;
    const frag = v.fragWord;
    // martian sources (Linux drops them in route input, outside the Ip MIB): counted as discards
    if (isMulticast(src) || src === 0xffffffff || (src === 0 && dst !== 0xffffffff)) return this.drop(skb, 'discard');
    let bcast = false;
    if (!this.localOwner.has(dst)) {
      if (!this.isBroadcastOn(dev, dst)) return this.drop(skb, 'addr');
      bcast = true;
    }
    if ((frag & (IP_MF | IP_OFFMASK)) !== 0) {
      st.reasmReqds++;
      st.reasmFails++;
      skbFree(skb);
      return;
    }
    skb.networkHeader = skb.data;
    skb.transportHeader = skb.data + hl;
    skbPull(skb, hl);
    const h = this.protos[proto] ?? null;
    if (h === null) {
      st.inUnknownProtos++;
      if (!bcast && !linkBcast) this.icmp.sendDestUnreach(skb, ICMP_PROT_UNREACH);
      skbFree(skb);
      return;
    }
    st.inDelivers++;
    h.ipRcv(skb, src, dst, dev);
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
   * Sends an L4 segment (Linux `ip_queue_xmit`): `skb.data` at the L4 header with at least
   * ETH_HLEN + IPV4_HLEN bytes of headroom (reserve MAX_HEADER). Takes ownership. `src` 0
   * picks the route's preferred source. Pushes a 20-byte header (ident from a per-stack
   * counter, DF unless `df: false`, TTL 64), routes, checks the MTU (no fragmentation: too big
   * → -EMSGSIZE), resolves the next hop and transmits; packets to our own addresses go over the
   * loopback queue (a CHECKSUM_PARTIAL checksum is then completed in software and the skb marked
   * CHECKSUM_UNNECESSARY). CHECKSUM_PARTIAL is otherwise left to the NIC. Returns 0 (sent or
   * queued for resolution) or -ENETUNREACH / -EMSGSIZE / -ENOBUFS.
   */
  output(skb: SkBuff, src: number, dst: number, proto: number, opts?: OutputOptions): number {
    const st = this.stats;
    st.outRequests++;
    dst >>>= 0;
    let dev: NetDevice;
    let nexthop = dst;
    let local = false;
    const owner = this.localOwner.get(dst);
    if (owner !== undefined) {
      dev = owner;
      local = true;
      if (src === 0) src = dst;
    } else {
      const e = this.lookupRoute(dst);
      if (e === null) {
        st.outNoRoutes++;
        skbFree(skb);
        return -ERRNO.ENETUNREACH;
      }
      dev = e.dev;
      if (e.gateway !== 0) nexthop = e.gateway;
      if (src === 0) src = e.prefsrc !== 0 ? e.prefsrc : this.selectSource(dev, nexthop);
    }
    const tl = skb.len + IPV4_HLEN;
    // a GSO skb (TCP segmentation offload) may exceed the MTU: the NIC cuts it into segments
    if ((tl > dev.mtu && !(skb.gsoSize > 0 && dev.tso && !local)) || tl > IPV4_MAX_TOTAL_LEN) {
      st.fragFails++;
      skbFree(skb);
      return -ERRNO.EMSGSIZE;
    }
    if (skb.data - skb.head < IPV4_HLEN + (local ? 0 : ETH_HLEN)) {
      st.outDiscards++;
      skbFree(skb);
      return -ERRNO.ENOBUFS;
    }
    const nh = skbPush(skb, IPV4_HLEN);
    const v = this.ipv.rebind(skb.buf, skb.dv, nh, IPV4_HLEN);
    v.headerLen = IPV4_HLEN;
    v.tos = opts?.tos ?? 0;
    v.totalLen = tl;
    // a GSO skb reserves one id per segment the NIC will cut (Linux ip_select_ident_segs)
    let segs = 1;
    if (skb.gsoSize > 0 && proto === IPPROTO_TCP) {
      const thl = (skb.buf[nh + IPV4_HLEN + 12]! >> 4) << 2;
      segs = Math.ceil((skb.len - IPV4_HLEN - thl) / skb.gsoSize);
    }
    v.ident = this.ipId;
    this.ipId = (this.ipId + segs) & 0xffff;
    v.fragWord = opts?.df === false ? 0 : IP_DF;
    v.ttl = opts?.ttl ?? IP_DEFAULT_TTL;
    v.protocol = proto;
    v.src = src >>> 0;
    v.dst = dst;
    v.fillChecksum();
    skb.networkHeader = nh;
    skb.transportHeader = nh + IPV4_HLEN;
    skb.protocol = ETH_P_IP;
    skb.ifindex = dev.ifindex;
    skb.next = null;
    if (local) return this.loopbackXmit(skb);
    const mac = skbPush(skb, ETH_HLEN);
    const e = this.ethv.rebind(skb.buf, skb.dv, mac, ETH_HLEN);
    writeMac(skb.dv, mac, 0);
    e.src = dev.mac;
    e.etherType = ETH_P_IP;
    skb.macHeader = mac;
    this.neigh.output(skb, dev, nexthop, src);
    return 0;
  }

  private loopbackXmit(skb: SkBuff): number {
    if (this.loLen >= LOOPBACK_QUEUE_MAX) {
      this.stats.outDiscards++;
      skbFree(skb);
      return -ERRNO.ENOBUFS;
    }
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const start = skb.csumStart - skb.data;
      const sum = skbChecksum(skb, start, skb.len - start, 0);
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, csumFinish(sum));
      skb.ipSummed = CHECKSUM_UNNECESSARY;
    }
    skb.macHeader = -1;
    if (this.loTail === null) this.loHead = skb;
    else this.loTail.next = skb;
    this.loTail = skb;
    this.loLen++;
    if (!this.loTimer.armed) this.sched.arm(this.loTimer, this.sched.now());
    return 0;
  }

  onTimer(t: Timer): void {
    if (t.kind !== TIMER_LOOPBACK) return;
    // drain only what is queued now: packets generated while delivering wait for the next run
    let skb = this.loHead;
    this.loHead = this.loTail = null;
    this.loLen = 0;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      const dev = this.devByIfindex.get(skb.ifindex);
      if (dev === undefined) skbFree(skb);
      else this.ipRcv(skb, dev, false);
      skb = next;
    }
  }

  // ---- errors towards transports ----

  /**
   * Reports an error about one of our datagrams to its protocol's `ipErr`. `buf`/`dv` hold the
   * datagram's IPv4 header at `ipOff` (absolute), `avail` bytes of it readable.
   */
  deliverIcmpErr(type: number, code: number, info: number, buf: Uint8Array, dv: DataView, ipOff: number, avail: number, local: boolean): void {
    if (avail < IPV4_HLEN) return;
    const ihl = (dv.getUint8(ipOff) & 0x0f) << 2;
    if (ihl < IPV4_HLEN || avail < ihl + 8) return;
    const proto = dv.getUint8(ipOff + 9);
    const h = this.protos[proto] ?? null;
    if (h === null || h.ipErr === undefined) return;
    const e = this.errInfo;
    e.type = type;
    e.code = code;
    e.errno = icmpErrno(type, code);
    e.fatal = icmpErrFatal(type, code);
    e.info = info;
    e.local = local;
    e.src = dv.getUint32(ipOff + 12);
    e.dst = dv.getUint32(ipOff + 16);
    e.proto = proto;
    e.buf = buf;
    e.dv = dv;
    e.l4Off = ipOff + ihl;
    e.l4Len = avail - ihl;
    h.ipErr(e);
  }

  /** neighbour resolution failed for a queued packet (Linux `ip_link_failure`); borrows `skb` */
  linkFailure(skb: SkBuff): void {
    const nh = skb.networkHeader;
    if (nh < 0) return;
    this.deliverIcmpErr(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, skb.buf, skb.dv, nh, skb.tail - nh, true);
  }
}
