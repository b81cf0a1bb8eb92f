/**
 * TCP keepalive (RFC 9293 §3.8.4, as Linux tcp_keepalive_timer / tcp_set_keepalive): with
 * SO_KEEPALIVE on an idle synchronized connection (nothing in flight, nothing queued) a probe —
 * a bare ACK with seq = snd_una − 1, which draws an ACK — goes after TCP_KEEPIDLE (default
 * net.ipv4.tcp_keepalive_time) without anything received, then every TCP_KEEPINTVL; after
 * TCP_KEEPCNT unanswered probes (or, with TCP_USER_TIMEOUT set, once that long passed since the
 * last segment received and a probe is out) the connection is reset and fails with ETIMEDOUT.
 * Any acceptable ACK answers the probes (input/ack.ts zeroes `probesOut`, stamps
 * `rcvTstampUs`). The socket's `keepaliveTimer` carries it.
 */
import { ERRNO } from '../../uapi/index.js';
import { TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT } from '../constants.js';
import { tcpFail } from '../conn.js';
import { tcpSendActiveReset, tcpSendProbe } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

/** TCP_KEEPIDLE or the sysctl, µs (Linux keepalive_time_when) */
export function tcpKeepaliveTimeUs(tcp: TcpProto, tp: TcpSock): number {
  return tp.keepIdle || tcp.sysctl.tcp_keepalive_time * 1_000_000;
}

/** TCP_KEEPINTVL or the sysctl, µs */
export function tcpKeepaliveIntvlUs(tcp: TcpProto, tp: TcpSock): number {
  return tp.keepIntvl || tcp.sysctl.tcp_keepalive_intvl * 1_000_000;
}

/** TCP_KEEPCNT or the sysctl */
export function tcpKeepaliveProbes(tcp: TcpProto, tp: TcpSock): number {
  return tp.keepCnt || tcp.sysctl.tcp_keepalive_probes;
}

/** µs since anything was last received (Linux keepalive_time_elapsed) */
function keepaliveElapsed(tcp: TcpProto, tp: TcpSock): number {
  return tcp.sched.now() - tp.rcvTstampUs;
}

function armIn(tcp: TcpProto, tp: TcpSock, us: number): void {
  const sched = tcp.sched;
  sched.arm(tp.keepaliveTimer, sched.now() + Math.max(us, 0));
}

/**
 * SO_KEEPALIVE set or cleared (Linux tcp_set_keepalive); also when the connection becomes
 * established with it on. Nothing for a listener or a closed socket.
 */
export function tcpSetKeepalive(tcp: TcpProto, tp: TcpSock, on: boolean): void {
  const was = tp.keepalive;
  tp.keepalive = on;
  if (tp.state === TCP_CLOSE || tp.state === TCP_LISTEN) return;
  if (on && (!was || !tp.keepaliveTimer.armed)) armIn(tcp, tp, tcpKeepaliveTimeUs(tcp, tp));
  else if (!on) tcp.sched.cancel(tp.keepaliveTimer);
}

/** the connection was established (Linux tcp_finish_connect / tcp_create_openreq_child) */
export function tcpKeepaliveEstablished(tcp: TcpProto, tp: TcpSock): void {
  tp.rcvTstampUs = tcp.sched.now();
  if (tp.keepalive) armIn(tcp, tp, tcpKeepaliveTimeUs(tcp, tp));
}

/** TCP_KEEPIDLE changed: re-arm relative to the last receipt (tcp_sock_set_keepidle_locked) */
export function tcpKeepidleChanged(tcp: TcpProto, tp: TcpSock): void {
  if (!tp.keepalive || tp.state === TCP_CLOSE || tp.state === TCP_LISTEN) return;
  const left = tcpKeepaliveTimeUs(tcp, tp) - keepaliveElapsed(tcp, tp);
  armIn(tcp, tp, left > 0 ? left : 0);
}

/** Linux tcp_keepalive_timer (the keepalive part) */
export function tcpKeepaliveTimer(tcp: TcpProto, tp: TcpSock): void {
  if (!tp.keepalive || tp.state === TCP_CLOSE || tp.state === TCP_LISTEN || tp.state === TCP_SYN_SENT) return;
  const when = tcpKeepaliveTimeUs(tcp, tp);
  // not idle: data in flight or queued keeps the connection checked by the RTO / probe timers
  if (tp.rtx.head !== null || tp.unsent > 0) {
    armIn(tcp, tp, when);
    return;
  }
  const elapsed = keepaliveElapsed(tcp, tp);
  if (elapsed < when) {
    armIn(tcp, tp, when - elapsed);
    return;
  }
  const user = tp.userTimeout;
  if ((user !== 0 && elapsed >= user && tp.probesOut > 0) || (user === 0 && tp.probesOut >= tcpKeepaliveProbes(tcp, tp))) {
    tcpSendActiveReset(tcp, tp);
    tcpFail(tcp, tp, tp.softError || ERRNO.ETIMEDOUT);
    return;
  }
  tcpSendProbe(tcp, tp);
  tp.probesOut++;
  armIn(tcp, tp, tcpKeepaliveIntvlUs(tcp, tp));
}
