/**
 * `Socket`: the BSD socket API over our TCP, with Linux errno semantics. Blocking calls return
 * promises that settle when the stack makes progress (in virtual time the network driver runs the
 * simulation while they wait); `MSG_DONTWAIT` / non-blocking sockets fail with EAGAIN instead.
 * Failures throw `ErrnoError`.
 *
 * Devmem receive: `recvmsg({ flags: MSG_SOCK_DEVMEM })` returns `SCM_DEVMEM_LINEAR` and
 * `SCM_DEVMEM_DMABUF` cmsgs, both decoded (`cmsgs`) and as the byte-exact Linux control buffer
 * (`control`); `setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, ranges)` returns the tokens freed;
 * `close()` returns every token still held.
 */
import {
  AF_INET, ERRNO, ErrnoError, IPPROTO_TCP, MSG_DONTWAIT, MSG_MORE, MSG_PEEK,
  MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SOL_TCP, SO_DEVMEM_DMABUF, SO_DEVMEM_DONTNEED,
  SO_DEVMEM_LINEAR, SO_ERROR, SO_KEEPALIVE, SO_PEEK_OFF, SO_RCVBUF, SO_RCVLOWAT, SO_REUSEADDR, SO_SNDBUF, SO_TYPE,
  SO_ZEROCOPY, TCP_CORK, TCP_MAXSEG, TCP_NODELAY, fail,
} from '../uapi/index.js';
import {
  RecvState, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT, tcpAtEof, tcpDevmemDontneed, tcpRecvmsg,
  type TcpProto, type TcpSock, type TcpSockOwner,
} from '../tcp/index.js';
import type { Scheduler } from '../time/index.js';
import { ipv4AddrToString, parseIpv4Addr } from '../wire/addr.js';
import { decodeCmsgs, encodeDmabufTokens, type Cmsg, type DmabufTokenRange } from './cmsg.js';

/** what a socket needs from its host */
export interface SocketEnv {
  readonly tcp: TcpProto;
  readonly sched: Scheduler;
  /** registers an open file; returns its fd */
  allocFd(obj: object): number;
  closeFd(fd: number): void;
}

export interface RecvmsgOptions {
  /** iov length when no `iov` is given (default 64 KiB) */
  iovLen?: number;
  /** caller-owned iov (linear bytes land here) */
  iov?: Uint8Array;
  /** control buffer length when no `control` is given (default 0: no control buffer) */
  controlLen?: number;
  control?: Uint8Array;
  flags?: number;
}

export interface RecvmsgResult {
  /** the call's return value: bytes covered (linear copies + device-memory pieces); 0 at EOF */
  length: number;
  /** bytes copied into the iov (readable data, or SCM_DEVMEM_LINEAR bytes) */
  bytes: Uint8Array;
  /** decoded cmsgs */
  cmsgs: Cmsg[];
  /** the control buffer as Linux writes it (msg_controllen bytes) */
  control: Uint8Array;
  /** msg_flags */
  flags: number;
}

export interface SockAddr {
  address: string;
  port: number;
}

type Waiter = () => void;

export class Socket implements TcpSockOwner {
  readonly fd: number;
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  nonblocking = false;
  private tp: TcpSock;
  private closed = false;
  private readWaiters: Waiter[] = [];
  private writeWaiters: Waiter[] = [];
  private stateWaiters: Waiter[] = [];
  private reuseAddr = false;
  private readonly rstate = new RecvState();
  /** control bytes written by the last recvmsgInto */
  lastControlLen = 0;
  /** msg_flags of the last recvmsg */
  lastMsgFlags = 0;
  /** bytes written into the iov by the last recvmsgInto */
  lastIovUsed = 0;

  constructor(private readonly env: SocketEnv, family: number, type: number, protocol = 0, tp?: TcpSock) {
    if (family !== AF_INET) {
      // AF_INET6 arrives with the IPv6 issue
      fail('EAFNOSUPPORT', 'socket');
    }
    if ((type & 0xf) !== SOCK_STREAM) fail('EPROTONOSUPPORT', 'socket');
    if (protocol !== 0 && protocol !== IPPROTO_TCP) fail('EPROTONOSUPPORT', 'socket');
    this.family = family;
    this.type = SOCK_STREAM;
    this.protocol = IPPROTO_TCP;
    this.tp = tp ?? env.tcp.socket();
    this.tp.owner = this;
    this.fd = env.allocFd(this);
  }

  /** the protocol control block (tests and statistics) */
  get tcb(): TcpSock {
    return this.tp;
  }

  // ---- TcpSockOwner ----

  tcpReadable(): void {
    this.wake(this.readWaiters);
  }
  tcpWritable(): void {
    this.wake(this.writeWaiters);
  }
  tcpStateChange(): void {
    this.wake(this.stateWaiters);
  }
  tcpAcceptable(): void {
    this.wake(this.readWaiters);
  }

