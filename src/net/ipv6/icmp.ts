/**
 * ICMPv6 (RFC 4443; Linux `net/ipv6/icmp.c` + the ping socket, reduced): echo replies, error
 * emission with RFC 4443 §2.4 rules and Linux's per-destination rate limit, error
 * demultiplexing to transports (`Transport.err`, errno and fatality by Linux
 * `icmpv6_err_convert`), Packet Too Big → path MTU, and `ping6`. Neighbor Discovery messages
 * are handed to `Ndisc`.
 *
 * Error rules (`icmp6_send`): nothing is sent about a datagram whose source is unspecified or
 * multicast, about an ICMPv6 error message, or about a datagram to a multicast address or
 * received as link-layer multicast — except Packet Too Big and parameter problem code 2
 * (unknown option); quotes are as much of the offending datagram as fits in 1280 bytes and is
 * readable. Rate limit (`net.ipv6.icmp.ratelimit` 1 s, Linux `icmpv6_xrlim_allow` +
 * `inet_peer_xrlim_allow`): a token bucket per destination, burst 6, the interval scaled down
 * by the prefix length of the route to the destination (`>> ((128 - plen) >> 5)`); Packet Too
 * Big and loopback destinations are exempt. Peers are forgotten when more than `PEER_MAX`
 * exist.
 *
 * Readability: ICMPv6 needs every byte it checks; a message in unreadable frags is counted
 * (`inErrors`) and dropped. Ownership: `rcv` takes its skb; `sendError` borrows.
 */
import { InetAddr, MutAddr, isLoopback, isMulticast, isUnspecified, pseudoHeaderSum, type Addr } from '../../inet/index.js';
import { CHECKSUM_UNNECESSARY, pskbMayPull, skbChecksum, skbCopyBits, skbFree, skbPut, type SkBuff } from '../../skb/index.js';
import { ERRNO, ErrnoError } from '../../uapi/index.js';
import { csumFinish, csumFold } from '../../wire/checksum.js';
import {
  ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_HLEN, ICMPV6_PARAMPROB, ICMPV6_PKT_TOOBIG,
  ICMPV6_TIME_EXCEED, ICMPV6_UNK_OPTION, NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION, NDISC_REDIRECT,
  NDISC_ROUTER_ADVERTISEMENT, NDISC_ROUTER_SOLICITATION,
} from '../../wire/icmpv6.js';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_ROUTING, IPV6_FRAG_OFFMASK, IPV6_HLEN,
  IPV6_MIN_MTU,
} from '../../wire/ipv6.js';
import { echoReplySkb, PingTable, type PingOptions, type PingResult } from '../ping.js';
import { IcmpErr, MAX_HEADER, type OutputOptions, type RxMeta } from '../types.js';
import { AddrMap } from './addr6.js';
import type { Icmp6Stats } from './stats.js';
import type { Ipv6Stack } from './stack.js';

/** Linux EPROTO (not in uapi's table) */
export const EPROTO = 71;
/** `net.ipv6.icmp.ratelimit` */
export const ICMPV6_RATELIMIT_US = 1_000_000;
/** Linux XRLIM_BURST_FACTOR */
export const XRLIM_BURST_FACTOR = 6;
export const PEER_MAX = 4096;
/** RFC 4443 §2.4 (c): an error fits in the minimum MTU */
const ERR_QUOTE_MAX = IPV6_MIN_MTU - IPV6_HLEN - ICMPV6_HLEN;
export const PING6_DEFAULT_SIZE = 56;
export const PING6_DEFAULT_TIMEOUT_US = 10_000_000;
export const PING6_MAX_SIZE = 4096 - MAX_HEADER - ICMPV6_HLEN;

/** Linux `tab_unreach` of `icmpv6_err_convert`: errno, fatal */
const UNREACH: readonly (readonly [number, boolean])[] = [
  [ERRNO.ENETUNREACH, false], [ERRNO.EACCES, true], [ERRNO.EHOSTUNREACH, false], [ERRNO.EHOSTUNREACH, false],
  [ERRNO.ECONNREFUSED, true], [ERRNO.EACCES, true], [ERRNO.EACCES, true],
];

