/**
 * TCP timers (Linux tcp_timer.c): one `Timer` per kind on the socket, dispatched here —
 * delayed ACK (`TIMER_DELACK`), retransmission / zero-window probe (`TIMER_RTO`, see rto.ts),
 * TIME_WAIT and FIN_WAIT2 lifetime (`TIMER_TIMEWAIT`), keepalive (`TIMER_KEEPALIVE`, keepalive.ts).
 */
import { tcpDone } from '../conn.js';
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import { TIMER_DELACK, TIMER_KEEPALIVE, TIMER_RTO, TIMER_TIMEWAIT, type TcpSock } from '../sock.js';
import { tcpKeepaliveTimer } from './keepalive.js';
import { tcpRetransmitTimer } from './rto.js';

export function tcpOnTimer(tcp: TcpProto, tp: TcpSock, kind: number): void {
  if (kind === TIMER_DELACK) {
    if (tp.ackPending) tcpSendAck(tcp, tp);
    return;
  }
  if (kind === TIMER_TIMEWAIT) {
    tcpDone(tcp, tp);
    return;
  }
  if (kind === TIMER_RTO) tcpRetransmitTimer(tcp, tp);
  else if (kind === TIMER_KEEPALIVE) tcpKeepaliveTimer(tcp, tp);
}