  private wake(list: Waiter[]): void {
    if (list.length === 0) return;
    const ws = list.splice(0);
    this.env.sched.noteWakeup();
    for (const w of ws) w();
  }

  private wait(list: Waiter[]): Promise<void> {
    return new Promise<void>((resolve) => list.push(resolve));
  }

  private check(op: string): void {
    if (this.closed) fail('EBADF', op);
  }

  private throwErr(errno: number, op: string): never {
    throw new ErrnoError(errno, op);
  }

  // ---- addresses ----

  bind(address: string, port: number): void {
    this.check('bind');
    const addr = parseAddr(address, 'bind');
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail('EINVAL', 'bind');
    const r = this.env.tcp.userBind(this.tp, addr, port, this.reuseAddr);
    if (r < 0) this.throwErr(-r, 'bind');
  }

  listen(backlog = 128): void {
    this.check('listen');
    const r = this.env.tcp.userListen(this.tp, backlog);
    if (r < 0) this.throwErr(-r, 'listen');
  }

  async accept(): Promise<Socket> {
    for (;;) {
      this.check('accept');
      if (this.tp.state !== TCP_LISTEN) fail('EINVAL', 'accept');
      const child = this.env.tcp.userAccept(this.tp);
      if (child !== null) return new Socket(this.env, this.family, this.type, this.protocol, child);
      if (this.nonblocking) fail('EAGAIN', 'accept');
      await this.wait(this.readWaiters);
    }
  }

  async connect(address: string, port: number): Promise<void> {
    this.check('connect');
    const addr = parseAddr(address, 'connect');
    const r = this.env.tcp.userConnect(this.tp, addr, port);
    if (r < 0) this.throwErr(-r, 'connect');
    if (this.nonblocking) fail('EINPROGRESS', 'connect');
    while (this.tp.state === TCP_SYN_SENT || this.tp.state === TCP_SYN_RECV) await this.wait(this.stateWaiters);
    if (this.tp.state !== TCP_ESTABLISHED) {
      const e = this.tp.error || ERRNO.ECONNREFUSED;
      this.tp.error = 0;
      this.throwErr(e, 'connect');
    }
  }

  getsockname(): SockAddr {
    return { address: ipv4AddrToString(this.tp.laddr), port: this.tp.lport };
  }

  getpeername(): SockAddr {
    if (this.tp.rport === 0) fail('ENOTCONN', 'getpeername');
    return { address: ipv4AddrToString(this.tp.raddr), port: this.tp.rport };
  }

  /** TCP state name (ESTABLISHED, CLOSE_WAIT, …) */
  get state(): string {
    return this.tp.stateName;
  }

  // ---- data ----

  /**
   * Sends all of `data` (blocking until it is queued) and returns its length; with
   * MSG_DONTWAIT returns what fit, or throws EAGAIN when nothing did.
   */
  async send(data: Uint8Array, flags = 0): Promise<number> {
    let off = 0;
    const dontwait = this.nonblocking || (flags & MSG_DONTWAIT) !== 0;
    const more = (flags & MSG_MORE) !== 0;
    while (off < data.length) {
      this.check('send');
      const r = this.env.tcp.userSend(this.tp, data, off, data.length - off, more);
      if (r > 0) {
        off += r;
        continue;
      }
      if (r === -ERRNO.EAGAIN) {
        if (dontwait) {
          if (off > 0) return off;
          fail('EAGAIN', 'send');
        }
        await this.wait(this.writeWaiters);
        continue;
      }
      if (off > 0) return off;
      this.throwErr(-r, 'send');
    }
    return off;
  }

  /** receives up to `len` bytes; an empty array means end of stream */
  async recv(len = 65536, flags = 0): Promise<Uint8Array> {
    const r = await this.recvmsg({ iovLen: len, flags });
    return r.bytes;
  }

  /** recvmsg with allocation of the iov and control buffer; see `recvmsgInto` */
  async recvmsg(opts: RecvmsgOptions = {}): Promise<RecvmsgResult> {
    const iov = opts.iov ?? new Uint8Array(opts.iovLen ?? 65536);
    const control = opts.control ?? (opts.controlLen ? new Uint8Array(opts.controlLen) : null);
    const n = await this.recvmsgInto(iov, control, opts.flags ?? 0);
    const ctl = control === null ? new Uint8Array(0) : control.subarray(0, this.lastControlLen);
    return {
      length: n,
      bytes: iov.subarray(0, this.lastIovUsed),
      cmsgs: decodeCmsgs(ctl),
      control: ctl,
      flags: this.lastMsgFlags,
    };
  }

