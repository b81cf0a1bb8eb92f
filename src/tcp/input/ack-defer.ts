/**
 * ACK per device poll (Linux TCP_ACK_DEFERRED, tcp_release_cb): while a NAPI-style poll hands a
 * batch of in-order data skbs to a socket, the regular "every second full segment" ACK is not
 * sent per skb but once, when the batch ends (`TcpProto.napiDone`, called by the device's
 * `napiComplete` after its GRO flush). Only that ACK waits: quick ACKs, out-of-order and
 * duplicate answers, FIN, ECN CWR and window updates stay immediate, and any segment we send
 * in between (data, a window update, a dupack) carries the ACK and cancels the deferred one.
 * Used only for segments from a device polled that way (`tcp.rxNapi`): a simulated wire's
 * device flushes GRO from a timer, keeps per-skb ACKs, so simulated runs are unchanged.
 *
 * Per segment: a flag test and one store into a reused array; nothing is allocated once the
 * array has grown to the number of sockets receiving in one batch.
 */
import { tcpSendAck } from '../output/control.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

/** the regular ACK `tp` owes goes out at the end of the current device poll */
export function tcpDeferAck(tcp: TcpProto, tp: TcpSock): void {
  tp.ackPending = true;
  if (tp.ackDeferred) return;
  tp.ackDeferred = true;
  tcp.ackDeferQ[tcp.ackDeferLen++] = tp;
}

/** the poll ended: one ACK for each socket that still owes one (sockets deferred meanwhile included) */
export function tcpFlushDeferredAcks(tcp: TcpProto): void {
  const q = tcp.ackDeferQ;
  // the length is re-read: an ACK sent here may, through a synchronous link, defer another
  for (let i = 0; i < tcp.ackDeferLen; i++) {
    const tp = q[i]!;
    q[i] = null;
    tp.ackDeferred = false;
    // an ACK sent since (data, window update, dupack, delayed-ACK timer) cleared ackPending
    if (tp.ackPending) tcpSendAck(tcp, tp);
  }
  tcp.ackDeferLen = 0;
}
