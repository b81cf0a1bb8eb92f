/**
 * `TcpSock`: one TCP connection's control block (Linux `struct tcp_sock`), its queues and its
 * timers. The state machine lives in input.ts / output.ts / timers in this class; this file holds
 * the data. Ownership: the receive and out-of-order queues own their skbs (freeing them drops the
 * frag references); the token table owns one user reference per live devmem token.
 */
import { InetAddr, type PortUser } from '../inet/index.js';
import type { Route } from '../net/index.js';
import type { SkBuff } from '../skb/index.js';
import { Timer, type TimerTarget } from '../time/index.js';
import {
  TCP_CLOSE, TCP_DEFAULT_MSS, TCP_LISTEN, TCP_INIT_CWND, TCP_RMEM_DEFAULT, TCP_RTO_MIN, TCP_STATE_NAMES, TCP_TIMEOUT_INIT, TCP_WMEM_DEFAULT,
} from './constants.js';
import type { TcpProto } from './proto.js';
import { RtxQueue } from './output/rtx-queue.js';
import { SendBuffer } from './send-buffer.js';
import { TokenTable } from './token-table.js';
import {
  CaState, CwndUsage, TCP_INFINITE_SSTHRESH, tcpIsCwndLimited, type CongestionHolder, type CongestionOps, type CwndValidateSock,
} from './cong/index.js';
import type { PrrSock } from './recovery/prr.js';
import { RackState } from './recovery/rack.js';

/** what the socket layer wants to hear about (all optional work; called synchronously) */
export interface TcpSockOwner {
  /** data, EOF or an error became readable */
  tcpReadable(tp: TcpSock): void;
  /** send space opened, or the connection failed */
  tcpWritable(tp: TcpSock): void;
  /** state changed (connected, closed, …) */
  tcpStateChange(tp: TcpSock): void;
  /** a listener has a connection ready to accept */
  tcpAcceptable(tp: TcpSock): void;
}

/**
 * Transmit timestamps (SO_TIMESTAMPING; the socket layer implements it): TCP calls `xmit` for each
 * data segment [seq, seq + skb.len) it hands to IP (retransmissions included) and `acked` when
 * snd_una advances. `tp.txTstamp` is null unless the socket asked for transmit timestamps.
 */
export interface TcpTxTstampHook {
  xmit(seq: number, skb: SkBuff): void;
  acked(una: number): void;
}

export const TIMER_RTO = 1;
export const TIMER_DELACK = 2;
export const TIMER_TIMEWAIT = 3;
export const TIMER_PERSIST = 4;
export const TIMER_KEEPALIVE = 5;

/** per-socket counters (a subset of Linux TCP_INFO / netstat names) */
export interface TcpSockStats {
  segsIn: number;
  segsOut: number;
  dataSegsIn: number;
  dataSegsOut: number;
  bytesReceived: number;
  bytesAcked: number;
  bytesSent: number;
  bytesRetrans: number;
  retransSegs: number;
  fastRetrans: number;
  timeouts: number;
  dupAcksIn: number;
  ofoQueued: number;
  dupSegsIn: number;
}

/** a network device, as the route hands it to transports */
type NetDevice = Route['dev'];

export class TcpSock implements TimerTarget, PortUser, PrrSock, CwndValidateSock, CongestionHolder {
  state = TCP_CLOSE;
  /** local address (IPv4 v4-mapped; InetAddr.ANY4 / ANY6 until bound or connected) */
  laddr: InetAddr;
  lport = 0;
  /** peer address (the wildcard of the socket's family until connected) */
  raddr: InetAddr;
  rport = 0;
  // PortUser (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY): set before bind / connect
  reuseAddr = false;
  reusePort = false;
  v6only = false;
  /** bound device (SO_BINDTODEVICE), null for any */
  boundDev: NetDevice | null = null;
  /** device of the route to the peer */
  routeDev: NetDevice | null = null;
  /** output interface for link-local peers (0: chosen by the route) */
  oif = 0;
  /** established-hash value of the 4-tuple (valid while hashed) */
  hashValue = 0;