  /**
   * The allocation-free recvmsg: covers up to `iov.length` bytes, writes cmsgs into `control`
   * (when given) and returns the byte count (0 at end of stream). After the call
   * `lastControlLen`, `lastIovUsed` and `lastMsgFlags` describe the result.
   */
  async recvmsgInto(iov: Uint8Array, control: Uint8Array | null, flags = 0): Promise<number> {
    const dontwait = this.nonblocking || (flags & MSG_DONTWAIT) !== 0;
    const st = this.rstate;
    st.reset(control, control === null ? null : new DataView(control.buffer, control.byteOffset, control.byteLength));
    const len = iov.length;
    const peek = (flags & MSG_PEEK) !== 0;
    // sock_rcvlowat(): the whole length under MSG_WAITALL (MSG_PEEK included), else SO_RCVLOWAT
    const target = flags & MSG_WAITALL ? len : Math.min(this.tp.rcvLowat, len);
    this.lastControlLen = 0;
    this.lastIovUsed = 0;
    this.lastMsgFlags = 0;
    for (;;) {
      this.check('recvmsg');
      const tp = this.tp;
      if (tp.state === TCP_LISTEN) fail('ENOTCONN', 'recvmsg');
      const r = tcpRecvmsg(tp, iov, len, flags, st);
      if (r < 0) {
        this.finish(st);
        this.throwErr(-r, 'recvmsg');
      }
      // reached the target, or a stop inside tcp_recvmsg_locked (readable/unreadable boundary,
      // devmem copier short) ended the call
      if (st.copied >= target || st.boundary || st.stopped) break;
      if (tp.error !== 0) {
        if (st.copied > 0) break;
        const e = tp.error;
        tp.error = 0;
        this.finish(st);
        this.throwErr(e, 'recvmsg');
      }
      if (tcpAtEof(tp) || tp.shutRd) break;
      // FIN received (RCV_SHUTDOWN): nothing more will come; a peek that found nothing is at
      // or past the FIN (every byte before it is queued), so it returns 0
      if (tp.finReceived && (st.copied > 0 || peek)) break;
      if (tp.state === TCP_CLOSE) {
        if (st.copied > 0 || tp.rport !== 0) break;
        this.finish(st);
        fail('ENOTCONN', 'recvmsg');
      }
      if (dontwait) {
        if (st.copied > 0) break;
        this.finish(st);
        fail('EAGAIN', 'recvmsg');
      }
      await this.wait(this.readWaiters);
    }
    this.finish(st);
    return st.copied;
  }

  private finish(st: RecvState): void {
    this.lastControlLen = st.control.len;
    this.lastIovUsed = st.iovUsed;
  }

