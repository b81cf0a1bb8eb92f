/**
 * `NetSocket`: Node's `net.Socket` over this stack — a Duplex over one `TcpHandle` with Node's
 * documented surface and event order: `connect()` in every form ('lookup' for 'localhost',
 * 'connect', 'ready'), 'data' / 'end' / 'finish' / 'close'(hadError) / 'error' / 'timeout' /
 * 'drain', `allowHalfOpen` (false: the socket ends its side after 'end', and a later write fails
 * with EPIPE), `setNoDelay` (TCP_NODELAY), `setKeepAlive` (SO_KEEPALIVE + TCP_KEEPIDLE/INTVL/CNT
 * as libuv sets them), `setTimeout` (an idle timer on the host's scheduler: virtual time in a
 * virtual network; 'timeout' is emitted, the socket is not destroyed), addresses, `bytesRead` /
 * `bytesWritten`, `readyState`, `pending`, `connecting`, `destroy(err)`, `destroySoon`,
 * `resetAndDestroy` (RST), backpressure (`write()` false at the highWaterMark, 'drain' after).
 *
 * Bytes are copied out of the stack into Buffers: readable traffic only (control traffic,
 * tools, Node's http), not the zero-copy path. Events are emitted from `process.nextTick` /
 * `setImmediate`, never from inside the packet path. System errors are `ErrnoError`s with
 * Node's message (`connect ECONNREFUSED 10.0.0.2:80`); argument errors carry Node's `ERR_*` codes.
 */
import { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import {
  AF_INET, AF_INET6, ERRNO, IPPROTO_TCP, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE,
  TCP_KEEPINTVL, TCP_NODELAY,
} from '../../../uapi/index.js';
import { Timer, type TimerTarget } from '../../../time/index.js';
import {
  addressInfo, normalizeArgs, resolveHost, sockaddrOf, type AddressInfo, type NetConnectOpts,
} from './args.js';
import {
  describeValue, errnoException, exceptionWithHostPort, invalidArgType, lookupError, nodeError, validatePort, validateTimeout,
} from './errors.js';
import { TcpHandle, type HandleOwner, type NetEnv } from './handle.js';

/** the server side a socket reports to (connection count, 'close' once drained) */
export interface SocketServer {
  connectionClosed(): void;
}

export interface NetSocketOptions {
  allowHalfOpen?: boolean;
  readable?: boolean;
  writable?: boolean;
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** @internal an accepted connection's fd (the server creates the socket) */
  acceptedFd?: number;
  /** @internal accepted: stay paused (server pauseOnConnect) */
  pauseOnCreate?: boolean;
}

type ErrCb = (err?: Error | null) => void;

const TIMER_IDLE = 0;

export class NetSocket extends Duplex implements HandleOwner, TimerTarget {
  /** a connect is in progress */
  connecting = false;
  /** false: the writable side ends once the readable side ended (Node's default) */
  override allowHalfOpen: boolean;
  /** the idle timeout set by `setTimeout` (ms), undefined before */
  timeout: number | undefined = undefined;
  /** the server that accepted this socket, else null */
  server: unknown = null;
  /** @internal the server counting this socket */
  _server: SocketServer | null = null;

  private handle: TcpHandle | null = null;
  private peer: AddressInfo | null = null;
  private sockname: AddressInfo | null = null;
  private savedBytesRead = 0;
  private savedBytesWritten = 0;
  private pendingData: Buffer | string | null = null;
  private pendingEncoding: BufferEncoding = 'utf8';
  private wantNoDelay: boolean;
  private wantKeepAlive: boolean;
  private keepAliveDelaySecs: number;
  private resetAndClosing = false;
  private connectSeq = 0;
  /** connect() ran since the last destroy (Node has a handle from then on) */
  private connectStarted = false;
  // the idle timer: armed on the host's scheduler, refreshed lazily (activity moves `lastActive`)
  private readonly idleTimer: Timer;
  private timeoutUs = 0;
  private lastActive = 0;
  private lastWriteQueueSize = 0;

  constructor(
    private readonly env: NetEnv,
    options: NetSocketOptions = {},
  ) {
    if (options.keepAliveInitialDelay !== undefined && typeof options.keepAliveInitialDelay !== 'number') {
      throw invalidArgType('options.keepAliveInitialDelay', 'of type number', options.keepAliveInitialDelay);
    }
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      emitClose: false,
      autoDestroy: true,
      decodeStrings: false,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    });
    this.allowHalfOpen = Boolean(options.allowHalfOpen);
    this.wantNoDelay = Boolean(options.noDelay);
    this.wantKeepAlive = Boolean(options.keepAlive);
    this.keepAliveDelaySecs = ~~(Math.max(0, options.keepAliveInitialDelay ?? 0) / 1000);
    this.idleTimer = new Timer(this, TIMER_IDLE);
    this.on('end', this.onReadableStreamEnd);
    if (options.acceptedFd !== undefined) {
      this.handle = new TcpHandle(env, options.acceptedFd, this);
      this.cachePeer();
      if (options.pauseOnCreate) {
        this.pause();
      } else {
        this.read(0);
      }
    }
  }

  // ---- state ----

  /** the socket's file descriptor on its host (`host.sys` calls), -1 without one: diagnostics */
  get fd(): number {
    return this.handle !== null && this.handle.alive ? this.handle.fd : -1;
  }

  /** no connection yet, or connecting */
  get pending(): boolean {
    return this.handle === null || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** bytes received */
  get bytesRead(): number {
    return this.handle !== null ? this.handle.bytesRead : this.savedBytesRead;
  }

  /** bytes handed to the kernel plus bytes still buffered by the stream (Node's definition) */
  get bytesWritten(): number | undefined {
    let bytes = this.handle !== null ? this.handle.bytesWritten + this.handle.writeQueueSize : this.savedBytesWritten;
    const wb = (this as unknown as { writableBuffer?: { chunk: Buffer | string; encoding: BufferEncoding }[] }).writableBuffer;
    if (wb === undefined) return undefined;
    for (const el of wb) bytes += typeof el.chunk === 'string' ? Buffer.byteLength(el.chunk, el.encoding) : el.chunk.length;
    const d = this.pendingData;
    if (d !== null) bytes += typeof d === 'string' ? Buffer.byteLength(d, this.pendingEncoding) : d.length;
    return bytes;
  }

  /** Node's legacy bufferSize: writableLength while there is a handle */
  get bufferSize(): number | undefined {
    return this.handle !== null ? this.writableLength : undefined;
  }

  get remoteAddress(): string | undefined {
    return this.peerInfo()?.address;
  }
  get remotePort(): number | undefined {
    return this.peerInfo()?.port;
  }
  get remoteFamily(): string | undefined {
    return this.peerInfo()?.family;
  }
  get localAddress(): string | undefined {
    return this.socknameInfo()?.address;
  }
  get localPort(): number | undefined {
    return this.socknameInfo()?.port;
  }
  get localFamily(): string | undefined {
    return this.socknameInfo()?.family;
  }

  /** getsockname as Node's address object ({} without a connection) */
  address(): AddressInfo | Record<string, never> {
    return this.socknameInfo() ?? {};
  }

  private fdFamily(): number {
    const sa = this.handle?.getsockname();
    return sa?.family ?? AF_INET;
  }

  private peerInfo(): AddressInfo | null {
    if (this.peer === null && this.handle !== null && !this.connecting) this.cachePeer();
    return this.peer;
  }

  private cachePeer(): void {
    const h = this.handle;
    const sa = h?.getpeername() ?? null;
    if (sa !== null) this.peer = addressInfo(this.fdFamily(), sa);
  }

  private socknameInfo(): AddressInfo | null {
    if (this.handle === null) return null;
    if (this.sockname === null) {
      const sa = this.handle.getsockname();
      if (sa !== null) this.sockname = addressInfo(sa.family, sa);
    }
    return this.sockname;
  }

  // ---- connect ----

  /**
   * connect(options[, cb]) | connect(port[, host][, cb]): looks up `host` (IP literals and
   * 'localhost'; other names fail with ENOTFOUND), binds `localAddress` / `localPort` if given,
   * connects; 'connect' and 'ready' follow, or 'error' then 'close'.
   */
  connect(options: NetConnectOpts, cb?: () => void): this;
  connect(port: number | string, host?: string, cb?: () => void): this;
  connect(port: number | string, cb?: () => void): this;
  connect(...args: unknown[]): this {
    const [opts, cb] = normalizeArgs(args);
    const options = opts as NetConnectOpts;
    if (cb !== null) this.once('connect', cb);
    if (options.port === undefined && (options.path === undefined || options.path === null)) {
      throw nodeError(TypeError, 'ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified');
    }
    if (options.path !== undefined && options.path !== null && options.path !== '') {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'options.path' is invalid: IPC paths are not supported by this stack. Received '${String(options.path)}'`);
    }
    if (this.write !== NetSocket.prototype.write) this.write = NetSocket.prototype.write;
    if (this.destroyed) {
      // a destroyed socket may connect again (Node re-initialises it)
      this.handle = null;
      this.peer = null;
      this.sockname = null;
      // Node's stream internals: a destroyed socket may connect again
      (this as unknown as { _undestroy(): void })._undestroy();
    }
    const localAddress = options.localAddress;
    if (localAddress !== undefined && localAddress !== '' && isIP(String(localAddress)) === 0) {
      throw nodeError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(localAddress)}`);
    }
    const localPort = options.localPort;
    if (localPort !== undefined && localPort !== 0 && typeof localPort !== 'number') {
      throw invalidArgType('options.localPort', 'of type number', localPort);
    }
    let port = 0;
    if (options.port !== undefined) {
      if (typeof options.port !== 'number' && typeof options.port !== 'string') {
        throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.port" property must be one of type number or string. Received ${describeValue(options.port)}`);
      }
      port = validatePort(options.port);
    }
    if (options.noDelay !== undefined) this.wantNoDelay = Boolean(options.noDelay);
    if (options.keepAlive !== undefined) this.wantKeepAlive = Boolean(options.keepAlive);
    if (options.keepAliveInitialDelay !== undefined) {
      if (typeof options.keepAliveInitialDelay !== 'number') throw invalidArgType('options.keepAliveInitialDelay', 'of type number', options.keepAliveInitialDelay);
      this.keepAliveDelaySecs = ~~(Math.max(0, options.keepAliveInitialDelay) / 1000);
    }
    this.touch();
    this.connecting = true;
    this.connectStarted = true;
    const seq = ++this.connectSeq;
    const host = typeof options.host === 'string' && options.host !== '' ? options.host : 'localhost';
    const r = resolveHost(host, options.family);
    process.nextTick(() => {
      if (!this.connecting || seq !== this.connectSeq) return;
      if (r === null) {
        const err = lookupError(host);
        this.emit('lookup', err, undefined, undefined, host);
        if (!this.connecting || seq !== this.connectSeq) return;
        process.nextTick(() => this.destroy(err));
        return;
      }
      if (r.looked) {
        this.emit('lookup', null, r.ip, r.family, host);
        if (!this.connecting || seq !== this.connectSeq) return;
      }
      this.internalConnect(r.ip, port, r.family, localAddress, localPort);
    });
    return this;
  }

  private internalConnect(ip: string, port: number, family: 4 | 6, localAddress: string | undefined, localPort: number | undefined): void {
    const sys = this.env.sys;
    const af = family === 6 ? AF_INET6 : AF_INET;
    const fd = sys.socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      this.destroy(exceptionWithHostPort(-fd, 'connect', ip, port));
      return;
    }
    const h = new TcpHandle(this.env, fd, this);
    this.handle = h;
    this.sockname = null;
    if ((localAddress !== undefined && localAddress !== '') || (localPort !== undefined && localPort !== 0)) {
      const la = localAddress !== undefined && localAddress !== '' ? localAddress : family === 6 ? '::' : '0.0.0.0';
      const lp = localPort ?? 0;
      const sa = sockaddrOf(af, la, lp);
      let err = sa === null ? -ERRNO.EINVAL : h.bind(sa);
      // checkBindError: bound elsewhere than asked is EADDRINUSE
      if (err === 0 && lp > 0 && h.getsockname()?.port !== lp) err = -ERRNO.EADDRINUSE;
      if (err < 0) {
        this.destroy(exceptionWithHostPort(-err, 'bind', la, lp));
        return;
      }
    }
    this.emit('connectionAttempt', ip, port, family);
    const sa = sockaddrOf(af, ip, port);
    const err = sa === null ? -ERRNO.EINVAL : h.connect(sa);
    if (err < 0) {
      const l = this.socknameInfo();
      this.destroy(exceptionWithHostPort(-err, 'connect', ip, port, l?.address, l?.port));
      return;
    }
    this.connectTarget = { ip, port, family, localAddress, localPort };
  }

  private connectTarget: { ip: string; port: number; family: 4 | 6; localAddress: string | undefined; localPort: number | undefined } | null = null;

  /** @internal HandleOwner: the connect finished */
  onConnect(errno: number): void {
    if (this.destroyed) return;
    const t = this.connectTarget;
    this.connecting = false;
    this.sockname = null;
    if (errno === 0) {
      this.cachePeer();
      this.touch();
      if (this.wantNoDelay) this.handle?.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      if (this.wantKeepAlive) this.applyKeepAlive(true, this.keepAliveDelaySecs);
      this.emit('connect');
      this.emit('ready');
      if (!this.isPaused()) this.read(0);
      return;
    }
    const ex = exceptionWithHostPort(errno, 'connect', t?.ip, t?.port,
      t?.localAddress !== undefined && t.localPort ? t.localAddress : undefined, t?.localPort);
    this.emit('connectionAttemptFailed', t?.ip, t?.port, t?.family, ex);
    this.destroy(ex);
  }

  // ---- reading ----

  override _read(_n: number): void {
    if (this.connecting || this.handle === null) {
      this.once('connect', () => this._read(_n));
      return;
    }
    if (!this.handle.reading) this.handle.readStart();
  }

  /** @internal HandleOwner */
  onData(buf: Buffer): boolean {
    if (this.destroyed) return false;
    this.touch();
    return this.push(buf);
  }

  /** @internal HandleOwner */
  onEof(): void {
    if (this.destroyed) return;
    this.touch();
    this.push(null);
    this.read(0);
  }

  /** @internal HandleOwner */
  onReadError(errno: number): void {
    this.destroy(errnoException(errno, 'read'));
  }

  /**
   * @internal HandleOwner: the host went away under the socket (host shutdown, network.close()):
   * like a process exit, not a network error — the socket is destroyed without an 'error' (no
   * program crashes on shutdown); pending write callbacks fail, 'close' is emitted.
   */
  onFatal(_errno: number, _busy: boolean): void {
    if (this.destroyed) return;
    this.connecting = false;
    this.destroy();
  }

  private readonly onReadableStreamEnd = (): void => {
    if (!this.allowHalfOpen) this.write = this.writeAfterFIN as Duplex['write'];
  };

  /** after the peer's FIN without allowHalfOpen: Node's EPIPE "ended by the other party" */
  private readonly writeAfterFIN = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
    if (!this.writableEnded) {
      return Duplex.prototype.write.call(this, chunk, encoding as BufferEncoding, cb as ErrCb);
    }
    const done = typeof encoding === 'function' ? encoding : cb;
    const er = nodeError(Error, 'EPIPE', 'This socket has been ended by the other party');
    if (typeof done === 'function') process.nextTick(done as ErrCb, er);
    this.destroy(er);
    return false;
  };

  // ---- writing ----

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: ErrCb): void {
    this.writeGeneric(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk, chunk, encoding, cb);
  }

  override _writev(chunks: { chunk: Buffer | string; encoding: BufferEncoding }[], cb: ErrCb): void {
    const bufs = chunks.map((c) => (typeof c.chunk === 'string' ? Buffer.from(c.chunk, c.encoding) : c.chunk));
    const all = Buffer.concat(bufs);
    this.writeGeneric(all, all, 'buffer' as BufferEncoding, cb);
  }

  private writeGeneric(buf: Buffer, orig: Buffer | string, encoding: BufferEncoding, cb: ErrCb): void {
    if (this.connecting) {
      this.pendingData = orig;
      this.pendingEncoding = encoding;
      const onClose = (): void => cb(nodeError(Error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established'));
      this.once('connect', () => {
        this.off('close', onClose);
        this.writeGeneric(buf, orig, encoding, cb);
      });
      this.once('close', onClose);
      return;
    }
    this.pendingData = null;
    const h = this.handle;
    if (h === null) {
      cb(nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
      return;
    }
    this.touch();
    const r = h.write(buf, (errno) => {
      // a write that completes after destroy reports success, as Node's onWriteComplete does
      if (this.destroyed) {
        cb();
        return;
      }
      if (errno !== 0) {
        cb(errnoException(errno, 'write'));
        return;
      }
      this.touch();
      this.lastWriteQueueSize = 0;
      cb();
    });
    if (r === 0) cb();
    else if (r < 0) cb(errnoException(-r, 'write'));
    else this.lastWriteQueueSize = buf.length;
  }

  override _final(cb: ErrCb): void {
    if (this.pending) {
      this.once('connect', () => this._final(cb));
      return;
    }
    const h = this.handle;
    if (h === null) {
      cb();
      return;
    }
    const r = h.shutdown();
    // the FIN is queued now; libuv completes the shutdown request on a later loop turn
    if (r === 0) setImmediate(cb);
    else if (r === -ERRNO.ENOTCONN) cb();
    else cb(errnoException(-r, 'shutdown'));
  }

  // ---- teardown ----

  /** ends the writable side, then destroys once it finished */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** closes with RST (SO_LINGER 0) */
  resetAndDestroy(): this {
    if (this.handle !== null) {
      if (this.connecting) {
        this.once('connect', () => {
          this.resetAndClosing = true;
          this.destroy();
        });
      } else {
        this.resetAndClosing = true;
        this.destroy();
      }
    } else {
      this.destroy(nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
    }
    return this;
  }

  override _destroy(err: Error | null, cb: ErrCb): void {
    this.connecting = false;
    this.env.sched.cancel(this.idleTimer);
    const h = this.handle;
    if (h !== null) {
      const hadError = err !== null;
      this.savedBytesRead = h.bytesRead;
      this.savedBytesWritten = h.bytesWritten;
      if (this.resetAndClosing) {
        this.resetAndClosing = false;
        h.reset();
      } else {
        h.close();
      }
      this.handle = null;
      this.sockname = null;
      cb(err);
      // the handle's close callback runs on a later loop turn (libuv's close phase)
      setImmediate(() => this.emit('close', hadError));
    } else if (this.connectStarted) {
      // Node created the handle before the lookup: its close reports hadError
      cb(err);
      const hadError = err !== null;
      setImmediate(() => this.emit('close', hadError));
    } else {
      cb(err);
      process.nextTick(() => this.emit('close'));
    }
    this.connectStarted = false;
    if (this._server !== null) {
      const s = this._server;
      this._server = null;
      s.connectionClosed();
    }
  }

  // ---- options ----

  /** TCP_NODELAY (default true); before connecting it is applied at connect */
  setNoDelay(enable?: boolean): this {
    const on = enable === undefined ? true : Boolean(enable);
    if (this.handle === null || this.connecting) {
      this.wantNoDelay = on;
      return this;
    }
    if (on !== this.wantNoDelay) {
      this.wantNoDelay = on;
      this.handle.setsockopt(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
    }
    return this;
  }

  /** SO_KEEPALIVE, and with it TCP_KEEPIDLE = initialDelay / 1000 s (≥ 1), TCP_KEEPINTVL 1, TCP_KEEPCNT 10 */
  setKeepAlive(enable?: boolean, initialDelayMsecs?: number): this {
    const on = Boolean(enable);
    const delay = ~~((initialDelayMsecs ?? 0) / 1000);
    if (this.handle === null || this.connecting) {
      this.wantKeepAlive = on;
      this.keepAliveDelaySecs = delay;
      return this;
    }
    if (on !== this.wantKeepAlive || (on && this.keepAliveDelaySecs !== delay)) {
      this.wantKeepAlive = on;
      this.keepAliveDelaySecs = delay;
      this.applyKeepAlive(on, delay);
    }
    return this;
  }

  /** uv_tcp_keepalive; Node ignores its result */
  private applyKeepAlive(on: boolean, delaySecs: number): void {
    const h = this.handle;
    if (h === null) return;
    if (h.setsockopt(SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0) < 0 || !on || delaySecs < 1) return;
    if (h.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, delaySecs) < 0) return;
    if (h.setsockopt(IPPROTO_TCP, TCP_KEEPINTVL, 1) < 0) return;
    h.setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 10);
  }

  /**
   * setTimeout(ms[, cb]): after `ms` without activity (reads, writes, connect) 'timeout' is
   * emitted (again after each further idle period); the socket stays open. 0 disables it.
   */
  setTimeout(msecs: number, callback?: () => void): this {
    if (this.destroyed) return this;
    this.timeout = msecs;
    const ms = validateTimeout(msecs, 'msecs');
    this.env.sched.cancel(this.idleTimer);
    if (ms === 0) {
      this.timeoutUs = 0;
      if (callback !== undefined) {
        if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
        this.removeListener('timeout', callback);
      }
      return this;
    }
    this.timeoutUs = Math.max(1, Math.round(ms * 1000));
    this.lastActive = this.env.sched.now();
    this.env.sched.arm(this.idleTimer, this.lastActive + this.timeoutUs);
    if (callback !== undefined) {
      if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
      this.once('timeout', callback);
    }
    return this;
  }

  /** activity: the idle timer counts from now (the armed timer moves when it fires) */
  private touch(): void {
    if (this.timeoutUs === 0) return;
    const s = this.env.sched;
    this.lastActive = s.now();
    // refresh: a timer that fired is armed again by activity
    if (!this.idleTimer.armed && !this.destroyed) s.arm(this.idleTimer, this.lastActive + this.timeoutUs);
  }

  /** @internal the idle timer fired (inside the scheduler): check, then emit on nextTick */
  onTimer(): void {
    if (this.timeoutUs === 0 || this.destroyed) return;
    const s = this.env.sched;
    const due = this.lastActive + this.timeoutUs;
    if (due > s.now()) {
      s.arm(this.idleTimer, due);
      return;
    }
    // a write making progress is activity (Node's kLastWriteQueueSize check)
    const q = this.handle?.writeQueueSize ?? 0;
    if (this.lastWriteQueueSize > 0 && q !== this.lastWriteQueueSize) {
      this.lastWriteQueueSize = q;
      this.lastActive = s.now();
      s.arm(this.idleTimer, this.lastActive + this.timeoutUs);
      return;
    }
    // fired: armed again by the next activity only (a Node timeout fires once per idle period)
    s.noteWakeup();
    process.nextTick(() => {
      if (!this.destroyed) this.emit('timeout');
    });
  }

  /** no-ops here (the simulation does not keep the process alive); return this as Node's */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
