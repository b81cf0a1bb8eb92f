/**
 * Readiness and error reporting of a TCP socket for the socket layer: `tcpPoll` is Linux
 * `tcp_poll` (the mask poll/epoll report), `tcpSockError` is `SO_ERROR` / `sock_error`.
 * Pure reads of the control block (tcpSockError also clears what it reports).
 */
import {
  POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM,
} from '../uapi/index.js';
import { TCP_CLOSE, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT } from './constants.js';
import type { TcpSock } from './sock.js';

/** Linux tcp_poll: POLLIN/RDNORM, POLLOUT/WRNORM, POLLERR, POLLHUP, POLLRDHUP */
export function tcpPoll(tp: TcpSock): number {
  const st = tp.state;
  if (st === TCP_LISTEN) return tp.acceptQueue.length > 0 ? POLLIN | POLLRDNORM : 0;
  let mask = 0;
  // sk_shutdown: tcp_done sets both directions; a FIN or SHUT_RD the receive side
  const rcvShut = tp.shutdownDone || tp.finReceived || tp.shutRd;
  const sndShut = tp.shutdownDone || tp.shutWr;
  if ((rcvShut && sndShut) || st === TCP_CLOSE) mask |= POLLHUP;
  if (rcvShut) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
  if (st !== TCP_SYN_SENT && st !== TCP_SYN_RECV) {
    if (tp.readableBytes > 0 && tp.readableBytes >= Math.max(1, tp.rcvLowat)) mask |= POLLIN | POLLRDNORM;
    if (!sndShut) {
      // __sk_stream_is_writeable: free space at least half of what is queued (sk_wmem_queued,
      // skb truesize), below SO_SNDBUF, unsent bytes below TCP_NOTSENT_LOWAT, and memory
      const queued = tp.sendBuf.wmemQueued;
      if (tp.sndBuf - queued >= queued >> 1 && queued < tp.sndBuf && !tp.memWait && tcpNotsentBelowLowat(tp, 1)) {
        mask |= POLLOUT | POLLWRNORM;
      }
    } else {
      mask |= POLLOUT | POLLWRNORM;
    }
  }
  if (tp.error !== 0) mask |= POLLERR;
  return mask;
}

/** the socket's TCP_NOTSENT_LOWAT, or the sysctl tcp_notsent_lowat (Linux tcp_notsent_lowat) */
export function tcpNotsentLowat(tp: TcpSock): number {
  return tp.notsentLowat > 0 ? tp.notsentLowat : tp.proto.sysctl.tcp_notsent_lowat;
}

/**
 * Linux tcp_stream_memory_free: unsent bytes (write_seq − snd_nxt), doubled when `wake` is 1
 * (poll asks for room to spare), are below the not-sent low-water mark
 */
export function tcpNotsentBelowLowat(tp: TcpSock, wake: 0 | 1): boolean {
  const unsent = Math.max(tp.unsent, 0);
  return unsent * (wake + 1) < tcpNotsentLowat(tp);
}

/**
 * SO_ERROR (Linux sock_getsockopt): takes the pending hard error, or, when there is none and
 * `soft`, the soft error; clears what it returns. Positive errno or 0.
 */
export function tcpSockError(tp: TcpSock, soft = true): number {
  const e = tp.error;
  if (e !== 0) {
    tp.error = 0;
    return e;
  }
  if (!soft) return 0;
  const s = tp.softError;
  tp.softError = 0;
  return s;
}
