/**
 * `TcpSockFile`: the socket side of TCP (Linux `inet_stream_ops` + the socket half of
 * `tcp_prot`): sock->state transitions of connect (EINPROGRESS / EALREADY / EISCONN), accept,
 * shutdown as `inet_shutdown`, `tcp_poll`, recvmsg as `tcp_recvmsg` (devmem included) resumable
 * across waits through the call's MsgHdr, sendmsg as `tcp_sendmsg_locked` (EPIPE after
 * SHUT_WR, waiting for memory), TCP socket options, SIOCINQ / SIOCOUTQ.
 *
 * The protocol control block (`TcpSock`) belongs to TCP; this file holds it from socket() to
 * close() and hears about progress through `TcpSockOwner`, which wakes the wait queue.
 */
import { InetAddr } from '../../inet/index.js';
import {
  TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, tcpAtEof, tcpDevmemDontneed,
  tcpChronoStats, tcpPoll, tcpRecvmsg, tcpSockError, type TcpProto, type TcpSock, type TcpSockOwner,
  tcpGetCongestion, tcpKeepidleChanged, tcpSetCongestion, tcpSetKeepalive,
} from '../../tcp/index.js';
import {
  AF_INET6, AF_UNSPEC, ERRNO, IPPROTO_TCP, IP_TOS, IP_TTL, MSG_DONTWAIT, MSG_EOR, MSG_MORE, MSG_PEEK, MSG_WAITALL,
  POLLHUP, POLLIN, POLLRDHUP, POLLRDNORM, SHUT_RD, SHUT_RDWR, SHUT_WR, SIOCINQ, SIOCOUTQ,
  SIOCOUTQNSD, SOCK_STREAM, SOL_IP, SOL_SOCKET, SOL_TCP, SO_DEVMEM_DMABUF, SO_DEVMEM_DONTNEED, SO_DEVMEM_LINEAR,
  SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_PEEK_OFF, SO_RCVBUF, SO_RCVLOWAT, SO_SNDBUF, SO_ZEROCOPY, TCP_CORK, TCP_INFO,
  MSG_ERRQUEUE, MSG_OOB, MSG_ZEROCOPY, POLLERR, SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_RECORD_MASK,
  TCP_MAXSEG, TCP_NODELAY, IPV6_V6ONLY, TCP_QUICKACK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, SOL_IPV6, SO_REUSEADDR, SO_REUSEPORT,
  TCP_CONGESTION,
} from '../../uapi/index.js';
import { tcpSendmsgCmsg } from './devmem-tx.js';
import { ErrQueue, recvErrqueue } from './errqueue.js';
import type { MsgHdr } from './msghdr.js';
import { TcpTxTstamp } from './tx-tstamp.js';
import { tcpSendmsgZerocopy } from './zerocopy-send.js';
import { ZcSock } from './zerocopy.js';
import { setTimestamping, type TstampOwner } from './tstamp-opt.js';

/** Linux option numbers the uapi module does not list yet */
const TCP_USER_TIMEOUT = 18;
const TCP_NOTSENT_LOWAT = 25;
const TCP_INQ = 36;
const TCP_CM_INQ = TCP_INQ;
const IP_MTU_DISCOVER = 10;
/** SO_MARK (sk_mark: stored; routing by mark is not modelled) */
const SO_MARK = 36;
const IPV6_MTU_DISCOVER = 23;
const IP_PMTUDISC_WANT = 1;
/** IP_PMTUDISC_DONT … IP_PMTUDISC_OMIT */
const IP_PMTUDISC_MAX = 5;
/** Linux MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL (s), MAX_TCP_KEEPCNT */
const MAX_TCP_KEEPIDLE = 32767;
const MAX_TCP_KEEPCNT = 127;
/** Linux defaults: tcp_keepalive_time 7200 s, tcp_keepalive_intvl 75 s, tcp_keepalive_probes 9 */
const TCP_KEEPALIVE_TIME_DEFAULT = 7200_000_000;
const TCP_KEEPALIVE_INTVL_DEFAULT = 75_000_000;
const TCP_KEEPALIVE_PROBES_DEFAULT = 9;
/** quick ACKs TCP_QUICKACK grants (Linux TCP_MAX_QUICKACKS) */
const TCP_MAX_QUICKACKS_OPT = 16;
import {
  RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SS_CONNECTED, SS_CONNECTING, SS_DISCONNECTING, SS_UNCONNECTED,
  SockFile, WAKE_ALL, WAKE_IN, WAKE_OUT, type SockOptVal,
} from './sock.js';
import type { SockAddr } from './sockaddr.js';
import { tcpBind, tcpConnect, tcpDisconnect, tcpLocal, tcpPeer, tcpSocket } from './tcp-glue.js';

