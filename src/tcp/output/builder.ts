/**
 * The one TCP segment builder: every segment this host sends (data, pure ACK, SYN, SYN-ACK,
 * window probe, FIN, RST for a connection or for a segment that found none) gets its header
 * here, written through the wire layer's `TcpView` and `writeTcpOptions` (Linux's option layout).
 * The checksum is left to the device (CHECKSUM_PARTIAL over the pseudo-header sum), and the skb
 * goes to the IP layer. Allocation-free: the view is a per-host flyweight.
 *
 * Ownership: `tcpBuildAndSend` takes the skb (it is handed to IP, which frees it on failure).
 */
import { pseudoHeaderSum, type Addr } from '../../inet/index.js';
import type { IpLayer, OutputOptions } from '../../net/index.js';
import { CHECKSUM_PARTIAL, skbPush, type SkBuff } from '../../skb/index.js';
import { csumFold } from '../../wire/checksum.js';
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import { TCP_HLEN, TcpView, tcpOptionsLen, writeTcpOptions, type TcpOptions } from '../../wire/tcp.js';

/** the header fields of one outgoing segment (a reusable scratch record, one per host) */
export class TcpSegmentFields {
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** the window field as sent (already scaled) */
  window = 0;
  /** options to write, or null for none */
  opts: TcpOptions | null = null;
  /** MSS / window scale / SACK-permitted are written only on SYNs */
  syn = false;
}

/**
 * Pushes the TCP header described by `f` in front of `skb`'s payload (payload frags, if any,
 * already attached) and hands the segment to IP from `saddr` to `daddr`; takes the skb.
 */
export function tcpBuildAndSend(
  ip: IpLayer, view: TcpView, skb: SkBuff, f: TcpSegmentFields, saddr: Addr, daddr: Addr, ipOpts: OutputOptions | null = null,
): void {
  const opts = f.opts;
  const optsLen = opts !== null ? tcpOptionsLen(opts, f.syn) : 0;
  const hlen = TCP_HLEN + optsLen;
  const o = skbPush(skb, hlen);
  const v = view.rebind(skb.buf, skb.dv, o, skb.len);
  v.srcPort = f.sport;
  v.dstPort = f.dport;
  v.seq = f.seq;
  v.ack = f.ack;
  // data offset with the reserved nibble cleared, then the flag byte
  skb.dv.setUint16(o + 12, ((hlen >> 2) << 12) | (f.flags & 0xff));
  v.window = f.window;
  v.checksum = csumFold(pseudoHeaderSum(saddr, daddr, IPPROTO_TCP, skb.len));
  v.urgent = 0;
  if (opts !== null && optsLen > 0) writeTcpOptions(skb.dv, o + TCP_HLEN, opts, f.syn);
  skb.transportHeader = o;
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = o;
  skb.csumOffset = 16;
  if (ipOpts === null) ip.output(skb, saddr, daddr, IPPROTO_TCP);
  else ip.output(skb, saddr, daddr, IPPROTO_TCP, ipOpts);
}
