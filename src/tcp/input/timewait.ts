/**
 * TIME_WAIT (Linux tcp_time_wait / tcp_timewait_state_process): entering it (timers off, the
 * 2·MSL timer on) and its input — a FIN or an old segment restarts the timer and is answered
 * with an ACK (rate limited), a RST is ignored (RFC 1337).
 */
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqLt } from '../../wire/seq.js';
import { TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_TIMEWAIT_LEN, TCP_TIME_WAIT } from '../constants.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { segOowRateLimited } from '../ratelimit.js';
import type { TcpSock } from '../sock.js';

export function tcpTimeWaitRcv(tcp: TcpProto, tp: TcpSock, skb: SkBuff, seq: number, flags: number): void {
  const segLen = skb.len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  skbFree(skb);
  if (flags & TCP_RST) return;
  if (flags & TCP_FIN || seqLt(seq, tp.rcvNxt)) {
    const now = tcp.sched.now();
    tcp.sched.arm(tp.twTimer, now + TCP_TIMEWAIT_LEN);
    // Linux tcp_timewait_check_oow_rate_limit
    if (segOowRateLimited(tp, now, tcp.invalidRatelimit, segLen, (flags & TCP_SYN) !== 0)) {
      tcp.stats.ackSkippedTimeWait++;
      return;
    }
    tcpSendAck(tcp, tp);
  }
}

export function tcpEnterTimeWait(tcp: TcpProto, tp: TcpSock): void {
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) tcp.stats.currEstab--;
  tp.state = TCP_TIME_WAIT;
  const sched = tcp.sched;
  sched.cancel(tp.rtoTimer);
  sched.cancel(tp.delackTimer);
  sched.arm(tp.twTimer, sched.now() + TCP_TIMEWAIT_LEN);
  if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
}