/** a subset of Linux `struct tcp_info` */
export interface TcpInfo {
  state: string;
  rto: number;
  rtt: number;
  rttvar: number;
  sndMss: number;
  rcvMss: number;
  sndCwnd: number;
  sndSsthresh: number;
  totalRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  segsIn: number;
  segsOut: number;
  devmemTokens: number;
  devmemTokensHighWater: number;
  /** bytes readable / bytes not yet acknowledged in the send queue */
  rcvQueued: number;
  sndQueued: number;
  /** retransmission timeouts, fast retransmits (TcpExt TCPTimeouts / TCPFastRetrans per socket) */
  timeouts: number;
  fastRetrans: number;
  dupSegsIn: number;
  dataSegsOut: number;
  dataSegsIn: number;
  retransSegs: number;
  bytesSent: number;
  bytesRetrans: number;
  /** Linux icsk_ca_state (TCP_CA_Open 0 … TCP_CA_Loss 4) */
  caState: number;
  /** the MSS we advertised (tcpi_advmss) */
  advmss: number;
  /** 1 while a send waits for host memory (sk_stream_wait_memory) */
  memWait: number;
  /** Linux packets_out / sacked_out / lost_out / retrans_out, segments; reordering; probes, backoff, retransmits; delivered */
  unacked: number;
  sacked: number;
  lost: number;
  retrans: number;
  reordering: number;
  probes: number;
  backoff: number;
  retransmits: number;
  delivered: number;
  /** tcpi_options: TCPI_OPT_TIMESTAMPS 1, SACK 2, WSCALE 4, ECN 8, ECN_SEEN 16 */
  options: number;
  /** send chronographs, µs (tcpi_busy_time: all three; tcpi_rwnd_limited; tcpi_sndbuf_limited) */
  busyTime: number;
  rwndLimited: number;
  sndbufLimited: number;
}

export class TcpSockFile extends SockFile implements TcpSockOwner, TstampOwner {
  readonly tp: TcpSock;
  private lingerOn = false;
  private lingerSecs = 0;
  private tos = 0;
  private ttl = -1;
  /** TCP_INQ: recvmsg adds a TCP_CM_INQ cmsg (bytes left to read) */
  private inq = false;
  /** IP_MTU_DISCOVER / IPV6_MTU_DISCOVER mode (IP_PMTUDISC_*; Linux default WANT = 1) */
  private mtuDiscover = IP_PMTUDISC_WANT;
  private mtuDiscover6 = IP_PMTUDISC_WANT;
  /** sk_error_queue: zero-copy completions and transmit timestamps (MSG_ERRQUEUE) */
  readonly errq: ErrQueue = new ErrQueue(this);
  /** MSG_ZEROCOPY state: sk_zckey, SOCK_DEAD (zerocopy.ts) */
  readonly zc: ZcSock = new ZcSock(this.errq, true);
  /** SO_TIMESTAMPING flags (sk_tsflags) and the OPT_ID base (sk_tskey) */
  tsflags = 0;
  tskey = 0;
  /** SO_MARK */
  private mark = 0;
  /** transmit timestamps, made when the socket first asks for them */
  txTstamp: TcpTxTstamp | null = null;

  constructor(readonly tcp: TcpProto, family: number, tp?: TcpSock) {
    super(family, SOCK_STREAM, IPPROTO_TCP);
    this.tp = tp ?? tcpSocket(tcp, family);
    this.tp.sockOwner = this;
    if (tp !== undefined) {
      // an accepted child
      this.sockState = SS_CONNECTED;
      this.v6only = tp.v6only;
      this.reuseAddr = tp.reuseAddr;
      this.reusePort = tp.reusePort;
    }
  }

  // ---- SO_TIMESTAMPING (tstamp-opt.ts) ----

  /** TstampOwner: TCP's keys are sequence numbers; OPT_ID needs a synchronized socket */
  tstampBase(optIdTcp: boolean): number | null {
    const st = this.tp.state;
    if (st === TCP_CLOSE || st === TCP_LISTEN) return null;
    return optIdTcp ? this.tp.sendBuf.endSeq : this.tp.sndUna;
  }

  /** TstampOwner: transmit timestamps were asked for: install the TCP hook */
  tstampEnableTx(): void {
    if (this.txTstamp === null) this.txTstamp = new TcpTxTstamp(this.tp, this, this.errq, () => this.tcp.sched.now());
    this.tp.txTstamp = this.txTstamp;
  }

  // ---- TcpSockOwner: protocol callbacks wake the queue ----

