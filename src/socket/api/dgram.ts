/**
 * `node:dgram`-like UDP sockets on a host: `host.dgram.createSocket('udp4' | 'udp6' | options)`
 * gives a `DgramSocket` (an EventEmitter with 'listening', 'connect', 'message', 'error',
 * 'close') whose methods, argument forms, defaults and errors follow Node's `dgram.Socket`:
 * `bind`, `connect`, `disconnect`, `send` (offset/length, port/address, callback), `close`,
 * `address`, `remoteAddress`, `setRecvBufferSize` / `getRecvBufferSize`, `setSendBufferSize` /
 * `getSendBufferSize`, `setBroadcast`, `setTTL`, `ref` / `unref`.
 *
 * Built on the host's syscall layer like a libuv handle: one non-blocking SOCK_DGRAM fd (created
 * with the object; Node's "no fd before bind" answers, EBADF from `address()`, are kept),
 * `bind`/`connect`/`sendto`/`recvfrom`/`setsockopt`, and a wait-queue entry on the file that
 * drains it when it becomes readable or gets an error. When the host closes the fd underneath
 * (host shutdown) the socket reports the error and closes. Addresses are IP literals
 * ('localhost' is the loopback address; other names fail with ENOTFOUND): there is no resolver. System errors are `ErrnoError`s (positive `.errno`, `.code`, `.syscall`, and
 * `.address` / `.port` where Node gives them) with Node's message text; argument errors are
 * TypeError / RangeError / Error with Node's `ERR_*` codes. Events are emitted on
 * `process.nextTick`, never from inside the packet path; received datagrams are drained on the
 * stack's wakeup (one 'message' per datagram, in arrival order).
 */
import { EventEmitter } from 'node:events';
import { InetAddr, addrToString, isV4, type Addr } from '../../inet/index.js';
import type { Scheduler } from '../../time/index.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, ERRNO, ErrnoError, IPV6_V6ONLY, IP_TTL, SOCK_DGRAM, SOCK_NONBLOCK,
  SOL_IPV6, SOL_IP, SOL_SOCKET, SO_BROADCAST, SO_RCVBUF, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, errnoName,
} from '../../uapi/index.js';
import type { File } from '../sys/file.js';
import type { SockAddr } from '../sys/sockaddr.js';
import type { AddrOut, Syscalls } from '../sys/syscalls.js';
import { UdpSockFile } from '../sys/udp-sock.js';
import { WaitEntry } from '../sys/waitqueue.js';

/** IPV6_UNICAST_HOPS (Linux uapi) */
const IPV6_UNICAST_HOPS = 16;

/** what a host gives its dgram sockets */
export interface DgramEnv {
  readonly sys: Syscalls;
  /** told when a datagram is ready for the application (the virtual-time driver yields then) */
  readonly sched: Pick<Scheduler, 'noteWakeup'>;
}

export type DgramType = 'udp4' | 'udp6';

export interface DgramSocketOptions {
  type: DgramType;
  reuseAddr?: boolean;
  reusePort?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;
export type SendCallback = (err: Error | null, bytes?: number) => void;
type Msg = string | NodeJS.ArrayBufferView | readonly (string | NodeJS.ArrayBufferView)[];

const BIND_UNBOUND = 0;
const BIND_BOUND = 2;

/** a Node internal error: `code` set, message as Node words it */
function nodeError<E extends Error>(ctor: new (m: string) => E, code: string, message: string): E {
  return Object.assign(new ctor(message), { code });
}

/** Node's ExceptionWithHostPort / ErrnoException as an ErrnoError (errno positive, as this project) */
function sysError(errno: number, syscall: string, address?: string, port?: number): ErrnoError {
  const e = new ErrnoError(errno, syscall);
  let details = '';
  if (address !== undefined && address !== '') details = port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  e.message = `${syscall} ${errnoName(errno)}${details}`;
  if (address !== undefined) Object.assign(e, { address });
  if (port !== undefined && port > 0) Object.assign(e, { port });
  return e;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return `type number (${v})`;
  if (typeof v === 'string') return `type string ('${v}')`;
  if (typeof v === 'function') return 'function';
  if (typeof v === 'object') return 'an instance of ' + ((v as object).constructor?.name ?? 'Object');
  return `type ${typeof v} (${String(v)})`;
}

/** Node validatePort */
function validatePort(port: unknown, allowZero: boolean): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== (+port >>> 0) || +port > 0xffff || (+port === 0 && !allowZero)) {
    throw nodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
      `Port should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeValue(port)}.`);
  }
  return +port | 0;
}

