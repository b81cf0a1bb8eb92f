/**
 * `Socket`: the promise API over one socket file of the syscall layer, Linux errno semantics.
 * Blocking calls return promises that settle when the stack makes progress (in virtual time the
 * network driver runs the simulation while they wait); non-blocking sockets and `MSG_DONTWAIT`
 * fail with EAGAIN instead. Failures throw `ErrnoError`.
 *
 * Every call has its own state: receives (and accepts) run one at a time in the order they were
 * made, each with its own progress, and so do sends; several outstanding `recvmsg` calls get
 * disjoint bytes in FIFO order. A send short of host memory waits for memory, as
 * `sk_stream_wait_memory` does. `close()` — or the host / network going away (`shutdownAll`) —
 * settles every pending call with an errno, and any call made afterwards fails at once.
 *
 * Devmem receive: `recvmsg({ flags: MSG_SOCK_DEVMEM })` returns `SCM_DEVMEM_LINEAR` and
 * `SCM_DEVMEM_DMABUF` cmsgs, both decoded (`cmsgs`) and as the byte-exact Linux control buffer
 * (`control`); `setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, ranges)` returns the tokens freed;
 * `close()` returns every token still held.
 *
 * Zero-copy send: `sendZerocopy(data)` sends a caller's Uint8Array with MSG_ZEROCOPY and resolves
 * when the stack no longer references it (after the ACK and the NIC), so the caller knows when it
 * may reuse the buffer: until then the stack reads the caller's bytes in place, so a change shows
 * on the wire (as Linux's MSG_ZEROCOPY), and a buffer detached meanwhile reads as zeros. Transmit completions and timestamps are otherwise read from the error
 * queue: `recvmsg({ flags: MSG_ERRQUEUE, controlLen })` (EAGAIN when empty, never waits).
 */
import type { Rng } from '../../rand/index.js';
import { TCP_CLOSE, type TcpSock } from '../../tcp/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../../time/index.js';
import {
  AF_INET, AF_INET6, ERRNO, ErrnoError, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_ZEROCOPY, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, SOL_SOCKET,
  SO_DEVMEM_DONTNEED, SOCK_STREAM, fail,
} from '../../uapi/index.js';
import { decodeCmsgs, encodeDmabufTokens, type Cmsg, type DmabufTokenRange } from '../sys/cmsg.js';
import type { FdTable } from '../sys/file.js';
import { MsgHdr } from '../sys/msghdr.js';
import { SockFile, SockOptVal, WAIT_RX, WAIT_TX } from '../sys/sock.js';
import { sockaddrFrom, sockaddrLen, type SockAddr } from '../sys/sockaddr.js';
import { TcpSockFile, type TcpInfo } from '../sys/tcp-sock.js';
import { WaitEntry } from '../sys/waitqueue.js';
import { devmemSendRelease } from '../sys/devmem-tx.js';
import { zcSendAbandon } from '../sys/zerocopy-send.js';
import { setupDevmemSend, type DevmemIovInput } from './devmem-send.js';

const EMPTY = new Uint8Array(0);

/** what a promise socket needs from its host */
export interface SocketHost {
  readonly files: FdTable;
  readonly sched: Scheduler;
  /** randomises the memory-wait timer (sk_stream_wait_memory's 2–200 ms) */
  readonly rng?: Rng;
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
  /** the source address (datagram sockets), else null */
  from: SockAddr | null;
}

/** the per-call results of `recvmsgInto` (pass one to get them without sharing) */
export class RecvInfo {
  /** msg_controllen */
  controlLen = 0;
  /** bytes written into the iov */
  iovUsed = 0;
  /** msg_flags */
  msgFlags = 0;
  /** source address (datagram sockets) */
  from: SockAddr | null = null;
}

export type { SockAddr } from '../sys/sockaddr.js';