  tcpReadable(): void {
    this.wq.wake(WAKE_IN);
  }
  tcpWritable(): void {
    this.wq.wake(WAKE_OUT);
  }
  tcpStateChange(): void {
    this.wq.wake(WAKE_ALL);
  }
  tcpAcceptable(): void {
    this.wq.wake(WAKE_IN);
  }

  /** sk_shutdown: the user's shutdown bits, RCV_SHUTDOWN once a FIN arrived, both after tcp_done */
  private get shut(): number {
    const tp = this.tp;
    if (tp.shutdownDone) return SHUTDOWN_MASK;
    return this.shutdownBits | (tp.finReceived || tp.shutRd ? RCV_SHUTDOWN : 0) | (tp.shutWr ? SEND_SHUTDOWN : 0);
  }

  protected get bound(): boolean {
    return this.tp.portHeld;
  }

  protected get listening(): boolean {
    return this.tp.state === TCP_LISTEN;
  }

  // ---- addresses and connection setup ----

  bind(sa: SockAddr, len: number): number {
    const e = this.checkBindAddr(sa, len);
    if (e < 0) return e;
    if (this.tp.portHeld || this.tp.state !== TCP_CLOSE) return -ERRNO.EINVAL;
    return tcpBind(this.tcp, this.tp, this, sa.addr, sa.port);
  }

  listen(backlog: number): number {
    if (this.sockState !== SS_UNCONNECTED) return -ERRNO.EINVAL;
    const st = this.tp.state;
    if (st !== TCP_CLOSE && st !== TCP_LISTEN) return -ERRNO.EINVAL;
    if (!this.tp.portHeld) {
      // autobind (inet_autobind): an ephemeral port on the wildcard of the socket's family
      const r = tcpBind(this.tcp, this.tp, this, this.family === AF_INET6 ? InetAddr.ANY6 : InetAddr.ANY4, 0);
      if (r < 0) return r;
    }
    const r = this.tcp.userListen(this.tp, backlog);
    if (r < 0) return r;
    this.shutdownBits = 0;
    return 0;
  }

  accept(): SockFile | number {
    const tp = this.tp;
    if (tp.state !== TCP_LISTEN) return -ERRNO.EINVAL;
    const child = this.tcp.userAccept(tp);
    if (child === null) {
      if (this.tp.error !== 0) return -tcpSockError(this.tp, false);
      return -ERRNO.EAGAIN;
    }
    const f = new TcpSockFile(this.tcp, this.family, child);
    // sk_clone_lock copies the listener's SOCK_ZEROCOPY and sk_tsflags
    child.zerocopy = tp.zerocopy;
    f.tsflags = this.tsflags;
    f.tskey = this.tskey;
    return f;
  }

  /**
   * __inet_stream_connect. Non-blocking semantics: a connect that started returns -EINPROGRESS;
   * the caller that blocks waits for WAIT_TX and calls `connectResult()`.
   */
  connect(sa: SockAddr, len: number): number {
    if (len < 2) return -ERRNO.EINVAL;
    if (sa.family === AF_UNSPEC) {
      // disconnect
      const r = this.disconnect();
      this.sockState = r < 0 ? SS_DISCONNECTING : SS_UNCONNECTED;
      return r;
    }
    switch (this.sockState) {
      case SS_CONNECTED:
        return -ERRNO.EISCONN;
      case SS_CONNECTING:
        return this.connectResult(-ERRNO.EALREADY);
      case SS_DISCONNECTING:
        return -ERRNO.EINVAL;
      default: {
        if (this.tp.state !== TCP_CLOSE) return -ERRNO.EISCONN;
        const e = this.checkPeerAddr(sa, len);
        if (e < 0) return e;
        const r = tcpConnect(this.tcp, this.tp, this, sa.addr, sa.port);
        if (r < 0) return r;
        this.shutdownBits = 0;
        this.sockState = SS_CONNECTING;
        return this.connectResult(-ERRNO.EINPROGRESS);
      }
    }
  }

  /**
   * The end of __inet_stream_connect: `pending` while the handshake runs, 0 once established
   * (sock->state becomes SS_CONNECTED), or the socket error when the attempt failed.
   */
  override connectResult(pending: number): number {
    const st = this.tp.state;
    if (st === TCP_SYN_SENT || st === TCP_SYN_RECV) return pending;
    if (st === TCP_CLOSE) {
      const e = tcpSockError(this.tp, false);
      this.sockState = SS_UNCONNECTED;
      return e !== 0 ? -e : -ERRNO.ECONNABORTED;
    }
    this.sockState = SS_CONNECTED;
    return 0;
  }

  /** tcp_disconnect */
  private disconnect(): number {
    const r = tcpDisconnect(this.tcp, this.tp);
    this.shutdownBits = 0;
    this.wq.wake(WAKE_ALL);
    return r;
  }

