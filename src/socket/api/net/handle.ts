/**
 * `TcpHandle`: what libuv's `uv_tcp_t` is to Node — one non-blocking SOCK_STREAM fd of the host's
 * syscall layer driven by readiness: connect (EINPROGRESS, then the connect result), a read loop
 * started and stopped by the stream (`readStart` / `readStop`), a FIFO of writes that completes
 * each write once the kernel took all of its bytes, shutdown, close, and close with RST
 * (SO_LINGER 0). Its entry on the file's wait queue never runs user code: a wake notes the
 * scheduler (the virtual-time driver yields) and services the handle on `process.nextTick`.
 *
 * The handle owns its fd until `close()`; when the host closes it underneath (host / network
 * shutdown) the owner hears `onFatal(errno)` once. Results go to the `HandleOwner`, one call per
 * event, never from inside the packet path.
 */
import { TCP_CLOSE } from '../../../tcp/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../../../time/index.js';
import {
  ERRNO, MSG_NOSIGNAL, SHUT_WR, SOL_SOCKET, SO_LINGER,
} from '../../../uapi/index.js';
import type { File } from '../../sys/file.js';
import type { SockAddr } from '../../sys/sockaddr.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { TcpSockFile } from '../../sys/tcp-sock.js';
import { WaitEntry } from '../../sys/waitqueue.js';

/** what a handle needs from its host */
export interface NetEnv {
  readonly sys: Syscalls;
  readonly sched: Scheduler;
}

/** a write's completion: 0, or a positive errno */
export type WriteDone = (errno: number) => void;

export interface HandleOwner {
  /** the connect finished: 0, or a positive errno */
  onConnect(errno: number): void;
  /** bytes read (the buffer is the owner's); → false to stop reading */
  onData(buf: Buffer): boolean;
  /** end of stream */
  onEof(): void;
  /** a read failed (positive errno) */
  onReadError(errno: number): void;
  /**
   * the fd went away under the handle (host / network shutdown): positive errno; `busy` when a
   * read, write or connect was in progress (a system call would have failed)
   */
  onFatal(errno: number, busy: boolean): void;
}

class PendingWrite {
  off = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly done: WriteDone,
  ) {}
}

/** Linux ECANCELED: a write cancelled by close (libuv UV_ECANCELED) */
const ECANCELED = 125;
/** a read buffer per read loop; what was read is copied out into a Buffer of its size */
const READ_CHUNK = 64 * 1024;
/** retry interval of a write that waits for host memory (sk_stream_wait_memory's timer) */
const MEM_RETRY_US = 20_000;

export class TcpHandle extends WaitEntry implements TimerTarget {
  /** the read loop runs (libuv `reading`) */
  reading = false;
  /** bytes read / written by the kernel calls */
  bytesRead = 0;
  bytesWritten = 0;
  private connecting = false;
  private closed = false;
  private serviceQueued = false;
  private fatal = false;
  private readonly writes: PendingWrite[] = [];
  private readonly file: File | null;
  private readonly retry: Timer;
  private static rbuf: Uint8Array | null = null;

  constructor(
    private readonly env: NetEnv,
    readonly fd: number,
    private readonly owner: HandleOwner,
  ) {
    super();
    this.file = env.sys.file(fd);
    this.file?.wq?.add(this);
    this.retry = new Timer(this, 0);
  }

  /** the fd still names the handle's file */
  get alive(): boolean {
    return !this.closed && this.file !== null && this.env.sys.file(this.fd) === this.file;
  }

  /** bytes of writes not yet taken by the kernel (libuv writeQueueSize) */
  get writeQueueSize(): number {
    let n = 0;
    for (const w of this.writes) n += w.buf.length - w.off;
    return n;
  }

  // ---- calls ----

  bind(sa: SockAddr): number {
    return this.env.sys.bind(this.fd, sa);
  }

  /** → 0 (started or done; `onConnect` follows) or a negative errno */
  connect(sa: SockAddr): number {
    const r = this.env.sys.connect(this.fd, sa);
    if (r !== 0 && r !== -ERRNO.EINPROGRESS) return r;
    this.connecting = true;
    this.queueService();
    return 0;
  }

  readStart(): void {
    if (this.closed) return;
    this.reading = true;
    this.queueService();
  }

  readStop(): void {
    this.reading = false;
  }

  /**
   * Queues `buf` (the handle keeps a reference until done) and writes what the kernel takes now.
   * → 0: written at once (`done` is not called); 1: pending (`done` follows); negative errno: failed.
   */
  write(buf: Uint8Array, done: WriteDone): number {
    if (!this.alive) return -ERRNO.EBADF;
    if (this.writes.length === 0) {
      const r = this.sendSome(buf, 0);
      if (r < 0) return r;
      if (r === buf.length) return 0;
      const w = new PendingWrite(buf, done);
      w.off = r;
      this.writes.push(w);
    } else {
      this.writes.push(new PendingWrite(buf, done));
    }
    return 1;
  }

  /** shutdown(SHUT_WR) → 0 or a negative errno */
  shutdown(): number {
    if (!this.alive) return -ERRNO.ENOTCONN;
    return this.env.sys.shutdown(this.fd, SHUT_WR);
  }

  setsockopt(level: number, name: number, value: number | Uint8Array): number {
    if (!this.alive) return -ERRNO.EBADF;
    return this.env.sys.setsockopt(this.fd, level, name, value);
  }

