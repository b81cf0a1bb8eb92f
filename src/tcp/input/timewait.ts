/**
 * TIME_WAIT (Linux tcp_time_wait / tcp_timewait_state_process): entering it (timers off, the
 * 2·MSL timer on) and its input. A bare ACK (or RST) at rcv_nxt that passes PAWS refreshes
 * ts_recent and the timer — a RST kills the connection unless net.ipv4.tcp_rfc1337 (Linux
 * default 0: TIME_WAIT assassination is allowed); a new SYN (past rcv_nxt, or with a newer
 * TSval) goes to the listener, which opens a new connection on the same 4-tuple; everything else
 * is answered with an ACK, at most one per tcp_invalid_ratelimit.
 */
import type { RxMeta } from '../../net/index.js';
import { skbFree, type SkBuff } from '../../skb/index.js';
import { seqGt } from '../../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import { TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_TIMEWAIT_LEN, TCP_TIME_WAIT } from '../constants.js';
import { tcpDone } from '../conn.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { segOowRateLimited } from '../ratelimit.js';
import type { TcpSock } from '../sock.js';
import { tcpListenRcv } from './listen.js';
import { tcpPawsCheck } from './validate.js';

/** Linux TCP_PAWS_MSL: a RST is let through PAWS once ts_recent is this old, µs */
const TCP_PAWS_MSL_US = 60_000_000;

/** a segment for a TIME_WAIT connection; takes the skb */
export function tcpTimeWaitRcv(
  tcp: TcpProto, tp: TcpSock, skb: SkBuff, meta: RxMeta, sport: number, dport: number, seq: number, ack: number,
  flags: number, win: number,
): void {
  const segLen = skb.len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  const now = tcp.sched.now();
  const o = tcp.opts;
  const sawTs = tp.tsOk && o.hasTimestamp;
  // Linux tcp_paws_reject: no replay slack; a RST passes once ts_recent is older than an MSL
  const pawsReject = sawTs && !tcpPawsCheck(tcp, tp, o.tsVal, 0) && !(flags & TCP_RST && now - tp.tsRecentStamp >= TCP_PAWS_MSL_US);
  if (!pawsReject && seq === tp.rcvNxt && (segLen === 0 || flags & TCP_RST)) {
    // in window: a bare ACK, or a RST
    skbFree(skb);
    if (flags & TCP_RST) {
      if (!tcp.sysctl.tcp_rfc1337) {
        tcpDone(tcp, tp);
        return;
      }
    } else {
      tcp.sched.arm(tp.twTimer, now + TCP_TIMEWAIT_LEN);
    }
    if (sawTs) {
      tp.tsRecent = o.tsVal;
      tp.tsRecentStamp = now;
    }
    return;
  }
  // a new SYN: not an old duplicate (its sequence number or its timestamp is newer)
  if (
    (flags & (TCP_SYN | TCP_RST | TCP_ACK)) === TCP_SYN && !pawsReject &&
    (seqGt(seq, tp.rcvNxt) || (sawTs && ((tp.tsRecent - o.tsVal) | 0) < 0))
  ) {
    const lp = tcp.demux.lookupListener(meta.dst, dport, meta.src, sport);
    if (lp !== null) {
      // the new connection's ISN lies above the old one's sequence space (Linux tw_isn)
      let isn = (tp.sndNxt + 65535 + 2) | 0;
      if (isn === 0) isn = 1;
      tcpDone(tcp, tp);
      tcp.twIsn = isn;
      tcpListenRcv(tcp, lp, skb, meta, sport, dport, seq, ack, flags, win);
      tcp.twIsn = 0;
      return;
    }
    // no listener: Linux answers with the TIME_WAIT ACK (not rate limited)
    skbFree(skb);
    tcpSendAck(tcp, tp);
    return;
  }
  skbFree(skb);
  if (pawsReject) tcp.stats.pawsEstabRejected++;
  if (flags & TCP_RST) return;
  // a SYN without ACK may be a new connection's with a random sequence number below rcv_nxt:
  // it does not prolong TIME_WAIT
  if (pawsReject || flags & TCP_ACK) tcp.sched.arm(tp.twTimer, now + TCP_TIMEWAIT_LEN);
  // Linux tcp_timewait_check_oow_rate_limit
  if (segOowRateLimited(tp, now, tcp.invalidRatelimit, segLen, (flags & TCP_SYN) !== 0)) {
    tcp.stats.ackSkippedTimeWait++;
    return;
  }
  tcpSendAck(tcp, tp);
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