  getsockname(): SockAddr {
    const l = tcpLocal(this.tp);
    return this.nameOf(l.addr, l.port);
  }

  getpeername(): SockAddr | number {
    const st = this.tp.state;
    if (this.tp.rport === 0 || st === TCP_CLOSE || st === TCP_SYN_SENT || st === TCP_LISTEN) return -ERRNO.ENOTCONN;
    const p = tcpPeer(this.tp);
    return this.nameOf(p.addr, p.port);
  }

  /** inet_shutdown */
  shutdown(how: number): number {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return -ERRNO.EINVAL;
    const bits = how + 1;
    const tp = this.tp;
    if (this.sockState === SS_CONNECTING) {
      const st = tp.state;
      this.sockState = st === TCP_SYN_SENT || st === TCP_SYN_RECV || st === TCP_CLOSE ? SS_DISCONNECTING : SS_CONNECTED;
    }
    let err = 0;
    switch (tp.state) {
      case TCP_LISTEN:
        if ((bits & RCV_SHUTDOWN) === 0) break;
        err = this.disconnect();
        this.sockState = err < 0 ? SS_DISCONNECTING : SS_UNCONNECTED;
        break;
      case TCP_SYN_SENT:
        err = this.disconnect();
        this.sockState = err < 0 ? SS_DISCONNECTING : SS_UNCONNECTED;
        break;
      case TCP_CLOSE:
        err = -ERRNO.ENOTCONN;
        this.shutdownBits |= bits;
        break;
      default:
        this.shutdownBits |= bits;
        if (bits & RCV_SHUTDOWN) tp.shutRd = true;
        if (bits & SEND_SHUTDOWN) this.tcp.userShutdownWrite(tp);
    }
    this.wq.wake(WAKE_ALL);
    return err;
  }

  // ---- data ----

  /**
   * tcp_sendmsg_locked over `msg.iov[iovOff, iovOff + iovLen)`, resuming at `msg.done`. Returns
   * the bytes sent when the call is over, or (blocking callers) -EAGAIN to wait for space,
   * -ENOBUFS to wait for memory. Non-blocking: what fit, or -EAGAIN.
   */
  sendmsg(msg: MsgHdr, flags: number, nonblock: boolean): number {
    const tp = this.tp;
    nonblock = nonblock || (flags & MSG_DONTWAIT) !== 0;
    // cmsgs (devmem TX: SCM_DEVMEM_DMABUF) and iovec sends: devmem-tx.ts; null = an ordinary send
    if (msg.control !== null || msg.devIov !== null) {
      const r = tcpSendmsgCmsg(this, msg, flags, nonblock);
      if (r !== null) return r;
    }
    // MSG_ZEROCOPY of caller buffers and iovec lists: zerocopy-send.ts; null = a plain send
    if ((flags & MSG_ZEROCOPY) !== 0 || msg.iovecs !== null || msg.zc !== null) {
      const r = tcpSendmsgZerocopy(this, msg, flags, nonblock);
      if (r !== null) return r;
    }
    msg.started = true;
    const st = tp.state;
    if (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT) {
      // sk_stream_wait_connect
      const e = this.takeError();
      if (e !== 0) return this.sendDone(msg, -e);
      if (st !== TCP_SYN_SENT && st !== TCP_SYN_RECV) return this.sendDone(msg, -ERRNO.EPIPE);
      if (nonblock) return this.sendDone(msg, -ERRNO.EAGAIN);
      return -ERRNO.EAGAIN;
    }
    if (tp.error !== 0 || (this.shut & SEND_SHUTDOWN) !== 0 || tp.shutWr) {
      const e = tp.error !== 0 ? this.takeError() : ERRNO.EPIPE;
      return this.sendDone(msg, -e);
    }
    const data = msg.iov!;
    const end = msg.iovOff + msg.iovLen;
    const more = (flags & MSG_MORE) !== 0;
    while (msg.done < msg.iovLen) {
      const left = end - msg.iovOff - msg.done;
      // tcp_tx_timestamp: the send's last byte is a timestamp key (set before it can go out)
      const tsKey = this.txTstamp !== null && (this.tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK) !== 0 ? this.tsKeyFor(left) : -1;
      const r = this.tcp.userSend(tp, data, msg.iovOff + msg.done, left, more, (flags & MSG_EOR) !== 0, msg.done > 0);
      if (tsKey >= 0 && r !== left) this.txTstamp!.dropLastKey(tsKey);
      if (r > 0) {
        msg.done += r;
        continue;
      }
      if (r === -ERRNO.EAGAIN || r === -ERRNO.ENOBUFS) {
        if (nonblock) return this.sendDone(msg, -ERRNO.EAGAIN);
        return r;
      }
      // a pending hard error is reported once (sk_stream_error → sock_error)
      if (tp.error !== 0 && r === -tp.error) this.takeError();
      return this.sendDone(msg, r);
    }
    return msg.done;
  }

