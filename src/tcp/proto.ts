/**
 * `TcpProto`: a host's TCP over IPv4 and IPv6 alike, and the entry point of everything TCP does.
 * It registers with the IP layer as the IPPROTO_TCP `Transport` and holds what the host shares
 * (MIB counters, the demux tables, the port table, rate-limit budgets, scratch option records,
 * the segment builder's flyweights). The socket layer calls the `user*` entry points (results
 * are 0 / byte counts or negative errno values, never exceptions). The protocol itself is
 * organised by concern, as Linux's tcp_input / tcp_output / tcp_timer:
 *   input/        rcv (header checks, demux, dispatch by state), listen + cookie-req (LISTEN,
 *                 SYN_RECV, SYN cookies), syn-sent, established (synchronized states), validate
 *                 (PAWS, RFC 5961, rate limits), ack (tcp_ack, clean_rtx_queue), sack + sack-blocks
 *                 (scoreboard, DSACK; our SACK option), fast-recovery (tcp_fastretrans_alert,
 *                 undo, F-RTO), data (receive queue, FIN, ACK policy), ofo, timewait
 *   output/       builder (the one segment builder), xmit (tcp_write_xmit: TSO sizing and
 *                 deferral, Nagle), options, control (ACK, SYN, RST, FIN, probes), window
 *                 (tcp_select_window), retransmit, rtx-queue (sent records, RACK's send order)
 *   write-queue/  the send side's skbs (tcp_sendmsg, size goal, PSH, EOR, caller-owned frags)
 *   recovery/     RACK, TLP, PRR, the FLAG_* bits, cong-control (cwnd on each ACK)
 *   cong/         tcp_congestion_ops: CUBIC, Reno, the registry, pacing
 *   timer/        dispatch, rto (retransmission, probe, give-up), tlp, keepalive
 *   conn.ts (connection set-up, ISN, teardown), rtt.ts, err.ts (ICMP), ecn.ts, chrono.ts,
 *   demux, ratelimit, syncookies, isn, …
 *
 * Ownership: `rcv` takes the skb; a segment's skb either joins a queue of its connection or is
 * freed before `rcv` returns. Local ports belong to `ports` (bound sockets, TIME_WAIT included,
 * until `done`).
 */
import { CongestionConfig } from './cong/registry.js';
import { InetAddr, PortTable, isLinkLocal, isUnspecified, isV4, type Addr } from '../inet/index.js';
import type { IcmpErr, IpLayer, OutputOptions, RxMeta, Transport } from '../net/index.js';
import type { MemSpace } from '../mem/index.js';
import type { Rng } from '../rand/index.js';
import type { SkBuff, SkbCache } from '../skb/index.js';
import type { Scheduler } from '../time/index.js';
import { ERRNO } from '../uapi/index.js';
import { IPPROTO_TCP } from '../wire/ipv4.js';
import { TcpOptions, TcpView } from '../wire/tcp.js';
import {
  EPHEMERAL_HIGH, EPHEMERAL_LOW, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_TIMEOUT,
  TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIMEOUT_INIT,
  TCP_RMEM_DEFAULT, TCP_WMEM_DEFAULT,
} from './constants.js';
import { tcpDone, tcpInitConnection, tcpListenStop, tcpPurgeRcv, tcpUnreadData } from './conn.js';
import { TcpDemux } from './demux.js';
import { tcpErr } from './err.js';
import { tcpFlushDeferredAcks } from './input/ack-defer.js';
import { tcpPurgeOfo } from './input/ofo.js';
import { tcpRcv } from './input/rcv.js';
import { TcpMemWait } from './mem-wait.js';
import { TcpSegmentFields } from './output/builder.js';
import { tcpQueueFin, tcpSendAck, tcpSendActiveReset, tcpSendSyn } from './output/control.js';
import { tcpCleanupRbuf } from './output/window.js';
import { tcpWriteXmit } from './output/xmit.js';
import { ChallengeAckBudget, TCP_INVALID_RATELIMIT } from './ratelimit.js';
import { TcpSock } from './sock.js';
import { IsnSecrets } from './isn.js';
import { SynCookies } from './syncookies.js';
import { tcpOnTimer } from './timer/index.js';
import { tcpSendmsg } from './write-queue/sendmsg.js';

