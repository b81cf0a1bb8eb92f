/**
 * The receive window we advertise (Linux tcp_select_window / __tcp_select_window) and the
 * window update after the application reads (tcp_cleanup_rbuf). Space is half the receive
 * buffer (Linux's default scaling ratio) minus unread and out-of-order bytes.
 */
import { TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2 } from '../constants.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';
import { tcpSendAck } from './control.js';

/**
 * The window field to send (scaled). Records the advertised right edge (rcv_wup + rcv_wnd);
 * the right edge never moves left.
 */
export function tcpSelectWindow(tp: TcpSock): number {
  let free = (tp.rcvBuf >> 1) - ((tp.rcvNxt - tp.copiedSeq) | 0) - tp.ofoBytes;
  if (free < 0) free = 0;
  const cur = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
  // receiver SWS avoidance: don't open by less than an MSS
  if (free < cur) free = cur;
  else if (free - cur < tp.rcvMss && free < (tp.rcvBuf >> 2)) free = Math.max(cur, 0);
  const ws = tp.rcvWscale;
  let field = free >>> ws;
  // Linux tcp_select_window: a window that would pull the right edge left is the current one
  // rounded UP to the scale unit (the scaled field cannot express it exactly)
  if (field << ws < cur) field = (cur + (1 << ws) - 1) >>> ws;
  if (field > 0xffff) field = 0xffff;
  tp.rcvWnd = field << ws;
  tp.rcvWup = tp.rcvNxt;
  return field;
}

/** after the application consumed data: send a window update if the window grew enough */
export function tcpCleanupRbuf(tcp: TcpProto, tp: TcpSock): void {
  if (tp.state !== TCP_ESTABLISHED && tp.state !== TCP_FIN_WAIT1 && tp.state !== TCP_FIN_WAIT2) return;
  const cur = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
  const full = tp.rcvBuf >> 1;
  const free = full - ((tp.rcvNxt - tp.copiedSeq) | 0) - tp.ofoBytes;
  if (tp.ackPending && tp.unackedSegs > 0 && cur < free) {
    tcpSendAck(tcp, tp);
    return;
  }
  // the 2·MSS step is capped at half the space, or a buffer below 4·MSS never reopens
  const step = Math.min(2 * tp.rcvMss, full >> 1);
  if (free - cur >= step && (cur <= 0 || free >= 2 * cur)) tcpSendAck(tcp, tp);
}
