/**
 * ICMP / ICMPv6 errors and local neighbour failures for TCP (Linux tcp_v4_err / tcp_v6_err,
 * tcp_v4_mtu_reduced, tcp_sync_mss). The quoted header must name a connection and its sequence
 * must lie in snd_una..snd_nxt (else counted as OutOfWindowIcmps and reported as not taken).
 * Frag-needed / packet-too-big lowers the path MTU and the MSS and resends what no longer fits;
 * other errors fail a connection that is still opening and are kept as the soft error of a
 * synchronized one (reported instead of ETIMEDOUT). How an error reads is in icmp-err.ts.
 */
import { isV4 } from '../inet/index.js';
import type { IcmpErr } from '../net/index.js';
import { ERRNO } from '../uapi/index.js';
import { IPPROTO_TCP } from '../wire/ipv4.js';
import { seqGt, seqLt } from '../wire/seq.js';
import { TCPOLEN_TSTAMP_ALIGNED, TCP_CLOSE, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT } from './constants.js';
import { tcpDone, tcpFail } from './conn.js';
import {
  TCP_ICMP_ERROR, TCP_ICMP_IGNORE, TCP_ICMP_PMTU, TCP_MIN_SND_MSS, mssForPmtu, pmtuFloor, tcpIcmpKind, tcpReqErrAborts } from './icmp-err.js';
import { tcpSimpleRetransmit } from './output/retransmit.js';
import type { TcpProto } from './proto.js';
import type { TcpSock } from './sock.js';

/** true when a connection took the report */
export function tcpErr(tcp: TcpProto, e: IcmpErr): boolean {
  if (e.l4Len < 8 || e.proto !== IPPROTO_TCP) {
    tcp.stats.icmpNoSock++;
    return false;
  }
  const dv = e.dv;
  const o = e.l4Off;
  const sport = dv.getUint16(o);
  const dport = dv.getUint16(o + 2);
  const seq = dv.getInt32(o + 4);
  const tp = tcp.demux.lookupEstablished(e.src, sport, e.dst, dport);
  if (tp === null) {
    tcp.stats.icmpNoSock++;
    return false;
  }
  if (tp.state === TCP_TIME_WAIT) return false;
  const kind = tcpIcmpKind(e);
  if (tp.state === TCP_SYN_RECV && tp.parent !== null) {
    // a passive open still in the SYN queue (Linux request sock, tcp_req_err): only the
    // SYN-ACK's sequence counts, and only errors that say the peer is gone drop it, silently
    if (seq !== tp.iss) {
      tcp.stats.outOfWindowIcmps++;
      return false;
    }
    if (kind === TCP_ICMP_ERROR && tcpReqErrAborts(e)) {
      tp.orphan = true;
      tcpDone(tcp, tp);
    }
    return true;
  }
  // Linux: between(seq, snd_una, snd_nxt); our snd_nxt may be rewound by an RTO, sndMax is
  // the highest sequence sent
  if (seqLt(seq, tp.sndUna) || seqGt(seq, tp.sndMax)) {
    tcp.stats.outOfWindowIcmps++;
    return false;
  }
  if (kind === TCP_ICMP_PMTU) {
    tcpMtuReduced(tcp, tp, e.info);
    return true;
  }
  if (kind === TCP_ICMP_IGNORE) return true;
  const errno = e.errno;
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
    if (tp.state === TCP_SYN_SENT) tcp.stats.attemptFails++;
    tcpFail(tcp, tp, errno);
    return true;
  }
  // synchronized: keep trying until the timeout, then report this instead of ETIMEDOUT
  tp.softError = errno;
  return true;
}

/** Linux tcp_v4_mtu_reduced / tcp_v6_mtu_reduced: the path MTU fell to `mtu` */
function tcpMtuReduced(tcp: TcpProto, tp: TcpSock, mtu: number): void {
  if (tp.state === TCP_LISTEN || tp.state === TCP_CLOSE) return;
  const v4 = isV4(tp.raddr);
  const min = pmtuFloor(v4);
  let pmtu = mtu < min ? min : mtu;
  // the IP layer's path MTU cache may know a smaller value
  const rt = tp.oif !== 0 ? tcp.ip.route(tp.raddr, tp.oif) : tcp.ip.route(tp.raddr);
  if (rt !== null && rt.mtu < pmtu) pmtu = rt.mtu;
  // "something is about to be wrong": remember it in case the connection cannot recover
  if (v4 && mtu < pmtu) tp.softError = ERRNO.EMSGSIZE;
  if (tp.pmtu <= pmtu) return;
  tcp.stats.pmtuReduced++;
  tcpSyncMss(tp, pmtu);
  if (tp.state !== TCP_SYN_SENT && tp.state !== TCP_SYN_RECV) tcpSimpleRetransmit(tcp, tp);
}

/** Linux tcp_sync_mss: the send MSS for path MTU `pmtu` (never above the peer's clamp) */
function tcpSyncMss(tp: TcpSock, pmtu: number): void {
  tp.pmtu = pmtu;
  let mss = mssForPmtu(pmtu, isV4(tp.raddr), tp.mssClamp);
  if (tp.tsOk) mss = Math.max(mss - TCPOLEN_TSTAMP_ALIGNED, TCP_MIN_SND_MSS);
  if (mss >= tp.mss) return;
  // cwnd and ssthresh count segments (sock.ts): they keep their values at the new MSS
  tp.mss = mss;
}