/** Linux `Tcp` MIB counters (camelCase) */
export interface TcpMib {
  activeOpens: number;
  passiveOpens: number;
  attemptFails: number;
  estabResets: number;
  currEstab: number;
  inSegs: number;
  outSegs: number;
  retransSegs: number;
  inErrs: number;
  outRsts: number;
  inCsumErrors: number;
  /** segments for no socket */
  noPort: number;
  /** SYNs dropped because the listen queue was full */
  listenDrops: number;
  /** data dropped because the receive buffer was full */
  rcvPruned: number;
  /** TcpExt TCPFastRetrans / TCPTimeouts */
  fastRetrans: number;
  timeouts: number;
  /** ICMP errors for no connection, or whose quoted sequence is out of window (TcpExt OutOfWindowIcmps) */
  icmpNoSock: number;
  outOfWindowIcmps: number;
  /** path MTU reductions applied (MSS lowered) */
  pmtuReduced: number;
  /** sends that found host memory short */
  memWaits: number;
  /**
   * TcpExt TCPACKSkippedSeq / SynRecv / TimeWait / Challenge: answers to invalid segments left
   * out by the per-socket rate limit (tcp_invalid_ratelimit)
   */
  ackSkippedSeq: number;
  ackSkippedSynRecv: number;
  ackSkippedTimeWait: number;
  ackSkippedChallenge: number;
  /** TcpExt TCPChallengeACK (sent) / TCPSYNChallenge (SYNs in a synchronized state) */
  challengeAck: number;
  synChallenge: number;
  /** TcpExt EmbryonicRsts: passive opens dropped by a RST or SYN before the handshake completed */
  embryonicRsts: number;
  /** TcpExt PAWSEstabRejected / TCPACKSkippedPAWS: segments PAWS rejected, their answers left out */
  pawsEstabRejected: number;
  ackSkippedPaws: number;
  /** SACK blocks received (valid ones), DSACK blocks received (TcpExt TCPDSACKRecv), blocks ignored as invalid (TCPSACKDiscard) */
  sackBlocksIn: number;
  dsacksIn: number;
  sackDiscard: number;
  /** TcpExt SyncookiesSent / SyncookiesRecv / SyncookiesFailed (src/tcp/input/cookie-req.ts) */
  syncookiesSent: number;
  syncookiesRecv: number;
  syncookiesFailed: number;
}

/** options of `userBind` (they are also plain fields of the socket) */
export interface TcpBindFlags {
  reuseAddr?: boolean;
  reusePort?: boolean;
  v6only?: boolean;
}

/**
 * The net.ipv4.tcp_* settings TCP honours, by their Linux names (the packetdrill interpreter sets
 * them by name, so a key exists only when the stack acts on it). Defaults are Linux's except the
 * buffers: without receive-buffer autotuning the default buffer is the maximum (6 MiB receive,
 * 4 MiB send), where Linux starts at 128 KiB / 16 KiB and grows.
 */
