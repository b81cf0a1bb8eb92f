/**
 * `NetServer`: Node's `net.Server` over this stack. `listen()` in every form — (port[, host]
 * [, backlog][, cb]), (options[, cb]) with port / host / backlog / ipv6Only / exclusive, no port
 * or port 0 for an ephemeral one; without a host it listens on '::' (dual stack; '0.0.0.0' if that
 * fails) as Node does. Failures (EADDRINUSE …) are emitted as 'error', never thrown. Accepted
 * connections become `NetSocket`s ('connection'; 'drop' beyond `maxConnections`); `close([cb])`
 * stops listening and emits 'close' once every connection closed (cb gets ERR_SERVER_NOT_RUNNING
 * when the server was not listening). `address()`, `getConnections`, `listening`, `ref`/`unref`.
 *
 * The listening fd is non-blocking; its wait-queue entry drains the accept queue on
 * `process.nextTick`. When the host goes away under it, the server closes as `close()` does.
 */
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import {
  AF_INET, AF_INET6, ERRNO, IPV6_V6ONLY, SOCK_NONBLOCK, SOCK_STREAM, SOL_IPV6, SOL_SOCKET, SO_REUSEADDR,
} from '../../../uapi/index.js';
import type { File } from '../../sys/file.js';
import type { SockAddr } from '../../sys/sockaddr.js';
import { WaitEntry } from '../../sys/waitqueue.js';
import { addressInfo, normalizeArgs, resolveHost, sockaddrOf, type AddressInfo, type NetListenOpts } from './args.js';
import { errnoException, invalidArgType, lookupError, nodeError, uvExceptionWithHostPort, validatePort } from './errors.js';
import type { NetEnv } from './handle.js';
import { NetSocket, type SocketServer } from './socket.js';

export interface NetServerOptions {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

/** the listener's entry on its file's wait queue */
class AcceptEntry extends WaitEntry {
  constructor(private readonly server: NetServer) {
    super();
  }
  wake(): void {
    this.server.queueAccept();
  }
}

export class NetServer extends EventEmitter implements SocketServer {
  /** refuse (and 'drop') connections beyond this many; undefined: no limit */
  maxConnections: number | undefined = undefined;
  readonly allowHalfOpen: boolean;
  readonly pauseOnConnect: boolean;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  /** seconds, as Node keeps it */
  readonly keepAliveInitialDelay: number;
  readonly highWaterMark: number | undefined;
  private fd = -1;
  /** the listener's file: the fd names it until closed (by us, or by the host underneath) */
  private file: File | null = null;
  private entry: AcceptEntry | null = null;
  private connections = 0;
  private listeningId = 1;
  private acceptQueued = false;

  constructor(
    private readonly env: NetEnv,
    options?: NetServerOptions | ((s: NetSocket) => void) | null,
    connectionListener?: (s: NetSocket) => void,
  ) {
    super();
    let opts: NetServerOptions = {};
    if (typeof options === 'function') {
      this.on('connection', options);
    } else if (options === undefined || options === null || typeof options === 'object') {
      opts = { ...options };
      if (typeof connectionListener === 'function') this.on('connection', connectionListener);
    } else {
      throw invalidArgType('options', 'of type object', options);
    }
    if (opts.keepAliveInitialDelay !== undefined && typeof opts.keepAliveInitialDelay !== 'number') {
      throw invalidArgType('options.keepAliveInitialDelay', 'of type number', opts.keepAliveInitialDelay);
    }
    this.allowHalfOpen = opts.allowHalfOpen ?? false;
    this.pauseOnConnect = Boolean(opts.pauseOnConnect);
    this.noDelay = Boolean(opts.noDelay);
    this.keepAlive = Boolean(opts.keepAlive);
    this.keepAliveInitialDelay = ~~(Math.max(0, opts.keepAliveInitialDelay ?? 0) / 1000);
    this.highWaterMark = opts.highWaterMark !== undefined && opts.highWaterMark >= 0 ? opts.highWaterMark : undefined;
  }

  get listening(): boolean {
    return this.fd >= 0;
  }