  getsockname(): SockAddr | null {
    if (!this.alive) return null;
    const out = { addr: null as SockAddr | null };
    return this.env.sys.getsockname(this.fd, out) < 0 ? null : out.addr;
  }

  getpeername(): SockAddr | null {
    if (!this.alive) return null;
    const out = { addr: null as SockAddr | null };
    return this.env.sys.getpeername(this.fd, out) < 0 ? null : out.addr;
  }

  /** closes the fd (FIN, or RST when unread data is dropped); pending writes are dropped */
  close(): void {
    if (this.closed) return;
    const alive = this.alive;
    this.detach();
    if (alive) this.env.sys.close(this.fd);
  }

  /** uv_tcp_close_reset: SO_LINGER { 1, 0 } then close: the peer gets an RST */
  reset(): number {
    if (this.closed) return -ERRNO.EBADF;
    const lg = new Uint8Array(8);
    lg[0] = 1;
    const r = this.alive ? this.env.sys.setsockopt(this.fd, SOL_SOCKET, SO_LINGER, lg) : -ERRNO.EBADF;
    this.close();
    return r < 0 ? r : 0;
  }

  private detach(): void {
    this.closed = true;
    this.reading = false;
    this.connecting = false;
    if (this.writes.length > 0) {
      // libuv cancels the writes of a closed handle: their callbacks run after the close
      const cancelled = this.writes.splice(0);
      setImmediate(() => {
        for (const w of cancelled) w.done(ECANCELED);
      });
    }
    if (this.wqHead !== null) this.wqHead.remove(this);
    this.env.sched.cancel(this.retry);
  }

  // ---- readiness ----

  /** a wake of the file's wait queue (inside the stack): service later */
  wake(): void {
    const f = this.file;
    if (this.reading || this.connecting || this.writes.length > 0 || (f instanceof TcpSockFile && f.deadErrno !== 0)) this.queueService();
  }

  onTimer(): void {
    this.queueService();
  }

  private queueService(): void {
    if (this.serviceQueued || this.closed) return;
    this.serviceQueued = true;
    this.env.sched.noteWakeup();
    process.nextTick(this.service);
  }

  private readonly service = (): void => {
    this.serviceQueued = false;
    if (this.closed) return;
    if (!this.alive) {
      const errno = this.deadErrno();
      const busy = this.reading || this.connecting || this.writes.length > 0;
      this.detach();
      if (!this.fatal) {
        this.fatal = true;
        this.owner.onFatal(errno, busy);
      }
      return;
    }
    if (this.connecting) {
      const f = this.file as TcpSockFile;
      const r = f.connectResult(-ERRNO.EINPROGRESS);
      if (r === -ERRNO.EINPROGRESS) return;
      this.connecting = false;
      this.owner.onConnect(r < 0 ? -r : 0);
      if (this.closed) return;
    }
    if (this.writes.length > 0) this.flush();
    if (this.reading && !this.closed) this.readLoop();
  };

  /** the errno the stack gave the socket when it went away (ENETDOWN …), else EBADF */
  private deadErrno(): number {
    const f = this.file;
    if (f instanceof TcpSockFile && f.deadErrno !== 0) return f.deadErrno;
    return ERRNO.EBADF;
  }

  /** sends from buf[off..]: → bytes taken (possibly 0) or a negative errno (not EAGAIN) */
  private sendSome(buf: Uint8Array, off: number): number {
    const r = this.env.sys.send(this.fd, off === 0 ? buf : buf.subarray(off), MSG_NOSIGNAL);
    if (r === -ERRNO.EAGAIN || r === -ERRNO.ENOBUFS) {
      this.waitMemory();
      return 0;
    }
    if (r > 0) this.bytesWritten += r;
    return r;
  }

  /** a send short of host memory gets no write-space wake: poll again on a timer */
  private waitMemory(): void {
    const f = this.file;
    if (f instanceof TcpSockFile && f.tp.memWait && !this.retry.armed) {
      this.env.sched.arm(this.retry, this.env.sched.now() + MEM_RETRY_US);
    }
  }

  private flush(): void {
    const ws = this.writes;
    while (ws.length > 0) {
      const w = ws[0]!;
      const r = this.sendSome(w.buf, w.off);
      if (r < 0) {
        // the connection failed: every queued write fails with it
        const all = ws.splice(0);
        for (const x of all) {
          x.done(-r);
          if (this.closed) return;
        }
        return;
      }
      w.off += r;
      if (w.off < w.buf.length) return;
      ws.shift();
      w.done(0);
      if (this.closed) return;
    }
  }

  private readLoop(): void {
    let rbuf = TcpHandle.rbuf;
    if (rbuf === null) rbuf = TcpHandle.rbuf = new Uint8Array(READ_CHUNK);
    while (this.reading && !this.closed) {
      const r = this.env.sys.recv(this.fd, rbuf, 0);
      if (r === -ERRNO.EAGAIN) return;
      if (r === 0) {
        this.reading = false;
        this.owner.onEof();
        return;
      }
      if (r < 0) {
        this.reading = false;
        this.owner.onReadError(-r);
        return;
      }
      this.bytesRead += r;
      if (!this.owner.onData(Buffer.from(rbuf.subarray(0, r)))) this.reading = false;
    }
  }

  /** the connection is over at the TCP level (for tests and diagnostics) */
  get tcpClosed(): boolean {
    const f = this.file;
    return !(f instanceof TcpSockFile) || f.tp.state === TCP_CLOSE;
  }
}