function isView(v: unknown): v is NodeJS.ArrayBufferView {
  return ArrayBuffer.isView(v);
}

function toBytes(v: string | NodeJS.ArrayBufferView): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Node sliceBuffer: `offset`/`length` applied to one buffer or string */
function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Uint8Array {
  let b: Uint8Array;
  if (typeof buffer === 'string') b = Buffer.from(buffer);
  else if (isView(buffer)) b = toBytes(buffer);
  else throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${describeValue(buffer)}`);
  const off = Number(offset) >>> 0;
  const len = Number(length) >>> 0;
  if (off > b.byteLength) throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds');
  if (off + len > b.byteLength) throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds');
  return b.subarray(off, off + len);
}

/** one datagram from a message argument (a list is gathered into one datagram) */
function gather(msg: unknown): Uint8Array {
  if (typeof msg === 'string' || isView(msg)) return toBytes(msg);
  if (Array.isArray(msg)) {
    const parts: Uint8Array[] = [];
    for (const p of msg as unknown[]) {
      if (typeof p !== 'string' && !isView(p)) {
        throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "buffer list arguments" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${describeValue(p)}`);
      }
      parts.push(toBytes(p));
    }
    return Buffer.concat(parts);
  }
  throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView, or Array. Received ${describeValue(msg)}`);
}

/** the largest datagram a receive can return */
const RECV_BUF = 65536;

/** the socket's entry on its file's wait queue: a wake schedules a drain */
class DrainEntry extends WaitEntry {
  constructor(private readonly owner: DgramSocket) {
    super();
  }

  wake(): void {
    this.owner.queueDrain();
  }
}

export class DgramSocket extends EventEmitter {
  readonly type: DgramType;
  /** the fd, and the file it must still name (the host may close it underneath) */
  private fd: number;
  private file: File | null;
  private bindState = BIND_UNBOUND;
  /** the handle has a file descriptor (libuv creates it at the first bind) */
  private hasFd = false;
  private connected = false;
  private receiving = false;
  private drainQueued = false;
  private refed = true;
  private readonly opts: DgramSocketOptions;
  private readonly entry = new DrainEntry(this);
  private readonly from: AddrOut = { addr: null };
  private readonly rbuf = new Uint8Array(RECV_BUF);

  constructor(private readonly env: DgramEnv, opts: DgramSocketOptions) {
    super();
    this.type = opts.type;
    this.opts = opts;
    const sys = env.sys;
    const fd = sys.socket(opts.type === 'udp4' ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) throw sysError(-fd, 'socket');
    this.fd = fd;
    this.file = sys.file(fd);
    if (opts.reuseAddr === true) sys.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (opts.reusePort === true) sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (opts.type === 'udp6') sys.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, opts.ipv6Only === true ? 1 : 0);
    this.file?.wq?.add(this.entry);
  }

  /** the fd while it still names our file; -1 once closed (by us or by the host) */
  private liveFd(): number {
    if (this.file === null) return -1;
    if (this.env.sys.file(this.fd) !== this.file) {
      // closed underneath (host shutdown): report the socket's error as Node reports a handle
      // error, then close
      const f = this.file;
      const errno = f instanceof UdpSockFile && f.us.err !== 0 ? f.us.err : ERRNO.EBADF;
      this.detach();
      process.nextTick(() => {
        this.emit('error', sysError(errno, 'recvmsg'));
        this.emit('close');
      });
      return -1;
    }
    return this.fd;
  }

  private detach(): void {
    if (this.entry.wqHead !== null) this.entry.wqHead.remove(this.entry);
    this.file = null;
    this.receiving = false;
  }

  /** @internal the file became readable or got an error */
  queueDrain(): void {
    if (this.drainQueued || (!this.receiving && this.file !== null && this.env.sys.file(this.fd) === this.file)) return;
    this.drainQueued = true;
    this.env.sched.noteWakeup();
    process.nextTick(this.drain);
  }

  private readonly drain = (): void => {
    this.drainQueued = false;
    const fd = this.liveFd();
    if (fd < 0 || !this.receiving) return;
    const sys = this.env.sys;
    const file = this.file;
    if (!(file instanceof UdpSockFile)) return;
    const us = file.us;
    const from = this.from;
    // read what is there now: queued datagrams and a pending error (never the end-of-stream 0)
    while (us.rxq.count > 0 || us.err !== 0) {
      from.addr = null;
      const r = sys.recvfrom(fd, this.rbuf, 0, from);
      if (r === -ERRNO.EAGAIN) return;
      if (r < 0) {
        this.emit('error', sysError(-r, 'recvmsg'));
        if (this.file === null || !this.receiving) return;
        continue;
      }
      const sa = from.addr as SockAddr | null;
      if (sa === null) return;
      const msg = Buffer.from(this.rbuf.subarray(0, r));
      const rinfo: RemoteInfo = { address: this.addrText(sa.addr), family: this.type === 'udp4' ? 'IPv4' : 'IPv6', port: sa.port, size: r };
      this.emit('message', msg, rinfo);
      if (this.file === null || !this.receiving) return;
    }
  };

  /** an address as this socket's family writes it (IPv4 on an udp6 socket is ::ffff:a.b.c.d) */
  private addrText(a: Addr): string {
    const s = addrToString(a);
    return this.type === 'udp6' && isV4(a) ? `::ffff:${s}` : s;
  }

  /** a sockaddr of this socket's family for `a` */
  private sockaddr(a: InetAddr, port: number): SockAddr {
    return { family: this.type === 'udp4' ? AF_INET : AF_INET6, addr: a, port };
  }

  // ---- address literals ----

  /**
   * Node's lookup for this family, for IP literals: '' → the loopback (send/connect) or the
   * wildcard (bind); 'localhost' → loopback. A literal of the other syntax fails later with
   * EINVAL as libuv's uv_ip4_addr / uv_ip6_addr do. Null → ENOTFOUND.
   */
  private parse(address: string, forBind: boolean): InetAddr | null | 'EINVAL' {
    const v4 = this.type === 'udp4';
    if (address === '') return forBind ? (v4 ? InetAddr.ANY4 : InetAddr.ANY6) : (v4 ? InetAddr.LOOPBACK4 : InetAddr.LOOPBACK6);
    if (address === 'localhost') return v4 ? InetAddr.LOOPBACK4 : InetAddr.LOOPBACK6;
    const a = InetAddr.tryParse(address);
    if (a === null) return null;
    const v6Syntax = address.includes(':');
    if (v4 === v6Syntax) return 'EINVAL';
    return a;
  }

  private lookupError(address: string): ErrnoError {
    const e = new ErrnoError(ERRNO.ENOENT, 'getaddrinfo');
    e.message = `getaddrinfo ENOTFOUND ${address}`;
    Object.assign(e, { code: 'ENOTFOUND', hostname: address });
    return e;
  }

  /** the live fd, or Node's ERR_SOCKET_DGRAM_NOT_RUNNING */
  private healthCheck(): number {
    const fd = this.liveFd();
    if (fd < 0) throw nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return fd;
  }

  // ---- bind ----

  /** bind([port][, address][, callback]) or bind(options[, callback]) */
  bind(...args: unknown[]): this {
    const fd = this.healthCheck();
    if (this.bindState !== BIND_UNBOUND) throw nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof last === 'function') {
      const cb = last as () => void;
      const onListening = (): void => {
        this.removeListener('error', removeListeners);
        cb.call(this);
      };
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let port: unknown = args[0];
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as { port?: unknown; address?: unknown };
      address = o.address ?? '';
      port = o.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    if (typeof port === 'function' || port === undefined || port === null) port = 0;
    this.doBind(fd, typeof address === 'string' ? address : '', port);
    return this;
  }

  private doBind(fd: number, address: string, port: unknown): void {
    const p = Number(port);
    const a = this.parse(address, true);
    if (a === null) {
      const ex = this.lookupError(address);
      process.nextTick(() => this.emit('error', ex));
      return;
    }
    this.hasFd = true;
    let r: number;
    if (a === 'EINVAL') r = -ERRNO.EINVAL;
    else if (!Number.isInteger(p) || p < 0 || p > 65535) r = -ERRNO.EINVAL;
    else r = this.env.sys.bind(fd, this.sockaddr(a, p));
    if (r < 0) {
      const ex = sysError(-r, 'bind', address === '' ? (this.type === 'udp4' ? '0.0.0.0' : '::') : address, p);
      process.nextTick(() => this.emit('error', ex));
      return;
    }
    this.bindState = BIND_BOUND;
    this.receiving = true;
    if (this.opts.recvBufferSize !== undefined) this.setRecvBufferSize(this.opts.recvBufferSize);
    if (this.opts.sendBufferSize !== undefined) this.setSendBufferSize(this.opts.sendBufferSize);
    process.nextTick(() => this.emit('listening'));
    this.queueDrain();
  }

  /** binds to an ephemeral port on the wildcard, as Node does before a send or connect */
  private implicitBind(fd: number): void {
    if (this.bindState === BIND_UNBOUND) this.doBind(fd, '', 0);
  }

  // ---- connect ----

  connect(port: unknown, address?: unknown, callback?: unknown): void {
    const p = validatePort(port, false);
    let cb = callback;
    let addr = address;
    if (typeof addr === 'function') {
      cb = addr;
      addr = '';
    } else if (addr === undefined) {
      addr = '';
    }
    if (typeof addr !== 'string') {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "address" argument must be of type string. Received ${describeValue(addr)}`);
    }
    const fd = this.healthCheck();
    if (this.connected) throw nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    this.implicitBind(fd);
    if (typeof cb === 'function') this.once('connect', cb as () => void);
    const fail = (ex: Error): void => {
      process.nextTick(() => {
        if (typeof cb === 'function') {
          this.removeListener('connect', cb as () => void);
          (cb as (e: Error) => void)(ex);
        } else {
          this.emit('error', ex);
        }
      });
    };
    const a = this.parse(addr, false);
    if (a === null) return fail(this.lookupError(addr));
    const r = a === 'EINVAL' ? -ERRNO.EINVAL : this.env.sys.connect(fd, this.sockaddr(a, p));
    if (r < 0) return fail(sysError(-r, 'connect', addr, p));
    this.connected = true;
    process.nextTick(() => this.emit('connect'));
  }

  disconnect(): void {
    const fd = this.healthCheck();
    if (!this.connected) throw nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    const r = this.env.sys.connect(fd, { family: AF_UNSPEC, addr: InetAddr.ANY4, port: 0 });
    if (r < 0) throw sysError(-r, 'connect');
    this.connected = false;
  }

  // ---- send ----

  /**
   * send(msg[, offset, length][, port][, address][, callback]): one datagram. Argument errors
   * throw; send errors go to the callback (without one they are dropped, as Node does).
   */
  send(msg: Msg, port?: number | string, address?: string, callback?: SendCallback): void;
  send(msg: Msg, port?: number | string, callback?: SendCallback): void;
  send(msg: Msg, callback?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, port?: number | string, address?: string, callback?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, port?: number | string, callback?: SendCallback): void;
  send(msg: Msg, offset: number, length: number, callback?: SendCallback): void;
  send(buffer: Msg, offset?: unknown, length?: unknown, port?: unknown, address?: unknown, callback?: unknown): void {
    let data: Uint8Array | null = null;
    const off = offset;
    const len = length;
    let prt = port;
    let addr = address;
    let cb = callback;
    if (!this.connected) {
      if (addr || (prt && typeof prt !== 'function')) {
        data = sliceBuffer(buffer, off, len);
      } else {
        cb = prt;
        prt = off;
        addr = len;
      }
    } else {
      if (typeof len === 'number') {
        data = sliceBuffer(buffer, off, len);
        if (typeof prt === 'function') {
          cb = prt;
          prt = null;
        }
      } else {
        cb = off;
      }
      if (prt || addr) throw nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    if (data === null) data = gather(buffer);
    let p = 0;
    if (!this.connected) p = validatePort(prt, false);
    let done: SendCallback | undefined = typeof cb === 'function' ? (cb as SendCallback) : undefined;
    if (typeof addr === 'function') {
      done = addr as SendCallback;
      addr = undefined;
    } else if (addr !== undefined && addr !== null && typeof addr !== 'string') {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "address" argument must be of type string. Received ${describeValue(addr)}`);
    }
    const fd = this.healthCheck();
    this.implicitBind(fd);
    const text = typeof addr === 'string' ? addr : '';
    let dst: InetAddr | null = null;
    if (!this.connected) {
      const a = this.parse(text, false);
      if (a === null) {
        const ex = this.lookupError(text);
        if (done !== undefined) process.nextTick(done, ex);
        else process.nextTick(() => this.emit('error', ex));
        return;
      }
      if (a === 'EINVAL') {
        if (done !== undefined) process.nextTick(done, sysError(ERRNO.EINVAL, 'send', text, p));
        return;
      }
      dst = a;
    }
    const r = this.env.sys.sendto(fd, data, 0, dst === null ? null : this.sockaddr(dst, p));
    if (done === undefined) return;
    if (r < 0) {
      const ex = this.connected ? sysError(-r, 'send') : sysError(-r, 'send', text === '' ? (this.type === 'udp4' ? '127.0.0.1' : '::1') : text, p);
      process.nextTick(done, ex);
      return;
    }
    process.nextTick(done, null, r);
  }

  // ---- close ----

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    const fd = this.healthCheck();
    this.detach();
    this.env.sys.close(fd);
    process.nextTick(() => this.emit('close'));
    return this;
  }

  // ---- addresses ----

  address(): AddressInfo {
    const fd = this.healthCheck();
    if (!this.hasFd) throw sysError(ERRNO.EBADF, 'getsockname');
    const out: AddrOut = { addr: null };
    const r = this.env.sys.getsockname(fd, out);
    if (r < 0 || out.addr === null) throw sysError(r < 0 ? -r : ERRNO.EBADF, 'getsockname');
    return { address: this.addrText(out.addr.addr), family: this.type === 'udp4' ? 'IPv4' : 'IPv6', port: out.addr.port };
  }

  remoteAddress(): AddressInfo {
    const fd = this.healthCheck();
    if (!this.connected) throw nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    const out: AddrOut = { addr: null };
    const r = this.env.sys.getpeername(fd, out);
    if (r < 0 || out.addr === null) throw sysError(r < 0 ? -r : ERRNO.ENOTCONN, 'getpeername');
    return { address: this.addrText(out.addr.addr), family: this.type === 'udp4' ? 'IPv4' : 'IPv6', port: out.addr.port };
  }

  // ---- options ----

  private bufferSize(size: number, recv: boolean): number {
    if (size >>> 0 !== size) throw nodeError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer');
    const fd = this.liveFd();
    const sys = this.env.sys;
    const opt = recv ? SO_RCVBUF : SO_SNDBUF;
    const r = fd < 0 || !this.hasFd ? -ERRNO.EBADF : size !== 0 ? sys.setsockopt(fd, SOL_SOCKET, opt, size) : sys.getsockoptInt(fd, SOL_SOCKET, opt);
    if (r < 0) {
      const fn = recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
      throw nodeError(Error, 'ERR_SOCKET_BUFFER_SIZE', `Could not get or set buffer size: ${fn} returned ${errnoName(-r)}`);
    }
    return size !== 0 ? size : r;
  }

  setRecvBufferSize(size: number): void {
    this.bufferSize(size, true);
  }

  /** the kernel's value: twice what was set (Linux) */
  getRecvBufferSize(): number {
    return this.bufferSize(0, true);
  }

  setSendBufferSize(size: number): void {
    this.bufferSize(size, false);
  }

  getSendBufferSize(): number {
    return this.bufferSize(0, false);
  }

  setBroadcast(flag: boolean): void {
    const fd = this.healthCheck();
    const r = this.hasFd ? this.env.sys.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, flag ? 1 : 0) : -ERRNO.EBADF;
    if (r < 0) throw sysError(-r, 'setBroadcast');
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "ttl" argument must be of type number. Received ${describeValue(ttl)}`);
    }
    const fd = this.healthCheck();
    if (!this.hasFd) throw sysError(ERRNO.EBADF, 'setTTL');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw sysError(ERRNO.EINVAL, 'setTTL');
    const sys = this.env.sys;
    let r = this.type === 'udp4' ? sys.setsockopt(fd, SOL_IP, IP_TTL, ttl) : sys.setsockopt(fd, SOL_IPV6, IPV6_UNICAST_HOPS, ttl);
    // a socket layer without IPV6_UNICAST_HOPS: UDP keeps one hop limit for both families
    if (r === -ERRNO.ENOPROTOOPT) r = sys.setsockopt(fd, SOL_IP, IP_TTL, ttl);
    if (r < 0) throw sysError(-r, 'setTTL');
    return ttl;
  }

  /** keeps the process alive while open (no-op here: the network's driver decides) */
  ref(): this {
    this.refed = true;
    return this;
  }

  unref(): this {
    this.refed = false;
    return this;
  }

  /** whether `ref()` is in effect (Node's handle.hasRef) */
  hasRef(): boolean {
    return this.refed && this.file !== null;
  }
}

/** `dgram.createSocket(type | options[, onMessage])` */
export function createSocket(env: DgramEnv, typeOrOpts: DgramType | DgramSocketOptions, onMessage?: MessageListener): DgramSocket {
  const opts: DgramSocketOptions = typeof typeOrOpts === 'string' ? { type: typeOrOpts } : typeOrOpts;
  if (opts === null || typeof opts !== 'object' || (opts.type !== 'udp4' && opts.type !== 'udp6')) {
    throw nodeError(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6');
  }
  const s = new DgramSocket(env, opts);
  if (typeof onMessage === 'function') s.on('message', onMessage);
  return s;
}