/** what `sendZerocopy` resolves with, once the stack no longer references the caller's bytes */
export interface ZerocopySendResult {
  /** bytes queued (all of them for a blocking send) */
  bytes: number;
  /** the send's notification id (the u32 counter MSG_ERRQUEUE readers see as ee_info..ee_data) */
  id: number;
  /** the stack copied the bytes after all (SO_EE_CODE_ZEROCOPY_COPIED), e.g. a device without scatter-gather */
  copied: boolean;
}

/** zero-copy sends waiting for their completion, by notification id */
class ZcWaiters {
  readonly byId = new Map<number, { bytes: number; resolve: (r: ZerocopySendResult) => void }>();
  /** completions that came before their send returned (id → copied) */
  readonly early = new Map<number, boolean>();

  complete(lo: number, hi: number, copied: boolean): void {
    for (let id = lo; ; id = (id + 1) >>> 0) {
      const w = this.byId.get(id);
      if (w !== undefined) {
        this.byId.delete(id);
        w.resolve({ bytes: w.bytes, id, copied });
      } else {
        this.early.set(id, copied);
      }
      if (id === hi) break;
    }
  }
}

/** a blocked call: resolved by a wake whose mask meets `mask`, by its timer, or by close */
class Waiter implements TimerTarget {
  resolve: (() => void) | null = null;
  timer: Timer | null = null;
  constructor(
    readonly mask: number,
    private readonly waker: SocketWaker,
  ) {}
  onTimer(): void {
    const ws = this.waker.waiters;
    const i = ws.indexOf(this);
    if (i < 0) return;
    ws.splice(i, 1);
    this.waker.sched.noteWakeup();
    this.resolve!();
  }
}

/** the socket's entry on its file's wait queue: wakes the blocked calls */
class SocketWaker extends WaitEntry {
  readonly waiters: Waiter[] = [];
  constructor(readonly sched: Scheduler) {
    super();
  }
  wake(mask: number): void {
    const ws = this.waiters;
    if (ws.length === 0) return;
    let woke = false;
    for (let i = 0; i < ws.length; ) {
      const w = ws[i]!;
      if ((w.mask & mask) === 0) {
        i++;
        continue;
      }
      ws.splice(i, 1);
      woke = true;
      if (w.timer !== null) this.sched.cancel(w.timer);
      w.resolve!();
    }
    if (woke) this.sched.noteWakeup();
  }
}

/** a FIFO of calls taking turns (receives, sends) */
class Turns {
  busy = false;
  private readonly queue: (() => void)[] = [];
  /** resolves when it is the caller's turn (at once when idle) */
  take(): Promise<void> | null {
    if (!this.busy) {
      this.busy = true;
      return null;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }
  /** passes the turn to the next call */
  done(): void {
    const next = this.queue.shift();
    if (next === undefined) this.busy = false;
    else next();
  }
  get waiting(): number {
    return this.queue.length;
  }
}

const ALL_EVENTS = -1;

export class Socket {
  readonly fd: number;
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  private readonly waker: SocketWaker;
  private readonly rx = new Turns();
  private readonly tx = new Turns();
  private readonly rxMsg = new MsgHdr();
  private readonly txMsg = new MsgHdr();
  private readonly opt = new SockOptVal();
  private readonly lastInfo = new RecvInfo();
  private closedByUser = false;
  private readonly errMsg = new MsgHdr();
  /** sendZerocopy calls waiting for their completion (created on first use) */
  private zcWaiters: ZcWaiters | null = null;

  /** wraps `file`, open at `fd` of `host.files` (see `Host.socket`) */
  constructor(
    private readonly host: SocketHost,
    readonly file: SockFile,
    fd: number,
  ) {
    this.fd = fd;
    this.family = file.family;
    this.type = file.type;
    this.protocol = file.protocol;
    this.waker = new SocketWaker(host.sched);
    file.wq.add(this.waker);
  }

