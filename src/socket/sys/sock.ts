/**
 * `SockFile`: a socket as a file (Linux `struct socket` + its `struct file`), the base of the
 * per-protocol sockets (`TcpSockFile`, `UdpSockFile`). It owns the socket-level state Linux keeps
 * outside the protocol — `sock->state` (SS_*), `sk_shutdown`, the address-family rules of
 * `AF_INET` / dual-stack `AF_INET6` sockets, the generic SOL_SOCKET options — and the wait queue
 * that protocol callbacks wake.
 *
 * Calls never sleep: they return a count or a negative errno. Where Linux would sleep they
 * return `-EAGAIN`; a blocking caller (the promise API) then waits on `wq` for `waitMask(op)`
 * events and calls again with the same `MsgHdr`, whose progress the protocol kept. `-ENOBUFS`
 * from a blocking send means "wait for memory" (`sk_stream_wait_memory`): the caller waits for
 * write space or a short timer.
 */
import type { InetAddr } from '../../inet/index.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, ERRNO, IPPROTO_TCP, SOCK_STREAM, SO_DEVMEM_DONTNEED, IPV6_V6ONLY, SIN6_LEN_RFC2133, SOCKADDR_IN_LEN, SOL_IPV6, SOL_SOCKET,
  SO_ACCEPTCONN, SO_DOMAIN, SO_PROTOCOL, SO_REUSEADDR, SO_REUSEPORT, SO_TYPE, POLLERR, POLLHUP, POLLIN, POLLOUT,
  POLLRDHUP, POLLRDNORM, POLLWRNORM, POLLWRBAND, POLLPRI, POLLRDBAND,
} from '../../uapi/index.js';
import { File } from './file.js';
import type { MsgHdr } from './msghdr.js';
import { sockaddrFor, type SockAddr } from './sockaddr.js';
import { WaitQueue } from './waitqueue.js';

export const SS_UNCONNECTED = 1;
export const SS_CONNECTING = 2;
export const SS_CONNECTED = 3;
export const SS_DISCONNECTING = 4;

/** sk_shutdown bits */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
export const SHUTDOWN_MASK = 3;

/** hint masks protocol callbacks wake the queue with */
export const WAKE_IN = POLLIN | POLLRDNORM | POLLRDBAND;
export const WAKE_OUT = POLLOUT | POLLWRNORM | POLLWRBAND;
export const WAKE_ALL = WAKE_IN | WAKE_OUT | POLLERR | POLLHUP | POLLRDHUP | POLLPRI;

/** events a blocked receive / accept waits for */
export const WAIT_RX = WAKE_IN | POLLERR | POLLHUP | POLLRDHUP;
/** events a blocked send / connect waits for */
export const WAIT_TX = WAKE_OUT | POLLERR | POLLHUP;

/** a getsockopt result: `value` for integer options, `data` for structured ones */
export class SockOptVal {
  value = 0;
  /** structured result (TCP_INFO, SO_LINGER …) */
  data: unknown = null;
  /** raw optval bytes for options whose value is a structure */
  bytes: Uint8Array | null = null;
}

export abstract class SockFile extends File {
  readonly kind = 'socket';
  readonly wq = new WaitQueue();
  /** sock->state */
  sockState = SS_UNCONNECTED;
  /** sk_shutdown */
  shutdownBits = 0;
  /** IPV6_V6ONLY (AF_INET6 only) */
  v6only = false;
  reuseAddr = false;
  reusePort = false;
  /** the file was closed (its fd table reference dropped) */
  closed = false;
  /** the stack went away under the socket (host or network closed): every call fails with it */
  deadErrno = 0;

  constructor(
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
  ) {
    super();
  }

  // ---- protocol operations (struct proto_ops) ----
  abstract bind(sa: SockAddr, len: number): number;
  abstract listen(backlog: number): number;
  /** → the new socket, or -errno (-EAGAIN: nothing to accept yet) */
  abstract accept(): SockFile | number;
  abstract connect(sa: SockAddr, len: number): number;
  /**
   * After a connect that answered EINPROGRESS / EALREADY: `pending` while it runs, else 0 or
   * -errno (the end of __inet_stream_connect). Datagram sockets connect at once.
   */
  connectResult(_pending: number): number {
    return 0;
  }
  abstract sendmsg(msg: MsgHdr, flags: number, nonblock: boolean): number;
  abstract recvmsg(msg: MsgHdr, flags: number, nonblock: boolean): number;
  abstract shutdown(how: number): number;
  abstract getsockname(): SockAddr;
  /** → the peer or -ENOTCONN */
  abstract getpeername(): SockAddr | number;
  abstract ioctl(cmd: number, out: SockOptVal): number;
  /** protocol options (levels other than the generic SOL_SOCKET ones handled here) */
  protected abstract setProtoOpt(level: number, name: number, val: number, raw: Uint8Array | null): number;
  protected abstract getProtoOpt(level: number, name: number, out: SockOptVal): number;
  /** the socket is bound to a local port (IPV6_V6ONLY can no longer change) */
  protected abstract get bound(): boolean;
  /** SO_ACCEPTCONN */
  protected abstract get listening(): boolean;
  /** the stack went away: fail the connection with `errno`, wake every waiter */
  abort(errno: number): void {
    this.deadErrno = errno;
    this.abortProto(errno);
    this.wq.wake(WAKE_ALL);
  }

