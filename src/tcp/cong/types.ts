/**
 * Congestion control as a module, in the shape of Linux's `struct tcp_congestion_ops`.
 *
 * Contract:
 *  - an algorithm is a factory registered by name (`registerCongestion`); `TCP_CONGESTION`
 *    selects one per socket, the sysctl `net.ipv4.tcp_congestion_control` the default (cubic);
 *  - the TCP core owns the socket state and exposes it through `CongSock`, counted in SEGMENTS
 *    as Linux counts them (`snd_cwnd`, `snd_ssthresh`, `snd_cwnd_cnt`), time in µs
 *    (`tcp_mstamp`) and ms (`tcp_jiffies32` / `tcp_time_stamp`);
 *  - the core calls the hooks at the points Linux calls them: `init` when the connection is
 *    established, `ssthresh` on entering loss recovery or RTO, `congAvoid` for every ACK that
 *    advances snd_una outside recovery (`tcp_cong_avoid`), `pktsAcked` with an RTT sample
 *    (`tcp_ack` → `tcp_clean_rtx_queue`), `setState` on CA state changes, `cwndEvent` on
 *    tx-start / CWR / complete-CWR / loss / ECN events, `undoCwnd` when a recovery is undone;
 *  - hooks never allocate per ACK; each instance holds its own per-socket state (Linux `icsk_ca_priv`).
 */

/** Linux `enum tcp_ca_state` */
export const enum CaState { Open = 0, Disorder = 1, CWR = 2, Recovery = 3, Loss = 4 }

/** Linux `enum tcp_ca_event` */
export const enum CaEvent { TxStart = 0, CwndRestart = 1, CompleteCwr = 2, Loss = 3, EcnNoCe = 4, EcnIsCe = 5 }

/** the socket state an algorithm reads and writes (implemented by the TCP core) */
export interface CongSock {
  /** congestion window, segments */
  sndCwnd: number;
  /** slow-start threshold, segments (0x7fffffff = infinite, `TCP_INFINITE_SSTHRESH`) */
  sndSsthresh: number;
  /** linear-increase counter (`snd_cwnd_cnt`) */
  sndCwndCnt: number;
  /** upper bound for cwnd (`snd_cwnd_clamp`) */
  readonly sndCwndClamp: number;
  /** sender MSS, bytes */
  readonly mss: number;
  /** segments in flight (`tcp_packets_in_flight`) */
  readonly packetsInFlight: number;
  /** whether the last send was limited by cwnd (`tcp_is_cwnd_limited`) */
  readonly isCwndLimited: boolean;
  /** smoothed RTT in µs << 3 (`srtt_us`), 0 before the first sample */
  readonly srttUs: number;
  /** windowed minimum RTT, µs (`tcp_min_rtt`), 0xffffffff before the first sample */
  readonly minRttUs: number;
  /** segments delivered so far (`tp->delivered`) */
  readonly delivered: number;
  /** current time, µs (`tp->tcp_mstamp`) */
  readonly nowUs: number;
  /** current time, ms (`tcp_jiffies32` at HZ=1000) */
  readonly nowMs: number;
  /** snd_nxt / snd_una (sequence numbers, u32) for HyStart round tracking */
  readonly sndNxt: number;
  readonly sndUna: number;
  /** current CA state */
  readonly caState: CaState;
  /* --- added by the cong modules (members above are the lead's contract) --- */
  /** cwnd when the last reduction started (`tp->prior_cwnd`, set by tcp_init_cwnd_reduction and
   *  tcp_enter_loss); read by `undoCwnd` (tcp_reno_undo_cwnd) */
  readonly priorCwnd: number;
  /** time of the last data transmission, ms (`tp->lsndtime`); the core calls
   *  `cwndEvent(TxStart)` BEFORE it updates this (tcp_event_data_sent) */
  readonly lsndtimeMs: number;
  /** `sk_pacing_rate` in bytes/s (0: none computed); HyStart's ACK-train cushion */
  readonly pacingRate?: number;
  /** `sk_pacing_status != SK_PACING_NONE` (fq or internal pacing active) */
  readonly pacingEnabled?: boolean;
  /** `sk_gso_max_size`, bytes (65536 when absent) */
  readonly gsoMaxSize?: number;
}

/** RTT sample passed to `pktsAcked` (Linux `struct ack_sample`) */
export interface AckSample {
  /** segments newly acked by this ACK */
  pktsAcked: number;
  /** RTT of this ACK in µs, negative when none */
  rttUs: number;
  /** packets in flight before this ACK */
  inFlight: number;
}

/** Linux `struct tcp_congestion_ops`, one instance per socket */
export interface CongestionOps {
  readonly name: string;
  init(tp: CongSock): void;
  /** new slow-start threshold after loss (required) */
  ssthresh(tp: CongSock): number;
  /** cwnd growth for `acked` newly acked segments (required) */
  congAvoid(tp: CongSock, ack: number, acked: number): void;
  setState?(tp: CongSock, state: CaState): void;
  cwndEvent?(tp: CongSock, ev: CaEvent): void;
  pktsAcked?(tp: CongSock, sample: AckSample): void;
  /** cwnd to restore when a recovery turns out spurious (required) */
  undoCwnd(tp: CongSock): number;
}

export type CongestionFactory = () => CongestionOps;