  /** SEND_SHUTDOWN is set (the devmem send path checks it) */
  get sendShutdown(): boolean {
    return (this.shut & SEND_SHUTDOWN) !== 0;
  }

  /**
   * @internal when transmit timestamps are recorded: the key of a send whose last `n` bytes are
   * about to be queued (tcp_tx_timestamp), else -1
   */
  tsKeyForLast(n: number): number {
    if (this.txTstamp === null || (this.tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK) === 0) return -1;
    return this.tsKeyFor(n);
  }

  /** records the key of a send whose `left` bytes are about to be queued (→ the key) */
  private tsKeyFor(left: number): number {
    const key = (this.tp.sendBuf.endSeq + left - 1) >>> 0;
    this.txTstamp!.addKey(key, this.tsflags);
    return key;
  }

  /** the end of a send: bytes already sent win over the error (sk_stream_error otherwise) */
  private sendDone(msg: MsgHdr, err: number): number {
    if (msg.done > 0) this.tsPartialSend();
    return msg.done > 0 ? msg.done : err;
  }

  /**
   * @internal a send that returns having queued only part of its bytes: tcp_tx_timestamp marks
   * the last byte queued (partial.pkt); nothing when timestamps are off
   */
  tsPartialSend(): void {
    if (this.txTstamp === null || (this.tsflags & SOF_TIMESTAMPING_TX_RECORD_MASK) === 0) return;
    this.txTstamp.addKey((this.tp.sendBuf.endSeq - 1) >>> 0, this.tsflags);
  }

  /**
   * tcp_recvmsg over the call's MsgHdr. Returns the bytes covered when the call is over (0 at
   * end of stream) or -errno; a blocking call gets -EAGAIN while it must wait for more.
   */
  recvmsg(msg: MsgHdr, flags: number, nonblock: boolean): number {
    const tp = this.tp;
    // tcp_recvmsg: the error queue is read before anything else (inet_recv_error)
    if (flags & MSG_ERRQUEUE) {
      msg.started = true;
      return recvErrqueue(this.errq, this, msg);
    }
    nonblock = nonblock || (flags & MSG_DONTWAIT) !== 0;
    if (tp.state === TCP_LISTEN) return -ERRNO.ENOTCONN;
    // tcp_recv_urg: no urgent data is ever held (SO_OOBINLINE semantics aside) → EINVAL
    if (flags & MSG_OOB) return -ERRNO.EINVAL;
    const st = msg.tcpState();
    const len = msg.iovLen;
    if (!msg.started) {
      msg.started = true;
      // sock_rcvlowat(): the whole length under MSG_WAITALL (MSG_PEEK included), else SO_RCVLOWAT
      msg.target = flags & MSG_WAITALL ? len : Math.min(tp.rcvLowat, len);
    }
    const peek = (flags & MSG_PEEK) !== 0;
    const r = tcpRecvmsg(tp, msg.iov, len, flags, st);
    let ret: number;
    if (r < 0) {
      ret = r;
    } else if (st.copied >= msg.target || st.boundary || st.stopped) {
      ret = st.copied;
    } else if (st.copied > 0) {
      // Linux stops a call that covered something on an error, close, shutdown, or non-blocking
      if (tp.error !== 0 || tp.state === TCP_CLOSE || (this.shut & RCV_SHUTDOWN) !== 0 || nonblock) ret = st.copied;
      else return -ERRNO.EAGAIN;
    } else if (tcpAtEof(tp) && !peek) {
      ret = 0;
    } else if (tp.error !== 0) {
      ret = -this.takeError();
    } else if ((this.shut & RCV_SHUTDOWN) !== 0) {
      ret = 0;
    } else if (tp.state === TCP_CLOSE) {
      ret = -ERRNO.ENOTCONN;
    } else if (nonblock) {
      ret = -ERRNO.EAGAIN;
    } else {
      return -ERRNO.EAGAIN;
    }
    // TCP_INQ: bytes left to read once the call is over (Linux tcp_inq_hint: 1 after a FIN)
    if (this.inq && ret >= 0) {
      let inq = Math.max(tp.readableBytes, 0);
      if (inq === 0 && tp.finReceived) inq = 1;
      st.control.putIntCmsg(SOL_TCP, TCP_CM_INQ, inq);
    }
    msg.controlLen = st.control.len;
    msg.iovUsed = st.iovUsed;
    return ret;
  }

  /** takes the pending hard socket error (sock_error): positive errno or 0 */
  takeError(): number {
    return tcpSockError(this.tp, false);
  }