  /** the protocol part of `abort` (RST an established connection …) */
  protected abstract abortProto(errno: number): void;

  // ---- generic socket options ----

  setsockopt(level: number, name: number, val: number, raw: Uint8Array | null): number {
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_DEVMEM_DONTNEED:
          // net/core/sock.c: optlen < 4 → EINVAL, then a socket that is not TCP → EBADF
          if (raw === null || raw.length < 4) return -ERRNO.EINVAL;
          if (this.type !== SOCK_STREAM || this.protocol !== IPPROTO_TCP) return -ERRNO.EBADF;
          return this.setProtoOpt(level, name, val, raw);
        case SO_REUSEADDR:
          this.reuseAddr = val !== 0;
          return this.setProtoOpt(level, name, val, raw);
        case SO_REUSEPORT:
          this.reusePort = val !== 0;
          return this.setProtoOpt(level, name, val, raw);
        case SO_TYPE:
        case SO_DOMAIN:
        case SO_PROTOCOL:
        case SO_ACCEPTCONN:
          return -ERRNO.ENOPROTOOPT;
      }
    } else if (level === SOL_IPV6) {
      if (this.family !== AF_INET6) return -ERRNO.ENOPROTOOPT;
      if (name === IPV6_V6ONLY) {
        if (this.bound) return -ERRNO.EINVAL;
        this.v6only = val !== 0;
        return this.setProtoOpt(level, name, val, raw);
      }
    }
    return this.setProtoOpt(level, name, val, raw);
  }

  getsockopt(level: number, name: number, out: SockOptVal): number {
    out.data = null;
    out.bytes = null;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_TYPE:
          out.value = this.type;
          return 0;
        case SO_DOMAIN:
          out.value = this.family;
          return 0;
        case SO_PROTOCOL:
          out.value = this.protocol;
          return 0;
        case SO_ACCEPTCONN:
          out.value = this.listening ? 1 : 0;
          return 0;
        case SO_REUSEADDR:
          out.value = this.reuseAddr ? 1 : 0;
          return 0;
        case SO_REUSEPORT:
          out.value = this.reusePort ? 1 : 0;
          return 0;
      }
    } else if (level === SOL_IPV6) {
      if (this.family !== AF_INET6) return -ERRNO.ENOPROTOOPT;
      if (name === IPV6_V6ONLY) {
        out.value = this.v6only ? 1 : 0;
        return 0;
      }
    }
    return this.getProtoOpt(level, name, out);
  }

  // ---- address rules shared by TCP and UDP (inet_bind / inet6_bind, *_connect) ----

  /**
   * Checks a bind address for this socket's family. → 0, or -errno (EINVAL for a short address
   * or a v4-mapped address on a v6-only socket, EAFNOSUPPORT for a foreign family).
   */
  protected checkBindAddr(sa: SockAddr, len: number): number {
    if (this.family === AF_INET) {
      if (len < SOCKADDR_IN_LEN) return -ERRNO.EINVAL;
      if (sa.family !== AF_INET) {
        // compatibility: AF_UNSPEC with INADDR_ANY binds like AF_INET
        if (sa.family !== AF_UNSPEC || sa.addr.w3 !== 0) return -ERRNO.EAFNOSUPPORT;
      }
      return 0;
    }
    if (len < SIN6_LEN_RFC2133) return -ERRNO.EINVAL;
    if (sa.family !== AF_INET6) return -ERRNO.EAFNOSUPPORT;
    if (sa.addr.family === 4 && this.v6only) return -ERRNO.EINVAL;
    return 0;
  }

  /** checks a connect / sendto destination. → 0 or -errno */
  protected checkPeerAddr(sa: SockAddr, len: number): number {
    if (this.family === AF_INET) {
      if (len < SOCKADDR_IN_LEN) return -ERRNO.EINVAL;
      if (sa.family !== AF_INET) return -ERRNO.EAFNOSUPPORT;
      return 0;
    }
    if (len < SIN6_LEN_RFC2133) return -ERRNO.EINVAL;
    if (sa.family !== AF_INET6) return -ERRNO.EAFNOSUPPORT;
    // a v4-mapped destination on a v6-only socket has no route (tcp_v6_connect / udpv6_sendmsg)
    if (sa.addr.family === 4 && this.v6only) return -ERRNO.ENETUNREACH;
    return 0;
  }

  /** the SockAddr this socket reports for an address of its protocol block */
  protected nameOf(addr: InetAddr, port: number, scopeId = 0): SockAddr {
    return sockaddrFor(this.family, addr, port, scopeId);
  }

  /** close(): the last fd reference went */
  protected release(): void {
    this.closed = true;
    this.closeProto();
    this.wq.wake(WAKE_ALL);
  }

  /** the protocol's close (tcp_close / udp_lib_close) */
  protected abstract closeProto(): void;

  /** wakes waiters (protocol callbacks) */
  wake(mask: number): void {
    this.wq.wake(mask);
  }
}