export interface TcpSysctl {
  /** offer / accept RFC 7323 timestamps */
  tcp_timestamps: boolean;
  /** offer / accept SACK */
  tcp_sack: boolean;
  /** report duplicates with DSACK blocks */
  tcp_dsack: boolean;
  /** offer / accept window scaling */
  tcp_window_scaling: boolean;
  /** 0 off, 1 cookies when a SYN queue overflows (default), 2 always */
  tcp_syncookies: number;
  /**
   * [min, default, max] receive buffer, bytes: a new socket's buffer is `default`; the window
   * scale covers max(`max`, core rmem_max) as Linux tcp_select_initial_window
   */
  tcp_rmem: number[];
  /** [min, default, max] send buffer, bytes: a new socket's buffer is `default` */
  tcp_wmem: number[];
  /** bytes of not-yet-sent data above which a socket is not writable (TCP_NOTSENT_LOWAT default) */
  tcp_notsent_lowat: number;
  /** 3 or 4: tail loss probes (RFC 8985 §7, Linux default 3); other values: none */
  tcp_early_retrans: number;
  /** RACK bits (recovery/rack.ts TCP_RACK_*): 1 Linux default; RACK is the only SACK loss detection */
  tcp_recovery: number;
  /** initial reordering degree (segments) and its cap */
  tcp_reordering: number;
  tcp_max_reordering: number;
  /** F-RTO (RFC 5682) after an RTO: 0 off, else on (Linux default 2) */
  tcp_frto: number;
  /** RTOs before giving up on an established connection (15) / on an orphan (0 means 8) */
  tcp_retries2: number;
  tcp_orphan_retries: number;
  /** keepalive defaults, seconds / probes (7200, 75, 9) */
  tcp_keepalive_time: number;
  tcp_keepalive_intvl: number;
  tcp_keepalive_probes: number;
  /** TSO packets carry at least this many MSS (tcp_tso_autosize) */
  tcp_min_tso_segs: number;
  /** TSO deferral waits while less than 1/divisor of the window is usable (0: the 3-MSS rule) */
  tcp_tso_win_divisor: number;
  /** RFC 5681 §4.1: restart the window after an idle period longer than the RTO */
  tcp_slow_start_after_idle: boolean;
  /** the pacing rate (and so the TSO size), percent of cwnd / srtt in slow start and after */
  tcp_pacing_ss_ratio: number;
  tcp_pacing_ca_ratio: number;
  /** RFC 3168 ECN: 0 off, 1 request on outgoing and accept on incoming connections, 2 accept only (ecn.ts) */
  tcp_ecn: number;
  /** RFC 1337: a RST in TIME_WAIT is ignored (Linux default 0: it ends TIME_WAIT) */
  tcp_rfc1337: boolean;
}

/** net.core.rmem_max (Linux default): the window scale covers at least this much */
export const SYSCTL_RMEM_MAX = 212992;

/** sendmsg flags userSend passes on (uapi MSG_MORE, MSG_EOR) */
const MSG_MORE_FLAG = 0x8000;
const MSG_EOR_FLAG = 0x80;

export class TcpProto implements Transport {
  readonly stats: TcpMib = {
    activeOpens: 0, passiveOpens: 0, attemptFails: 0, estabResets: 0, currEstab: 0, inSegs: 0, outSegs: 0,
    retransSegs: 0, inErrs: 0, outRsts: 0, inCsumErrors: 0, noPort: 0, listenDrops: 0, rcvPruned: 0, fastRetrans: 0,
    timeouts: 0, icmpNoSock: 0, outOfWindowIcmps: 0, pmtuReduced: 0, memWaits: 0, ackSkippedSeq: 0,
    ackSkippedSynRecv: 0, ackSkippedTimeWait: 0, ackSkippedChallenge: 0, challengeAck: 0, synChallenge: 0,
    embryonicRsts: 0, syncookiesSent: 0, syncookiesRecv: 0, syncookiesFailed: 0, pawsEstabRejected: 0, ackSkippedPaws: 0,
    sackBlocksIn: 0, dsacksIn: 0, sackDiscard: 0,
  };
  /** net.ipv4.tcp_* settings (change before connections open) */
  readonly sysctl: TcpSysctl = {
    tcp_timestamps: true, tcp_sack: true, tcp_dsack: true, tcp_window_scaling: true, tcp_syncookies: 1,
    tcp_rmem: [4096, TCP_RMEM_DEFAULT, TCP_RMEM_DEFAULT], tcp_wmem: [4096, TCP_WMEM_DEFAULT, TCP_WMEM_DEFAULT],
    tcp_notsent_lowat: 0xffffffff, tcp_early_retrans: 3,
    tcp_recovery: 1, tcp_reordering: 3, tcp_max_reordering: 300, tcp_frto: 2, tcp_retries2: 15, tcp_orphan_retries: 0,
    tcp_keepalive_time: 7200, tcp_keepalive_intvl: 75, tcp_keepalive_probes: 9,
    tcp_min_tso_segs: 2, tcp_tso_win_divisor: 3, tcp_slow_start_after_idle: true, tcp_pacing_ss_ratio: 200,
    tcp_pacing_ca_ratio: 120, tcp_ecn: 2, tcp_rfc1337: false,
  };
  /** congestion control: net.ipv4.tcp_congestion_control and the allowed list (cong/registry.ts) */
  readonly congestion = new CongestionConfig();
  /** RFC 6528 ISN and timestamp-offset secrets (isn.ts) and the SYN cookie secrets (syncookies.ts) */
  readonly isnSecrets: IsnSecrets;
  readonly synCookies: SynCookies;
  /** net.ipv4.tcp_invalid_ratelimit, µs: one answer to invalid segments per socket per period */
  invalidRatelimit = TCP_INVALID_RATELIMIT;
  /** host-wide challenge ACK budget; `challengeAcks.limit` is net.ipv4.tcp_challenge_ack_limit */
  readonly challengeAcks: ChallengeAckBudget;
  /** established and listening sockets */
  readonly demux: TcpDemux;
  /** local ports (bind conflicts, RFC 6056 ephemeral ports) */
  readonly ports: PortTable;
  /** scratch: options of the segment being received (filled by input/rcv) */
  readonly opts = new TcpOptions();
  /** scratch: options of the segment being built */
  readonly txOpts = new TcpOptions();
  /** scratch: header fields and header view of the segment being built (output/builder) */
  readonly txSeg = new TcpSegmentFields();
  readonly txView = new TcpView();
  /** scratch: IP TOS / traffic class of the segment being received (input/rcv, for ECN CE marks) */
  rxTos = 0;
  /**
   * scratch: the segment being received came from a device polled NAPI-style (a link port that
   * ends each batch with `napiComplete`): its regular ACK may wait for the batch's end (input/ack-defer.ts)
   */
  rxNapi = false;
  /** sockets whose regular ACK waits for the end of the current device poll; first `ackDeferLen` are live */
  readonly ackDeferQ: (TcpSock | null)[] = [];
  ackDeferLen = 0;
  /** scratch: the ISN for the connection a SYN to a TIME_WAIT 4-tuple opens (timewait.ts; 0: none) */
  twIsn = 0;
  /** scratch: IP ECN field of the segment being built (ecn.ts tcpEcnSend), and its output options */
  txEcn = 0;
  readonly txIpOpts: OutputOptions = { tos: 0 };
  /** sockets whose last send found host memory short */
  readonly memWait: TcpMemWait;

