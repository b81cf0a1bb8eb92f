/**
 * ICMPv4 (Linux `net/ipv4/icmp.c` + the ping socket, reduced): echo replies, error emission
 * (destination unreachable, time exceeded), error demultiplexing to transports
 * (`Transport.err`, through `Ipv4Stack.deliverIcmpErr`) and `ping`. Called by the IPv4 stack
 * directly (not through the shared protocol table). Outgoing errors are rate limited as Linux
 * does (`IcmpRateLimit`: `icmp_ratelimit`, `icmp_msgs_per_sec` / `_burst`, `icmp_ratemask`);
 * errors and replies addressed to a broadcast or multicast address, unknown types and
 * unreachable codes over 15 are dropped on input (Linux `icmp_rcv` / `icmp_unreach`).
 *
 * Readability: ICMP needs every byte of the message (checksum, echo payload). A message whose
 * bytes sit in unreadable (device-memory) frags is counted in `inErrors` and dropped — Linux
 * cannot read it either. Errors quote only readable bytes.
 *
 * Ownership: `rcv` takes its skb; `sendError` borrows the offending skb.
 */
import { InetAddr, MutAddr } from '../../inet/index.js';
import { pskbMayPull, skbChecksum, skbCopyBits, skbFree, skbPut, type SkBuff } from '../../skb/index.js';
import { ERRNO, ErrnoError } from '../../uapi/index.js';
import { csumFinish, csumFold } from '../../wire/checksum.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, ICMP_TIME_EXCEEDED, IcmpView } from '../../wire/icmp.js';
import { IPPROTO_ICMP, IPV4_HLEN, IP_OFFMASK } from '../../wire/ipv4.js';
import { echoReplySkb, PingTable, type PingOptions, type PingResult } from '../ping.js';
import { IcmpRateLimit } from './icmp-ratelimit.js';
import type { Ipv4Stack } from './stack.js';
import { MAX_HEADER, type IcmpErr, type IcmpStats, type OutputOptions, type RxMeta } from '../types.js';

// ICMP_DEST_UNREACH codes
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_SR_FAILED = 5;
export const ICMP_PKT_FILTERED = 13;
// ICMP_TIME_EXCEEDED codes
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

export const ICMP_PARAMETERPROB = 12;
/** Linux NR_ICMP_TYPES / NR_ICMP_UNREACH: larger types / unreachable codes are not understood */
const NR_ICMP_TYPES = 18;
const NR_ICMP_UNREACH = 15;
const EPROTO = 71;

/** Linux `icmp_err_convert` (DEST_UNREACH codes 0..15): errno and fatal flag */
const UNREACH_ERRNO = [
  ERRNO.ENETUNREACH, ERRNO.EHOSTUNREACH, ERRNO.ENOPROTOOPT, ERRNO.ECONNREFUSED, ERRNO.EMSGSIZE, ERRNO.EOPNOTSUPP,
  ERRNO.ENETUNREACH, ERRNO.EHOSTDOWN, 64 /* ENONET */, ERRNO.ENETUNREACH, ERRNO.EHOSTUNREACH, ERRNO.ENETUNREACH,
  ERRNO.EHOSTUNREACH, ERRNO.EHOSTUNREACH, ERRNO.EHOSTUNREACH, ERRNO.EHOSTUNREACH,
];
const UNREACH_FATAL = [false, false, true, true, false, false, true, true, true, true, true, false, false, true, true, true];

/** errno an ICMP error maps to (Linux `icmp_err_convert`; TIME_EXCEEDED → EHOSTUNREACH, PARAMETERPROB → EPROTO) */
export function icmpErrno(type: number, code: number): number {
  if (type === ICMP_DEST_UNREACH) return UNREACH_ERRNO[code] ?? ERRNO.EHOSTUNREACH;
  if (type === ICMP_PARAMETERPROB) return EPROTO;
  return ERRNO.EHOSTUNREACH;
}

/** a hard error (Linux `icmp_err_convert[].fatal`; UDP's harderr for a parameter problem) */
export function icmpErrFatal(type: number, code: number): boolean {
  if (type === ICMP_PARAMETERPROB) return true;
  return type === ICMP_DEST_UNREACH ? (UNREACH_FATAL[code] ?? false) : false;
}

/** Linux `icmp_ratemask` default: destination unreachable, source quench, time exceeded, parameter problem */
export const ICMP_RATEMASK = 0x1818;

/** Linux `icmpv4_mask_allow` negated: the message is subject to rate limiting */
function icmpRateLimited(type: number, code: number): boolean {
  if (type > 18 || (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED)) return false;
  return ((ICMP_RATEMASK >>> type) & 1) !== 0;
}

/** ICMP error types (an error is never sent about one of these) */
function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12 || type > 18;
}

export type { PingOptions, PingResult } from '../ping.js';