/** Linux `icmpv6_err_convert`: the errno an ICMPv6 error maps to */
export function icmpv6Errno(type: number, code: number): number {
  switch (type) {
    case ICMPV6_DEST_UNREACH: return UNREACH[code]?.[0] ?? EPROTO;
    case ICMPV6_PKT_TOOBIG: return ERRNO.EMSGSIZE;
    case ICMPV6_PARAMPROB: return EPROTO;
    case ICMPV6_TIME_EXCEED: return ERRNO.EHOSTUNREACH;
    default: return EPROTO;
  }
}

/** Linux `icmpv6_err_convert`'s return: a hard error */
export function icmpv6Fatal(type: number, code: number): boolean {
  switch (type) {
    case ICMPV6_DEST_UNREACH: return UNREACH[code]?.[1] ?? true;
    case ICMPV6_PARAMPROB: return true;
    default: return false;
  }
}

class Peer {
  constructor(public tokens: number, public last: number) {}
}

export class Icmpv6 {
  readonly stats: Icmp6Stats;
  private readonly peers: AddrMap<Peer>;
  /** pings in flight, keyed by ident/seq */
  private readonly pings: PingTable<InetAddr>;
  private readonly err = new IcmpErr();
  private readonly one = new Uint8Array(1);
  private readonly srcScratch = new MutAddr();
  private readonly dstScratch = new MutAddr();
  private readonly replyOpts: OutputOptions = { tos: 0, df: false };
  private readonly errOpts: OutputOptions = { tos: 0, df: false };
  /** rate-limit interval (µs); tests may change it */
  ratelimitUs = ICMPV6_RATELIMIT_US;

  constructor(private readonly stack: Ipv6Stack, seed: number) {
    this.stats = stack.stats.icmp;
    this.peers = new AddrMap<Peer>(seed);
    this.pings = new PingTable(stack.sched, stack.rng !== null ? stack.rng.fork('icmpv6-ident').nextU32() & 0xffff : 1, 'ping6');
  }

  // ---- input ----

  /**
   * An ICMPv6 message: `skb.data` at the ICMPv6 header, `networkHeader` set, `meta` filled by
   * the stack. `tentative`: the destination is one of our tentative addresses (only NDP passes).
   */
  rcv(skb: SkBuff, meta: RxMeta, tentative: boolean): void {
    const st = this.stats;
    st.inMsgs++;
    const len = skb.len;
    if ((skb.unreadable && skb.dataLen > 0) || len < ICMPV6_HLEN || !pskbMayPull(skb, ICMPV6_HLEN)) {
      st.inErrors++;
      skbFree(skb);
      return;
    }
    if (skb.ipSummed !== CHECKSUM_UNNECESSARY &&
      csumFold(skbChecksum(skb, 0, len, pseudoHeaderSum(meta.src, meta.dst, IPPROTO_ICMPV6, len))) !== 0xffff) {
      st.inCsumErrors++;
      st.inErrors++;
      skbFree(skb);
      return;
    }
    const type = skb.buf[skb.data]!;
    if (tentative && type !== NDISC_NEIGHBOUR_SOLICITATION && type !== NDISC_NEIGHBOUR_ADVERTISEMENT) {
      skbFree(skb);
      return;
    }
    switch (type) {
      case ICMPV6_ECHO_REQUEST:
        st.inEchos++;
        this.echoReply(skb, meta);
        return;
      case ICMPV6_ECHO_REPLY:
        st.inEchoReplies++;
        this.echoReplyRcv(skb, meta);
        break;
      case NDISC_NEIGHBOUR_SOLICITATION:
      case NDISC_NEIGHBOUR_ADVERTISEMENT:
      case NDISC_ROUTER_SOLICITATION:
      case NDISC_ROUTER_ADVERTISEMENT:
      case NDISC_REDIRECT:
        if (type === NDISC_NEIGHBOUR_SOLICITATION) st.inNeighborSolicits++;
        else if (type === NDISC_NEIGHBOUR_ADVERTISEMENT) st.inNeighborAdvertisements++;
        else if (type === NDISC_ROUTER_SOLICITATION) st.inRouterSolicits++;
        else if (type === NDISC_ROUTER_ADVERTISEMENT) st.inRouterAdvertisements++;
        else st.inRedirects++;
        this.stack.ndisc.rcv(skb, meta);
        break;
      case ICMPV6_DEST_UNREACH:
      case ICMPV6_PKT_TOOBIG:
      case ICMPV6_TIME_EXCEED:
      case ICMPV6_PARAMPROB:
        if (type === ICMPV6_DEST_UNREACH) st.inDestUnreachs++;
        else if (type === ICMPV6_PKT_TOOBIG) st.inPktTooBigs++;
        else if (type === ICMPV6_TIME_EXCEED) st.inTimeExcds++;
        else st.inParmProblems++;
        this.errorRcv(skb);
        break;
      default:
        // errors of unknown type go to the upper layer (RFC 4443 §2.4 (b)); informational ones are ignored
        if (type < 128) this.errorRcv(skb);
        break;
    }
    skbFree(skb);
  }