  constructor(
    readonly ip: IpLayer,
    readonly skbs: SkbCache,
    readonly mem: MemSpace,
    readonly sched: Scheduler,
    readonly rng: Rng,
  ) {
    this.memWait = new TcpMemWait(sched);
    this.challengeAcks = new ChallengeAckBudget(rng.fork('tcp-challenge-ack'));
    const secrets = rng.fork('tcp-secrets');
    this.isnSecrets = new IsnSecrets(rng.fork('tcp-isn'));
    this.synCookies = new SynCookies(rng.fork('tcp-syncookies'));
    this.demux = new TcpDemux(secrets.nextU32(), secrets.nextU32());
    this.ports = new PortTable(secrets.nextU32(), EPHEMERAL_LOW, EPHEMERAL_HIGH);
    ip.register(IPPROTO_TCP, this);
  }

  // =====================================================================================
  // user entry points
  // =====================================================================================

  /** a new unconnected socket of AF_INET (4) or AF_INET6 (6); `owner` is the SO_REUSEPORT key */
  socket(family: 4 | 6 = 4, owner = 0): TcpSock {
    const tp = new TcpSock(this, family, owner);
    // a new socket's buffers are the sysctl defaults (Linux tcp_init_sock)
    const r = this.sysctl.tcp_rmem[1];
    const w = this.sysctl.tcp_wmem[1];
    if (r !== undefined && r > 0) tp.rcvBuf = r;
    if (w !== undefined && w > 0) tp.sndBuf = w;
    return tp;
  }