  /** O_NONBLOCK */
  get nonblocking(): boolean {
    return (this.file.flags & O_NONBLOCK) !== 0;
  }
  set nonblocking(on: boolean) {
    if (on) this.file.flags |= O_NONBLOCK;
    else this.file.flags &= ~O_NONBLOCK;
  }

  /** control bytes written by the last completed recvmsgInto */
  get lastControlLen(): number {
    return this.lastInfo.controlLen;
  }
  /** msg_flags of the last completed recvmsg */
  get lastMsgFlags(): number {
    return this.lastInfo.msgFlags;
  }
  /** bytes written into the iov by the last completed recvmsgInto */
  get lastIovUsed(): number {
    return this.lastInfo.iovUsed;
  }

  /**
   * The protocol control block, for the stack's own tests only (not part of the API).
   * @internal
   */
  get tcb(): TcpSock {
    if (!(this.file instanceof TcpSockFile)) fail('EOPNOTSUPP', 'tcb');
    return this.file.tp;
  }

  // ---- plumbing ----

  /** fails when the socket was closed or the stack went away */
  private check(op: string): void {
    const f = this.file;
    if (f.deadErrno !== 0) throw new ErrnoError(f.deadErrno, op);
    if (f.closed || this.closedByUser) fail('EBADF', op);
  }

  private throwIf(r: number, op: string): number {
    if (r < 0) throw new ErrnoError(-r, op);
    return r;
  }

  /** waits for events in `mask` (or `timeoutUs`, or close) */
  private wait(mask: number, timeoutUs = -1): Promise<void> {
    const w = new Waiter(mask, this.waker);
    const p = new Promise<void>((resolve) => {
      w.resolve = resolve;
    });
    if (timeoutUs >= 0) {
      w.timer = new Timer(w, 0);
      this.host.sched.arm(w.timer, this.host.sched.now() + timeoutUs);
    }
    this.waker.waiters.push(w);
    return p;
  }

  private dontwait(flags: number): boolean {
    return this.nonblocking || (flags & MSG_DONTWAIT) !== 0;
  }

  private addr(address: string | SockAddr, port: number | undefined, op: string): SockAddr {
    if (typeof address !== 'string') return address;
    const fam = this.family === AF_INET6 ? AF_INET6 : AF_INET;
    const p = port ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 65535) fail('EINVAL', op);
    // text addresses: an IPv4 address given to an AF_INET6 socket means its v4-mapped form
    const sa = sockaddrFrom(fam, address === '0.0.0.0' && fam === AF_INET6 ? '::ffff:0.0.0.0' : address, p);
    if (sa === null) fail('EINVAL', op);
    return sa;
  }

  // ---- addresses and connections ----

  bind(address: string | SockAddr, port?: number): void {
    this.check('bind');
    const sa = this.addr(address, port, 'bind');
    this.throwIf(this.file.bind(sa, sockaddrLen(sa)), 'bind');
  }

  listen(backlog = 128): void {
    this.check('listen');
    this.throwIf(this.file.listen(Math.max(0, Math.min(backlog | 0, 4096))), 'listen');
  }

  /** accept4: waits for a connection (FIFO among concurrent accepts) */
  async accept(flags = 0): Promise<Socket> {
    this.check('accept');
    // a non-blocking call never queues behind a blocked one (whose wait means nothing is ready)
    if (this.nonblocking && this.rx.busy) fail('EAGAIN', 'accept');
    const turn = this.rx.take();
    if (turn !== null) await turn;
    try {
      for (;;) {
        this.check('accept');
        if (this.host.files.size >= this.host.files.max) fail('EMFILE', 'accept');
        const r = this.file.accept();
        if (typeof r !== 'number') {
          if (flags & O_NONBLOCK) r.flags |= O_NONBLOCK;
          const fd = this.host.files.install(r);
          return new Socket(this.host, r, fd);
        }
        if (r !== -ERRNO.EAGAIN || this.nonblocking) this.throwIf(r, 'accept');
        await this.wait(WAIT_RX);
      }
    } finally {
      this.rx.done();
    }
  }