  // send sequence space
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** highest sequence sent + 1 */
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxWindow = 0;
  /** shift applied to the peer's window field */
  sndWscale = 0;
  /** shift we apply to our advertised window */
  rcvWscale = 0;
  wscaleOk = false;
  /** effective send MSS */
  mss = TCP_DEFAULT_MSS;
  /** MSS we advertise */
  advMss = TCP_DEFAULT_MSS;
  /** user TCP_MAXSEG, 0 when unset */
  userMss = 0;
  /** largest segment seen from the peer */
  rcvMss = TCP_DEFAULT_MSS;
  /** the peer's MSS option, clamped by TCP_MAXSEG (Linux rx_opt.mss_clamp) */
  mssClamp = TCP_DEFAULT_MSS;
  /** path MTU the MSS was computed for (Linux icsk_pmtu_cookie) */
  pmtu = 0;

  // options negotiated on the handshake (RFC 7323 timestamps, RFC 2018 SACK)
  /** both sides sent the timestamp option: every segment carries it (Linux rx_opt.tstamp_ok) */
  tsOk = false;
  /** both sides sent SACK-permitted (Linux rx_opt.sack_ok) */
  sackOk = false;
  /** the peer's TSval to echo (Linux rx_opt.ts_recent) */
  tsRecent = 0;
  /** when tsRecent was stored, µs; -1: never (Linux ts_recent_stamp) */
  tsRecentStamp = -1;
  /** added to our ms clock for TSval (Linux tsoffset) */
  tsOffset = 0;
  /**
   * SACK blocks we report (Linux selective_acks): [start, end) pairs, the most recently changed
   * first; `numSacks` of them are valid
   */
  readonly selAcks = new Int32Array(8);
  numSacks = 0;
  /** a DSACK block to report on the next ACK (RFC 2883; Linux duplicate_sack), valid when `dsack` */
  dsack = false;
  dsackStart = 0;
  dsackEnd = 0;

  // receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** right edge we advertised last: rcvWup + rcvWnd */
  rcvWup = 0;
  rcvWnd = 0;
  /** next byte the application reads */
  copiedSeq = 0;
  /** a FIN was received at this sequence (valid when finReceived) */
  finSeq = 0;
  finReceived = false;
  /** our FIN: queued / sent */
  finQueued = false;
  finSent = false;
  /** sequence number of our FIN (valid once queued) */
  finSndSeq = 0;

  // congestion control, in SEGMENTS as Linux (CongSock / PrrSock / CwndValidateSock)
  /** the socket's algorithm instance (Linux icsk_ca_ops + icsk_ca_priv) */
  caOps: CongestionOps;
  /** the application chose the algorithm (TCP_CONGESTION; Linux icsk_ca_setsockopt) */
  caSetsockopt = false;
  /** Linux icsk_ca_state; changed only through tcpSetCaState (input/fast-recovery.ts) */
  caState: CaState = CaState.Open;
  sndCwnd = TCP_INIT_CWND;
  sndSsthresh = TCP_INFINITE_SSTHRESH;
  sndCwndCnt = 0;
  /** Linux snd_cwnd_clamp (~0) */
  readonly sndCwndClamp = 0xffffffff;
  /** segments delivered (ACKed or SACKed) so far (Linux tp->delivered) */
  delivered = 0;
  /** time of the last new-data transmission, ms (Linux lsndtime) */
  lsndtimeMs = 0;
  /** how much of cwnd the last flights used (cong/cwnd.ts) */
  readonly cwndUsage = new CwndUsage();
  // PRR / undo (recovery/prr.ts)
  priorCwnd = 0;
  prrDelivered = 0;
  /** data segments sent when the reduction started (prrOut counts from there) */
  private prrOutBase = 0;
  highSeq = 0;
  tlpHighSeq = 0;
  priorSsthresh = 0;
  // tail loss probe (timer/tlp.ts, recovery/tlp.ts TlpSock)
  /** rtoTimer is armed for a loss probe, not the RTO (Linux ICSK_TIME_LOSS_PROBE) */
  tlpPending = false;
  /** the outstanding probe was a retransmission (Linux tlp_retrans) */
  tlpRetrans = false;
  readonly fastopenPending = false;
  /** lowest RTT sample, µs (Linux tcp_min_rtt, not windowed here); 0xffffffff before one */
  minRttUs = 0xffffffff;
  dupAcks = 0;
  recover = 0;
  /** RTO recovery: everything up to this sequence was presumed lost */
  lossHigh = 0;
  /** sent segments not yet acknowledged, with the SACK scoreboard (output/rtx-queue.ts) */
  readonly rtx = new RtxQueue();
  /** without SACK: duplicate ACKs of this recovery, as bytes that left the network (Linux tcp_add_reno_sack) */
  renoSacked = 0;

