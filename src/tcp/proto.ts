/**
 * `TcpProto`: a host's TCP (RFC 9293 state machine, RFC 6298 retransmission timer, RFC 5681 /
 * 6582 NewReno congestion control, window scaling and MSS from RFC 7323 / 9293) over IPv4 and
 * IPv6 alike. It registers with the IP layer as the IPPROTO_TCP `Transport`, demuxes segments to
 * connections (`TcpDemux`), builds segments (headers in a fresh skb head, payload as frags
 * referencing the send buffer's pages, checksum left to the NIC as CHECKSUM_PARTIAL), runs the
 * timers, and handles ICMP / ICMPv6 errors and local neighbour failures (`err`, Linux
 * tcp_v4_err / tcp_v6_err). The socket layer above calls the `user*` entry points; results are
 * 0 / byte counts or negative errno values, never exceptions; the entry points and their results are documented where they are defined.
 *
 * Ownership: `rcv` takes the skb; a segment's skb either joins a queue of its connection or is
 * freed before `rcv` returns. Local ports belong to `ports` (bound sockets, TIME_WAIT included,
 * until `done`).
 */
import {
  InetAddr, PortTable, isLinkLocal, isMulticast as isMulticastAddr, isUnspecified, isV4, pseudoHeaderSum,
  type Addr,
} from '../inet/index.js';
import type { IcmpErr, IpLayer, Route, RxMeta, Transport } from '../net/index.js';
import { PAGE_SIZE, type MemSpace } from '../mem/index.js';
import type { Rng } from '../rand/index.js';
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, pskbMayPull, skbChecksum, skbFree, skbPull, skbPush, skbTryCoalesce,
  type SkBuff, type SkbCache,
} from '../skb/index.js';
import type { Scheduler } from '../time/index.js';
import { ERRNO } from '../uapi/index.js';
import { csumFold } from '../wire/checksum.js';
import { IPPROTO_TCP } from '../wire/ipv4.js';
import { seqGe, seqGt, seqLe, seqLt } from '../wire/seq.js';
import {
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpOptions, parseTcpOptions, tcpOptionsLen, writeTcpOptions,
} from '../wire/tcp.js';
import {
  EPHEMERAL_HIGH, EPHEMERAL_LOW, MAX_TCP_HEADER, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_DEFAULT_MSS,
  TCP_DELACK_MIN, TCP_ESTABLISHED, TCP_FIN_TIMEOUT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_INIT_CWND, TCP_LAST_ACK,
  TCP_LISTEN, TCP_MAX_QUICKACKS, TCP_MAX_WINDOW, TCP_RETRIES2, TCP_RTO_MAX, TCP_RTO_MIN, TCP_SYNACK_RETRIES,
  TCP_SYN_RECV, TCP_SYN_RETRIES, TCP_SYN_SENT, TCP_TIMEOUT_INIT, TCP_TIMEWAIT_LEN, TCP_TIME_WAIT,
} from './constants.js';
import { TcpDemux } from './demux.js';
import {
  TCP_HDR4, TCP_HDR6, TCP_ICMP_ERROR, TCP_ICMP_IGNORE, TCP_ICMP_PMTU, TCP_MIN_SND_MSS, mssForPmtu, pmtuFloor,
  tcpIcmpKind, tcpReqErrAborts,
} from './icmp-err.js';
import { TcpMemWait } from './mem-wait.js';
import { ChallengeAckBudget, TCP_INVALID_RATELIMIT, oowRateLimited, segOowRateLimited } from './ratelimit.js';
import { TIMER_DELACK, TIMER_RTO, TIMER_TIMEWAIT, TcpSock } from './sock.js';

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
}

/** results of `ackRcv` (Linux tcp_ack): the ACK was processed, is an old duplicate, or is invalid */
const ACK_OK = 1;
const ACK_OLD = 0;
/** RFC 5961 §5.2: older than snd_una − max window */
const ACK_TOO_OLD = -1;
/** acknowledges data never sent */
const ACK_UNSENT = -2;

/** options of `userBind` (they are also plain fields of the socket) */
export interface TcpBindFlags {
  reuseAddr?: boolean;
  reusePort?: boolean;
  v6only?: boolean;
}

/** host pages a send never takes (headers, ACKs, retransmissions need them) */
const TCP_MEM_RESERVE_PAGES = 32;