  /** shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR) */
  shutdown(how: number): void {
    this.check('shutdown');
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) fail('EINVAL', 'shutdown');
    if (this.tp.state === TCP_CLOSE || this.tp.state === TCP_LISTEN) fail('ENOTCONN', 'shutdown');
    if (how !== SHUT_WR) {
      this.tp.shutRd = true;
      this.wake(this.readWaiters);
    }
    if (how !== SHUT_RD) {
      const r = this.env.tcp.userShutdownWrite(this.tp);
      if (r < 0) this.throwErr(-r, 'shutdown');
    }
  }

  /** closes the socket: returns every devmem token, then FIN (or RST when unread data is dropped) */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.env.tcp.userClose(this.tp);
    this.env.closeFd(this.fd);
    this.wake(this.readWaiters);
    this.wake(this.writeWaiters);
    this.wake(this.stateWaiters);
  }

  /** waits until the connection reached one of `states` (or CLOSE) */
  async waitState(states: readonly string[]): Promise<string> {
    while (!states.includes(this.tp.stateName) && this.tp.state !== TCP_CLOSE) await this.wait(this.stateWaiters);
    return this.tp.stateName;
  }

  private readablePromise: Promise<void> | null = null;

  /**
   * Resolves when there is something to read (data, EOF or an error). Calls made while one is
   * pending share its promise, so polling with a timeout does not pile up waiters.
   */
  readable(): Promise<void> {
    if (this.tp.readableBytes > 0 || tcpAtEof(this.tp) || this.tp.error !== 0 || this.tp.state === TCP_CLOSE) return Promise.resolve();
    if (this.readablePromise === null) {
      this.readablePromise = this.wait(this.readWaiters).then(() => {
        this.readablePromise = null;
      });
    }
    return this.readablePromise;
  }

  // ---- options ----

  /**
   * setsockopt. Values: numbers or booleans for integer options; for SO_DEVMEM_DONTNEED an
   * array of token ranges or the raw `struct dmabuf_token[]` bytes. Returns the kernel's return
   * value (the number of frags freed for SO_DEVMEM_DONTNEED, otherwise 0).
   */
  setsockopt(level: number, name: number, value: number | boolean | Uint8Array | readonly DmabufTokenRange[]): number {
    this.check('setsockopt');
    const tp = this.tp;
    if (level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED) {
      const bytes = value instanceof Uint8Array ? value : Array.isArray(value) ? encodeDmabufTokens(value) : null;
      if (bytes === null) fail('EINVAL', 'setsockopt');
      if (bytes.length < 4) fail('EINVAL', 'setsockopt');
      if (this.type !== SOCK_STREAM || this.protocol !== IPPROTO_TCP) fail('EBADF', 'setsockopt');
      const r = tcpDevmemDontneed(tp, bytes);
      if (r < 0) this.throwErr(-r, 'setsockopt');
      return r;
    }
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : typeof value === 'number' ? value : NaN;
    if (!Number.isInteger(v)) fail('EINVAL', 'setsockopt');
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_REUSEADDR:
          this.reuseAddr = v !== 0;
          return 0;
        case SO_RCVBUF:
          tp.rcvBuf = Math.max(2304, Math.min(v, 64 << 20) * 2); // Linux doubles the value
          return 0;
        case SO_SNDBUF:
          tp.sndBuf = Math.max(4608, Math.min(v, 64 << 20) * 2);
          return 0;
        case SO_KEEPALIVE:
          tp.keepalive = v !== 0;
          return 0;
        case SO_RCVLOWAT:
          tp.rcvLowat = Math.max(1, v);
          return 0;
        case SO_PEEK_OFF:
          tp.peekOff = v;
          return 0;
        case SO_ZEROCOPY:
          tp.zerocopy = v !== 0;
          return 0;
        case SO_DEVMEM_LINEAR:
        case SO_DEVMEM_DMABUF:
          fail('ENOPROTOOPT', 'setsockopt');
      }
      fail('ENOPROTOOPT', 'setsockopt');
    }
    if (level === SOL_TCP) {
      switch (name) {
        case TCP_NODELAY:
          tp.nodelay = v !== 0;
          if (tp.nodelay) this.env.tcp.push(tp);
          return 0;
        case TCP_CORK:
          tp.cork = v !== 0;
          if (!tp.cork) this.env.tcp.push(tp);
          return 0;
        case TCP_MAXSEG:
          if (v < 88 || v > 65535 - 40) fail('EINVAL', 'setsockopt');
          tp.userMss = v;
          return 0;
      }
      fail('ENOPROTOOPT', 'setsockopt');
    }
    fail('ENOPROTOOPT', 'setsockopt');
  }

  getsockopt(level: number, name: number): number {
    this.check('getsockopt');
    const tp = this.tp;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_TYPE:
          return this.type;
        case SO_ERROR: {
          const e = tp.error;
          tp.error = 0;
          return e;
        }
        case SO_RCVBUF:
          return tp.rcvBuf;
        case SO_SNDBUF:
          return tp.sndBuf;
        case SO_REUSEADDR:
          return this.reuseAddr ? 1 : 0;
        case SO_KEEPALIVE:
          return tp.keepalive ? 1 : 0;
        case SO_RCVLOWAT:
          return tp.rcvLowat;
        case SO_ZEROCOPY:
          return tp.zerocopy ? 1 : 0;
        case SO_PEEK_OFF:
          return tp.peekOff;
      }
      // SO_DEVMEM_DONTNEED has no getsockopt
      fail('ENOPROTOOPT', 'getsockopt');
    }
    if (level === SOL_TCP) {
      switch (name) {
        case TCP_NODELAY:
          return tp.nodelay ? 1 : 0;
        case TCP_CORK:
          return tp.cork ? 1 : 0;
        case TCP_MAXSEG:
          return tp.state === TCP_ESTABLISHED ? tp.mss : tp.userMss || 536;
      }
    }
    fail('ENOPROTOOPT', 'getsockopt');
  }

  /** a subset of Linux `struct tcp_info`, as a plain object */
  tcpInfo(): Record<string, number | string> {
    const tp = this.tp;
    return {
      state: tp.stateName, rto: tp.rto, rtt: tp.srtt, rttvar: tp.rttvar, sndMss: tp.mss, rcvMss: tp.rcvMss,
      sndCwnd: Math.floor(tp.cwnd / Math.max(tp.mss, 1)), sndSsthresh: tp.ssthresh, totalRetrans: tp.stats.retransSegs,
      bytesAcked: tp.stats.bytesAcked, bytesReceived: tp.stats.bytesReceived, segsIn: tp.stats.segsIn,
      segsOut: tp.stats.segsOut, devmemTokens: tp.tokens.size, devmemTokensHighWater: tp.tokens.highWater,
    };
  }
}

function parseAddr(s: string, op: string): number {
  if (s === '' || s === '0.0.0.0' || s === 'any') return 0;
  try {
    return parseIpv4Addr(s);
  } catch {
    fail('EINVAL', op);
  }
}

