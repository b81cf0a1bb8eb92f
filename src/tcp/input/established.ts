/**
 * Input for synchronized states and SYN_RECV (RFC 9293 §3.10.7.4, Linux tcp_rcv_state_process
 * / tcp_rcv_established): a passive open's first ACK goes through `tcpCheckReq` and completes
 * the handshake (the child joins the accept queue); everything else is validated once
 * (validate.ts), then the ACK field is processed (ack.ts), our FIN's acknowledgement moves the
 * state, and data / FIN are queued (data.ts). Takes the skb.
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt, seqLe } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import {
  TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_TIMEOUT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK,
  TCP_LISTEN, TCP_SYN_RECV,
} from '../constants.js';
import { tcpCompleteHandshake, tcpDone } from '../conn.js';
import { tcpSendActiveReset, tcpSendAck, tcpSendResetForSeg } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { ACK_TOO_OLD, tcpAck } from './ack.js';
import { tcpDataQueue } from './data.js';
import { tcpCheckReq } from './listen.js';
import { tcpEnterTimeWait } from './timewait.js';
import { tcpSendChallengeAck, tcpValidateIncoming } from './validate.js';

export function tcpRcvStateProcess(tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, win: number): void {
  const dataLen = skb.len;
  const segLen = dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  if (tp.state === TCP_SYN_RECV && tp.parent !== null) {
    // a passive open: the child stands in for Linux's request socket
    if (!tcpCheckReq(tcp, tp, skb, seq, ack, flags, segLen)) return;
    tcpCompleteHandshake(tcp, tp, seq, ack, win << tp.sndWscale);
    const lp = tp.parent;
    lp.synQueueLen--;
    if (lp.state === TCP_LISTEN) {
      lp.acceptQueue.push(tp);
      tp.inAcceptQueue = true;
      if (lp.sockOwner) lp.sockOwner.tcpAcceptable(lp);
    } else {
      // the listener closed while the handshake ran (Linux inet_csk_listen_stop): reset
      tp.parent = null;
      tp.orphan = true;
      skbFree(skb);
      tcpSendActiveReset(tcp, tp);
      tcpDone(tcp, tp);
      return;
    }
  } else {
    // Linux: a segment without ACK, RST or SYN is dropped before anything else looks at it
    if (!(flags & (TCP_ACK | TCP_RST | TCP_SYN))) return skbFree(skb);
    // 1.–4. sequence, RST, SYN (answers rate limited)
    if (!tcpValidateIncoming(tcp, tp, skb, seq, flags, segLen, ack, win)) return;
    if (!(flags & TCP_ACK)) return skbFree(skb);
    // 5. ACK: a simultaneous open completes on an ACK of our SYN
    if (tp.state === TCP_SYN_RECV) {
      if (seqLe(ack, tp.sndUna) || seqGt(ack, tp.sndMax)) {
        tcpSendResetForSeg(tcp, tp, seq, ack, flags, dataLen);
        return skbFree(skb);
      }
      tcpCompleteHandshake(tcp, tp, seq, ack, win << tp.sndWscale);
    }
  }
  const acked = tcpAck(tcp, tp, ack, win, seq, dataLen, flags);
  if (acked < 0) {
    // Linux: an ACK of unsent data is dropped silently in ESTABLISHED (tcp_rcv_established);
    // every other state, and a too-old ACK anywhere, also gets a challenge ACK (RFC 5961 §5.2)
    if (acked === ACK_TOO_OLD || tp.state !== TCP_ESTABLISHED) tcpSendChallengeAck(tcp, tp);
    return skbFree(skb);
  }
  // state transitions on our FIN being acknowledged
  const finAcked = tp.finSent && seqGt(tp.sndUna, tp.finSndSeq);
  switch (tp.state) {
    case TCP_FIN_WAIT1:
      if (finAcked) {
        tp.state = TCP_FIN_WAIT2;
        if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
        if (tp.orphan) tcp.sched.arm(tp.twTimer, tcp.sched.now() + TCP_FIN_TIMEOUT);
      }
      break;
    case TCP_CLOSING:
      if (finAcked) tcpEnterTimeWait(tcp, tp);
      break;
    case TCP_LAST_ACK:
      if (finAcked) {
        skbFree(skb);
        tcpDone(tcp, tp);
        return;
      }
      break;
  }
  // new data after close() (RFC 1122 §4.2.2.13, Linux TCPAbortOnData): nobody will read it
  if (
    tp.orphan && (tp.state === TCP_FIN_WAIT1 || tp.state === TCP_FIN_WAIT2) && dataLen > 0 &&
    seqGt(skb.endSeq, tp.rcvNxt)
  ) {
    tcpSendResetForSeg(tcp, tp, seq, ack, flags, dataLen, skb);
    tcpDone(tcp, tp);
    return;
  }
  // 7. data, 8. FIN
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_FIN_WAIT1 || tp.state === TCP_FIN_WAIT2) {
    if (dataLen > 0 || flags & TCP_FIN) {
      tcpDataQueue(tcp, tp, skb);
      return;
    }
  } else if (segLen > 0 && (tp.state === TCP_CLOSE_WAIT || tp.state === TCP_CLOSING || tp.state === TCP_LAST_ACK)) {
    // past the peer's FIN: a retransmission (our ACK of it was lost) needs a fresh ACK
    tcpSendAck(tcp, tp);
  }
  skbFree(skb);
}