export class TcpProto implements Transport {
  readonly stats: TcpMib = {
    activeOpens: 0, passiveOpens: 0, attemptFails: 0, estabResets: 0, currEstab: 0, inSegs: 0, outSegs: 0,
    retransSegs: 0, inErrs: 0, outRsts: 0, inCsumErrors: 0, noPort: 0, listenDrops: 0, rcvPruned: 0, fastRetrans: 0,
    timeouts: 0, icmpNoSock: 0, outOfWindowIcmps: 0, pmtuReduced: 0, memWaits: 0, ackSkippedSeq: 0,
    ackSkippedSynRecv: 0, ackSkippedTimeWait: 0, ackSkippedChallenge: 0, challengeAck: 0, synChallenge: 0,
    embryonicRsts: 0,
  };
  /** net.ipv4.tcp_invalid_ratelimit, µs: one answer to invalid segments per socket per period */
  invalidRatelimit = TCP_INVALID_RATELIMIT;
  /** host-wide challenge ACK budget; `challengeAcks.limit` is net.ipv4.tcp_challenge_ack_limit */
  readonly challengeAcks: ChallengeAckBudget;
  /** established and listening sockets */
  readonly demux: TcpDemux;
  /** local ports (bind conflicts, RFC 6056 ephemeral ports) */
  readonly ports: PortTable;
  private readonly opts = new TcpOptions();
  private readonly txOpts = new TcpOptions();
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
    this.demux = new TcpDemux(secrets.nextU32(), secrets.nextU32());
    this.ports = new PortTable(secrets.nextU32(), EPHEMERAL_LOW, EPHEMERAL_HIGH);
    ip.register(IPPROTO_TCP, this);
  }

  // =====================================================================================
  // user entry points
  // =====================================================================================

  /** a new unconnected socket of AF_INET (4) or AF_INET6 (6); `owner` is the SO_REUSEPORT key */
  socket(family: 4 | 6 = 4, owner = 0): TcpSock {
    return new TcpSock(this, family, owner);
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
    this.initConnection(tp, rt);
    tp.state = TCP_SYN_SENT;
    this.demux.insert(tp);
    this.stats.activeOpens++;
    this.sendSyn(tp, false);
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
  userSend(tp: TcpSock, src: Uint8Array, off: number, len: number, more: boolean): number {
    if (tp.error !== 0) return -tp.error;
    if (tp.shutWr || tp.finQueued) return -ERRNO.EPIPE;
    const st = tp.state;
    if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT) {
      if (st === TCP_SYN_SENT || st === TCP_SYN_RECV) return -ERRNO.EAGAIN;
      return st === TCP_CLOSE ? -ERRNO.ENOTCONN : -ERRNO.EPIPE;
    }
    const space = tp.sendSpace;
    if (space <= 0) return -ERRNO.EAGAIN;
    let want = Math.min(space, len);
    // keep a reserve of host pages for headers, ACKs and retransmissions (Linux keeps sends
    // under tcp_wmem / sk_wmem_schedule): a send buffer that ate the last page would deadlock
    const host = this.mem.host;
    const room = (host.maxPages - host.inUse - TCP_MEM_RESERVE_PAGES) * PAGE_SIZE;
    const asked = want;
    if (want > room) want = room > 0 ? room : 0;
    const n = want > 0 ? tp.sendBuf.append(src, off, want) : 0;
    if (n < asked) {
      // host memory short: wait for memory (never ENOBUFS)
      if (!tp.memWait) this.stats.memWaits++;
      this.memWait.add(tp);
    } else {
      this.memWait.remove(tp);
    }
    if (n === 0) return -ERRNO.EAGAIN;
    this.push(tp, more);
    return n;
  }

  /** sends what the windows allow; `more` (MSG_MORE) holds back a trailing partial segment */
  push(tp: TcpSock, more = false): void {
    this.writeXmit(tp, more || tp.cork);
  }

  /** shutdown(SHUT_WR): queue our FIN */
  userShutdownWrite(tp: TcpSock): number {
    if (tp.state === TCP_LISTEN || tp.state === TCP_CLOSE || tp.state === TCP_SYN_SENT) return -ERRNO.ENOTCONN;
    if (tp.shutWr) return 0;
    tp.shutWr = true;
    this.queueFin(tp);
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
      this.listenStop(tp);
      this.done(tp);
      return;
    }
    const unread = tp.rcvHead !== null && this.unreadData(tp);
    this.purgeRcv(tp);
    switch (tp.state) {
      case TCP_CLOSE:
        this.done(tp);
        return;
      case TCP_SYN_SENT:
        this.done(tp);
        return;
      case TCP_SYN_RECV:
      case TCP_ESTABLISHED:
      case TCP_CLOSE_WAIT:
        if (unread) {
          this.stats.estabResets++;
          this.sendActiveReset(tp);
          this.done(tp);
          return;
        }
        tp.shutWr = true;
        this.queueFin(tp);
        return;
      default:
        // FIN already on its way; timers finish the job
        if (tp.state === TCP_FIN_WAIT2) this.sched.arm(tp.twTimer, this.sched.now() + TCP_FIN_TIMEOUT);
        return;
    }
  }

  /** Linux inet_csk_listen_stop: reset and free the connections nobody accepted */
  private listenStop(lp: TcpSock): void {
    for (const child of lp.acceptQueue) {
      child.inAcceptQueue = false;
      child.parent = null;
      // nobody will read what it received: done() frees an orphan's queues
      child.orphan = true;
      if (child.state !== TCP_CLOSE) this.sendActiveReset(child);
      this.done(child);
    }
    lp.acceptQueue = [];
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
      this.listenStop(tp);
      tp.state = TCP_CLOSE;
    } else if (old !== TCP_CLOSE) {
      const needReset = old === TCP_ESTABLISHED || old === TCP_CLOSE_WAIT || old === TCP_FIN_WAIT1 ||
        old === TCP_FIN_WAIT2 || old === TCP_SYN_RECV || ((old === TCP_CLOSING || old === TCP_LAST_ACK) && tp.unsent > 0);
      if (needReset) {
        this.sendActiveReset(tp);
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
    this.purgeRcv(tp);
    this.purgeOfo(tp);
    tp.sendBuf.release();
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
    tp.dupAcks = 0;
    tp.inRecovery = false;
    tp.ssthresh = 0x7fffffff;
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
    if (tp.state !== TCP_CLOSE && tp.state !== TCP_LISTEN && tp.state !== TCP_SYN_SENT) this.sendActiveReset(tp);
    tp.error = ERRNO.ECONNRESET;
    this.done(tp);
  }

  // =====================================================================================
  // input
  // =====================================================================================

  /** Transport: a segment from IPv4 or IPv6 (`meta` borrowed for the call) */
  rcv(skb: SkBuff, meta: RxMeta): void {
    this.stats.inSegs++;
    // Linux tcp_v4_rcv / tcp_v6_rcv: only segments addressed to this host (PACKET_HOST)
    if (meta.linkBcast) return skbFree(skb);
    if (!pskbMayPull(skb, 20)) return this.dropErr(skb);
    const src = meta.src;
    const dst = meta.dst;
    const buf = skb.buf;
    const dv = skb.dv;
    const o = skb.data;
    const doff = (buf[o + 12]! >> 4) << 2;
    if (doff < 20 || doff > skb.len || !pskbMayPull(skb, doff)) return this.dropErr(skb);
    if (skb.ipSummed !== CHECKSUM_UNNECESSARY) {
      const sum = skbChecksum(skb, 0, skb.len, pseudoHeaderSum(src, dst, IPPROTO_TCP, skb.len));
      if (csumFold(sum) !== 0xffff) {
        this.stats.inCsumErrors++;
        return this.dropErr(skb);
      }
    }
    const sport = dv.getUint16(o);
    const dport = dv.getUint16(o + 2);
    const seq = dv.getUint32(o + 4);
    const ack = dv.getUint32(o + 8);
    const flags = buf[o + 13]!;
    const win = dv.getUint16(o + 14);
    const opts = this.opts;
    if (doff > 20) parseTcpOptions(buf, o + 20, doff - 20, opts);
    else opts.reset();
    skbPull(skb, doff);
    skb.seq = seq;
    skb.endSeq = (seq + skb.len) >>> 0;
    skb.tcpFlags = flags;

    let tp = this.demux.lookupEstablished(dst, dport, src, sport);
    if (tp === null) tp = this.demux.lookupListener(dst, dport, src, sport);
    if (tp === null) {
      this.stats.noPort++;
      this.sendResetFor(src, dst, sport, dport, seq, ack, flags, skb.len);
      skbFree(skb);
      return;
    }
    tp.stats.segsIn++;
    if (tp.state === TCP_LISTEN) return this.listenRcv(tp, skb, meta, sport, dport, seq, ack, flags, win);
    if (tp.state === TCP_SYN_SENT) return this.synSentRcv(tp, skb, seq, ack, flags, win);
    if (tp.state === TCP_TIME_WAIT) return this.timeWaitRcv(tp, skb, seq, flags);
    this.rcvStateProcess(tp, skb, seq, ack, flags, win);
  }

  private dropErr(skb: SkBuff): void {
    this.stats.inErrs++;
    skbFree(skb);
  }

  private listenRcv(
    lp: TcpSock, skb: SkBuff, meta: RxMeta, sport: number, dport: number, seq: number, ack: number, flags: number,
    win: number,
  ): void {
    const src = meta.src;
    const dst = meta.dst;
    if (flags & TCP_RST) return skbFree(skb);
    if (flags & TCP_ACK) {
      // no request socket for it (we keep SYN_RECV children in the hash): reset
      this.sendResetFor(src, dst, sport, dport, seq, ack, flags, skb.len, true, skb);
      return;
    }
    if (!(flags & TCP_SYN)) return skbFree(skb);
    // never answer a SYN from a multicast / unspecified source (Linux tcp_v4_conn_request)
    if (isUnspecified(src) || isMulticastAddr(src)) return skbFree(skb);
    if (lp.acceptQueue.length + lp.synQueueLen >= lp.backlog) {
      this.stats.listenDrops++;
      return skbFree(skb);
    }
    const v4 = isV4(src);
    const oif = !v4 && isLinkLocal(src) && meta.dev !== null ? meta.dev.ifindex : 0;
    const rt = oif !== 0 ? this.ip.route(src, oif) : this.ip.route(src);
    if (rt === null) return skbFree(skb);
    // an AF_INET6 listener accepts IPv4 (v4-mapped) children unless v6only (demux checked it)
    const child = new TcpSock(this, lp.sockFamily, lp.owner);
    child.laddr = InetAddr.from(dst);
    child.raddr = InetAddr.from(src);
    child.rport = sport;
    child.oif = oif;
    child.v6only = lp.v6only;
    child.reuseAddr = lp.reuseAddr;
    child.reusePort = lp.reusePort;
    child.nodelay = lp.nodelay;
    child.rcvBuf = lp.rcvBuf;
    child.sndBuf = lp.sndBuf;
    child.userMss = lp.userMss;
    child.parent = lp;
    this.initConnection(child, rt);
    this.applySynOptions(child, this.opts);
    child.irs = seq;
    child.rcvNxt = (seq + 1) >>> 0;
    child.copiedSeq = child.rcvNxt;
    child.rcvWup = child.rcvNxt;
    child.sndWnd = win;
    child.sndWl1 = seq;
    child.sndWl2 = child.iss;
    child.state = TCP_SYN_RECV;
    lp.synQueueLen++;
    this.ports.inherit(child, dport);
    child.portHeld = true;
    this.demux.insert(child);
    this.stats.passiveOpens++;
    skbFree(skb);
    this.sendSyn(child, true);
  }

  private synSentRcv(tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, win: number): void {
    if (flags & TCP_ACK) {
      if (seqLe(ack, tp.iss) || seqGt(ack, tp.sndMax)) {
        if (!(flags & TCP_RST)) this.sendResetFor(tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, skb.len);
        return skbFree(skb);
      }
    }
    if (flags & TCP_RST) {
      skbFree(skb);
      if (flags & TCP_ACK) {
        this.stats.attemptFails++;
        this.fail(tp, ERRNO.ECONNREFUSED);
      }
      return;
    }
    if (!(flags & TCP_SYN)) return skbFree(skb);
    this.applySynOptions(tp, this.opts);
    tp.irs = seq;
    tp.rcvNxt = (seq + 1) >>> 0;
    tp.copiedSeq = tp.rcvNxt;
    tp.rcvWup = tp.rcvNxt;
    tp.sndWl1 = seq;
    if (flags & TCP_ACK) {
      this.completeHandshake(tp, seq, ack, win); // a SYN's window is never scaled
      skbFree(skb);
      this.sendAck(tp);
      this.push(tp);
      return;
    }
    // simultaneous open
    tp.state = TCP_SYN_RECV;
    tp.sndWnd = win;
    skbFree(skb);
    this.sendSyn(tp, true);
  }

  private timeWaitRcv(tp: TcpSock, skb: SkBuff, seq: number, flags: number): void {
    const segLen = skb.len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    skbFree(skb);
    if (flags & TCP_RST) return;
    if (flags & TCP_FIN || seqLt(seq, tp.rcvNxt)) {
      this.sched.arm(tp.twTimer, this.sched.now() + TCP_TIMEWAIT_LEN);
      // Linux tcp_timewait_check_oow_rate_limit
      if (segOowRateLimited(tp, this.sched.now(), this.invalidRatelimit, segLen, (flags & TCP_SYN) !== 0)) {
        this.stats.ackSkippedTimeWait++;
        return;
      }
      this.sendAck(tp);
    }
  }

  /** RFC 9293 §3.10.7.4: segments for synchronized states (and SYN_RECV) */
  private rcvStateProcess(tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, win: number): void {
    const dataLen = skb.len;
    const segLen = dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    if (tp.state === TCP_SYN_RECV && tp.parent !== null) {
      // a passive open: the child stands in for Linux's request socket
      if (!this.checkReq(tp, skb, seq, ack, flags, segLen)) return;
      this.completeHandshake(tp, seq, ack, win << tp.sndWscale);
      const lp = tp.parent;
      lp.synQueueLen--;
      if (lp.state === TCP_LISTEN) {
        lp.acceptQueue.push(tp);
        tp.inAcceptQueue = true;
        if (lp.sockOwner) lp.sockOwner.tcpAcceptable(lp);
      } else {
        // the listener closed while the handshake ran (Linux inet_csk_listen_stop): reset
        tp.parent = null;
        tp.orphan = true;
        skbFree(skb);
        this.sendActiveReset(tp);
        this.done(tp);
        return;
      }
    } else {
      // Linux: a segment without ACK, RST or SYN is dropped before anything else looks at it
      if (!(flags & (TCP_ACK | TCP_RST | TCP_SYN))) return skbFree(skb);
      // 1.–4. sequence, RST, SYN (answers rate limited)
      if (!this.validateIncoming(tp, skb, seq, flags, segLen)) return;
      if (!(flags & TCP_ACK)) return skbFree(skb);
      // 5. ACK: a simultaneous open completes on an ACK of our SYN
      if (tp.state === TCP_SYN_RECV) {
        if (seqLe(ack, tp.sndUna) || seqGt(ack, tp.sndMax)) {
          this.sendResetFor(tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, dataLen);
          return skbFree(skb);
        }
        this.completeHandshake(tp, seq, ack, win << tp.sndWscale);
      }
    }
    const acked = this.ackRcv(tp, ack, win, seq, dataLen, flags);
    if (acked < 0) {
      // Linux: an ACK of unsent data is dropped silently in ESTABLISHED (tcp_rcv_established);
      // every other state, and a too-old ACK anywhere, also gets a challenge ACK (RFC 5961 §5.2)
      if (acked === ACK_TOO_OLD || tp.state !== TCP_ESTABLISHED) this.sendChallengeAck(tp);
      return skbFree(skb);
    }
    // state transitions on our FIN being acknowledged
    const finAcked = tp.finSent && seqGt(tp.sndUna, tp.finSndSeq);
    switch (tp.state) {
      case TCP_FIN_WAIT1:
        if (finAcked) {
          tp.state = TCP_FIN_WAIT2;
          if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
          if (tp.orphan) this.sched.arm(tp.twTimer, this.sched.now() + TCP_FIN_TIMEOUT);
        }
        break;
      case TCP_CLOSING:
        if (finAcked) this.enterTimeWait(tp);
        break;
      case TCP_LAST_ACK:
        if (finAcked) {
          skbFree(skb);
          this.done(tp);
          return;
        }
        break;
    }
    // new data after close() (RFC 1122 §4.2.2.13, Linux TCPAbortOnData): nobody will read it
    if (
      tp.orphan && (tp.state === TCP_FIN_WAIT1 || tp.state === TCP_FIN_WAIT2) && dataLen > 0 &&
      seqGt(skb.endSeq, tp.rcvNxt)
    ) {
      this.sendResetFor(tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, dataLen, false, skb);
      this.done(tp);
      return;
    }
    // 7. data, 8. FIN
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_FIN_WAIT1 || tp.state === TCP_FIN_WAIT2) {
      if (dataLen > 0 || flags & TCP_FIN) {
        this.dataQueue(tp, skb);
        return;
      }
    } else if (segLen > 0 && (tp.state === TCP_CLOSE_WAIT || tp.state === TCP_CLOSING || tp.state === TCP_LAST_ACK)) {
      // past the peer's FIN: a retransmission (our ACK of it was lost) needs a fresh ACK
      this.sendAck(tp);
    }
    skbFree(skb);
  }

  /**
   * Linux tcp_validate_incoming (RFC 9293 §3.10.7.4 first to fourth checks, with RFC 5961): the
   * sequence number must fall in the receive window (else a duplicate ACK, at most one per
   * `invalidRatelimit` unless the segment carries data), a RST must sit exactly at rcv_nxt (else
   * a challenge ACK), a SYN gets a challenge ACK. true: go on with the ACK field; false: the skb
   * was consumed.
   */
  private validateIncoming(tp: TcpSock, skb: SkBuff, seq: number, flags: number, segLen: number): boolean {
    // Linux tcp_sequence: end_seq not before rcv_wup, seq not past the window
    const wnd = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
    const endSeq = (seq + segLen) >>> 0;
    const inWindow = seqGe(endSeq, tp.rcvWup) && seqLe(seq, (tp.rcvNxt + (wnd > 0 ? wnd : 0)) >>> 0);
    if (!inWindow) {
      tp.stats.dupSegsIn++;
      skbFree(skb);
      if (!(flags & TCP_RST)) {
        if (flags & TCP_SYN) {
          this.stats.synChallenge++;
          this.sendChallengeAck(tp);
        } else if (segOowRateLimited(tp, this.sched.now(), this.invalidRatelimit, segLen, false)) {
          this.stats.ackSkippedSeq++;
        } else {
          this.sendAck(tp); // tcp_send_dupack
        }
      } else if (this.resetCheck(tp, seq)) {
        this.reset(tp);
      }
      return false;
    }
    if (flags & TCP_RST) {
      skbFree(skb);
      if (seq === tp.rcvNxt || this.resetCheck(tp, seq)) this.reset(tp);
      else this.sendChallengeAck(tp); // RFC 5961 §3.2
      return false;
    }
    if (flags & TCP_SYN) {
      // RFC 5961 §4.2
      skbFree(skb);
      this.stats.synChallenge++;
      this.sendChallengeAck(tp);
      return false;
    }
    return true;
  }

  /**
   * Linux tcp_reset_check: after the peer's FIN (CLOSE_WAIT, LAST_ACK, CLOSING) a RST may carry
   * the FIN's sequence number (rcv_nxt − 1)
   */
  private resetCheck(tp: TcpSock, seq: number): boolean {
    const st = tp.state;
    return seq === ((tp.rcvNxt - 1) >>> 0) && (st === TCP_CLOSE_WAIT || st === TCP_LAST_ACK || st === TCP_CLOSING);
  }

  /** Linux tcp_reset: the peer reset the connection */
  private reset(tp: TcpSock): void {
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) this.stats.estabResets++;
    this.fail(tp, tp.state === TCP_SYN_RECV ? ERRNO.ECONNREFUSED : tp.state === TCP_CLOSE_WAIT ? ERRNO.EPIPE : ERRNO.ECONNRESET);
  }

  /**
   * Linux tcp_send_challenge_ack (RFC 5961 §7): an ACK with our current sequence numbers, at
   * most one per `invalidRatelimit` per socket and within the host's per-second budget
   */
  private sendChallengeAck(tp: TcpSock): void {
    const now = this.sched.now();
    if (oowRateLimited(tp, now, this.invalidRatelimit)) {
      this.stats.ackSkippedChallenge++;
      return;
    }
    if (!this.challengeAcks.take(now)) return;
    this.stats.challengeAck++;
    this.sendAck(tp);
  }

  /**
   * Linux tcp_check_req: a segment for a passive open whose SYN-ACK is unanswered (the SYN_RECV
   * child stands in for the request socket). A retransmitted SYN gets the SYN-ACK again; an ACK
   * of anything but our SYN-ACK is reset (for the listener); an out-of-window segment gets an
   * ACK; a RST or SYN in the window drops the request (a SYN answered with RST). All answers
   * but the RSTs are rate limited. true: an acceptable ACK, the handshake completes; false: the
   * skb was consumed.
   */
  private checkReq(tp: TcpSock, skb: SkBuff, seq: number, ack: number, flags: number, segLen: number): boolean {
    let flg = flags & (TCP_RST | TCP_SYN | TCP_ACK);
    const now = this.sched.now();
    if (seq === tp.irs && flg === TCP_SYN) {
      skbFree(skb);
      if (segOowRateLimited(tp, now, this.invalidRatelimit, segLen, true)) this.stats.ackSkippedSynRecv++;
      else this.sendSyn(tp, true);
      return false;
    }
    if (flg & TCP_ACK && ack !== ((tp.iss + 1) >>> 0)) {
      this.sendResetFor(tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, skb.len, true, skb);
      return false;
    }
    // Linux tcp_in_window over the window our SYN-ACK offered
    const left = tp.rcvNxt;
    const right = (left + Math.min(tp.rcvWnd, TCP_MAX_WINDOW)) >>> 0;
    const endSeq = (seq + segLen) >>> 0;
    if (!(seq === left || (seqGt(endSeq, left) && seqLt(seq, right)) || (seq === right && seq === endSeq))) {
      skbFree(skb);
      if (!(flg & TCP_RST)) {
        if (segOowRateLimited(tp, now, this.invalidRatelimit, segLen, (flg & TCP_SYN) !== 0)) this.stats.ackSkippedSynRecv++;
        else this.sendAck(tp);
      }
      return false;
    }
    // a SYN at the initial sequence is the one we have
    if (seq === tp.irs) flg &= ~TCP_SYN;
    if (flg & (TCP_RST | TCP_SYN)) {
      // embryonic reset: the request goes; a SYN is answered with RST
      if (flg & TCP_SYN) this.stats.attemptFails++;
      this.stats.embryonicRsts++;
      if (!(flg & TCP_RST)) this.sendResetFor(tp.raddr, tp.laddr, tp.rport, tp.lport, seq, ack, flags, skb.len, true, skb);
      else skbFree(skb);
      tp.orphan = true;
      this.done(tp);
      return false;
    }
    if (!(flg & TCP_ACK)) {
      skbFree(skb);
      return false;
    }
    return true;
  }

  /**
   * ACK processing (Linux tcp_ack): ACK_OK, ACK_OLD (older than snd_una: nothing to do, the
   * segment's data still counts), ACK_TOO_OLD (older than snd_una − max window, RFC 5961 §5.2)
   * or ACK_UNSENT (beyond snd_nxt); the last two drop the segment.
   */
  private ackRcv(tp: TcpSock, ack: number, win: number, seq: number, dataLen: number, flags: number): number {
    if (seqLt(ack, tp.sndUna)) {
      // bytes never sent are not acknowledged: the window is at most what was acked
      const maxWin = Math.min(tp.maxWindow, tp.stats.bytesAcked);
      return seqLt(ack, (tp.sndUna - maxWin) >>> 0) ? ACK_TOO_OLD : ACK_OLD;
    }
    // (our snd_nxt may be rewound by an RTO: sndMax is Linux's snd_nxt)
    if (seqGt(ack, tp.sndMax)) return ACK_UNSENT;
    const now = this.sched.now();
    const sndWnd = win << tp.sndWscale;
    // window update (RFC 9293: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))
    let windowChanged = false;
    if (seqLt(tp.sndWl1, seq) || (tp.sndWl1 === seq && seqLe(tp.sndWl2, ack))) {
      if (tp.sndWnd !== sndWnd) windowChanged = true;
      tp.sndWnd = sndWnd;
      tp.sndWl1 = seq;
      tp.sndWl2 = ack;
      if (sndWnd > tp.maxWindow) tp.maxWindow = sndWnd;
    }
    if (seqGt(ack, tp.sndUna)) {
      const acked = (ack - tp.sndUna) | 0;
      if (seqGt(ack, tp.sndNxt)) tp.sndNxt = ack;
      // an RTO rewound snd_nxt (clearing finSent) but the peer had our FIN: it was sent
      if (tp.finQueued && !tp.finSent && seqGt(ack, tp.finSndSeq)) tp.finSent = true;
      if (tp.rttTime >= 0 && seqGe(ack, tp.rttSeq)) this.rttSample(tp);
      tp.sendBuf.ackTo(seqGt(ack, tp.sendBuf.endSeq) ? tp.sendBuf.endSeq : ack);
      if (this.memWait.size !== 0) this.memWait.wake();
      tp.sndUna = ack;
      tp.stats.bytesAcked += acked;
      tp.retransmits = 0;
      if (tp.backoff !== 0) {
        tp.backoff = 0;
        this.computeRto(tp);
      }
      this.congAck(tp, ack, acked);
      if (tp.inFlight > 0) this.sched.arm(tp.rtoTimer, now + tp.rto);
      else this.sched.cancel(tp.rtoTimer);
      if (tp.sockOwner && tp.sendSpace > 0) tp.sockOwner.tcpWritable(tp);
    } else if (ack === tp.sndUna && dataLen === 0 && !(flags & (TCP_SYN | TCP_FIN)) && !windowChanged && tp.inFlight > 0) {
      tp.stats.dupAcksIn++;
      this.dupAck(tp);
    }
    this.writeXmit(tp, tp.cork);
    return ACK_OK;
  }

  /** RFC 5681 / 6582 NewReno on a new cumulative ACK */
  private congAck(tp: TcpSock, ack: number, acked: number): void {
    if (tp.inRecovery) {
      if (seqGe(ack, tp.recover)) {
        // full ACK: leave fast recovery, deflate
        tp.inRecovery = false;
        tp.dupAcks = 0;
        tp.cwnd = Math.min(tp.ssthresh, Math.max(tp.inFlight, 0) + tp.mss);
        if (tp.cwnd < tp.mss) tp.cwnd = tp.mss;
      } else {
        // partial ACK: retransmit the next hole, deflate by the amount acked
        this.retransmitHead(tp);
        tp.cwnd = Math.max(tp.cwnd - acked + tp.mss, tp.mss);
      }
      return;
    }
    tp.dupAcks = 0;
    // keep `recover` trailing snd_una: left at the ISS it would fall 2^31 behind after 2 GiB
    // and the serial comparison in dupAck (snd_una > recover) would turn false
    if (seqGt(ack, tp.recover)) tp.recover = (ack - 1) >>> 0;
    if (tp.cwnd < tp.ssthresh) {
      tp.cwnd += Math.min(acked, tp.mss * 2); // slow start (RFC 3465 L = 2)
    } else {
      tp.cwndCnt += acked;
      if (tp.cwndCnt >= tp.cwnd) {
        tp.cwndCnt -= tp.cwnd;
        tp.cwnd += tp.mss;
      }
    }
    const cap = Math.max(tp.sndBuf, 2 * tp.maxWindow, TCP_INIT_CWND * tp.mss);
    if (tp.cwnd > cap) tp.cwnd = cap;
  }

  private dupAck(tp: TcpSock): void {
    tp.dupAcks++;
    if (tp.inRecovery) {
      tp.cwnd += tp.mss; // inflation
      return;
    }
    // RFC 6582 §3.2: only when the cumulative ACK covers more than `recover`
    if (tp.dupAcks === 3 && seqGt(tp.sndUna, tp.recover)) {
      tp.ssthresh = Math.max((tp.inFlight >> 1), 2 * tp.mss);
      tp.recover = tp.sndMax;
      tp.inRecovery = true;
      tp.stats.fastRetrans++;
      this.stats.fastRetrans++;
      tp.rttTime = -1;
      this.retransmitHead(tp);
      tp.cwnd = tp.ssthresh + 3 * tp.mss;
    }
  }

  /** queues in-order data (and a FIN), or keeps out-of-order data; takes the skb */
  private dataQueue(tp: TcpSock, skb: SkBuff): void {
    const fin = (skb.tcpFlags & TCP_FIN) !== 0;
    tp.stats.dataSegsIn++;
    const segLen = skb.gsoSize > 0 ? skb.gsoSize : skb.len;
    if (segLen > tp.rcvMss) tp.rcvMss = Math.min(segLen, tp.advMss);
    if (tp.shutRd && skb.len > 0) {
      // reading side shut: data is dropped (Linux resets; keep it simple and ACK)
    }
    // memory limit: the window normally prevents this
    if (skb.len > 0 && tp.rcvQueueBytes + tp.ofoBytes + skb.len > tp.rcvBuf) {
      this.stats.rcvPruned++;
      skbFree(skb);
      this.sendAck(tp);
      return;
    }
    // in order: starts at rcv_nxt, or overlaps it with new data or a new FIN (a retransmission
    // of data we have, carrying the FIN we missed)
    if (
      skb.seq === tp.rcvNxt ||
      (seqLt(skb.seq, tp.rcvNxt) && (seqGt(skb.endSeq, tp.rcvNxt) || (fin && skb.endSeq === tp.rcvNxt && !tp.finReceived)))
    ) {
      this.queueRcv(tp, skb);
      if (fin) this.finRcv(tp);
      const hadOfo = tp.ofoHead !== null;
      if (hadOfo) this.ofoDrain(tp);
      if (tp.sockOwner) tp.sockOwner.tcpReadable(tp);
      // ACK policy: quickack at start, every second full segment, out-of-order fill, FIN
      // (a GRO train counts as the segments it merged)
      tp.unackedSegs += skb.gsoSize > 0 ? Math.ceil(skb.len / skb.gsoSize) : 1;
      if (fin || hadOfo || tp.quickAcks > 0 || tp.unackedSegs >= 2) {
        if (tp.quickAcks > 0) tp.quickAcks--;
        this.sendAck(tp);
      } else if (!tp.delackTimer.armed) {
        tp.ackPending = true;
        this.sched.arm(tp.delackTimer, this.sched.now() + TCP_DELACK_MIN);
      } else {
        tp.ackPending = true;
      }
      return;
    }
    if (seqLe(skb.endSeq, tp.rcvNxt) && !(fin && skb.endSeq === tp.rcvNxt && !tp.finReceived)) {
      // duplicate
      tp.stats.dupSegsIn++;
      skbFree(skb);
      this.sendAck(tp);
      return;
    }
    // duplicate ACKs for the hole drive the sender's fast retransmit; without SACK the sender
    // counts them, so a GRO train that merged N out-of-order segments is answered with N, as
    // the segments would have been one by one
    const dupacks = skb.gsoSize > 0 ? Math.ceil(skb.len / skb.gsoSize) : 1;
    this.ofoInsert(tp, skb);
    for (let i = 0; i < dupacks; i++) this.sendAck(tp);
  }

  private queueRcv(tp: TcpSock, skb: SkBuff): void {
    const len = (skb.endSeq - tp.rcvNxt) | 0;
    tp.rcvNxt = skb.endSeq;
    tp.stats.bytesReceived += len;
    if (skb.len === 0 || len <= 0) {
      // no new bytes (a bare FIN, or old data carrying a new FIN)
      skbFree(skb);
      return;
    }
    tp.rcvQueueBytes += skb.len;
    const tail = tp.rcvTail;
    if (tail !== null && tail.endSeq === skb.seq && skbTryCoalesce(tail, skb)) {
      tail.endSeq = skb.endSeq;
      skbFree(skb);
      return;
    }
    skb.next = null;
    if (tail === null) tp.rcvHead = skb;
    else tail.next = skb;
    tp.rcvTail = skb;
  }

  private ofoInsert(tp: TcpSock, skb: SkBuff): void {
    tp.stats.ofoQueued++;
    tp.quickAcks = TCP_MAX_QUICKACKS;
    let prev: SkBuff | null = null;
    let cur = tp.ofoHead;
    while (cur !== null && seqLe(cur.seq, skb.seq)) {
      if (seqGe(cur.endSeq, skb.endSeq) && !(skb.tcpFlags & TCP_FIN && !(cur.tcpFlags & TCP_FIN))) {
        // fully covered
        tp.stats.dupSegsIn++;
        skbFree(skb);
        return;
      }
      prev = cur;
      cur = cur.next;
    }
    // drop queued segments the new one fully covers
    while (cur !== null && seqLe(cur.endSeq, skb.endSeq) && !(cur.tcpFlags & TCP_FIN && !(skb.tcpFlags & TCP_FIN))) {
      const n: SkBuff | null = cur.next;
      tp.ofoBytes -= cur.len;
      cur.next = null;
      skbFree(cur);
      cur = n;
    }
    skb.next = cur;
    if (prev === null) tp.ofoHead = skb;
    else prev.next = skb;
    tp.ofoBytes += skb.len;
  }

  private ofoDrain(tp: TcpSock): void {
    let cur = tp.ofoHead;
    while (cur !== null && seqLe(cur.seq, tp.rcvNxt)) {
      const next: SkBuff | null = cur.next;
      cur.next = null;
      tp.ofoBytes -= cur.len;
      tp.ofoHead = next;
      const fin = (cur.tcpFlags & TCP_FIN) !== 0;
      if (seqGt(cur.endSeq, tp.rcvNxt) || (fin && cur.endSeq === tp.rcvNxt && !tp.finReceived)) {
        this.queueRcv(tp, cur);
        if (fin) this.finRcv(tp);
      } else {
        skbFree(cur);
      }
      cur = next;
    }
  }

  private finRcv(tp: TcpSock): void {
    if (tp.finReceived) return;
    tp.finReceived = true;
    tp.finSeq = tp.rcvNxt;
    tp.rcvNxt = (tp.rcvNxt + 1) >>> 0;
    switch (tp.state) {
      case TCP_SYN_RECV:
      case TCP_ESTABLISHED:
        tp.state = TCP_CLOSE_WAIT;
        break;
      case TCP_FIN_WAIT1:
        tp.state = TCP_CLOSING;
        break;
      case TCP_FIN_WAIT2:
        this.enterTimeWait(tp);
        break;
    }
    if (tp.sockOwner) {
      tp.sockOwner.tcpStateChange(tp);
      tp.sockOwner.tcpReadable(tp);
    }
  }

  // =====================================================================================
  // output
  // =====================================================================================

  /** tcp_write_xmit: sends new data as far as the peer's window and cwnd allow */
  private writeXmit(tp: TcpSock, hold: boolean): void {
    const st = tp.state;
    if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT && st !== TCP_FIN_WAIT1 && st !== TCP_CLOSING && st !== TCP_LAST_ACK) return;
    const mss = tp.mss;
    // with TSO one skb carries many MSS (tcp_xmit_size_goal)
    const dev = tp.routeDev;
    const maxLen = dev !== null && dev.tso ? this.sizeGoal(tp, dev.gsoMaxSize) : mss;
    for (;;) {
      const unsent = tp.unsent;
      if (unsent <= 0) break;
      const wndLeft = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
      const cwndLeft = tp.cwnd - tp.inFlight;
      let len = unsent < maxLen ? unsent : maxLen;
      if (len > wndLeft) len = wndLeft;
      if (len > cwndLeft) len = cwndLeft;
      if (len <= 0) break;
      if (len > mss && len < unsent) len -= len % mss;
      if (len < mss) {
        // sender SWS avoidance / Nagle (RFC 9293 §3.8.6.2.1, Minshall-less)
        // window/cwnd-limited partial: wait for a full segment, unless it is at least half the
        // largest window the peer ever offered (a peer whose buffer is below one MSS)
        if (len < unsent && len < (tp.maxWindow >> 1)) break;
        if (hold) break;
        if (!tp.nodelay && tp.inFlight > 0) break;
      }
      const last = len === unsent;
      const withFin = last && tp.finQueued && !tp.finSent;
      // Karn: never time a segment that was sent before (go-back-N after an RTO resends old data)
      const fresh = seqGe(tp.sndNxt, tp.sndMax);
      this.sendData(tp, tp.sndNxt, len, TCP_ACK | (last ? TCP_PSH : 0) | (withFin ? TCP_FIN : 0));
      tp.sndNxt = (tp.sndNxt + len + (withFin ? 1 : 0)) >>> 0;
      if (withFin) tp.finSent = true;
      if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
      if (tp.rttTime < 0 && fresh) {
        tp.rttTime = this.sched.now();
        tp.rttSeq = tp.sndNxt;
      }
      if (!tp.rtoTimer.armed) this.sched.arm(tp.rtoTimer, this.sched.now() + tp.rto);
    }
    // data waits but nothing is in flight (window too small or zero): the probe timer
    // (Linux tcp_check_probe_timer) makes sure the connection does not stall
    // (held MSG_MORE / cork data too: Linux sends it when the probe timer fires)
    if (tp.unsent > 0 && tp.inFlight === 0 && !tp.rtoTimer.armed) {
      this.sched.arm(tp.rtoTimer, this.sched.now() + Math.max(tp.rto, TCP_RTO_MIN));
    }
    // a FIN alone once all data is out
    if (tp.finQueued && !tp.finSent && tp.unsent <= 0 && tp.sndNxt === tp.finSndSeq) {
      this.sendData(tp, tp.sndNxt, 0, TCP_ACK | TCP_FIN);
      tp.finSent = true;
      tp.sndNxt = (tp.sndNxt + 1) >>> 0;
      if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
      if (!tp.rtoTimer.armed) this.sched.arm(tp.rtoTimer, this.sched.now() + tp.rto);
    }
  }

  /**
   * Linux tcp_xmit_size_goal: the payload of one TSO skb, in whole MSS, up to the device's GSO
   * limit less the headers (sk_gso_max_size − 1 − IP − TCP header: 64 KiB − headers by default)
   * and to what the skb's frag slots hold at any page alignment ((maxFrags − 1) pages)
   */
  private sizeGoal(tp: TcpSock, gsoMaxSize: number): number {
    const mss = tp.mss;
    let goal = gsoMaxSize - 1 - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6);
    const fragCap = (this.skbs.maxFrags - 1) * PAGE_SIZE;
    if (goal > fragCap) goal = fragCap;
    goal -= goal % mss;
    return goal > mss ? goal : mss;
  }

  private queueFin(tp: TcpSock): void {
    if (tp.finQueued) return;
    tp.finQueued = true;
    tp.finSndSeq = tp.sendBuf.endSeq;
    // CurrEstab counts ESTABLISHED and CLOSE_WAIT (Linux tcp_set_state)
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) this.stats.currEstab--;
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_SYN_RECV) tp.state = TCP_FIN_WAIT1;
    else if (tp.state === TCP_CLOSE_WAIT) tp.state = TCP_LAST_ACK;
    this.writeXmit(tp, false);
  }

  /**
   * Retransmits the first unacknowledged segment (up to one MSS from snd_una), with our FIN when
   * the segment ends the data and the FIN is queued. Returns the sequence space it covered
   * (data bytes + 1 for a FIN), 0 when there was nothing to send.
   */
  private retransmitHead(tp: TcpSock): number {
    let dataLeft = (tp.sendBuf.endSeq - tp.sndUna) | 0;
    if (dataLeft < 0) dataLeft = 0;
    const len = dataLeft < tp.mss ? dataLeft : tp.mss;
    const fin = tp.finQueued && len === dataLeft && seqLe(tp.sndUna, tp.finSndSeq);
    if (len === 0 && !fin) return 0;
    tp.stats.retransSegs++;
    tp.stats.bytesRetrans += len;
    this.stats.retransSegs++;
    this.sendData(tp, tp.sndUna, len, TCP_ACK | (len > 0 && len === dataLeft ? TCP_PSH : 0) | (fin ? TCP_FIN : 0));
    return len + (fin ? 1 : 0);
  }

  /** builds and sends one segment carrying [seq, seq+len) of the send buffer */
  private sendData(tp: TcpSock, seq: number, len: number, flags: number): void {
    const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
    if (skb === null) return;
    if (len > 0) {
      const n = tp.sendBuf.attachFrags(skb, seq, len);
      if (n < len) {
        skbFree(skb);
        return;
      }
      if (len > tp.mss) skb.gsoSize = tp.mss;
      tp.stats.dataSegsOut += len > tp.mss ? Math.ceil(len / tp.mss) : 1;
      tp.stats.bytesSent += len;
    }
    this.transmit(tp, skb, seq, flags, 0, false);
  }

  /** pushes the TCP header in front of `skb`'s payload and hands it to IP; takes the skb */
  private transmit(tp: TcpSock, skb: SkBuff, seq: number, flags: number, optsLen: number, syn: boolean): void {
    const hlen = 20 + optsLen;
    const o = skbPush(skb, hlen);
    const dv = skb.dv;
    dv.setUint16(o, tp.lport);
    dv.setUint16(o + 2, tp.rport);
    dv.setUint32(o + 4, seq);
    dv.setUint32(o + 8, flags & TCP_ACK ? tp.rcvNxt : 0);
    dv.setUint16(o + 12, ((hlen >> 2) << 12) | flags);
    dv.setUint16(o + 14, syn ? Math.min(tp.rcvWnd, TCP_MAX_WINDOW) : this.selectWindow(tp));
    dv.setUint16(o + 16, csumFold(pseudoHeaderSum(tp.laddr, tp.raddr, IPPROTO_TCP, skb.len)));
    dv.setUint16(o + 18, 0);
    if (optsLen > 0) writeTcpOptions(dv, o + 20, this.txOpts, syn);
    skb.transportHeader = o;
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = o;
    skb.csumOffset = 16;
    if (flags & TCP_ACK) {
      tp.ackPending = false;
      tp.unackedSegs = 0;
      if (tp.delackTimer.armed) this.sched.cancel(tp.delackTimer);
    }
    tp.stats.segsOut++;
    this.stats.outSegs++;
    this.ip.output(skb, tp.laddr, tp.raddr, IPPROTO_TCP);
  }

  /** a bare ACK with the current rcvNxt and window */
  sendAck(tp: TcpSock): void {
    if (tp.state === TCP_CLOSE || tp.state === TCP_LISTEN || tp.state === TCP_SYN_SENT) return;
    const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
    if (skb === null) return;
    this.transmit(tp, skb, tp.sndNxt, TCP_ACK, 0, false);
  }

  private sendSyn(tp: TcpSock, synAck: boolean): void {
    const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
    if (skb === null) return;
    const o = this.txOpts;
    o.reset();
    o.mss = tp.advMss;
    if (!synAck || tp.wscaleOk) o.wscale = tp.rcvWscale;
    const optsLen = tcpOptionsLen(o, true);
    this.transmit(tp, skb, tp.iss, synAck ? TCP_SYN | TCP_ACK : TCP_SYN, optsLen, true);
    tp.sndNxt = (tp.iss + 1) >>> 0;
    if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
    if (tp.rttTime < 0 && tp.retransmits === 0) {
      tp.rttTime = this.sched.now();
      tp.rttSeq = tp.sndNxt;
    }
    this.sched.arm(tp.rtoTimer, this.sched.now() + tp.rto);
  }

  /** RST + ACK for a connection we abort */
  private sendActiveReset(tp: TcpSock): void {
    const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
    if (skb === null) return;
    this.stats.outRsts++;
    this.transmit(tp, skb, tp.sndNxt, TCP_RST | TCP_ACK, 0, false);
  }

  /** RST in answer to a segment that has no connection (RFC 9293 §3.10.7.1) */
  private sendResetFor(
    src: Addr, dst: Addr, sport: number, dport: number, seq: number, ack: number, flags: number, dataLen: number,
    _listener = false, toFree: SkBuff | null = null,
  ): void {
    if (toFree !== null) skbFree(toFree);
    if (flags & TCP_RST) return;
    const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
    if (skb === null) return;
    const o = skbPush(skb, 20);
    const dv = skb.dv;
    let rseq = 0;
    let rack = 0;
    let rflags = TCP_RST;
    if (flags & TCP_ACK) rseq = ack;
    else {
      rack = (seq + dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0;
      rflags |= TCP_ACK;
    }
    dv.setUint16(o, dport);
    dv.setUint16(o + 2, sport);
    dv.setUint32(o + 4, rseq);
    dv.setUint32(o + 8, rack);
    dv.setUint16(o + 12, (5 << 12) | rflags);
    dv.setUint16(o + 14, 0);
    dv.setUint16(o + 16, csumFold(pseudoHeaderSum(dst, src, IPPROTO_TCP, 20)));
    dv.setUint16(o + 18, 0);
    skb.transportHeader = o;
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = o;
    skb.csumOffset = 16;
    this.stats.outRsts++;
    this.stats.outSegs++;
    this.ip.output(skb, dst, src, IPPROTO_TCP);
  }

  /**
   * The window to advertise (scaled field value). Space is half the receive buffer (Linux's
   * default scaling ratio) minus unread and out-of-order bytes; the right edge never moves left.
   */
  private selectWindow(tp: TcpSock): number {
    let free = (tp.rcvBuf >> 1) - ((tp.rcvNxt - tp.copiedSeq) | 0) - tp.ofoBytes;
    if (free < 0) free = 0;
    const cur = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
    // receiver SWS avoidance: don't open by less than an MSS
    if (free < cur) free = cur;
    else if (free - cur < tp.rcvMss && free < (tp.rcvBuf >> 2)) free = Math.max(cur, 0);
    let field = free >>> tp.rcvWscale;
    if (field > 0xffff) field = 0xffff;
    tp.rcvWnd = field << tp.rcvWscale;
    tp.rcvWup = tp.rcvNxt;
    return field;
  }

  /** after the application consumed data: send a window update if the window grew enough */
  cleanupRbuf(tp: TcpSock): void {
    if (tp.state !== TCP_ESTABLISHED && tp.state !== TCP_FIN_WAIT1 && tp.state !== TCP_FIN_WAIT2) return;
    const cur = (tp.rcvWup + tp.rcvWnd - tp.rcvNxt) | 0;
    const full = tp.rcvBuf >> 1;
    const free = full - ((tp.rcvNxt - tp.copiedSeq) | 0) - tp.ofoBytes;
    if (tp.ackPending && tp.unackedSegs > 0 && cur < free) {
      this.sendAck(tp);
      return;
    }
    // the 2·MSS step is capped at half the space, or a buffer below 4·MSS never reopens
    const step = Math.min(2 * tp.rcvMss, full >> 1);
    if (free - cur >= step && (cur <= 0 || free >= 2 * cur)) this.sendAck(tp);
  }

  // =====================================================================================
  // ICMP errors (Linux tcp_v4_err / tcp_v6_err)
  // =====================================================================================

  /**
   * Transport: an ICMP / ICMPv6 error about a segment we sent, or a local neighbour failure
   * (`e.local`, EHOSTUNREACH). The quoted header must name a connection and its sequence must
   * lie in snd_una..snd_nxt. Frag-needed / packet-too-big lowers the path MTU (and the MSS) and
   * resends what no longer fits; other errors fail a connection that is still opening and are
   * kept as the soft error of a synchronized one (reported instead of ETIMEDOUT).
   */
  err(e: IcmpErr): boolean {
    if (e.l4Len < 8 || e.proto !== IPPROTO_TCP) {
      this.stats.icmpNoSock++;
      return false;
    }
    const dv = e.dv;
    const o = e.l4Off;
    const sport = dv.getUint16(o);
    const dport = dv.getUint16(o + 2);
    const seq = dv.getUint32(o + 4);
    const tp = this.demux.lookupEstablished(e.src, sport, e.dst, dport);
    if (tp === null) {
      this.stats.icmpNoSock++;
      return false;
    }
    if (tp.state === TCP_TIME_WAIT) return false;
    const kind = tcpIcmpKind(e);
    if (tp.state === TCP_SYN_RECV && tp.parent !== null) {
      // a passive open still in the SYN queue (Linux request sock, tcp_req_err): only the
      // SYN-ACK's sequence counts, and only errors that say the peer is gone drop it, silently
      if (seq !== tp.iss) {
        this.stats.outOfWindowIcmps++;
        return false;
      }
      if (kind === TCP_ICMP_ERROR && tcpReqErrAborts(e)) {
        tp.orphan = true;
        this.done(tp);
      }
      return true;
    }
    // Linux: between(seq, snd_una, snd_nxt); our snd_nxt may be rewound by an RTO, sndMax is
    // the highest sequence sent
    if (seqLt(seq, tp.sndUna) || seqGt(seq, tp.sndMax)) {
      this.stats.outOfWindowIcmps++;
      return false;
    }
    if (kind === TCP_ICMP_PMTU) {
      this.mtuReduced(tp, e.info);
      return true;
    }
    if (kind === TCP_ICMP_IGNORE) return true;
    const errno = e.errno;
    if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
      if (tp.state === TCP_SYN_SENT) this.stats.attemptFails++;
      this.fail(tp, errno);
      return true;
    }
    // synchronized: keep trying until the timeout, then report this instead of ETIMEDOUT
    tp.softError = errno;
    return true;
  }

  /** Linux tcp_v4_mtu_reduced / tcp_v6_mtu_reduced: the path MTU fell to `mtu` */
  private mtuReduced(tp: TcpSock, mtu: number): void {
    if (tp.state === TCP_LISTEN || tp.state === TCP_CLOSE) return;
    const v4 = isV4(tp.raddr);
    const min = pmtuFloor(v4);
    let pmtu = mtu < min ? min : mtu;
    // the IP layer's path MTU cache may know a smaller value
    const rt = tp.oif !== 0 ? this.ip.route(tp.raddr, tp.oif) : this.ip.route(tp.raddr);
    if (rt !== null && rt.mtu < pmtu) pmtu = rt.mtu;
    // "something is about to be wrong": remember it in case the connection cannot recover
    if (v4 && mtu < pmtu) tp.softError = ERRNO.EMSGSIZE;
    if (tp.pmtu <= pmtu) return;
    this.stats.pmtuReduced++;
    this.syncMss(tp, pmtu);
    if (tp.state !== TCP_SYN_SENT && tp.state !== TCP_SYN_RECV) this.simpleRetransmit(tp);
  }

  /** Linux tcp_sync_mss: the send MSS for path MTU `pmtu` (never above the peer's clamp) */
  private syncMss(tp: TcpSock, pmtu: number): void {
    tp.pmtu = pmtu;
    const mss = mssForPmtu(pmtu, isV4(tp.raddr), tp.mssClamp);
    if (mss >= tp.mss) return;
    // cwnd counts segments in Linux: keep the count, in bytes of the new MSS
    const old = tp.mss;
    tp.cwnd = Math.max(Math.floor(tp.cwnd / old), 1) * mss;
    if (tp.ssthresh < 0x7fffffff) tp.ssthresh = Math.max(Math.floor(tp.ssthresh / old), 2) * mss;
    tp.mss = mss;
  }

  /**
   * Linux tcp_simple_retransmit: the segments in flight were built for the old MSS and are
   * lost at the smaller MTU; send them again (without a congestion response).
   */
  private simpleRetransmit(tp: TcpSock): void {
    if (tp.inFlight <= 0) {
      this.writeXmit(tp, tp.cork);
      return;
    }
    tp.recover = tp.sndMax;
    tp.lossHigh = tp.sndMax;
    tp.inRecovery = false;
    tp.dupAcks = 0;
    tp.rttTime = -1;
    tp.sndNxt = tp.sndUna;
    tp.finSent = false;
    const covered = this.retransmitHead(tp);
    tp.sndNxt = (tp.sndUna + covered) >>> 0;
    if (tp.finQueued && covered > 0 && tp.sndNxt === ((tp.finSndSeq + 1) >>> 0)) tp.finSent = true;
    this.writeXmit(tp, tp.cork);
    if (!tp.rtoTimer.armed) this.sched.arm(tp.rtoTimer, this.sched.now() + tp.rto);
  }

  // =====================================================================================
  // timers
  // =====================================================================================

  onTimer(tp: TcpSock, kind: number): void {
    if (kind === TIMER_DELACK) {
      if (tp.ackPending) this.sendAck(tp);
      return;
    }
    if (kind === TIMER_TIMEWAIT) {
      this.done(tp);
      return;
    }
    if (kind === TIMER_RTO) this.retransmitTimer(tp);
  }

  private retransmitTimer(tp: TcpSock): void {
    const now = this.sched.now();
    if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
      const limit = tp.state === TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES;
      if (tp.retransmits >= limit) {
        if (tp.state === TCP_SYN_SENT) this.stats.attemptFails++;
        this.fail(tp, tp.softError || ERRNO.ETIMEDOUT);
        return;
      }
      tp.retransmits++;
      tp.backoff++;
      tp.rttTime = -1;
      tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
      tp.stats.timeouts++;
      this.stats.retransSegs++;
      this.sendSyn(tp, tp.state === TCP_SYN_RECV);
      return;
    }
    if (tp.inFlight === 0) {
      // probe timer (Linux tcp_probe_timer / tcp_write_wakeup): send what the window allows,
      // or, with a zero window, a probe (a bare ACK with seq = snd_una − 1)
      if (tp.unsent > 0) {
        const wnd = (tp.sndUna + tp.sndWnd - tp.sndNxt) | 0;
        if (wnd > 0) {
          const len = Math.min(wnd, tp.mss, tp.unsent);
          this.sendData(tp, tp.sndNxt, len, TCP_ACK | TCP_PSH);
          tp.sndNxt = (tp.sndNxt + len) >>> 0;
          if (seqGt(tp.sndNxt, tp.sndMax)) tp.sndMax = tp.sndNxt;
          this.sched.arm(tp.rtoTimer, now + tp.rto);
          return;
        }
        const skb = this.skbs.alloc(MAX_TCP_HEADER, MAX_TCP_HEADER);
        if (skb !== null) this.transmit(tp, skb, (tp.sndUna - 1) >>> 0, TCP_ACK, 0, false);
        tp.backoff++;
        const next = Math.min(Math.max(tp.rto, TCP_RTO_MIN) << Math.min(tp.backoff, 10), TCP_RTO_MAX);
        this.sched.arm(tp.rtoTimer, now + next);
      }
      return;
    }
    if (tp.retransmits >= TCP_RETRIES2) {
      // Linux tcp_write_err: the soft error (an ICMP error seen meanwhile) if there is one
      this.fail(tp, tp.softError || ERRNO.ETIMEDOUT);
      return;
    }
    // RFC 6298 §5.4–5.6 + RFC 5681 §3.1: collapse cwnd, back off, go back to snd_una
    tp.stats.timeouts++;
    this.stats.timeouts++;
    tp.retransmits++;
    tp.ssthresh = Math.max(tp.inFlight >> 1, 2 * tp.mss);
    tp.cwnd = tp.mss;
    tp.cwndCnt = 0;
    tp.inRecovery = false;
    tp.dupAcks = 0;
    tp.recover = tp.sndMax;
    tp.rttTime = -1;
    tp.backoff++;
    tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
    // go back to snd_una: resend the head segment, the rest follows as the window reopens
    tp.sndNxt = tp.sndUna;
    tp.finSent = false;
    const covered = this.retransmitHead(tp);
    tp.sndNxt = (tp.sndUna + covered) >>> 0;
    if (tp.finQueued && covered > 0 && tp.sndNxt === ((tp.finSndSeq + 1) >>> 0)) tp.finSent = true;
    this.sched.arm(tp.rtoTimer, now + tp.rto);
  }

  // =====================================================================================
  // helpers
  // =====================================================================================

  private rttSample(tp: TcpSock): void {
    if (tp.rttTime < 0) return;
    const r = Math.max(this.sched.now() - tp.rttTime, 1);
    tp.rttTime = -1;
    if (tp.srtt === 0) {
      tp.srtt = r;
      tp.rttvar = r >> 1;
    } else {
      const delta = r - tp.srtt;
      tp.rttvar += ((Math.abs(delta) - tp.rttvar) >> 2);
      tp.srtt += delta >> 3;
    }
    this.computeRto(tp);
  }

  private computeRto(tp: TcpSock): void {
    if (tp.srtt === 0) return;
    // Linux: RTO = srtt + max(4·rttvar, TCP_RTO_MIN) — the floor applies to the variance term
    const rto = tp.srtt + Math.max(4 * tp.rttvar, TCP_RTO_MIN);
    tp.rto = Math.min(rto, TCP_RTO_MAX);
  }

  private initConnection(tp: TcpSock, rt: Route): void {
    tp.routeDev = rt.dev;
    tp.pmtu = rt.mtu;
    // MSS = route MTU − IP header − TCP header (IPv4 40, IPv6 60: Linux tcp_mtu_to_mss)
    tp.advMss = Math.max(rt.mtu - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6), 88);
    if (tp.userMss > 0 && tp.userMss < tp.advMss) tp.advMss = tp.userMss;
    tp.mss = TCP_DEFAULT_MSS;
    tp.rto = TCP_TIMEOUT_INIT;
    // window scale: enough to express the receive buffer (Linux tcp_select_initial_window)
    let ws = 0;
    let space = tp.rcvBuf;
    while (space > 0xffff && ws < 14) {
      space >>= 1;
      ws++;
    }
    tp.rcvWscale = ws;
    tp.rcvWnd = Math.min(tp.rcvBuf >> 1, TCP_MAX_WINDOW);
    // initial send sequence number (seeded) and the send sequence space around it
    tp.iss = this.rng.nextU32();
    tp.recover = tp.iss;
    tp.sndUna = tp.iss;
    tp.sndNxt = tp.iss;
    tp.sndMax = tp.iss;
    tp.sendBuf.reset((tp.iss + 1) >>> 0);
  }

  private applySynOptions(tp: TcpSock, o: TcpOptions): void {
    let peerMss = o.mss > 0 ? o.mss : TCP_DEFAULT_MSS;
    if (tp.userMss > 0 && tp.userMss < peerMss) peerMss = tp.userMss;
    tp.mssClamp = peerMss;
    tp.mss = Math.max(Math.min(peerMss, tp.advMss), 64);
    // a path MTU learned while the handshake ran (Linux tcp_sync_mss with icsk_pmtu_cookie)
    const pmtuMss = tp.pmtu - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6);
    if (pmtuMss < tp.mss) tp.mss = Math.max(pmtuMss, TCP_MIN_SND_MSS);
    tp.rcvMss = Math.min(tp.mss, tp.advMss);
    if (o.wscale >= 0) {
      tp.wscaleOk = true;
      tp.sndWscale = Math.min(o.wscale, 14);
    } else {
      tp.wscaleOk = false;
      tp.sndWscale = 0;
      tp.rcvWscale = 0;
    }
  }

  /** our SYN was acknowledged: take the peer's window, the RTT sample, and go ESTABLISHED */
  private completeHandshake(tp: TcpSock, seq: number, ack: number, sndWnd: number): void {
    tp.sndUna = ack;
    tp.sndWnd = sndWnd;
    tp.maxWindow = sndWnd;
    tp.sndWl1 = seq;
    tp.sndWl2 = ack;
    this.rttSample(tp);
    tp.retransmits = 0;
    tp.backoff = 0;
    this.sched.cancel(tp.rtoTimer);
    this.established(tp);
  }

  private established(tp: TcpSock): void {
    tp.state = TCP_ESTABLISHED;
    tp.cwnd = TCP_INIT_CWND * tp.mss;
    tp.quickAcks = TCP_MAX_QUICKACKS;
    tp.retransStamp = this.sched.now();
    this.stats.currEstab++;
    if (tp.sockOwner) {
      tp.sockOwner.tcpStateChange(tp);
      tp.sockOwner.tcpWritable(tp);
    }
  }

  private enterTimeWait(tp: TcpSock): void {
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) this.stats.currEstab--;
    tp.state = TCP_TIME_WAIT;
    this.sched.cancel(tp.rtoTimer);
    this.sched.cancel(tp.delackTimer);
    this.sched.arm(tp.twTimer, this.sched.now() + TCP_TIMEWAIT_LEN);
    if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
  }

  /** the connection failed with `errno`: wake everybody, tear down */
  private fail(tp: TcpSock, errno: number): void {
    tp.error = errno;
    const owner = tp.sockOwner;
    this.done(tp);
    if (owner) {
      owner.tcpStateChange(tp);
      owner.tcpReadable(tp);
      owner.tcpWritable(tp);
    }
  }

  /** moves to CLOSE, cancels timers, unhashes and frees protocol resources */
  done(tp: TcpSock): void {
    if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) this.stats.currEstab--;
    const wasListen = tp.state === TCP_LISTEN;
    if (!wasListen) tp.shutdownDone = true;
    tp.state = TCP_CLOSE;
    this.sched.cancel(tp.rtoTimer);
    this.sched.cancel(tp.delackTimer);
    this.sched.cancel(tp.twTimer);
    if (wasListen) this.demux.removeListener(tp);
    if (tp.hashed) this.demux.remove(tp);
    this.memWait.remove(tp);
    if (tp.parent !== null && !tp.inAcceptQueue) {
      tp.parent.synQueueLen--;
      tp.parent = null;
    }
    // Linux tcp_set_state(CLOSE): the port goes unless the user bound it (and still has the socket)
    if (tp.portHeld && (tp.orphan || !tp.bindPortLock)) {
      tp.portHeld = false;
      const port = tp.lport;
      this.ports.unbind(tp);
      tp.lport = port; // getsockname still reports it (the port is free for others)
    }
    tp.sendBuf.release();
    this.purgeOfo(tp);
    if (tp.orphan) this.purgeRcv(tp);
    if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
  }

  private unreadData(tp: TcpSock): boolean {
    return ((tp.rcvNxt - tp.copiedSeq) | 0) - (tp.finReceived ? 1 : 0) > 0;
  }

  purgeRcv(tp: TcpSock): void {
    let s = tp.rcvHead;
    while (s !== null) {
      const n: SkBuff | null = s.next;
      s.next = null;
      skbFree(s);
      s = n;
    }
    tp.rcvHead = tp.rcvTail = null;
    tp.rcvQueueBytes = 0;
  }

  private purgeOfo(tp: TcpSock): void {
    let s = tp.ofoHead;
    while (s !== null) {
      const n: SkBuff | null = s.next;
      s.next = null;
      skbFree(s);
      s = n;
    }
    tp.ofoHead = null;
    tp.ofoBytes = 0;
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