  /**
   * listen([port][, host][, backlog][, cb]) | listen(options[, cb]). Errors are emitted
   * ('error' on the next tick), except argument errors, which throw as in Node.
   */
  listen(port?: number | string | null, host?: string, backlog?: number, cb?: () => void): this;
  listen(port?: number | string | null, host?: string, cb?: () => void): this;
  listen(port?: number | string | null, backlog?: number, cb?: () => void): this;
  listen(port?: number | string | null, cb?: () => void): this;
  listen(options: NetListenOpts, cb?: () => void): this;
  listen(cb?: () => void): this;
  listen(...args: unknown[]): this {
    const [options, cb] = normalizeArgs(args);
    if (this.listening) throw nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (cb !== null) this.once('listening', cb);
    const toNumber = (x: unknown): number | false => {
      const n = Number(x);
      return n >= 0 ? n : false;
    };
    const backlogFromArgs = (args.length > 1 && toNumber(args[1])) || (args.length > 2 && toNumber(args[2])) || 0;
    this.listeningId++;
    if (args.length === 0 || typeof args[0] === 'function' || (options.port === undefined && 'port' in options) || options.port === null) {
      options.port = 0;
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      const port = validatePort(options.port, 'options.port');
      const backlog = (typeof options.backlog === 'number' && options.backlog) || backlogFromArgs || 511;
      const ipv6Only = Boolean(options.ipv6Only);
      const host = options.host;
      if (typeof host === 'string' && host !== '') {
        const id = this.listeningId;
        // dns.lookup answers asynchronously
        process.nextTick(() => {
          if (id !== this.listeningId) return;
          const r = resolveHost(host, undefined);
          if (r === null) {
            this.emit('error', lookupError(host));
            return;
          }
          this.setup(r.ip, r.family, port, backlog, ipv6Only);
        });
      } else {
        this.setup(null, 6, port, backlog, ipv6Only);
      }
      return this;
    }
    if (typeof options.path === 'string' && options.path !== '') {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'options.path' is invalid: IPC paths are not supported by this stack. Received '${options.path}'`);
    }
    if (!('port' in options) && !('path' in options)) {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'options' must have the property "port" or "path". Received ${inspect(options)}`);
    }
    throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'options' is invalid. Received ${inspect(options)}`);
  }

  /** createServerHandle + setupListenHandle: bind and listen, or an 'error' next tick */
  private setup(address: string | null, family: 4 | 6, port: number, backlog: number, ipv6Only: boolean): void {
    let fd: number;
    let addrText: string;
    if (address === null) {
      // unspecified: '::' (dual stack unless ipv6Only), else '0.0.0.0'; libuv reports a bind's
      // EADDRINUSE from listen (delayed_error), so that one does not fall back
      fd = this.open(AF_INET6, '::', port, ipv6Only);
      addrText = '::';
      if (fd < 0 && fd !== -ERRNO.EADDRINUSE) {
        fd = this.open(AF_INET, '0.0.0.0', port, false);
        addrText = '0.0.0.0';
      }
    } else {
      addrText = address;
      fd = this.open(family === 6 ? AF_INET6 : AF_INET, address, port, ipv6Only);
    }
    if (fd < 0) {
      process.nextTick(() => this.emit('error', uvExceptionWithHostPort(-fd, 'listen', addrText, port)));
      return;
    }
    const r = this.env.sys.listen(fd, backlog);
    if (r < 0) {
      this.env.sys.close(fd);
      process.nextTick(() => this.emit('error', uvExceptionWithHostPort(-r, 'listen', addrText, port)));
      return;
    }
    this.fd = fd;
    const f = this.env.sys.file(fd);
    this.file = f;
    this.entry = new AcceptEntry(this);
    f?.wq?.add(this.entry);
    process.nextTick(() => {
      if (this.fd === fd) this.emit('listening');
    });
    // connections that completed before the entry was added
    this.queueAccept();
  }

  /** socket + SO_REUSEADDR (libuv) + IPV6_V6ONLY + bind → fd or negative errno */
  private open(af: number, address: string, port: number, v6only: boolean): number {
    const sys = this.env.sys;
    const fd = sys.socket(af, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return fd;
    sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (af === AF_INET6) sys.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, v6only ? 1 : 0);
    const sa = sockaddrOf(af, address, port);
    const r = sa === null ? -ERRNO.EINVAL : sys.bind(fd, sa);
    if (r < 0) {
      sys.close(fd);
      return r;
    }
    return fd;
  }

  /** Node's address(): { address, family, port } while listening, else null */
  address(): AddressInfo | null {
    if (this.fd < 0) return null;
    const out = { addr: null as SockAddr | null };
    const r = this.env.sys.getsockname(this.fd, out);
    if (r < 0 || out.addr === null) throw errnoException(r < 0 ? -r : ERRNO.EBADF, 'address');
    return addressInfo(out.addr.family, out.addr);
  }

  /** @internal the listener became readable (inside the stack): accept on the next tick */
  queueAccept(): void {
    if (this.acceptQueued || this.fd < 0) return;
    this.acceptQueued = true;
    this.env.sched.noteWakeup();
    process.nextTick(this.acceptAll);
  }

  private readonly acceptAll = (): void => {
    this.acceptQueued = false;
    const fd = this.fd;
    if (fd < 0) return;
    const sys = this.env.sys;
    if (sys.file(fd) !== this.file) {
      // the host closed the listener underneath: the server closes
      this.closeListener();
      this.emitCloseIfDrained();
      return;
    }
    for (;;) {
      if (this.fd !== fd) return;
      const c = sys.accept4(fd, null, SOCK_NONBLOCK);
      if (c === -ERRNO.EAGAIN) return;
      if (c < 0) {
        if (sys.file(fd) !== this.file) {
          this.closeListener();
          this.emitCloseIfDrained();
          return;
        }
        this.emit('error', errnoException(-c, 'accept'));
        return;
      }
      this.onConnection(c);
    }
  };

  private onConnection(fd: number): void {
    const max = this.maxConnections;
    if (max !== undefined && max > 0 && this.connections >= max) {
      const sys = this.env.sys;
      const out = { addr: null as SockAddr | null };
      const data: Record<string, unknown> = {};
      if (sys.getsockname(fd, out) === 0 && out.addr !== null) {
        const l = addressInfo(out.addr.family, out.addr);
        data.localAddress = l.address;
        data.localPort = l.port;
        data.localFamily = l.family;
      }
      out.addr = null;
      if (sys.getpeername(fd, out) === 0 && out.addr !== null) {
        const r = addressInfo(this.familyOf(fd), out.addr);
        data.remoteAddress = r.address;
        data.remotePort = r.port;
        data.remoteFamily = r.family;
      }
      this.emit('drop', data);
      sys.close(fd);
      return;
    }
    const s = new NetSocket(this.env, {
      acceptedFd: fd,
      allowHalfOpen: this.allowHalfOpen,
      pauseOnCreate: this.pauseOnConnect,
      ...(this.highWaterMark !== undefined ? { readableHighWaterMark: this.highWaterMark, writableHighWaterMark: this.highWaterMark } : {}),
    });
    if (this.noDelay) s.setNoDelay(true);
    if (this.keepAlive) s.setKeepAlive(true, this.keepAliveInitialDelay * 1000);
    this.connections++;
    s.server = this;
    s._server = this;
    this.emit('connection', s);
  }

  private familyOf(fd: number): number {
    const out = { addr: null as SockAddr | null };
    return this.env.sys.getsockname(fd, out) === 0 && out.addr !== null ? out.addr.family : AF_INET;
  }

  /** getConnections(cb): the count, on the next tick */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.connections);
    return this;
  }

  /**
   * Stops accepting; 'close' follows once every connection is closed. `cb` is called on 'close'
   * (with ERR_SERVER_NOT_RUNNING when the server was not listening).
   */
  close(cb?: (err?: Error) => void): this {
    this.listeningId++;
    if (typeof cb === 'function') {
      if (this.fd < 0) this.once('close', () => cb(nodeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      else this.once('close', cb);
    }
    this.closeListener();
    this.emitCloseIfDrained();
    return this;
  }

  private closeListener(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    const e = this.entry;
    const f = this.file;
    this.fd = -1;
    this.entry = null;
    this.file = null;
    if (e !== null && e.wqHead !== null) e.wqHead.remove(e);
    const sys = this.env.sys;
    if (f !== null && sys.file(fd) === f) sys.close(fd);
  }

  /** @internal a connection of this server was destroyed */
  connectionClosed(): void {
    this.connections--;
    this.emitCloseIfDrained();
  }

  private emitCloseIfDrained(): void {
    if (this.fd >= 0 || this.connections > 0) return;
    process.nextTick(() => this.emit('close'));
  }

  /** no-ops here; return this as Node's */
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
