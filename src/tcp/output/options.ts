/**
 * Which options a segment carries (Linux tcp_syn_options / tcp_synack_options /
 * tcp_established_options): SYN — MSS, SACK-permitted, timestamps, window scale as the host's
 * settings allow; SYN-ACK — the same, but only what the peer's SYN offered; every later segment
 * of a connection — the timestamp option when negotiated, and SACK blocks (a DSACK block first,
 * once) when SACK is negotiated and there is something to report. Writes into the host's
 * scratch `TcpOptions`; the builder lays them out.
 */
import type { TcpOptions } from '../../wire/tcp.js';
import type { TcpProto } from '../proto.js';
import type { TcpSock } from '../sock.js';

/** our TSval for `tp` now: a 1 kHz clock plus the connection's offset (RFC 7323 §5.4) */
export function tcpTsVal(tcp: TcpProto, tp: TcpSock): number {
  return (Math.floor(tcp.sched.now() / 1000) + tp.tsOffset) | 0;
}

/** fills `o` for our SYN (`synAck` false) or SYN-ACK */
export function tcpSynOptions(tcp: TcpProto, tp: TcpSock, o: TcpOptions, synAck: boolean): void {
  o.reset();
  o.mss = tp.advMss;
  const sys = tcp.sysctl;
  if (synAck ? tp.wscaleOk : sys.tcp_window_scaling) o.wscale = tp.rcvWscale;
  if (synAck ? tp.sackOk : sys.tcp_sack) o.sackPermitted = true;
  if (synAck ? tp.tsOk : sys.tcp_timestamps) {
    o.hasTimestamp = true;
    o.tsVal = tcpTsVal(tcp, tp);
    o.tsEcr = synAck ? tp.tsRecent : 0;
  }
}

/**
 * fills `o` for a segment of a synchronized connection; false when it carries no option (then
 * `o` is untouched). A pending DSACK block is reported once.
 */
export function tcpEstablishedOptions(tcp: TcpProto, tp: TcpSock, o: TcpOptions): boolean {
  const sacks = tp.sackOk ? tp.numSacks + (tp.dsack ? 1 : 0) : 0;
  if (!tp.tsOk && sacks === 0) return false;
  o.reset();
  if (tp.tsOk) {
    o.hasTimestamp = true;
    o.tsVal = tcpTsVal(tcp, tp);
    o.tsEcr = tp.tsRecent;
  }
  if (sacks > 0) {
    const b = o.sackBlocks;
    let n = 0;
    if (tp.dsack) {
      b[0] = tp.dsackStart;
      b[1] = tp.dsackEnd;
      n = 1;
      tp.dsack = false;
    }
    const sel = tp.selAcks;
    // option space: 4 blocks, 3 beside the timestamp (Linux tcp_established_options)
    const max = tp.tsOk ? 3 : 4;
    for (let i = 0; i < tp.numSacks && n < max; i++, n++) {
      b[2 * n] = sel[2 * i]!;
      b[2 * n + 1] = sel[2 * i + 1]!;
    }
    o.sackCount = n;
  }
  return true;
}

/**
 * Linux tcp_current_mss: the payload of a full segment now — the MSS (options of every segment,
 * the timestamp, already taken out; at most half the peer's largest window, as tcp_sync_mss)
 * less the SACK blocks the next segment carries
 */
export function tcpCurrentMss(tp: TcpSock): number {
  let mss = tp.mss;
  // tcp_sync_mss: bounded by half the largest window the peer offered (tcp_bound_to_half_wnd)
  const mw = tp.maxWindow;
  const cutoff = mw > 536 ? mw >> 1 : mw;
  if (cutoff > 0 && mss > cutoff) mss = Math.max(cutoff, 68 - 20 - (tp.tsOk ? 12 : 0));
  const sacks = tp.sackOk ? tp.numSacks + (tp.dsack ? 1 : 0) : 0;
  if (sacks === 0) return mss;
  const room = tp.tsOk ? 3 : 4;
  return mss - 4 - 8 * (sacks < room ? sacks : room);
}