  /** answers an echo request (takes `req`) */
  private echoReply(req: SkBuff, meta: RxMeta): void {
    const st = this.stats;
    const stack = this.stack;
    // reply from the address the request was sent to, or (multicast) one chosen for the requester
    let src: Addr | null = meta.dst;
    if (isMulticast(meta.dst) || !stack.addrconf.isUsableLocal(meta.dst)) src = stack.addrconf.selectSource(meta.dev, meta.src);
    if (src === null || isUnspecified(meta.src) || isMulticast(meta.src)) {
      skbFree(req);
      return;
    }
    const len = req.len;
    this.replyOpts.tos = meta.tos;
    const r = echoReplySkb(req, stack.skbs, IPV6_HLEN);
    if (r === null) {
      st.outErrors++;
      return;
    }
    const dst = this.dstScratch.set(meta.src);
    const o = r.data;
    r.buf[o] = ICMPV6_ECHO_REPLY;
    r.buf[o + 1] = 0;
    r.dv.setUint16(o + 2, 0);
    r.dv.setUint16(o + 2, csumFinish(skbChecksum(r, 0, len, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len))));
    if (stack.output(r, src, dst, IPPROTO_ICMPV6, this.replyOpts) === 0) {
      st.outMsgs++;
      st.outEchoReplies++;
    }
  }

  private echoReplyRcv(skb: SkBuff, meta: RxMeta): void {
    const o = skb.data;
    const p = this.pings.lookup(skb.dv.getUint16(o + 4), skb.dv.getUint16(o + 6));
    if (p === undefined || (!p.dst.equals(meta.src) && !isMulticast(p.dst))) return;
    this.pings.resolve(p, skb.len, meta.ttl);
  }

  /** an error message (`skb.data` at it): PMTU, then the transport of the quoted datagram */
  private errorRcv(skb: SkBuff): void {
    const st = this.stats;
    if (!pskbMayPull(skb, ICMPV6_HLEN + IPV6_HLEN)) {
      st.inErrors++;
      return;
    }
    const o = skb.data;
    const dv = skb.dv;
    const type = dv.getUint8(o);
    const code = dv.getUint8(o + 1);
    const info = dv.getUint32(o + 4);
    const inner = o + ICMPV6_HLEN;
    const e = this.err;
    e.src.readV6(dv, inner + 8);
    e.dst.readV6(dv, inner + 24);
    if (type === ICMPV6_PKT_TOOBIG) this.stack.pmtuUpdate(e.dst, info);
    // find the upper-layer header of the quoted datagram (Linux ipv6_skip_exthdr)
    let nh = dv.getUint8(inner + 6);
    let off = ICMPV6_HLEN + IPV6_HLEN;
    for (let i = 0; i < 16; i++) {
      if (nh !== IPPROTO_HOPOPTS && nh !== IPPROTO_ROUTING && nh !== IPPROTO_DSTOPTS && nh !== IPPROTO_FRAGMENT) break;
      if (!pskbMayPull(skb, off + 8)) return;
      const b = skb.data + off;
      if (nh === IPPROTO_FRAGMENT) {
        if ((skb.dv.getUint16(b + 2) & IPV6_FRAG_OFFMASK) !== 0) return;
        nh = skb.buf[b]!;
        off += 8;
      } else {
        nh = skb.buf[b]!;
        off += (skb.buf[b + 1]! + 1) << 3;
      }
    }
    if (!pskbMayPull(skb, off + 8)) return;
    pskbMayPull(skb, Math.min(skb.len, skb.end - skb.data));
    e.family = 6;
    e.type = type;
    e.code = code;
    e.errno = icmpv6Errno(type, code);
    e.fatal = icmpv6Fatal(type, code);
    e.info = type === ICMPV6_PKT_TOOBIG ? info : 0;
    e.local = false;
    e.proto = nh;
    e.buf = skb.buf;
    e.dv = skb.dv;
    e.l4Off = skb.data + off;
    e.l4Len = skb.tail - (skb.data + off);
    this.deliverErr(e);
  }

  private deliverErr(e: IcmpErr): void {
    if (e.proto === IPPROTO_ICMPV6) {
      this.pingErr(e);
      return;
    }
    const t = this.stack.protos.get(e.proto);
    if (t !== null && t.err !== undefined) t.err(e);
  }

  /**
   * A local failure about our datagram `skb` (borrowed; IPv6 header at `networkHeader`):
   * neighbour resolution failed → destination unreachable, address unreachable (EHOSTUNREACH),
   * delivered to the transport as Linux's `ndisc_error_report` → `icmpv6_send` to self does.
   */
  localError(skb: SkBuff, type: number, code: number): void {
    const nh = skb.networkHeader;
    if (nh < 0 || nh + IPV6_HLEN > skb.tail) return;
    const dv = skb.dv;
    let proto = dv.getUint8(nh + 6);
    let off = nh + IPV6_HLEN;
    if (proto === IPPROTO_FRAGMENT) {
      if (off + 8 > skb.tail || (dv.getUint16(off + 2) & IPV6_FRAG_OFFMASK) !== 0) return;
      proto = dv.getUint8(off);
      off += 8;
    }
    if (off + 8 > skb.tail) return;
    const e = this.err;
    e.family = 6;
    e.type = type;
    e.code = code;
    e.errno = icmpv6Errno(type, code);
    e.fatal = icmpv6Fatal(type, code);
    e.info = 0;
    e.local = true;
    e.src.readV6(dv, nh + 8);
    e.dst.readV6(dv, nh + 24);
    e.proto = proto;
    e.buf = skb.buf;
    e.dv = dv;
    e.l4Off = off;
    e.l4Len = skb.tail - off;
    this.deliverErr(e);
  }

  // ---- errors out ----

  /** Linux `icmpv6_xrlim_allow`: token bucket per destination */
  private allow(type: number, dst: Addr): boolean {
    if (type === ICMPV6_PKT_TOOBIG || isLoopback(dst) || this.stack.addrconf.lookup(dst) !== null) return true;
    let tmo = this.ratelimitUs;
    const plen = this.stack.routePrefixLen(dst);
    if (plen < 128) tmo = Math.floor(tmo / (1 << ((128 - plen) >> 5)));
    const now = this.stack.sched.now();
    let p = this.peers.get(dst);
    if (p === undefined) {
      if (this.peers.size >= PEER_MAX) this.peers.clear();
      p = new Peer(0, now - 60_000_000);
      this.peers.set(dst, p);
    }
    let token = p.tokens + (now - p.last);
    p.last = now;
    if (token > XRLIM_BURST_FACTOR * tmo) token = XRLIM_BURST_FACTOR * tmo;
    let ok = false;
    if (token >= tmo) {
      token -= tmo;
      ok = true;
    }
    p.tokens = token;
    return ok;
  }

  /** rate-limit peers held */
  get peerCount(): number {
    return this.peers.size;
  }

  /**
   * Sends ICMPv6 error `type`/`code` (`info`: MTU or pointer) about the received datagram `skb`
   * (borrowed; `networkHeader` at its IPv6 header; `linkMcast`: it came as link-layer
   * multicast/broadcast). See the module contract for when nothing is sent.
   */
  sendError(skb: SkBuff, type: number, code: number, info: number, linkMcast: boolean): void {
    const nh = skb.networkHeader;
    if (nh < skb.head || nh + IPV6_HLEN > skb.tail) return;
    const buf = skb.buf;
    const dv = skb.dv;
    const osrc = this.srcScratch.readV6(dv, nh + 8);
    const odst = this.dstScratch.readV6(dv, nh + 24);
    const exempt = type === ICMPV6_PKT_TOOBIG || (type === ICMPV6_PARAMPROB && code === ICMPV6_UNK_OPTION);
    if ((isMulticast(odst) || linkMcast) && !exempt) return;
    if (isUnspecified(osrc) || isMulticast(osrc)) return;
    // bytes from the network header to the end, readable ones only
    let avail = skb.data - nh + skb.len;
    if (skb.unreadable && skb.dataLen > 0) avail = Math.min(avail, skb.tail - nh);
    if (this.isIneligible(skb, nh, avail)) return;
    const stack = this.stack;
    if (!this.allow(type, osrc)) {
      this.stats.outRateLimitHost++;
      return;
    }
    const src = !isMulticast(odst) && stack.addrconf.isUsableLocal(odst) ? odst : stack.addrconf.selectSource(null, osrc);
    if (src === null) return;
    const quote = Math.min(avail, ERR_QUOTE_MAX);
    const r = stack.skbs.alloc(MAX_HEADER + ICMPV6_HLEN + quote, MAX_HEADER);
    if (r === null) {
      this.stats.outErrors++;
      return;
    }
    const at = skbPut(r, ICMPV6_HLEN + quote);
    const rd = r.dv;
    rd.setUint8(at, type);
    rd.setUint8(at + 1, code);
    rd.setUint16(at + 2, 0);
    rd.setUint32(at + 4, info >>> 0);
    const before = Math.max(0, Math.min(skb.data - nh, quote));
    r.buf.set(buf.subarray(nh, nh + before), at + ICMPV6_HLEN);
    if (quote > before && skbCopyBits(skb, Math.max(0, nh - skb.data), r.buf, at + ICMPV6_HLEN + before, quote - before) !== 0) {
      skbFree(r);
      this.stats.outErrors++;
      return;
    }
    const dst = InetAddr.from(osrc);
    rd.setUint16(at + 2, csumFinish(skbChecksum(r, 0, r.len, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, r.len))));
    this.errOpts.tos = 0;
    if (stack.output(r, src, dst, IPPROTO_ICMPV6, this.errOpts) === 0) {
      const st = this.stats;
      st.outMsgs++;
      if (type === ICMPV6_DEST_UNREACH) st.outDestUnreachs++;
      else if (type === ICMPV6_PKT_TOOBIG) st.outPktTooBigs++;
      else if (type === ICMPV6_TIME_EXCEED) st.outTimeExcds++;
      else if (type === ICMPV6_PARAMPROB) st.outParmProblems++;
    }
  }

  /** Linux `is_ineligible`: the datagram is an ICMPv6 error (or its type is not readable) */
  private isIneligible(skb: SkBuff, nh: number, avail: number): boolean {
    const buf = skb.buf;
    const lin = skb.tail;
    let p = nh + IPV6_HLEN;
    let next = buf[nh + 6]!;
    const end = nh + avail;
    for (let i = 0; i < 16; i++) {
      if (next !== IPPROTO_HOPOPTS && next !== IPPROTO_ROUTING && next !== IPPROTO_DSTOPTS && next !== IPPROTO_FRAGMENT) break;
      if (p + 8 > lin) return false;
      if (next === IPPROTO_FRAGMENT) {
        if ((skb.dv.getUint16(p + 2) & IPV6_FRAG_OFFMASK) !== 0) return false;
        next = buf[p]!;
        p += 8;
      } else {
        next = buf[p]!;
        p += (buf[p + 1]! + 1) << 3;
      }
    }
    if (next !== IPPROTO_ICMPV6) return false;
    if (p >= end) return true;
    let t: number;
    if (p < lin) t = buf[p]!;
    else {
      if (skbCopyBits(skb, p - skb.data, this.one, 0, 1) !== 0) return true;
      t = this.one[0]!;
    }
    return t < 128;
  }

  // ---- ping6 ----

  /**
   * Sends one echo request to `dst` and resolves with the reply's RTT, ICMPv6 length and hop
   * limit (the IPv4 `ping` result shape). Rejects with ErrnoError: EHOSTUNREACH (neighbour
   * resolution failed), the errno of an ICMPv6 error that came back, ETIMEDOUT, ENETUNREACH /
   * EADDRNOTAVAIL (from `output`), EBUSY (same ident/seq in flight), EMSGSIZE (size),
   * ENOBUFS. Sizes above the path MTU are fragmented.
   */
  ping(dst: InetAddr, opts: PingOptions = {}): Promise<PingResult> {
    const size = opts.size ?? PING6_DEFAULT_SIZE;
    if (!Number.isInteger(size) || size < 0 || size > PING6_MAX_SIZE) return Promise.reject(new ErrnoError('EMSGSIZE', 'ping6'));
    if (dst.family !== 6) return Promise.reject(new ErrnoError('EAFNOSUPPORT', 'ping6'));
    const key = this.pings.nextKey(opts);
    if (this.pings.has(key)) return Promise.reject(new ErrnoError('EBUSY', 'ping6'));
    const stack = this.stack;
    const route = stack.route(dst);
    if (route === null) return Promise.reject(new ErrnoError('ENETUNREACH', 'ping6'));
    const src = route.src;
    if (isUnspecified(src)) return Promise.reject(new ErrnoError('EADDRNOTAVAIL', 'ping6'));
    const skb = stack.skbs.alloc(MAX_HEADER + ICMPV6_HLEN + size, MAX_HEADER);
    if (skb === null) return Promise.reject(new ErrnoError('ENOBUFS', 'ping6'));
    const at = skbPut(skb, ICMPV6_HLEN + size);
    const b = skb.buf;
    for (let i = 0; i < size; i++) b[at + ICMPV6_HLEN + i] = i & 0xff;
    const dv = skb.dv;
    dv.setUint8(at, ICMPV6_ECHO_REQUEST);
    dv.setUint8(at + 1, 0);
    dv.setUint16(at + 2, 0);
    dv.setUint16(at + 4, key >>> 16);
    dv.setUint16(at + 6, key & 0xffff);
    const len = ICMPV6_HLEN + size;
    dv.setUint16(at + 2, csumFinish(skbChecksum(skb, 0, len, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6, len))));
    const outOpts: OutputOptions = { df: false };
    if (opts.ttl !== undefined) outOpts.ttl = opts.ttl;
    return this.pings.start(key, dst, opts.timeoutUs ?? PING6_DEFAULT_TIMEOUT_US, () => {
      const rc = stack.output(skb, src, dst, IPPROTO_ICMPV6, outOpts);
      if (rc >= 0) {
        this.stats.outMsgs++;
        this.stats.outEchos++;
      }
      return rc;
    });
  }

  /** errors about our own echo requests reject the pending ping */
  private pingErr(e: IcmpErr): void {
    if (e.l4Len < 8 || e.buf[e.l4Off] !== ICMPV6_ECHO_REQUEST) return;
    const p = this.pings.lookup(e.dv.getUint16(e.l4Off + 4), e.dv.getUint16(e.l4Off + 6));
    if (p === undefined || !p.dst.equals(e.dst)) return;
    // Packet Too Big only lowers the path MTU; the ping's own retransmission is the user's
    if (e.type === ICMPV6_PKT_TOOBIG) return;
    this.pings.reject(p, e.errno);
  }

  get pendingPings(): number {
    return this.pings.size;
  }

  /** rejects every pending ping with `errno` (stack close) */
  abortPings(errno: number): void {
    this.pings.abort(errno);
  }
}