export const PING_DEFAULT_SIZE = 56;
export const PING_DEFAULT_TIMEOUT_US = 10_000_000;
/** largest payload a linear ping skb holds (4096-byte buffer less MAX_HEADER and the ICMP header) */
export const PING_MAX_SIZE = 4096 - MAX_HEADER - ICMP_HLEN;
/** bytes of the offending datagram an ICMP error quotes, at most (576 - IP - ICMP headers) */
const ICMP_ERR_QUOTE_MAX = 576 - IPV4_HLEN - ICMP_HLEN;

export class Icmp {
  readonly stats: IcmpStats;
  /** outgoing error rate limits (global and per destination) */
  readonly rateLimit: IcmpRateLimit;
  private readonly view = new IcmpView();
  /** pings in flight, keyed by ident/seq; `dst` is the IPv4 address */
  private readonly pings: PingTable<number>;
  private readonly replyOpts: OutputOptions = { tos: 0, df: false };
  private readonly errOpts: OutputOptions = { tos: 0, df: false };
  private readonly sa = new MutAddr();
  private readonly typeByte = new Uint8Array(1);
  private readonly da = new MutAddr();

  constructor(private readonly stack: Ipv4Stack) {
    this.stats = stack.stats.icmp;
    this.rateLimit = new IcmpRateLimit(stack.sched, stack.rng !== null ? stack.rng.fork('icmp-ratelimit') : null);
    this.pings = new PingTable(stack.sched, stack.rng !== null ? stack.rng.fork('icmp-ident').nextU32() & 0xffff : 1, 'ping');
  }

  // ---- input ----

  /** an ICMP message (data at the ICMP header); takes `skb` */
  rcv(skb: SkBuff, meta: RxMeta): void {
    const src = meta.src.w3;
    const dst = meta.dst.w3;
    const st = this.stats;
    st.inMsgs++;
    if ((skb.unreadable && skb.dataLen > 0) || skb.len < ICMP_HLEN || !pskbMayPull(skb, ICMP_HLEN)) {
      st.inErrors++;
      skbFree(skb);
      return;
    }
    if (csumFold(skbChecksum(skb, 0, skb.len, 0)) !== 0xffff) {
      st.inCsumErrors++;
      st.inErrors++;
      skbFree(skb);
      return;
    }
    const type = skb.buf[skb.data]!;
    // Linux icmp_rcv: unknown types, and anything but echo / timestamp / address mask requests
    // sent to a broadcast or multicast address, are errors (no forged error reaches a subnet's sockets)
    if (type > NR_ICMP_TYPES || (type !== ICMP_ECHO && type !== 13 && type !== 17 && type !== 18 &&
      (dst >>> 28 === 0xe || this.stack.isBroadcastAddr(dst)))) {
      st.inErrors++;
      skbFree(skb);
      return;
    }
    switch (type) {
      case ICMP_ECHO:
        st.inEchos++;
        if (this.stack.isBroadcastAddr(dst) || dst >>> 28 === 0xe) {
          // icmp_echo_ignore_broadcasts
          st.inErrors++;
          skbFree(skb);
          return;
        }
        this.echoReply(skb, src, dst);
        return;
      case ICMP_ECHOREPLY:
        st.inEchoReps++;
        this.echoReplyRcv(skb, src);
        break;
      case ICMP_DEST_UNREACH:
      case ICMP_TIME_EXCEEDED:
      case ICMP_PARAMETERPROB:
        if (type === ICMP_DEST_UNREACH) st.inDestUnreachs++;
        else if (type === ICMP_TIME_EXCEEDED) st.inTimeExcds++;
        this.errorRcv(skb, type);
        break;
      default:
        break;
    }
    skbFree(skb);
  }

  /** answers an echo request (takes `req`) */
  private echoReply(req: SkBuff, src: number, dst: number): void {
    const st = this.stats;
    const len = req.len;
    this.replyOpts.tos = req.buf[req.networkHeader + 1]!;
    const r = echoReplySkb(req, this.stack.skbs, IPV4_HLEN);
    if (r === null) {
      st.outErrors++;
      return;
    }
    const o = r.data;
    r.buf[o] = ICMP_ECHOREPLY;
    r.buf[o + 1] = 0;
    r.dv.setUint16(o + 2, 0);
    r.dv.setUint16(o + 2, csumFinish(skbChecksum(r, 0, len, 0)));
    if (this.stack.output(r, this.sa.setV4(dst), this.da.setV4(src), IPPROTO_ICMP, this.replyOpts) === 0) {
      st.outMsgs++;
      st.outEchoReps++;
    }
  }