  /** binds a local address/port (port 0 picks an ephemeral one); 0 or -errno */
  userBind(tp: TcpSock, addr: InetAddr, port: number, flags?: TcpBindFlags): number {
    if (flags !== undefined) {
      if (flags.reuseAddr !== undefined) tp.reuseAddr = flags.reuseAddr;
      if (flags.reusePort !== undefined) tp.reusePort = flags.reusePort;
      if (flags.v6only !== undefined) tp.v6only = flags.v6only;
    }
    if (tp.portHeld || tp.state !== TCP_CLOSE) return -ERRNO.EINVAL;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -ERRNO.EINVAL;
    const v4 = isV4(addr);
    if (tp.sockFamily === 4 && !v4) return -ERRNO.EAFNOSUPPORT;
    // a v6-only socket has no business with IPv4 addresses (Linux inet6_bind)
    if (tp.sockFamily === 6 && v4 && tp.v6only) return -ERRNO.EINVAL;
    if (!isUnspecified(addr) && !this.ip.isLocalAddress(addr)) return -ERRNO.EADDRNOTAVAIL;
    tp.lport = 0; // a port left over from a finished connection is no longer ours
    const r = this.ports.bind(tp, addr, port);
    if (r < 0) return r;
    tp.portHeld = true;
    tp.bindAddrLock = !isUnspecified(addr);
    tp.bindPortLock = port !== 0;
    return 0;
  }

  userListen(tp: TcpSock, backlog: number): number {
    if (tp.state !== TCP_CLOSE && tp.state !== TCP_LISTEN) return -ERRNO.EINVAL;
    if (tp.state === TCP_LISTEN) {
      tp.backlog = Math.max(1, Math.min(backlog, 4096));
      return 0;
    }
    if (!tp.portHeld) {
      const err = this.userBind(tp, tp.sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6, 0);
      if (err < 0) return err;
    } else {
      const err = this.ports.listenCheck(tp);
      if (err < 0) return err;
    }
    tp.backlog = Math.max(1, Math.min(backlog, 4096));
    tp.state = TCP_LISTEN;
    this.demux.addListener(tp);
    return 0;
  }