  // ---- readiness ----

  /** tcp_poll, with the shutdown bits a shutdown() of an unconnected socket leaves */
  override poll(): number {
    let mask = tcpPoll(this.tp);
    // tcp_poll: a non-empty error queue is POLLERR
    if (!this.errq.empty) mask |= POLLERR;
    const bits = this.shutdownBits;
    if (bits !== 0 && this.tp.state !== TCP_LISTEN) {
      if (bits & RCV_SHUTDOWN) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
      if (bits === SHUTDOWN_MASK) mask |= POLLHUP;
    }
    return mask;
  }

  ioctl(cmd: number, out: SockOptVal): number {
    const tp = this.tp;
    switch (cmd) {
      case SIOCINQ:
        if (tp.state === TCP_LISTEN) return -ERRNO.EINVAL;
        out.value = tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV ? 0 : Math.max(0, tp.readableBytes);
        return 0;
      case SIOCOUTQ:
        if (tp.state === TCP_LISTEN) return -ERRNO.EINVAL;
        out.value = tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV || tp.state === TCP_CLOSE ? 0 : (tp.sendBuf.endSeq - tp.sndUna) | 0;
        return 0;
      case SIOCOUTQNSD:
        if (tp.state === TCP_LISTEN) return -ERRNO.EINVAL;
        out.value = tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV || tp.state === TCP_CLOSE ? 0 : (tp.sendBuf.endSeq - tp.sndNxt) | 0;
        return 0;
    }
    return -ERRNO.ENOTTY;
  }

  // ---- options ----