  // RTT (RFC 6298), µs
  srtt = 0;
  rttvar = 0;
  rto = TCP_TIMEOUT_INIT;
  rttSeq = 0;
  rttTime = -1;
  backoff = 0;
  retransmits = 0;
  /** zero-window probes sent without an answer (Linux icsk_probes_out) */
  probesOut = 0;
  /** time the current RTO episode started (for giving up) */
  retransStamp = 0;

  // ACK scheduling
  quickAcks = 0;
  /** received but unacknowledged full segments */
  unackedSegs = 0;
  ackPending = false;
  /** in `TcpProto.ackDeferQ`: a regular ACK waits for the end of the device poll (input/ack-defer.ts) */
  ackDeferred = false;
  /** time of our last answer to an invalid segment (Linux last_oow_ack_time), -1 for none */
  lastOowAckTime = -1;

  // buffers
  rcvBuf = TCP_RMEM_DEFAULT;
  sndBuf = TCP_WMEM_DEFAULT;
  readonly sendBuf: SendBuffer;
  /** receive queue, in sequence order */
  rcvHead: SkBuff | null = null;
  rcvTail: SkBuff | null = null;
  rcvQueueBytes = 0;
  /** out-of-order queue, sorted by seq */
  ofoHead: SkBuff | null = null;
  ofoBytes = 0;
  /** peek cursor (SO_PEEK_OFF), -1 when off */
  peekOff = -1;

  // options
  nodelay = false;
  cork = false;
  keepalive = false;
  /** SO_RCVLOWAT */
  rcvLowat = 1;
  shutRd = false;
  shutWr = false;
  /** soft error (Linux sk_err_soft): an ICMP error in a synchronized state, reported instead of ETIMEDOUT */
  softError = 0;
  /** pending hard error (Linux sk_err, positive errno), 0 for none */
  error = 0;
  /** the protocol finished with the connection (tcp_done: sk_shutdown = SHUTDOWN_MASK) */
  shutdownDone = false;
  /** a send found host memory short (SOCK_NOSPACE for memory): woken by tcpWritable */
  memWait = false;
  /** devmem tokens handed to the application */
  readonly tokens = new TokenTable();
  zerocopy = false;

  // listener
  backlog = 0;
  parent: TcpSock | null = null;
  acceptQueue: TcpSock[] = [];
  synQueueLen = 0;
  /** listener: when its SYN queue last overflowed (µs, −1 never; Linux tcp_synq_overflow) */
  synqOverflowUs = -1;
  /** child sockets wait here until accepted */
  inAcceptQueue = false;

  /** wakeup callbacks of the socket layer */
  sockOwner: TcpSockOwner | null = null;
  /** closed by the application (orphan): free when the protocol is done */
  orphan = false;
  /** is a user of its local port in the protocol's port table */
  portHeld = false;
  /** Linux SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK: the user bound the address / port explicitly */
  bindAddrLock = false;
  bindPortLock = false;
  /** hashed in the established table */
  hashed = false;
  hashNext: TcpSock | null = null;