  /**
   * Starts an active open; 0 (SYN sent) or -errno. `scopeId` (sin6_scope_id) picks the interface
   * for a link-local IPv6 peer (else the bound device's).
   */
  userConnect(tp: TcpSock, addr: InetAddr, port: number, scopeId = 0): number {
    if (tp.state === TCP_LISTEN) return -ERRNO.EINVAL;
    if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) return -ERRNO.EALREADY;
    if (tp.state !== TCP_CLOSE) return -ERRNO.EISCONN;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return -ERRNO.EINVAL;
    const v4 = isV4(addr);
    if (tp.sockFamily === 4 && !v4) return -ERRNO.EAFNOSUPPORT;
    if (tp.sockFamily === 6 && v4 && tp.v6only) return -ERRNO.ENETUNREACH;
    // a socket bound to an address of the other family cannot reach this peer
    if (tp.portHeld && !isUnspecified(tp.laddr) && isV4(tp.laddr) !== v4) return -ERRNO.EAFNOSUPPORT;
    const oif = v4 || !isLinkLocal(addr) ? 0 : scopeId !== 0 ? scopeId : tp.boundDev !== null ? tp.boundDev.ifindex : 0;
    const rt = oif !== 0 ? this.ip.route(addr, oif) : this.ip.route(addr);
    if (rt === null) return -ERRNO.ENETUNREACH;
    // no usable source address (IPv6: every candidate still tentative): Linux ip6_dst_lookup
    if (isUnspecified(rt.src) && (!tp.portHeld || isUnspecified(tp.laddr))) return -ERRNO.EADDRNOTAVAIL;
    if (!tp.portHeld) {
      tp.lport = 0;
      const laddr = tp.bindAddrLock ? tp.laddr : rt.src;
      const demux = this.demux;
      const p = this.ports.connectPort(tp, laddr, addr, port, (lp) => demux.lookupEstablished(laddr, lp, addr, port) === null);
      if (p < 0) return p;
      tp.portHeld = true;
    } else {
      if (isUnspecified(tp.laddr)) tp.laddr = rt.src;
      if (this.demux.lookupEstablished(tp.laddr, tp.lport, addr, port) !== null) return -ERRNO.EADDRINUSE;
    }
    tp.raddr = addr;
    tp.rport = port;
    tp.oif = oif;
    tp.shutdownDone = false;
    tp.error = 0;
    tp.softError = 0;
    tcpInitConnection(this, tp, rt);
    tp.state = TCP_SYN_SENT;
    this.demux.insert(tp);
    this.stats.activeOpens++;
    tcpSendSyn(this, tp, false);
    return 0;
  }

  /** next established child of a listener, or null */
  userAccept(tp: TcpSock): TcpSock | null {
    const child = tp.acceptQueue.shift();
    if (child === undefined) return null;
    child.inAcceptQueue = false;
    child.parent = null;
    return child;
  }

  /**
   * Queues up to `len` bytes of `src[off..]`; returns bytes taken, -EAGAIN when the send buffer
   * is full or host memory is short (then `tp.memWait` is set and `tcpWritable` follows when
   * memory frees: Linux sk_stream_wait_memory), or -errno (EPIPE after shutdown or close,
   * ENOTCONN before connect, a pending hard error).
   */
  userSend(tp: TcpSock, src: Uint8Array, off: number, len: number, more: boolean, eor = false, resumed = false): number {
    // the write queue (write-queue/sendmsg.ts: Linux tcp_sendmsg_locked + tcp_push)
    return tcpSendmsg(this, tp, src, off, len, (more ? MSG_MORE_FLAG : 0) | (eor ? MSG_EOR_FLAG : 0), resumed);
  }

  /** sends what the windows allow; `more` (MSG_MORE) holds back a trailing partial segment */
  push(tp: TcpSock, more = false): void {
    tcpWriteXmit(this, tp, more || tp.cork);
  }

  /** shutdown(SHUT_WR): queue our FIN */
  userShutdownWrite(tp: TcpSock): number {
    if (tp.state === TCP_LISTEN || tp.state === TCP_CLOSE || tp.state === TCP_SYN_SENT) return -ERRNO.ENOTCONN;
    if (tp.shutWr) return 0;
    tp.shutWr = true;
    tcpQueueFin(this, tp);
    return 0;
  }

  /**
   * close(): returns every devmem token, frees queued data, and starts the FIN handshake (or
   * sends RST when unread data is discarded, as Linux does). The TCB lives on as an orphan until
   * the protocol is done.
   */
  userClose(tp: TcpSock): void {
    tp.sockOwner = null;
    tp.orphan = true;
    // spec §6.3: drop every user reference the token table holds
    tp.tokens.drain((ref) => this.mem.put(ref));
    if (tp.state === TCP_LISTEN) {
      this.demux.removeListener(tp);
      tcpListenStop(this, tp);
      tcpDone(this, tp);
      return;
    }
    const unread = tp.rcvHead !== null && tcpUnreadData(tp);
    tcpPurgeRcv(tp);
    switch (tp.state) {
      case TCP_CLOSE:
        tcpDone(this, tp);
        return;
      case TCP_SYN_SENT:
        tcpDone(this, tp);
        return;
      case TCP_SYN_RECV:
      case TCP_ESTABLISHED:
      case TCP_CLOSE_WAIT:
        if (unread) {
          this.stats.estabResets++;
          tcpSendActiveReset(this, tp);
          tcpDone(this, tp);
          return;
        }
        tp.shutWr = true;
        tcpQueueFin(this, tp);
        return;
      default:
        // FIN already on its way; timers finish the job
        if (tp.state === TCP_FIN_WAIT2) this.sched.arm(tp.twTimer, this.sched.now() + TCP_FIN_TIMEOUT);
        return;
    }
  }


  /**
   * Linux tcp_disconnect (connect(AF_UNSPEC), shutdown of a listener): stops listening, or
   * abandons the connection (RST where Linux sends one; SYN_SENT and reset connections leave
   * ECONNRESET pending), purges the queues and returns the socket to a reusable CLOSE. The
   * socket keeps its port only when the user bound it explicitly. 0.
   */
  userDisconnect(tp: TcpSock): number {
    const old = tp.state;
    if (old === TCP_LISTEN) {
      this.demux.removeListener(tp);
      tcpListenStop(this, tp);
      tp.state = TCP_CLOSE;
    } else if (old !== TCP_CLOSE) {
      const needReset = old === TCP_ESTABLISHED || old === TCP_CLOSE_WAIT || old === TCP_FIN_WAIT1 ||
        old === TCP_FIN_WAIT2 || old === TCP_SYN_RECV || ((old === TCP_CLOSING || old === TCP_LAST_ACK) && tp.unsent > 0);
      if (needReset) {
        tcpSendActiveReset(this, tp);
        tp.error = ERRNO.ECONNRESET;
      } else if (old === TCP_SYN_SENT) {
        tp.error = ERRNO.ECONNRESET;
      }
      if (old === TCP_ESTABLISHED || old === TCP_CLOSE_WAIT) this.stats.currEstab--;
      tp.state = TCP_CLOSE;
      this.sched.cancel(tp.rtoTimer);
      this.sched.cancel(tp.delackTimer);
      this.sched.cancel(tp.twTimer);
      if (tp.hashed) this.demux.remove(tp);
      if (tp.parent !== null && !tp.inAcceptQueue) tp.parent.synQueueLen--;
      tp.parent = null;
    }
    tcpPurgeRcv(tp);
    tcpPurgeOfo(tp);
    tp.sendBuf.release();
    tp.rtx.clear();
    this.memWait.remove(tp);
    tp.finReceived = tp.finQueued = tp.finSent = false;
    tp.shutRd = tp.shutWr = false;
    tp.shutdownDone = false;
    tp.raddr = tp.sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
    tp.rport = 0;
    tp.retransmits = tp.backoff = 0;
    tp.srtt = tp.rttvar = 0;
    tp.rto = TCP_TIMEOUT_INIT;
    tp.rttTime = -1;
    tp.resetCongestion();
    tp.softError = 0;
    if (tp.portHeld && !tp.bindPortLock) {
      tp.portHeld = false;
      this.ports.unbind(tp);
    }
    if (!tp.bindAddrLock) tp.laddr = tp.sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
    if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
    return 0;
  }

  /** abort with RST (SO_LINGER 0 / errors) */
  userAbort(tp: TcpSock): void {
    if (tp.state !== TCP_CLOSE && tp.state !== TCP_LISTEN && tp.state !== TCP_SYN_SENT) tcpSendActiveReset(this, tp);
    tp.error = ERRNO.ECONNRESET;
    tcpDone(this, tp);
  }


  // =====================================================================================
  // protocol entry points (implemented by concern: input/, output/, timer/, err.ts, conn.ts)
  // =====================================================================================

  /** Transport: a segment from IPv4 or IPv6 (`meta` borrowed for the call); takes the skb */
  rcv(skb: SkBuff, meta: RxMeta): void {
    tcpRcv(this, skb, meta);
  }

  /**
   * Transport: an ICMP / ICMPv6 error about a segment we sent, or a local neighbour failure
   * (`e.local`, EHOSTUNREACH); true when a connection took it (see err.ts)
   */
  err(e: IcmpErr): boolean {
    return tcpErr(this, e);
  }

  /** a socket timer fired (TcpSock.onTimer) */
  onTimer(tp: TcpSock, kind: number): void {
    tcpOnTimer(this, tp, kind);
  }

  /** a device poll batch ended (NetDevice `napiDoneHook`): send the ACKs deferred during it */
  napiDone(): void {
    if (this.ackDeferLen !== 0) tcpFlushDeferredAcks(this);
  }

  /** a bare ACK with the current rcv_nxt and window */
  sendAck(tp: TcpSock): void {
    tcpSendAck(this, tp);
  }

  /** after the application consumed data: send a window update if the window grew enough */
  cleanupRbuf(tp: TcpSock): void {
    tcpCleanupRbuf(this, tp);
  }

  /** moves to CLOSE, cancels timers, unhashes and frees protocol resources */
  done(tp: TcpSock): void {
    tcpDone(this, tp);
  }

  /** frees the receive queue */
  purgeRcv(tp: TcpSock): void {
    tcpPurgeRcv(tp);
  }

  /** the connection for a 4-tuple (tests, the socket layer) */
  lookupEstablished(laddr: Addr, lport: number, raddr: Addr, rport: number): TcpSock | null {
    return this.demux.lookupEstablished(laddr, lport, raddr, rport);
  }

  /** number of connections in the established hash (for tests and stats) */
  get connectionCount(): number {
    return this.demux.count;
  }
}