  protected setProtoOpt(level: number, name: number, v: number, raw: Uint8Array | null): number {
    const tp = this.tp;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_DEVMEM_DONTNEED:
          return raw === null ? -ERRNO.EINVAL : tcpDevmemDontneed(tp, raw);
        case SO_REUSEADDR:
          tp.reuseAddr = v !== 0;
          return 0;
        case SO_REUSEPORT:
          tp.reusePort = v !== 0;
          return 0;
        case SO_RCVBUF:
          tp.rcvBuf = Math.max(2304, Math.min(v, 64 << 20) * 2); // Linux doubles the value
          tp.rcvBufLocked = true;
          return 0;
        case SO_SNDBUF:
          tp.sndBuf = Math.max(4608, Math.min(v, 64 << 20) * 2);
          this.wq.wake(WAKE_OUT);
          return 0;
        case SO_KEEPALIVE:
          tcpSetKeepalive(this.tcp, tp, v !== 0);
          return 0;
        case SO_RCVLOWAT:
          tp.rcvLowat = Math.max(1, v);
          return 0;
        case SO_PEEK_OFF:
          tp.peekOff = v;
          return 0;
        case SO_ZEROCOPY:
          // sock_setsockopt: a boolean, 0 or 1
          if (v < 0 || v > 1) return -ERRNO.EINVAL;
          tp.zerocopy = v !== 0;
          return 0;
        case SO_TIMESTAMPING:
          return setTimestamping(this, v, raw);
        case SO_MARK:
          this.mark = v >>> 0;
          return 0;
        case SO_LINGER: {
          // struct linger { int l_onoff; int l_linger; }
          if (raw === null || raw.length < 8) return -ERRNO.EINVAL;
          const dv = new DataView(raw.buffer, raw.byteOffset, 8);
          this.lingerOn = dv.getInt32(0, true) !== 0;
          this.lingerSecs = Math.max(0, dv.getInt32(4, true));
          return 0;
        }
        case SO_DEVMEM_LINEAR:
        case SO_DEVMEM_DMABUF:
          return -ERRNO.ENOPROTOOPT;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_TCP) {
      switch (name) {
        case TCP_NODELAY:
          tp.nodelay = v !== 0;
          // Linux: nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH, then push (even through a cork)
          if (tp.nodelay) {
            tp.nonaglePush = true;
            this.tcp.push(tp);
          }
          return 0;
        case TCP_CORK:
          tp.cork = v !== 0;
          if (!tp.cork) {
            if (tp.nodelay) tp.nonaglePush = true;
            this.tcp.push(tp);
          }
          return 0;
        case TCP_MAXSEG:
          if (v < 88 || v > 65535 - 40) return -ERRNO.EINVAL;
          tp.userMss = v;
          return 0;
        case TCP_INQ:
          if (v < 0 || v > 1) return -ERRNO.EINVAL;
          this.inq = v === 1;
          return 0;
        case TCP_NOTSENT_LOWAT:
          // 0 = the sysctl; a bigger mark may make the socket writable now
          tp.notsentLowat = v >>> 0;
          this.wq.wake(WAKE_OUT);
          return 0;
        case TCP_USER_TIMEOUT:
          if (v < 0) return -ERRNO.EINVAL;
          tp.userTimeout = v * 1000;
          return 0;
        case TCP_QUICKACK:
          // on: leave delayed-ACK mode, ACK what is pending now (Linux do_tcp_setsockopt)
          if (v !== 0) {
            tp.quickAcks = Math.max(tp.quickAcks, TCP_MAX_QUICKACKS_OPT);
            if (tp.ackPending && (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT)) this.tcp.sendAck(tp);
          } else {
            tp.quickAcks = 0;
          }
          return 0;
        case TCP_KEEPIDLE:
          if (v < 1 || v > MAX_TCP_KEEPIDLE) return -ERRNO.EINVAL;
          tp.keepIdle = v * 1_000_000;
          tcpKeepidleChanged(this.tcp, tp);
          return 0;
        case TCP_KEEPINTVL:
          if (v < 1 || v > MAX_TCP_KEEPIDLE) return -ERRNO.EINVAL;
          tp.keepIntvl = v * 1_000_000;
          return 0;
        case TCP_KEEPCNT:
          if (v < 1 || v > MAX_TCP_KEEPCNT) return -ERRNO.EINVAL;
          tp.keepCnt = v;
          return 0;
        case TCP_CONGESTION:
          // the caller may pick algorithms outside the allowed list (CAP_NET_ADMIN, as root)
          return raw === null ? -ERRNO.EINVAL : tcpSetCongestion(this.tcp.congestion, tp, raw, true);
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IP) {
      switch (name) {
        case IP_TOS:
          this.tos = v & 0xff;
          return 0;
        case IP_TTL:
          if (v !== -1 && (v < 1 || v > 255)) return -ERRNO.EINVAL;
          this.ttl = v;
          return 0;
        case IP_MTU_DISCOVER:
          if (v < 0 || v > IP_PMTUDISC_MAX) return -ERRNO.EINVAL;
          this.mtuDiscover = v;
          return 0;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IPV6 && name === IPV6_V6ONLY) {
      tp.v6only = v !== 0;
      return 0;
    }
    if (level === SOL_IPV6 && name === IPV6_MTU_DISCOVER) {
      if (v < 0 || v > IP_PMTUDISC_MAX) return -ERRNO.EINVAL;
      this.mtuDiscover6 = v;
      return 0;
    }
    return -ERRNO.ENOPROTOOPT;
  }

  protected getProtoOpt(level: number, name: number, out: SockOptVal): number {
    const tp = this.tp;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_ERROR:
          out.value = tcpSockError(this.tp, true);
          return 0;
        case SO_RCVBUF:
          out.value = tp.rcvBuf;
          return 0;
        case SO_SNDBUF:
          out.value = tp.sndBuf;
          return 0;
        case SO_KEEPALIVE:
          out.value = tp.keepalive ? 1 : 0;
          return 0;
        case SO_RCVLOWAT:
          out.value = tp.rcvLowat;
          return 0;
        case SO_ZEROCOPY:
          out.value = tp.zerocopy ? 1 : 0;
          return 0;
        case SO_MARK:
          out.value = this.mark;
          return 0;
        case SO_TIMESTAMPING: {
          // struct so_timestamping { int flags; int bind_phc; }
          const b = new Uint8Array(8);
          new DataView(b.buffer).setInt32(0, this.tsflags, true);
          out.bytes = b;
          out.value = this.tsflags;
          return 0;
        }
        case SO_PEEK_OFF:
          out.value = tp.peekOff;
          return 0;
        case SO_LINGER: {
          const b = new Uint8Array(8);
          const dv = new DataView(b.buffer);
          dv.setInt32(0, this.lingerOn ? 1 : 0, true);
          dv.setInt32(4, this.lingerSecs, true);
          out.bytes = b;
          out.data = { onoff: this.lingerOn, linger: this.lingerSecs };
          out.value = this.lingerOn ? 1 : 0;
          return 0;
        }
      }
      // SO_DEVMEM_DONTNEED has no getsockopt
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_TCP) {
      switch (name) {
        case TCP_NODELAY:
          out.value = tp.nodelay ? 1 : 0;
          return 0;
        case TCP_CORK:
          out.value = tp.cork ? 1 : 0;
          return 0;
        case TCP_MAXSEG:
          out.value = tp.state === TCP_ESTABLISHED ? tp.mss : tp.userMss || 536;
          return 0;
        case TCP_INFO:
          out.data = this.info();
          out.value = 0;
          return 0;
        case TCP_INQ:
          out.value = this.inq ? 1 : 0;
          return 0;
        case TCP_NOTSENT_LOWAT:
          out.value = tp.notsentLowat;
          return 0;
        case TCP_USER_TIMEOUT:
          out.value = Math.floor(tp.userTimeout / 1000);
          return 0;
        case TCP_QUICKACK:
          out.value = tp.quickAcks > 0 ? 1 : 0;
          return 0;
        case TCP_KEEPIDLE:
          out.value = Math.floor((tp.keepIdle || TCP_KEEPALIVE_TIME_DEFAULT) / 1_000_000);
          return 0;
        case TCP_KEEPINTVL:
          out.value = Math.floor((tp.keepIntvl || TCP_KEEPALIVE_INTVL_DEFAULT) / 1_000_000);
          return 0;
        case TCP_KEEPCNT:
          out.value = tp.keepCnt || TCP_KEEPALIVE_PROBES_DEFAULT;
          return 0;
        case TCP_CONGESTION:
          out.bytes = tcpGetCongestion(tp, 16);
          out.value = 0;
          return 0;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IP) {
      switch (name) {
        case IP_TOS:
          out.value = this.tos;
          return 0;
        case IP_TTL:
          out.value = this.ttl < 0 ? 64 : this.ttl;
          return 0;
        case IP_MTU_DISCOVER:
          out.value = this.mtuDiscover;
          return 0;
      }
    }
    if (level === SOL_IPV6 && name === IPV6_MTU_DISCOVER) {
      out.value = this.mtuDiscover6;
      return 0;
    }
    return -ERRNO.ENOPROTOOPT;
  }

