/**
 * Segment entry (Linux tcp_v4_rcv / tcp_v6_rcv): header and checksum checks, options parsed into
 * the host's scratch `TcpOptions`, the skb's seq/end_seq/flags set and the header pulled, the
 * connection found (`TcpDemux`: established, then listeners) and the segment handed to the input
 * step of its state. A segment for no socket is answered with RST. Takes the skb.
 */
import { pseudoHeaderSum } from '../../inet/index.js';
import type { RxMeta } from '../../net/index.js';
import { CHECKSUM_UNNECESSARY, pskbMayPull, skbChecksum, skbFree, skbPull, type SkBuff } from '../../skb/index.js';
import { csumFold } from '../../wire/checksum.js';
import { IPPROTO_TCP } from '../../wire/ipv4.js';
import { parseTcpOptions } from '../../wire/tcp.js';
import { TCP_LISTEN, TCP_SYN_SENT, TCP_TIME_WAIT } from '../constants.js';
import { tcpSendResetFor } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { tcpRcvStateProcess } from './established.js';
import { tcpListenRcv } from './listen.js';
import { tcpSynSentRcv } from './syn-sent.js';
import { tcpTimeWaitRcv } from './timewait.js';

/** NOP NOP TIMESTAMP(10) as one word */
const TS_ALIGNED = 0x0101080a;

export function tcpRcv(tcp: TcpProto, skb: SkBuff, meta: RxMeta): void {
  tcp.stats.inSegs++;
  // Linux tcp_v4_rcv / tcp_v6_rcv: only segments addressed to this host (PACKET_HOST)
  if (meta.linkBcast) return skbFree(skb);
  if (!pskbMayPull(skb, 20)) return dropErr(tcp, skb);
  const src = meta.src;
  const dst = meta.dst;
  const buf = skb.buf;
  const dv = skb.dv;
  const o = skb.data;
  const doff = (buf[o + 12]! >> 4) << 2;
  if (doff < 20 || doff > skb.len || !pskbMayPull(skb, doff)) return dropErr(tcp, skb);
  if (skb.ipSummed !== CHECKSUM_UNNECESSARY) {
    const sum = skbChecksum(skb, 0, skb.len, pseudoHeaderSum(src, dst, IPPROTO_TCP, skb.len));
    if (csumFold(sum) !== 0xffff) {
      tcp.stats.inCsumErrors++;
      return dropErr(tcp, skb);
    }
  }
  const sport = dv.getUint16(o);
  const dport = dv.getUint16(o + 2);
  const seq = dv.getInt32(o + 4);
  const ack = dv.getInt32(o + 8);
  const flags = buf[o + 13]!;
  const win = dv.getUint16(o + 14);
  const opts = tcp.opts;
  if (doff === 32 && dv.getUint32(o + 20) === TS_ALIGNED) {
    // the common case of a synchronized connection with timestamps (Linux
    // tcp_parse_aligned_timestamp): NOP NOP TS and nothing else
    opts.reset();
    opts.hasTimestamp = true;
    opts.tsVal = dv.getInt32(o + 24);
    opts.tsEcr = dv.getInt32(o + 28);
  } else if (doff > 20) {
    parseTcpOptions(buf, o + 20, doff - 20, opts);
  } else {
    opts.reset();
  }
  skbPull(skb, doff);
  skb.seq = seq;
  skb.endSeq = (seq + skb.len) | 0;
  skb.tcpFlags = flags;
  tcp.rxTos = meta.tos;
  tcp.rxNapi = meta.dev !== null && meta.dev.napiPoll;

  let tp = tcp.demux.lookupEstablished(dst, dport, src, sport);
  if (tp === null) tp = tcp.demux.lookupListener(dst, dport, src, sport);
  if (tp === null) {
    tcp.stats.noPort++;
    tcpSendResetFor(tcp, src, dst, sport, dport, seq, ack, flags, skb.len);
    skbFree(skb);
    return;
  }
  tp.stats.segsIn++;
  if (tp.state === TCP_LISTEN) return tcpListenRcv(tcp, tp, skb, meta, sport, dport, seq, ack, flags, win);
  if (tp.state === TCP_SYN_SENT) return tcpSynSentRcv(tcp, tp, skb, seq, ack, flags, win);
  if (tp.state === TCP_TIME_WAIT) return tcpTimeWaitRcv(tcp, tp, skb, meta, sport, dport, seq, ack, flags, win);
  tcpRcvStateProcess(tcp, tp, skb, seq, ack, flags, win);
}

function dropErr(tcp: TcpProto, skb: SkBuff): void {
  tcp.stats.inErrs++;
  skbFree(skb);
}