  async connect(address: string | SockAddr, port?: number): Promise<void> {
    this.check('connect');
    const sa = this.addr(address, port, 'connect');
    let r = this.file.connect(sa, sockaddrLen(sa));
    if (r === 0) return;
    if ((r !== -ERRNO.EINPROGRESS && r !== -ERRNO.EALREADY) || this.nonblocking) this.throwIf(r, 'connect');
    const pending = r;
    for (;;) {
      r = this.file.connectResult(pending);
      if (r !== pending) break;
      await this.wait(WAIT_TX);
      this.check('connect');
    }
    this.throwIf(r, 'connect');
  }

  getsockname(): SockAddr {
    this.check('getsockname');
    return this.file.getsockname();
  }

  getpeername(): SockAddr {
    this.check('getpeername');
    const p = this.file.getpeername();
    if (typeof p === 'number') throw new ErrnoError(-p, 'getpeername');
    return p;
  }

  /** TCP state name (ESTABLISHED, CLOSE_WAIT, …); datagram sockets: CLOSE / ESTABLISHED */
  get state(): string {
    const f = this.file;
    if (f instanceof TcpSockFile) return f.tp.stateName;
    return f.getpeername() === -ERRNO.ENOTCONN ? 'CLOSE' : 'ESTABLISHED';
  }

  // ---- data ----

  /**
   * Sends all of `data` (blocking until it is queued; FIFO among concurrent sends) and returns
   * its length; non-blocking: what fit, or EAGAIN when nothing did.
   */
  send(data: Uint8Array, flags = 0): Promise<number> {
    return this.sendmsgTo(data, null, flags, 'send');
  }

  /** sendto: one datagram to `address` (datagram sockets), or `send` on a connected socket */
  sendto(data: Uint8Array, address: string | SockAddr, port?: number, flags = 0): Promise<number> {
    return this.sendmsgTo(data, this.addr(address, port, 'sendto'), flags, 'sendto');
  }

  private async sendmsgTo(data: Uint8Array, to: SockAddr | null, flags: number, op: string): Promise<number> {
    this.check(op);
    if (this.dontwait(flags) && this.tx.busy) fail('EAGAIN', op);
    const turn = this.tx.take();
    if (turn !== null) await turn;
    try {
      const msg = this.txMsg.setSend(data, 0, data.length, to);
      const nonblock = this.dontwait(flags);
      for (;;) {
        this.check(op);
        const r = this.file.sendmsg(msg, flags, nonblock);
        if (r >= 0) return r;
        if (nonblock || (r !== -ERRNO.EAGAIN && r !== -ERRNO.ENOBUFS)) this.throwIf(r, op);
        // sk_stream_wait_memory: write space, or (memory short) a short random timer
        await this.wait(WAIT_TX, r === -ERRNO.ENOBUFS ? this.vmWaitUs() : -1);
      }
    } finally {
      this.tx.done();
    }
  }

  /**
   * Devmem TX (spec §7): sends the dma-buf pieces `iov` of TX binding `dmabufId` (netlink
   * `bindTx`) as one `sendmsg(MSG_ZEROCOPY)` with an SCM_DEVMEM_DMABUF cmsg; the socket needs
   * SO_ZEROCOPY and a route through the binding's device. Resolves with the bytes queued (all of
   * them, or fewer when a piece runs past the dma-buf's end after some were queued); throws
   * EINVAL / ENODEV / EHOSTUNREACH / EFAULT / ENOBUFS as Linux. The region may be rewritten once
   * the send's completion arrives (`recvmsg({ flags: MSG_ERRQUEUE })`).
   */
  async sendDevmem(dmabufId: number, iov: DevmemIovInput, flags = 0): Promise<number> {
    this.check('sendmsg');
    if (this.dontwait(flags) && this.tx.busy) fail('EAGAIN', 'sendmsg');
    const turn = this.tx.take();
    if (turn !== null) await turn;
    const msg = this.txMsg;
    try {
      const f = setupDevmemSend(msg, dmabufId, iov, flags);
      const nonblock = this.dontwait(f);
      for (;;) {
        this.check('sendmsg');
        const r = this.file.sendmsg(msg, f, nonblock);
        if (r >= 0) return r;
        if (nonblock || r !== -ERRNO.EAGAIN) this.throwIf(r, 'sendmsg');
        await this.wait(WAIT_TX);
      }
    } finally {
      devmemSendRelease(msg);
      msg.setSend(EMPTY, 0, 0, null);
      this.tx.done();
    }
  }

