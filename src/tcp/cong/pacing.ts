/**
 * The pacing rate TCP computes for itself, as Linux tcp_update_pacing_rate (tcp_input.c):
 * 200 % of cwnd · mss / srtt while cwnd is below half of ssthresh
 * (`net.ipv4.tcp_pacing_ss_ratio`), 120 % otherwise (`tcp_pacing_ca_ratio`), counting
 * max(cwnd, packets_out), capped by SO_MAX_PACING_RATE.
 *
 * Contract: the core calls it after every RTT update (Linux: each ACK in tcp_ack, and at
 * connection start) and stores the result as `CongSock.pacingRate` (HyStart reads it) and for
 * its pacer, if any. Bytes per second; pure and allocation-free. The product is exact below
 * 2^53 (cwnd up to ~390 000 segments of 1448 bytes); beyond that Linux's u64 wraps and ours
 * rounds — neither is a real window.
 */

/** Linux defaults of net.ipv4.tcp_pacing_ss_ratio / tcp_pacing_ca_ratio, percent */
export const TCP_PACING_SS_RATIO = 200;
export const TCP_PACING_CA_RATIO = 120;
/** SO_MAX_PACING_RATE default: unlimited (~0UL) */
export const MAX_PACING_RATE_UNLIMITED = Infinity;

export interface PacingInputs {
  /** sender MSS (`mss_cache`), bytes */
  readonly mss: number;
  readonly sndCwnd: number;
  readonly sndSsthresh: number;
  /** segments sent and not ACKed (`packets_out`) */
  readonly packetsOut: number;
  /** smoothed RTT, µs << 3 (0: none yet, the rate is then not divided) */
  readonly srttUs: number;
}

/** Linux tcp_update_pacing_rate: bytes/s */
export function tcpPacingRate(
  tp: PacingInputs, ssRatio = TCP_PACING_SS_RATIO, caRatio = TCP_PACING_CA_RATIO,
  maxRate = MAX_PACING_RATE_UNLIMITED,
): number {
  // mss · (USEC_PER_SEC / 100) << 3: the << 3 matches srtt's scaling, /100 the percent ratio
  const ratio = tp.sndCwnd < Math.floor(tp.sndSsthresh / 2) ? ssRatio : caRatio;
  const base = tp.mss * 80_000 * ratio;
  const segs = Math.max(tp.sndCwnd, tp.packetsOut);
  let rate = base * segs;
  if (tp.srttUs) rate = Math.floor(rate / tp.srttUs);
  return Math.min(rate, maxRate);
}
