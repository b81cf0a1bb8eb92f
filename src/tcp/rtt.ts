/**
 * The RTT estimator and RTO (RFC 6298 as Linux tcp_rtt_estimator / __tcp_set_rto): one timed
 * segment at a time (rtt_seq / rtt_time), Karn's rule applied by the callers, the floor
 * TCP_RTO_MIN on the variance term as Linux applies it. Times in µs.
 */
import { TCP_RTO_MAX, TCP_RTO_MIN } from './constants.js';
import type { TcpProto } from './proto.js';
import type { TcpSock } from './sock.js';

/** takes the sample of the timed SYN / SYN-ACK (if one is timed) and recomputes the RTO */
export function tcpRttSample(tcp: TcpProto, tp: TcpSock): void {
  if (tp.rttTime < 0) return;
  const r = Math.max(tcp.sched.now() - tp.rttTime, 1);
  tp.rttTime = -1;
  tcpRttUpdate(tp, r);
}

/** one RTT measurement `r` (µs): RFC 6298 §2 smoothing, then the RTO */
export function tcpRttUpdate(tp: TcpSock, r: number): void {
  if (r < tp.minRttUs) tp.minRttUs = r;
  if (tp.srtt === 0) {
    tp.srtt = r;
    tp.rttvar = r >> 1;
  } else {
    const delta = r - tp.srtt;
    tp.rttvar += ((Math.abs(delta) - tp.rttvar) >> 2);
    tp.srtt += delta >> 3;
  }
  tcpComputeRto(tp);
}

/** RTO = srtt + max(4·rttvar, TCP_RTO_MIN), at most TCP_RTO_MAX (unchanged before a sample) */
export function tcpComputeRto(tp: TcpSock): void {
  if (tp.srtt === 0) return;
  const rto = tp.srtt + Math.max(4 * tp.rttvar, TCP_RTO_MIN);
  tp.rto = Math.min(rto, TCP_RTO_MAX);
}