  readonly rtoTimer: Timer;
  readonly delackTimer: Timer;
  readonly twTimer: Timer;
  readonly stats: TcpSockStats = {
    segsIn: 0, segsOut: 0, dataSegsIn: 0, dataSegsOut: 0, bytesReceived: 0, bytesAcked: 0, bytesSent: 0,
    bytesRetrans: 0, retransSegs: 0, fastRetrans: 0, timeouts: 0, dupAcksIn: 0, ofoQueued: 0, dupSegsIn: 0,
  };

  constructor(
    readonly proto: TcpProto,
    /** AF_INET → 4, AF_INET6 → 6 (dual-stack unless v6only) */
    readonly sockFamily: 4 | 6 = 4,
    /** SO_REUSEPORT group key ("uid") */
    public owner = 0,
  ) {
    this.laddr = sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
    this.raddr = this.laddr;
    this.sendBuf = new SendBuffer(proto.mem, proto.skbs.maxFrags);
    this.rtoTimer = new Timer(this, TIMER_RTO);
    this.delackTimer = new Timer(this, TIMER_DELACK);
    this.twTimer = new Timer(this, TIMER_TIMEWAIT);
    this.caOps = proto.congestion.assign();
  }

  /** PortUser: TCP LISTEN */
  get listening(): boolean {
    return this.state === TCP_LISTEN;
  }

  /** network family of the connection on the wire (an AF_INET6 socket may talk IPv4) */
  get wireFamily(): 4 | 6 {
    return this.raddr.family;
  }

  get stateName(): string {
    return TCP_STATE_NAMES[this.state] ?? '?';
  }

  /** in fast recovery (Linux TCP_CA_Recovery) */
  get inRecovery(): boolean {
    return this.caState === CaState.Recovery;
  }

  /** in RTO recovery (Linux TCP_CA_Loss) until snd_una reaches lossHigh */
  get inLoss(): boolean {
    return this.caState === CaState.Loss;
  }

  /** cwnd in bytes: the view the transmit paths compare with the byte-counted pipe */
  get cwnd(): number {
    return this.sndCwnd * this.mss;
  }

  /** segments sent since the cwnd reduction started (Linux prr_out), from the data-segment count */
  get prrOut(): number {
    return this.stats.dataSegsOut - this.prrOutBase;
  }

  set prrOut(v: number) {
    this.prrOutBase = this.stats.dataSegsOut - v;
  }

  /** Linux tcp_packets_in_flight, segments: the byte pipe in MSS, rounded up */
  get packetsInFlight(): number {
    const p = this.pipe;
    return p > 0 ? Math.ceil(p / this.mss) : 0;
  }

  /** Linux packets_out: records in the retransmit queue */
  get packetsOut(): number {
    return this.rtx.count;
  }

  get isCwndLimited(): boolean {
    return tcpIsCwndLimited(this, this.cwndUsage);
  }

  /** Linux srtt_us (µs << 3) */
  get srttUs(): number {
    return this.srtt * 8;
  }

  get nowUs(): number {
    return this.proto.sched.now();
  }

  get nowMs(): number {
    return Math.floor(this.proto.sched.now() / 1000) | 0;
  }

  get rtoMs(): number {
    return Math.floor(this.rto / 1000);
  }

  /** net.ipv4.tcp_early_retrans (3: TLP on, Linux's default) */
  get earlyRetrans(): number {
    return this.proto.sysctl.tcp_early_retrans;
  }

  get rtoMinUs(): number {
    return TCP_RTO_MIN;
  }

  get rtoUs(): number {
    return this.rto;
  }

  /**
   * Linux tcp_rto_delta_us: µs until an RTO counted from the head's last transmission would
   * fire (may be ≤ 0); the full RTO when nothing is out
   */
  get rtoDeltaUs(): number {
    const h = this.rtx.head;
    return h === null ? this.rto : h.xmitUs + this.rto - this.proto.sched.now();
  }

  get initCwnd(): number {
    return TCP_INIT_CWND;
  }

  get sndBufAvailable(): boolean {
    return !this.memWait && this.sendSpace > 0;
  }