  /** recvmsg(MSG_ERRQUEUE): never waits, never queues behind pending receives */
  private recvErrqueue(iov: Uint8Array, control: Uint8Array | null, flags: number, info: RecvInfo | null): number {
    const msg = this.errMsg.setRecv(iov, control);
    const r = this.file.recvmsg(msg, flags, true);
    const li = this.lastInfo;
    li.controlLen = msg.controlLen;
    li.iovUsed = msg.iovUsed;
    li.msgFlags = msg.msgFlags;
    li.from = null;
    if (info !== null) {
      info.controlLen = li.controlLen;
      info.iovUsed = li.iovUsed;
      info.msgFlags = li.msgFlags;
      info.from = null;
    }
    return this.throwIf(r, 'recvmsg');
  }

  /**
   * MSG_ZEROCOPY send of `data` without copying it into the stack (TCP): the socket's frags
   * reference `data` itself until the peer acknowledged the bytes and the NIC let go of every
   * copy, retransmissions included. Resolves then — only then may the caller modify or reuse
   * `data` — with the bytes queued, the notification id and whether the stack had to copy after
   * all. Turns SO_ZEROCOPY on. Rejects as `send` does (EPIPE, ECONNRESET …; ENOBUFS when too many
   * notifications are outstanding). The socket takes these sends' completions itself, so a
   * `recvmsg({ flags: MSG_ERRQUEUE })` on it no longer reports zero-copy notifications.
   */
  async sendZerocopy(data: Uint8Array, flags = 0): Promise<ZerocopySendResult> {
    const f = this.file;
    if (!(f instanceof TcpSockFile)) fail('EOPNOTSUPP', 'sendZerocopy');
    this.check('sendZerocopy');
    let w = this.zcWaiters;
    if (w === null) {
      const ws = (w = this.zcWaiters = new ZcWaiters());
      f.errq.zcListener = (lo, hi, copied) => ws.complete(lo, hi, copied);
      f.tp.zerocopy = true;
    }
    if (this.dontwait(flags) && this.tx.busy) fail('EAGAIN', 'sendZerocopy');
    const turn = this.tx.take();
    if (turn !== null) await turn;
    let id = 0;
    let bytes = 0;
    try {
      const msg = this.txMsg.setSend(data, 0, data.length, null);
      const nonblock = this.dontwait(flags);
      id = f.zc.zckey;
      for (;;) {
        this.check('sendZerocopy');
        const r = f.sendmsg(msg, flags | MSG_ZEROCOPY, nonblock);
        if (r >= 0) {
          bytes = r;
          break;
        }
        if (nonblock || (r !== -ERRNO.EAGAIN && r !== -ERRNO.ENOBUFS)) this.throwIf(r, 'sendZerocopy');
        await this.wait(WAIT_TX, r === -ERRNO.ENOBUFS ? this.vmWaitUs() : -1);
      }
    } finally {
      zcSendAbandon(f, this.txMsg);
      this.txMsg.setSend(EMPTY, 0, 0, null);
      this.tx.done();
    }
    if (bytes === 0) return { bytes: 0, id, copied: false };
    const early = w.early.get(id);
    if (early !== undefined) {
      w.early.delete(id);
      return { bytes, id, copied: early };
    }
    return new Promise<ZerocopySendResult>((resolve) => w.byId.set(id, { bytes, resolve }));
  }