  private echoReplyRcv(skb: SkBuff, src: number): void {
    const v = this.view.rebind(skb.buf, skb.dv, skb.data, ICMP_HLEN);
    const p = this.pings.lookup(v.ident, v.seq);
    if (p === undefined || (p.dst !== src && !this.stack.isBroadcastAddr(p.dst))) return;
    this.pings.resolve(p, skb.len, skb.networkHeader >= 0 ? skb.buf[skb.networkHeader + 8]! : 0);
  }

  /** DEST_UNREACH (codes 0..15) / TIME_EXCEEDED / PARAMETERPROB (info: the pointer): hands the quoted datagram to its protocol */
  private errorRcv(skb: SkBuff, type: number): void {
    const st = this.stats;
    if (!pskbMayPull(skb, ICMP_HLEN + IPV4_HLEN)) {
      st.inErrors++;
      return;
    }
    const ihl = (skb.buf[skb.data + ICMP_HLEN]! & 0x0f) << 2;
    if (ihl < IPV4_HLEN || !pskbMayPull(skb, ICMP_HLEN + ihl + 8)) {
      st.inErrors++;
      return;
    }
    // make as much of the quote linear as the head can hold, for the transport's benefit
    pskbMayPull(skb, Math.min(skb.len, skb.end - skb.data));
    const o = skb.data;
    const code = skb.buf[o + 1]!;
    if (type === ICMP_DEST_UNREACH && code > NR_ICMP_UNREACH) return;
    let info = 0;
    if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) info = skb.dv.getUint16(o + 6);
    else if (type === ICMP_PARAMETERPROB) info = skb.buf[o + 4]!;
    const inner = o + ICMP_HLEN;
    this.stack.deliverIcmpErr(type, code, info, skb.buf, skb.dv, inner, skb.tail - inner, false);
  }

  /** errors about our own echo requests reject the pending ping; false when none matched */
  err(e: IcmpErr): boolean {
    if (e.l4Len < 8 || e.buf[e.l4Off] !== ICMP_ECHO) return false;
    const p = this.pings.lookup(e.dv.getUint16(e.l4Off + 4), e.dv.getUint16(e.l4Off + 6));
    if (p === undefined || p.dst !== e.dst.w3) return false;
    this.pings.reject(p, e.errno);
    return true;
  }

  // ---- errors out ----

  /**
   * Sends ICMP error `type`/`code` (`info`: next-hop MTU for FRAG_NEEDED, the pointer for
   * PARAMETERPROB) about the received
   * datagram `skb` (borrowed; `networkHeader` set), quoting its IP header and as much of the
   * rest as fits in 576 bytes and is readable (Linux `icmp_send`). Nothing is sent about
   * non-first fragments, ICMP errors, or datagrams from/to broadcast or multicast addresses.
   * Rate limited as Linux `icmp_send` does: types in `ICMP_RATEMASK` (never "fragmentation
   * needed") must pass the global budget unless the datagram came in on `lo`, then the
   * destination's unless the error goes out over `lo` (`stats.rateLimitGlobal` / `rateLimitHost`).
   */
  sendError(skb: SkBuff, type: number, code: number, info = 0): void {
    const nh = skb.networkHeader;
    if (nh < skb.head || nh + IPV4_HLEN > skb.tail) return;
    const buf = skb.buf;
    const dv = skb.dv;
    const ihl = (buf[nh]! & 0x0f) << 2;
    if (ihl < IPV4_HLEN || nh + ihl > skb.tail) return;
    if ((dv.getUint16(nh + 6) & IP_OFFMASK) !== 0) return;
    const osrc = dv.getUint32(nh + 12);
    const odst = dv.getUint32(nh + 16);
    const stack = this.stack;
    if (odst >>> 28 === 0xe || stack.isBroadcastAddr(odst)) return;
    if (osrc === 0 || osrc >>> 28 === 0xe || stack.isBroadcastAddr(osrc)) return;
    if (buf[nh + 9] === IPPROTO_ICMP) {
      // the inner type may sit in a frag (Linux skb_header_pointer); unreadable: no error
      let itype: number;
      if (nh + ihl < skb.tail) itype = buf[nh + ihl]!;
      else if (skbCopyBits(skb, nh + ihl - skb.data, this.typeByte, 0, 1) === 0) itype = this.typeByte[0]!;
      else return;
      if (isIcmpError(itype)) return;
    }
    // rate limits (Linux icmpv4_global_allow, then icmpv4_xrlim_allow)
    const rl = this.rateLimit;
    const apply = skb.ifindex !== stack.lo.ifindex && icmpRateLimited(type, code);
    if (apply) {
      if (!rl.globalAllow()) {
        this.stats.rateLimitGlobal++;
        return;
      }
      if (!stack.isLocalV4(osrc) && !rl.peerAllow(osrc)) {
        this.stats.rateLimitHost++;
        return;
      }
      rl.globalConsume();
    }
    // bytes from the network header to the end, readable ones only
    let avail = skb.data - nh + skb.len;
    if (skb.unreadable && skb.dataLen > 0) avail = Math.min(avail, skb.tail - nh);
    const quote = Math.min(avail, ICMP_ERR_QUOTE_MAX);
    const r = stack.skbs.alloc(MAX_HEADER + ICMP_HLEN + quote, MAX_HEADER);
    if (r === null) {
      this.stats.outErrors++;
      return;
    }
    const at = skbPut(r, ICMP_HLEN + quote);
    const rd = r.dv;
    rd.setUint8(at, type);
    rd.setUint8(at + 1, code);
    rd.setUint16(at + 2, 0);
    if (type === ICMP_PARAMETERPROB) {
      rd.setUint32(at + 4, (info & 0xff) * 0x1000000);
    } else {
      rd.setUint16(at + 4, 0);
      rd.setUint16(at + 6, type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED ? info : 0);
    }
    // the part before skb.data (pulled headers) is linear; the rest through skbCopyBits
    const before = Math.max(0, Math.min(skb.data - nh, quote));
    r.buf.set(buf.subarray(nh, nh + before), at + ICMP_HLEN);
    if (quote > before && skbCopyBits(skb, Math.max(0, nh - skb.data), r.buf, at + ICMP_HLEN + before, quote - before) !== 0) {
      skbFree(r);
      this.stats.outErrors++;
      return;
    }
    this.view.rebind(r.buf, rd, at, ICMP_HLEN + quote).fillChecksum();
    this.errOpts.tos = (buf[nh + 1]! & 0x1e) | 0xc0;
    if (stack.output(r, this.sa.setV4(stack.isLocalV4(odst) ? odst : 0), this.da.setV4(osrc), IPPROTO_ICMP, this.errOpts) === 0) {
      this.stats.outMsgs++;
      if (type === ICMP_DEST_UNREACH) this.stats.outDestUnreachs++;
      else if (type === ICMP_TIME_EXCEEDED) this.stats.outTimeExcds++;
    }
  }

  // ---- ping ----

  /**
   * Sends one echo request and resolves with the reply's RTT, ICMP length and TTL. Rejects with
   * ErrnoError: EHOSTUNREACH (neighbour resolution failed, or an ICMP error came back; other
   * ICMP errors map through `icmpErrno`), ETIMEDOUT (`timeoutUs`, scheduler time), ENETUNREACH
   * / EMSGSIZE (from `output`), EBUSY (same ident/seq in flight), EMSGSIZE (size over
   * PING_MAX_SIZE), ENOBUFS. A bad address string rejects with TypeError.
   */
  ping(dst: string | number, opts: PingOptions = {}): Promise<PingResult> {
    let d: number;
    if (typeof dst === 'number') {
      d = dst >>> 0;
    } else {
      const a = InetAddr.tryParse(dst);
      if (a === null || a.family !== 4) return Promise.reject(new TypeError(`invalid IPv4 address: ${JSON.stringify(dst)}`));
      d = a.v4;
    }
    const size = opts.size ?? PING_DEFAULT_SIZE;
    if (!Number.isInteger(size) || size < 0 || size > PING_MAX_SIZE) return Promise.reject(new ErrnoError('EMSGSIZE', 'ping'));
    const key = this.pings.nextKey(opts);
    if (this.pings.has(key)) return Promise.reject(new ErrnoError('EBUSY', 'ping'));
    const stack = this.stack;
    const skb = stack.skbs.alloc(MAX_HEADER + ICMP_HLEN + size, MAX_HEADER);
    if (skb === null) return Promise.reject(new ErrnoError('ENOBUFS', 'ping'));
    const at = skbPut(skb, ICMP_HLEN + size);
    for (let i = 0; i < size; i++) skb.buf[at + ICMP_HLEN + i] = i & 0xff;
    const v = this.view.rebind(skb.buf, skb.dv, at, ICMP_HLEN + size);
    v.type = ICMP_ECHO;
    v.code = 0;
    v.ident = key >>> 16;
    v.seq = key & 0xffff;
    v.fillChecksum();
    const outOpts: OutputOptions = { ttl: opts.ttl ?? 64, df: true };
    return this.pings.start(key, d, opts.timeoutUs ?? PING_DEFAULT_TIMEOUT_US, () => {
      const rc = stack.output(skb, InetAddr.ANY4, InetAddr.v4(d), IPPROTO_ICMP, outOpts);
      if (rc >= 0) {
        this.stats.outMsgs++;
        this.stats.outEchos++;
      }
      return rc;
    });
  }

  /** pings in flight */
  get pendingPings(): number {
    return this.pings.size;
  }

  /** rejects every ping in flight with `errno` (the host is shutting down) */
  abortPings(errno: number): void {
    if (this.pings.abort(errno) > 0) this.stack.sched.noteWakeup();
  }
}