  /** CongestionHolder: Linux tcp_reinit_congestion_control */
  replaceCongestion(ops: CongestionOps): void {
    this.caOps = ops;
    if (this.state !== TCP_CLOSE && this.state !== TCP_LISTEN) ops.init(this);
  }

  /** congestion state of a fresh connection (connect, or reuse after disconnect) */
  resetCongestion(): void {
    this.caState = CaState.Open;
    this.sndCwnd = TCP_INIT_CWND;
    this.sndSsthresh = TCP_INFINITE_SSTHRESH;
    this.sndCwndCnt = 0;
    this.dupAcks = 0;
    this.renoSacked = 0;
    this.priorCwnd = this.prrDelivered = this.priorSsthresh = 0;
    this.highSeq = this.tlpHighSeq = 0;
    this.tlpPending = this.tlpRetrans = false;
    this.minRttUs = 0xffffffff;
    const u = this.cwndUsage;
    u.isCwndLimited = false;
    u.maxPacketsOut = u.cwndUsageSeq = u.sndCwndUsed = u.sndCwndStamp = 0;
  }

  /** bytes sent and not yet acknowledged */
  get inFlight(): number {
    return (this.sndNxt - this.sndUna) | 0;
  }

  /**
   * RFC 6675 pipe / Linux tcp_packets_in_flight, in bytes: sent and not acknowledged, less what
   * is SACKed or presumed lost, plus retransmissions in flight
   */
  get pipe(): number {
    const q = this.rtx;
    return this.inFlight - q.sackedOut - q.lostOut + q.retransOut - this.renoSacked;
  }

  /** bytes queued for sending that were never sent */
  get unsent(): number {
    return (this.sendBuf.endSeq - this.sndNxt) | 0;
  }

  /** readable bytes queued (up to a FIN) */
  get readableBytes(): number {
    return (this.rcvNxt - this.copiedSeq - (this.finReceived && this.rcvNxt === ((this.finSeq + 1) | 0) ? 1 : 0)) | 0;
  }

  /** free send-buffer space */
  get sendSpace(): number {
    // Linux __sk_stream_is_writeable(sk, 1), what wakes a writer: free space at least half of
    // what is queued (skb truesize), and unsent bytes below half TCP_NOTSENT_LOWAT
    const q = this.sendBuf.wmemQueued;
    const free = this.sndBuf - q;
    if (free <= 0 || free < q >> 1) return 0;
    const lowat = this.notsentLowat > 0 ? this.notsentLowat : this.proto.sysctl.tcp_notsent_lowat;
    return Math.max(this.unsent, 0) * 2 < lowat ? free : 0;
  }

  onTimer(timer: Timer): void {
    this.proto.onTimer(this, timer.kind);
  }

  // ---- socket options set through the syscall layer (helper tcpconf) ----
  /** SO_RCVBUF was set: the window scale and clamp follow the buffer (Linux SOCK_RCVBUF_LOCK) */
  rcvBufLocked = false;
  /** TCP_NOTSENT_LOWAT, bytes; 0 = the sysctl tcp_notsent_lowat (as Linux) */
  notsentLowat = 0;
  /**
   * TCP_USER_TIMEOUT, µs (0 = off): with data outstanding, the RTO timer gives up once
   * now − firstRetransUs ≥ userTimeout (Linux tcp_write_timeout / retransmits_timed_out), the
   * zero-window probe timer that long after its first probe, keepalive after that much silence
   */
  userTimeout = 0;
  /** TCP_KEEPIDLE / TCP_KEEPINTVL, µs, and TCP_KEEPCNT (0 = the Linux defaults 7200 s, 75 s, 9) */
  keepIdle = 0;
  keepIntvl = 0;
  keepCnt = 0;
  /**
   * Linux pushed_seq: the end of the last write not sent with MSG_MORE (tcp_mark_push); a
   * segment ending there carries PSH
   */
  pushSeq = 0;