  private vmWaitUs(): number {
    const rng = this.host.rng;
    return ((rng === undefined ? 100 : rng.nextInt(200)) + 2) * 1000;
  }

  /** receives up to `len` bytes; an empty array means end of stream */
  async recv(len = 65536, flags = 0): Promise<Uint8Array> {
    const iov = new Uint8Array(len);
    const info = new RecvInfo();
    await this.recvmsgInto(iov, null, flags, info);
    return iov.subarray(0, info.iovUsed);
  }

  /** recvfrom: one datagram (or stream bytes) and its source */
  async recvfrom(len = 65536, flags = 0): Promise<{ bytes: Uint8Array; from: SockAddr | null; flags: number }> {
    const iov = new Uint8Array(len);
    const info = new RecvInfo();
    const n = await this.recvmsgInto(iov, null, flags, info);
    return { bytes: iov.subarray(0, Math.min(n, info.iovUsed)), from: info.from, flags: info.msgFlags };
  }

  /** recvmsg with allocation of the iov and control buffer; see `recvmsgInto` */
  async recvmsg(opts: RecvmsgOptions = {}): Promise<RecvmsgResult> {
    const iov = opts.iov ?? new Uint8Array(opts.iovLen ?? 65536);
    const control = opts.control ?? (opts.controlLen ? new Uint8Array(opts.controlLen) : null);
    const info = new RecvInfo();
    const n = await this.recvmsgInto(iov, control, opts.flags ?? 0, info);
    const ctl = control === null ? new Uint8Array(0) : control.subarray(0, info.controlLen);
    return { length: n, bytes: iov.subarray(0, info.iovUsed), cmsgs: decodeCmsgs(ctl), control: ctl, flags: info.msgFlags, from: info.from };
  }

  /**
   * The allocation-free recvmsg: covers up to `iov.length` bytes, writes cmsgs into `control`
   * (when given) and returns the byte count (0 at end of stream). The call's results land in
   * `info` when given, and in `lastControlLen` / `lastIovUsed` / `lastMsgFlags` (the last call
   * to complete: with concurrent calls, pass `info`).
   */
  async recvmsgInto(iov: Uint8Array, control: Uint8Array | null, flags = 0, info: RecvInfo | null = null): Promise<number> {
    this.check('recvmsg');
    if (flags & MSG_ERRQUEUE) return this.recvErrqueue(iov, control, flags, info);
    if (this.dontwait(flags) && this.rx.busy) fail('EAGAIN', 'recvmsg');
    const turn = this.rx.take();
    if (turn !== null) await turn;
    try {
      const msg = this.rxMsg.setRecv(iov, control);
      msg.wantName = this.type !== SOCK_STREAM;
      const nonblock = this.dontwait(flags);
      for (;;) {
        this.check('recvmsg');
        const r = this.file.recvmsg(msg, flags, nonblock);
        if (r !== -ERRNO.EAGAIN || nonblock) {
          const li = this.lastInfo;
          li.controlLen = msg.controlLen;
          li.iovUsed = msg.iovUsed;
          li.msgFlags = msg.msgFlags;
          li.from = msg.wantName ? msg.name : null;
          if (info !== null) {
            info.controlLen = li.controlLen;
            info.iovUsed = li.iovUsed;
            info.msgFlags = li.msgFlags;
            info.from = li.from;
          }
          return this.throwIf(r, 'recvmsg');
        }
        await this.wait(WAIT_RX);
      }
    } finally {
      this.rx.done();
    }
  }

  /** shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR) */
  shutdown(how: number): void {
    this.check('shutdown');
    this.throwIf(this.file.shutdown(how), 'shutdown');
  }

