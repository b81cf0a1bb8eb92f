/**
 * Control segments (Linux tcp_output.c / tcp_ipv4.c): the bare ACK, SYN and SYN-ACK, the RST of
 * a connection we abort (tcp_send_active_reset), the RST answering a segment that has no
 * connection (tcp_v4_send_reset, RFC 9293 §3.10.7.1), the zero-window probe, and queueing our
 * FIN (tcp_send_fin: it rides on the last data segment or goes alone). All go through the one
 * segment builder.
 */
import type { Addr } from '../../inet/index.js';
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import {
  MAX_TCP_HEADER, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV,
  TCP_SYN_SENT,
} from '../constants.js';
import { tcpEcnSynFlags } from '../ecn.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { tcpBuildAndSend } from './builder.js';
import { tcpSynOptions } from './options.js';
import { tcpTransmit, tcpWriteXmit } from './xmit.js';

/** a bare ACK with the current rcv_nxt and window */
export function tcpSendAck(tcp: TcpProto, tp: TcpSock): void {
  if (tp.state === TCP_CLOSE || tp.state === TCP_LISTEN || tp.state === TCP_SYN_SENT) return;
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  tcpTransmit(tcp, tp, skb, tp.sndNxt, TCP_ACK, false);
}

/** Linux tcp_write_wakeup with a zero window: a bare ACK with seq = snd_una − 1 */
export function tcpSendProbe(tcp: TcpProto, tp: TcpSock): void {
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb !== null) tcpTransmit(tcp, tp, skb, (tp.sndUna - 1) | 0, TCP_ACK, false);
}

/** our SYN (active open) or SYN-ACK (passive or simultaneous open); arms the retransmit timer */
export function tcpSendSyn(tcp: TcpProto, tp: TcpSock, synAck: boolean): void {
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  tcpSynOptions(tcp, tp, tcp.txOpts, synAck);
  tcpTransmit(tcp, tp, skb, tp.iss, (synAck ? TCP_SYN | TCP_ACK : TCP_SYN) | tcpEcnSynFlags(tcp, tp, synAck), true);
  const sched = tcp.sched;
  tp.sndNxt = (tp.iss + 1) | 0;
  if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
  if (tp.rttTime < 0 && tp.retransmits === 0) {
    tp.rttTime = sched.now();
    tp.rttSeq = tp.sndNxt;
  }
  sched.arm(tp.rtoTimer, sched.now() + tp.rto);
}

/** RST + ACK for a connection we abort */
export function tcpSendActiveReset(tcp: TcpProto, tp: TcpSock): void {
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  tcp.stats.outRsts++;
  tcpTransmit(tcp, tp, skb, tp.sndNxt, TCP_RST | TCP_ACK, false);
}

/**
 * RST in answer to a segment (from `src`:`sport` to `dst`:`dport`) that has no connection or is
 * unacceptable (RFC 9293 §3.10.7.1): seq = the segment's ACK, or an ACK of everything it
 * occupied. Never answers a RST. Frees `toFree` first when given.
 */
export function tcpSendResetFor(
  tcp: TcpProto, src: Addr, dst: Addr, sport: number, dport: number, seq: number, ack: number, flags: number,
  dataLen: number, toFree: SkBuff | null = null,
): void {
  if (toFree !== null) skbFree(toFree);
  if (flags & TCP_RST) return;
  const skb = tcp.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
  if (skb === null) return;
  const f = tcp.txSeg;
  f.sport = dport;
  f.dport = sport;
  if (flags & TCP_ACK) {
    f.seq = ack;
    f.ack = 0;
    f.flags = TCP_RST;
  } else {
    f.seq = 0;
    f.ack = (seq + dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) | 0;
    f.flags = TCP_RST | TCP_ACK;
  }
  f.window = 0;
  f.opts = null;
  f.syn = false;
  tcp.stats.outRsts++;
  tcp.stats.outSegs++;
  tcpBuildAndSend(tcp.ip, tcp.txView, skb, f, dst, src);
}

/** the RST for a segment of connection `tp` (its own addresses and ports) */
export function tcpSendResetForSeg(
  tcp: TcpProto, tp: TcpSock, seq: number, ack: number, flags: number, dataLen: number, toFree: SkBuff | null = null,
): void {
  tcpSendResetFor(tcp, tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, dataLen, toFree);
}

/** queues our FIN after the data in the send buffer (shutdown(SHUT_WR), close()) */
export function tcpQueueFin(tcp: TcpProto, tp: TcpSock): void {
  if (tp.finQueued) return;
  tp.finQueued = true;
  tp.finSndSeq = tp.sendBuf.endSeq;
  // CurrEstab counts ESTABLISHED and CLOSE_WAIT (Linux tcp_set_state)
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) tcp.stats.currEstab--;
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_SYN_RECV) tp.state = TCP_FIN_WAIT1;
  else if (tp.state === TCP_CLOSE_WAIT) tp.state = TCP_LAST_ACK;
  tcpWriteXmit(tcp, tp, false);
}