  // ---- loss recovery as Linux (helper recovery: input/fast-recovery.ts, recovery/, timer/) ----
  /** RACK state (Linux tp->rack): recovery/rack.ts */
  readonly rack = new RackState();
  /** reordering degree in segments (Linux tp->reordering; net.ipv4.tcp_reordering at start) */
  reordering = 3;
  /** times reordering was seen (Linux tp->reord_seen) */
  reordSeenCount = 0;
  /** undo is possible for the current reduction (Linux undo_marker ≠ 0); `undoMarker` is snd_una then */
  undoActive = false;
  undoMarker = 0;
  /** retransmissions not yet shown spurious by DSACKs (Linux undo_retrans; −1: none counted) */
  undoRetrans = -1;
  /** time of the first retransmission of this episode, µs (Linux retrans_stamp); −1 none */
  firstRetransUs = -1;
  /** F-RTO (RFC 5682) is running for this RTO (Linux tp->frto) */
  frto = false;
  /** the receiver reneged on SACKed data (Linux is_sack_reneg) */
  isSackReneg = false;
  /** segments DSACKed so far (Linux dsack_dups) */
  dsackDups = 0;
  /** without SACK: duplicate ACKs counted as segments that left (Linux sacked_out for Reno) */
  renoSackedSegs = 0;
  /** rtoTimer is armed for the RACK reordering timeout (Linux ICSK_TIME_REO_TIMEOUT) */
  reoPending = false;
  /** the keepalive timer (timer/keepalive.ts; Linux sk_timer) */
  readonly keepaliveTimer: Timer = new Timer(this, TIMER_KEEPALIVE);
  /** time anything was last received, µs (Linux rcv_tstamp / icsk_ack.lrcvtime for keepalive) */
  rcvTstampUs = 0;
  /** cwnd reductions undone (TcpExt TCPFullUndo + TCPPartialUndo + TCPDSACKUndo + TCPLossUndo) */
  undoCount = 0;
  /** RTOs F-RTO found spurious (TcpExt TCPSpuriousRTOs) */
  spuriousRtoCount = 0;
  /** when the first unanswered zero-window probe went, µs (Linux icsk_probes_tstamp); −1 none */
  probesTstampUs = -1;

  /** RackSock: reordering was ever seen */
  get reordSeen(): boolean {
    return this.reordSeenCount !== 0;
  }

  /** RackSock: SACKed segments (Linux sacked_out) */
  get sackedOut(): number {
    return this.sackOk ? Math.ceil(this.rtx.sackedOut / this.mss) : this.renoSackedSegs;
  }

  /** RackSock: net.ipv4.tcp_recovery */
  get sysctlRecovery(): number {
    return this.proto.sysctl.tcp_recovery;
  }

  /** SO_TIMESTAMPING transmit-timestamp hook (socket layer), null when off */
  txTstamp: TcpTxTstampHook | null = null;

  // ---- write queue / tcp_write_xmit state (helper sendq) ----
  /** Linux snd_sml: end of the last sub-MSS packet sent (Minshall's Nagle) */
  sndSml = 0;
  /** Linux tcp_wstamp_ns, µs: when the last data packet left (TSO deferral looks 1 ms back) */
  wstampUs = -1_000_000;
  /** Linux TCP_NAGLE_PUSH in tp->nonagle: set by TCP_NODELAY (and uncorking with it), cleared when a new record is queued */
  nonaglePush = false;
  /** Linux SOCK_NOSPACE: a send stopped on SO_SNDBUF / TCP_NOTSENT_LOWAT (the sndbuf-limited chrono runs) */
  sndNoSpace = false;

  // ---- send chronographs (helper rcvside: chrono.ts; Linux chrono_type / chrono_start / chrono_stat) ----
  /** the running chrono (TCP_CHRONO_*), since `chronoStart` µs */
  chronoType = 0;
  chronoStart = 0;
  /** closed intervals per chrono, µs */
  chronoBusyUs = 0;
  chronoRwndUs = 0;
  chronoSndbufUs = 0;

  // ---- ECN (helper rcvside: ecn.ts) ----
  /** Linux tp->ecn_flags: TCP_ECN_OK / QUEUE_CWR / DEMAND_CWR / SEEN */
  ecnFlags = 0;
}