  /**
   * close(): returns every devmem token, then FIN (or RST when unread data is dropped); every
   * pending call fails with EBADF. Idempotent.
   */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    const files = this.host.files;
    if (files.get(this.fd) === this.file) files.close(this.fd);
    this.settleAll();
  }

  /** wakes every blocked call so that it sees the socket closed / dead */
  private settleAll(): void {
    this.waker.wake(ALL_EVENTS);
    if (this.waker.wqHead !== null) this.waker.wqHead.remove(this.waker);
  }

  /** waits until the connection reached one of `states` (or CLOSE) */
  async waitState(states: readonly string[]): Promise<string> {
    for (;;) {
      const f = this.file;
      const name = this.state;
      if (states.includes(name) || !(f instanceof TcpSockFile) || f.tp.state === TCP_CLOSE) return name;
      this.check('waitState');
      await this.wait(ALL_EVENTS);
    }
  }

  private readablePromise: Promise<void> | null = null;

  /**
   * Resolves when there is something to read (data, EOF or an error) or the socket is closed.
   * Calls made while one is pending share its promise, so polling with a timeout does not pile
   * up waiters.
   */
  readable(): Promise<void> {
    if (this.closedByUser || this.file.closed || this.file.deadErrno !== 0) return Promise.resolve();
    if ((this.file.poll() & (POLLIN | POLLERR | POLLHUP)) !== 0) return Promise.resolve();
    if (this.readablePromise === null) {
      this.readablePromise = this.wait(WAIT_RX).then(() => {
        this.readablePromise = null;
      });
    }
    return this.readablePromise;
  }

  /** poll(): the socket's current readiness mask (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP …) */
  poll(): number {
    return this.file.poll();
  }

  // ---- options ----

  /**
   * setsockopt. Values: numbers or booleans for integer options; for SO_DEVMEM_DONTNEED an
   * array of token ranges or the raw `struct dmabuf_token[]` bytes; raw bytes for structures.
   * Returns the kernel's return value (the number of frags freed for SO_DEVMEM_DONTNEED,
   * otherwise 0).
   */
  setsockopt(level: number, name: number, value: number | boolean | Uint8Array | readonly DmabufTokenRange[]): number {
    this.check('setsockopt');
    let v = 0;
    let raw: Uint8Array | null = null;
    if (value instanceof Uint8Array && level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED) {
      // the token-return hot path: the bytes go straight to the protocol
      return this.throwIf(this.file.setsockopt(level, name, 0, value), 'setsockopt');
    }
    if (value instanceof Uint8Array) {
      raw = value;
      if (raw.length >= 4) v = new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0, true);
      else if (!(level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED)) fail('EINVAL', 'setsockopt');
    } else if (Array.isArray(value)) {
      raw = encodeDmabufTokens(value as readonly DmabufTokenRange[]);
    } else {
      v = typeof value === 'boolean' ? (value ? 1 : 0) : (value as number);
      if (!Number.isInteger(v)) fail('EINVAL', 'setsockopt');
      if (level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED) fail('EINVAL', 'setsockopt');
    }
    return this.throwIf(this.file.setsockopt(level, name, v, raw), 'setsockopt');
  }

  /** getsockopt of an integer option */
  getsockopt(level: number, name: number): number {
    this.check('getsockopt');
    this.throwIf(this.file.getsockopt(level, name, this.opt), 'getsockopt');
    return this.opt.value;
  }

  /** FIONREAD / SIOCINQ, SIOCOUTQ, SIOCOUTQNSD */
  ioctl(cmd: number): number {
    this.check('ioctl');
    return this.throwIf(this.file.ioctl(cmd, this.opt), 'ioctl');
  }

  /** a subset of Linux `struct tcp_info` (TCP sockets) */
  tcpInfo(): TcpInfo {
    const f = this.file;
    if (!(f instanceof TcpSockFile)) fail('EOPNOTSUPP', 'getsockopt');
    return f.info();
  }

  /** the calls waiting their turn (receives and sends): for tests */
  get pendingCalls(): number {
    return this.rx.waiting + this.tx.waiting + (this.rx.busy ? 1 : 0) + (this.tx.busy ? 1 : 0);
  }
}

