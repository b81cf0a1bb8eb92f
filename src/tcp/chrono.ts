/**
 * Send-side chronographs (Linux tcp_chrono_start / tcp_chrono_stop / tcp_chrono_set and
 * tcp_get_info_chrono_stats): how long the connection had data to send (busy), how much of that
 * it was held back by the peer's receive window (rwnd limited) or by its own send buffer (sndbuf
 * limited), reported as tcpi_busy_time (the sum of all three), tcpi_rwnd_limited and
 * tcpi_sndbuf_limited, µs. One chrono runs at a time; a more interesting one (higher type)
 * preempts a running one, and stopping the running one falls back to busy while data is queued.
 *
 * Call points: `tcpChronoXmit` at the end of every tcp_write_xmit pass (it covers the write
 * queue's first skb — Linux starts busy in tcp_add_write_queue_tail — the window test of the
 * send head, and the queues running empty once an ACK cleaned them — Linux tcp_clean_rtx_queue —
 * since the ACK step ends with a write_xmit pass); `tcpChronoStart/Stop(TCP_CHRONO_SNDBUF_LIMITED)` where a send finds no
 * buffer space and where space comes back. The state lives on the TcpSock (chrono* fields); no
 * allocation, a few comparisons per call.
 */
import type { TcpSock } from './sock.js';

export const TCP_CHRONO_UNSPEC = 0;
/** data queued for sending (write or retransmit queue not empty) */
export const TCP_CHRONO_BUSY = 1;
/** the send head does not fit the peer's window */
export const TCP_CHRONO_RWND_LIMITED = 2;
/** a send waits for send-buffer space */
export const TCP_CHRONO_SNDBUF_LIMITED = 3;

/** closes the running chrono's interval at `now` and starts `type` (Linux tcp_chrono_set) */
function tcpChronoSet(tp: TcpSock, type: number, now: number): void {
  const old = tp.chronoType;
  const d = now - tp.chronoStart;
  if (old === TCP_CHRONO_BUSY) tp.chronoBusyUs += d;
  else if (old === TCP_CHRONO_RWND_LIMITED) tp.chronoRwndUs += d;
  else if (old === TCP_CHRONO_SNDBUF_LIMITED) tp.chronoSndbufUs += d;
  tp.chronoStart = now;
  tp.chronoType = type;
}

/** Linux tcp_rtx_and_write_queues_empty: nothing unacknowledged and nothing unsent */
function queuesEmpty(tp: TcpSock): boolean {
  return tp.sndNxt === tp.sndUna && tp.unsent <= 0;
}

/** Linux tcp_chrono_start: `type` runs unless a more interesting one already does */
export function tcpChronoStart(tp: TcpSock, type: number, now: number): void {
  if (type > tp.chronoType) tcpChronoSet(tp, type, now);
}

/**
 * Linux tcp_chrono_stop: with both queues empty every chrono stops; otherwise stopping the
 * running one falls back to busy
 */
export function tcpChronoStop(tp: TcpSock, type: number, now: number): void {
  if (queuesEmpty(tp)) {
    if (tp.chronoType !== TCP_CHRONO_UNSPEC) tcpChronoSet(tp, TCP_CHRONO_UNSPEC, now);
  } else if (type === tp.chronoType) {
    tcpChronoSet(tp, TCP_CHRONO_BUSY, now);
  }
}

/**
 * After a tcp_write_xmit pass (Linux: the busy chrono starts with the write queue's first skb,
 * then `is_rwnd_limited ? tcp_chrono_start(RWND_LIMITED) : tcp_chrono_stop(RWND_LIMITED)`):
 * `rwndLimited` when the pass stopped because the send head did not fit the peer's window (Linux
 * tests cwnd first: a cwnd-limited head is not rwnd limited). With both queues empty (an ACK
 * cleaned them; the ACK step ends with a pass) every chrono stops.
 */
export function tcpChronoXmit(tp: TcpSock, now: number, rwndLimited: boolean): void {
  if (tp.chronoType === TCP_CHRONO_UNSPEC && tp.unsent > 0) tcpChronoSet(tp, TCP_CHRONO_BUSY, now);
  if (rwndLimited) tcpChronoStart(tp, TCP_CHRONO_RWND_LIMITED, now);
  else if (tp.chronoType !== TCP_CHRONO_UNSPEC) tcpChronoStop(tp, TCP_CHRONO_RWND_LIMITED, now);
}

/** tcp_get_info_chrono_stats: the three totals up to `now`, µs */
export interface ChronoStats {
  busyTime: number;
  rwndLimited: number;
  sndbufLimited: number;
}

/** fills `out` with tcpi_busy_time (all three chronos), tcpi_rwnd_limited, tcpi_sndbuf_limited */
export function tcpChronoStats(tp: TcpSock, now: number, out: ChronoStats): ChronoStats {
  const run = tp.chronoType !== TCP_CHRONO_UNSPEC ? now - tp.chronoStart : 0;
  const busy = tp.chronoBusyUs + (tp.chronoType === TCP_CHRONO_BUSY ? run : 0);
  const rwnd = tp.chronoRwndUs + (tp.chronoType === TCP_CHRONO_RWND_LIMITED ? run : 0);
  const sndbuf = tp.chronoSndbufUs + (tp.chronoType === TCP_CHRONO_SNDBUF_LIMITED ? run : 0);
  out.busyTime = busy + rwnd + sndbuf;
  out.rwndLimited = rwnd;
  out.sndbufLimited = sndbuf;
  return out;
}
