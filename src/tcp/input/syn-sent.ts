/**
 * SYN_SENT input (RFC 9293 §3.10.7.3, Linux tcp_rcv_synsent_state_process): an unacceptable ACK
 * is reset, a RST with an acceptable ACK refuses the connection, a SYN-ACK completes it (ACK and
 * any queued data follow), a bare SYN starts a simultaneous open.
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { ERRNO } from '../../uapi/index.js';
import { seqGt, seqLe } from '../../wire/seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_SYN_RECV } from '../constants.js';
import { tcpApplySynOptions, tcpCompleteHandshake, tcpFail } from '../conn.js';
import { tcpEcnRcvSyn, tcpEcnRcvSynAck } from '../ecn.js';
import { tcpSendAck, tcpSendResetForSeg, tcpSendSyn } from '../output/control.js';
import { tcpWriteXmit } from '../output/xmit.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

export function tcpSynSentRcv(tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, win: number): void {
  if (flags & TCP_ACK) {
    if (seqLe(ack, tp.iss) || seqGt(ack, tp.sndMax)) {
      if (!(flags & TCP_RST)) tcpSendResetForSeg(tcp, tp, seq, ack, flags, skb.len);
      return skbFree(skb);
    }
  }
  if (flags & TCP_RST) {
    skbFree(skb);
    if (flags & TCP_ACK) {
      tcp.stats.attemptFails++;
      tcpFail(tcp, tp, ERRNO.ECONNREFUSED);
    }
    return;
  }
  if (!(flags & TCP_SYN)) return skbFree(skb);
  tcpApplySynOptions(tcp, tp, tcp.opts);
  tp.irs = seq;
  tp.rcvNxt = (seq + 1) | 0;
  tp.copiedSeq = tp.rcvNxt;
  tp.rcvWup = tp.rcvNxt;
  tp.sndWl1 = seq;
  if (flags & TCP_ACK) {
    tcpEcnRcvSynAck(tp, flags);
    tcpCompleteHandshake(tcp, tp, seq, ack, win); // a SYN's window is never scaled
    skbFree(skb);
    tcpSendAck(tcp, tp);
    tcpWriteXmit(tcp, tp, tp.cork);
    return;
  }
  // simultaneous open
  tcpEcnRcvSyn(tp, flags);
  tp.state = TCP_SYN_RECV;
  tp.sndWnd = win;
  skbFree(skb);
  tcpSendSyn(tcp, tp, true);
}