  /** TCP_INFO as an object */
  info(): TcpInfo {
    const tp = this.tp;
    return {
      state: tp.stateName, rto: tp.rto, rtt: tp.srtt, rttvar: tp.rttvar, sndMss: tp.mss, rcvMss: tp.rcvMss,
      sndCwnd: tp.sndCwnd, sndSsthresh: tp.sndSsthresh, totalRetrans: tp.stats.retransSegs,
      bytesAcked: tp.stats.bytesAcked, bytesReceived: tp.stats.bytesReceived, segsIn: tp.stats.segsIn,
      segsOut: tp.stats.segsOut, devmemTokens: tp.tokens.size, devmemTokensHighWater: tp.tokens.highWater,
      rcvQueued: Math.max(0, tp.readableBytes), sndQueued: tp.sendBuf.bytes, timeouts: tp.stats.timeouts,
      fastRetrans: tp.stats.fastRetrans, dupSegsIn: tp.stats.dupSegsIn, dataSegsOut: tp.stats.dataSegsOut,
      dataSegsIn: tp.stats.dataSegsIn, retransSegs: tp.stats.retransSegs, bytesSent: tp.stats.bytesSent,
      bytesRetrans: tp.stats.bytesRetrans, memWait: tp.memWait ? 1 : 0, caState: tp.caState, advmss: tp.advMss,
      unacked: tp.packetsOut, sacked: tp.sackedOut, lost: Math.ceil(tp.rtx.lostOut / tp.mss),
      retrans: Math.ceil(tp.rtx.retransOut / tp.mss), reordering: tp.reordering,
      probes: tp.probesOut, backoff: tp.backoff, retransmits: tp.retransmits,
      delivered: tp.delivered,
      options: (tp.tsOk ? 1 : 0) | (tp.sackOk ? 2 : 0) | (tp.wscaleOk ? 4 : 0) | (tp.ecnFlags & 1 ? 8 : 0) | (tp.ecnFlags & 8 ? 16 : 0),
      ...tcpChronoStats(tp, this.tcp.sched.now(), { busyTime: 0, rwndLimited: 0, sndbufLimited: 0 }),
    };
  }

  // ---- teardown ----

  /** tcp_close: returns every devmem token, then FIN (or RST: unread data, SO_LINGER 0) */
  protected closeProto(): void {
    const tp = this.tp;
    // sock_orphan (SOCK_DEAD): later completions are dropped; the error queue is purged
    this.zc.dead = true;
    this.errq.purge();
    if (this.txTstamp !== null) this.txTstamp.detach();
    if (this.lingerOn && this.lingerSecs === 0 && tp.state !== TCP_LISTEN) {
      tp.sockOwner = null;
      this.tcp.userAbort(tp);
      this.tcp.userClose(tp);
      return;
    }
    this.tcp.userClose(tp);
  }

  protected abortProto(errno: number): void {
    const tp = this.tp;
    // a listener keeps its queue: close() resets the children
    if (tp.state !== TCP_CLOSE && tp.state !== TCP_LISTEN) this.tcp.userAbort(tp);
    if (tp.state !== TCP_LISTEN) {
      tp.error = errno;
      this.shutdownBits = SHUTDOWN_MASK;
    }
  }
}
