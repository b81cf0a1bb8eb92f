/**
 * `Syscalls`: one host's fd-numbered system calls, with Linux semantics and errno. Every call is
 * synchronous and never sleeps: it returns a number (fd, count, 0) or a negative errno. Where a
 * blocking Linux call would sleep, the call here answers as its non-blocking form does
 * (`-EAGAIN`, `-EINPROGRESS`); the promise `Socket` API and `waitFd` build blocking behaviour on
 * top. Addresses are `SockAddr` objects or raw `struct sockaddr` bytes (checked by length as
 * Linux does). `SIGPIPE` is not a signal here: the count of sends that would have raised it
 * (EPIPE without MSG_NOSIGNAL) is `sigpipes`.
 */
import { InetAddr } from '../../inet/index.js';
import type { TcpProto } from '../../tcp/index.js';
import type { UdpProto } from '../../udp/index.js';
import {
  AF_INET, AF_INET6, EPOLL_CLOEXEC, ERRNO, FD_CLOEXEC, FIONBIO, F_GETFD, F_GETFL, F_SETFD, F_SETFL, IPPROTO_IP,
  IPPROTO_TCP, IPPROTO_UDP, MSG_NOSIGNAL, O_NONBLOCK, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM,
  POLLWRNORM, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_DEVMEM_DONTNEED, SOCK_NONBLOCK, SOCK_STREAM, SOCK_TYPE_MASK,
} from '../../uapi/index.js';
import { Timer, type Scheduler } from '../../time/index.js';
import { EpollFile, type EpollEvent } from './epoll.js';
import { WaitEntry } from './waitqueue.js';
import { type File, type FdTable } from './file.js';
import { MsgHdr } from './msghdr.js';
import { SockFile, SockOptVal } from './sock.js';
import { decodeSockaddr, sockaddrLen, type SockAddr } from './sockaddr.js';
import { TcpSockFile } from './tcp-sock.js';
import { UdpSockFile } from './udp-sock.js';

/** what the syscall layer needs from its host */
export interface SyscallHost {
  readonly files: FdTable;
  /** clock for the waiting forms (`pollWait`, `epollWaitFor`) */
  readonly sched?: Scheduler;
  readonly tcp: TcpProto;
  /** UDP, when the host has it (SOCK_DGRAM sockets) */
  readonly udp?: UdpProto | null;
}

/** `struct pollfd` */
export interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

/** an address result (accept4, getsockname, getpeername, recvfrom) */
export interface AddrOut {
  addr: SockAddr | null;
}

/** files without a poll method report this (DEFAULT_POLLMASK) */
const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
const SOCK_MAX = 11;

/** a wait-queue entry that fires its callback once */
class OnceEntry extends WaitEntry {
  private fired = false;
  constructor(private readonly fn: () => void) {
    super();
  }
  wake(): void {
    if (this.fired) return;
    this.fired = true;
    this.fn();
  }
}

export class Syscalls {
  /** sends that failed with EPIPE without MSG_NOSIGNAL (each would have raised SIGPIPE) */
  sigpipes = 0;
  /** set by `shutdownAll`: new sockets fail with it */
  deadErrno = 0;
  private readonly scratch = new MsgHdr();
  private readonly opt = new SockOptVal();

  constructor(private readonly host: SyscallHost) {}

  get files(): FdTable {
    return this.host.files;
  }

  // ---- file lookup ----

  /** the file at fd, or null */
  file(fd: number): File | null {
    return this.host.files.get(fd);
  }

  /** the socket at fd, or -EBADF / -ENOTSOCK */
  sock(fd: number): SockFile | number {
    const f = this.host.files.get(fd);
    if (f === null) return -ERRNO.EBADF;
    if (!(f instanceof SockFile)) return -ERRNO.ENOTSOCK;
    return f;
  }

  /** installs a file; → fd or -EMFILE */
  install(f: File, cloexec = false): number {
    const fd = this.host.files.install(f, cloexec);
    return fd;
  }

  // ---- sockets ----

  /** socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol) → fd */
  socket(family: number, typeArg: number, protocol = 0): number {
    if (this.deadErrno !== 0) return -this.deadErrno;
    const type = typeArg & SOCK_TYPE_MASK;
    const flags = typeArg & ~SOCK_TYPE_MASK;
    if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) !== 0) return -ERRNO.EINVAL;
    if (family !== AF_INET && family !== AF_INET6) return -ERRNO.EAFNOSUPPORT;
    if (type < 0 || type >= SOCK_MAX || !Number.isInteger(protocol) || protocol < 0 || protocol > 255) return -ERRNO.EINVAL;
    if (this.host.files.size >= this.host.files.max) return -ERRNO.EMFILE;
    let f: SockFile;
    if (type === SOCK_STREAM) {
      if (protocol !== IPPROTO_IP && protocol !== IPPROTO_TCP) return -ERRNO.EPROTONOSUPPORT;
      f = new TcpSockFile(this.host.tcp, family);
    } else if (type === SOCK_DGRAM) {
      if (protocol !== IPPROTO_IP && protocol !== IPPROTO_UDP) return -ERRNO.EPROTONOSUPPORT;
      const udp = this.host.udp;
      if (udp === undefined || udp === null) return -ERRNO.EPROTONOSUPPORT;
      f = new UdpSockFile(udp, family);
    } else {
      return -ERRNO.ESOCKTNOSUPPORT;
    }
    if (flags & SOCK_NONBLOCK) f.flags |= O_NONBLOCK;
    return this.install(f, (flags & SOCK_CLOEXEC) !== 0);
  }

  bind(fd: number, addr: SockAddr | Uint8Array, addrlen?: number): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    const a = this.addrArg(addr, addrlen);
    if (a === null) return -ERRNO.EINVAL;
    return s.bind(a.sa, a.len);
  }

  listen(fd: number, backlog: number): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    return s.listen(Math.max(0, Math.min(backlog | 0, 4096)));
  }

  /** accept4(fd, addr, flags) → new fd; `out.addr` gets the peer */
  accept4(fd: number, out: AddrOut | null = null, flags = 0): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) !== 0) return -ERRNO.EINVAL;
    if (this.host.files.size >= this.host.files.max) return -ERRNO.EMFILE;
    const r = s.accept();
    if (typeof r === 'number') return r;
    if (flags & SOCK_NONBLOCK) r.flags |= O_NONBLOCK;
    const nfd = this.install(r, (flags & SOCK_CLOEXEC) !== 0);
    if (out !== null) {
      const p = r.getpeername();
      out.addr = typeof p === 'number' ? null : p;
    }
    return nfd;
  }

  connect(fd: number, addr: SockAddr | Uint8Array, addrlen?: number): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    const a = this.addrArg(addr, addrlen);
    if (a === null) return -ERRNO.EINVAL;
    return s.connect(a.sa, a.len);
  }

  getsockname(fd: number, out: AddrOut): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    out.addr = s.getsockname();
    return 0;
  }

  getpeername(fd: number, out: AddrOut): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    const p = s.getpeername();
    if (typeof p === 'number') return p;
    out.addr = p;
    return 0;
  }

  shutdown(fd: number, how: number): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    return s.shutdown(how);
  }

  /**
   * sendmsg: sends `msg.iov[iovOff, iovOff + iovLen)` to `msg.name` (or the peer). → bytes sent
   * or -errno. The MsgHdr is reset first (a fresh call).
   */
  sendmsg(fd: number, msg: MsgHdr, flags = 0): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    msg.begin();
    if (msg.name !== null && msg.nameLen === 0) msg.nameLen = sockaddrLen(msg.name);
    const r = s.sendmsg(msg, flags, true);
    if (r === -ERRNO.EPIPE && (flags & MSG_NOSIGNAL) === 0) this.sigpipes++;
    return r;
  }

  /** send / sendto on a buffer; `to` as an object or raw sockaddr bytes (`tolen` of them) */
  sendto(fd: number, buf: Uint8Array, flags = 0, to: SockAddr | Uint8Array | null = null, tolen?: number): number {
    if (to === null) return this.sendmsg(fd, this.scratch.setSend(buf, 0, buf.length, null), flags);
    const a = this.addrArg(to, tolen);
    if (a === null) return -ERRNO.EINVAL;
    const m = this.scratch.setSend(buf, 0, buf.length, a.sa);
    m.nameLen = a.len;
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    const r = s.sendmsg(m, flags, true);
    if (r === -ERRNO.EPIPE && (flags & MSG_NOSIGNAL) === 0) this.sigpipes++;
    return r;
  }

  send(fd: number, buf: Uint8Array, flags = 0): number {
    return this.sendto(fd, buf, flags, null);
  }

  /**
   * recvmsg into `msg.iov` (and `msg.control`): → bytes covered (0 at end of stream) or -errno;
   * `msg.iovUsed`, `msg.controlLen`, `msg.msgFlags` and (with `wantName`) `msg.name` describe
   * the result. The MsgHdr is reset first (a fresh call).
   */
  recvmsg(fd: number, msg: MsgHdr, flags = 0): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    msg.begin();
    return s.recvmsg(msg, flags, true);
  }

  /** recv / recvfrom into a buffer; `from.addr` gets the source (datagrams) */
  recvfrom(fd: number, buf: Uint8Array, flags = 0, from: AddrOut | null = null): number {
    const m = this.scratch.setRecv(buf, null);
    m.wantName = from !== null;
    const r = this.recvmsg(fd, m, flags);
    if (from !== null) from.addr = r >= 0 ? m.name : null;
    m.wantName = false;
    return r;
  }

  recv(fd: number, buf: Uint8Array, flags = 0): number {
    return this.recvfrom(fd, buf, flags, null);
  }

  /**
   * setsockopt: integer options take a number (or boolean), structured ones the raw optval
   * bytes (an integer option given bytes reads a host-order int; fewer than 4 bytes: EINVAL).
   * → the call's return value (SO_DEVMEM_DONTNEED: the frags freed) or -errno.
   */
  setsockopt(fd: number, level: number, name: number, value: number | boolean | Uint8Array): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    let v = 0;
    let raw: Uint8Array | null = null;
    if (value instanceof Uint8Array) {
      raw = value;
      if (level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED) return s.setsockopt(level, name, 0, raw);
      if (raw.length >= 4) v = new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0, true);
      else if (!(level === SOL_SOCKET && name === SO_DEVMEM_DONTNEED)) return -ERRNO.EINVAL;
    } else {
      v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      if (!Number.isInteger(v)) return -ERRNO.EINVAL;
    }
    return s.setsockopt(level, name, v, raw);
  }

  /** getsockopt: → 0 or -errno; the value lands in `out` */
  getsockopt(fd: number, level: number, name: number, out: SockOptVal): number {
    const s = this.sock(fd);
    if (typeof s === 'number') return s;
    return s.getsockopt(level, name, out);
  }

  /** getsockopt of an integer option: → the value (≥ 0 for every option but SO_PEEK_OFF) or -errno */
  getsockoptInt(fd: number, level: number, name: number): number {
    const r = this.getsockopt(fd, level, name, this.opt);
    return r < 0 ? r : this.opt.value;
  }

  /**
   * ioctl: FIONREAD / SIOCINQ, SIOCOUTQ, SIOCOUTQNSD → the count; FIONBIO (arg: on/off) → 0;
   * others → -ENOTTY.
   */
  ioctl(fd: number, cmd: number, arg = 0): number {
    const f = this.file(fd);
    if (f === null) return -ERRNO.EBADF;
    if (cmd === FIONBIO) {
      if (arg !== 0) f.flags |= O_NONBLOCK;
      else f.flags &= ~O_NONBLOCK;
      return 0;
    }
    if (!(f instanceof SockFile)) return -ERRNO.ENOTTY;
    const r = f.ioctl(cmd, this.opt);
    return r < 0 ? r : this.opt.value;
  }

  /** fcntl F_GETFL / F_SETFL (O_NONBLOCK) / F_GETFD / F_SETFD (FD_CLOEXEC) */
  fcntl(fd: number, cmd: number, arg = 0): number {
    const f = this.file(fd);
    if (f === null) return -ERRNO.EBADF;
    switch (cmd) {
      case F_GETFL:
        return f.flags;
      case F_SETFL:
        f.flags = (f.flags & ~O_NONBLOCK) | (arg & O_NONBLOCK);
        return 0;
      case F_GETFD:
        return this.host.files.getCloexec(fd) ? FD_CLOEXEC : 0;
      case F_SETFD:
        this.host.files.setCloexec(fd, (arg & FD_CLOEXEC) !== 0);
        return 0;
    }
    return -ERRNO.EINVAL;
  }

  close(fd: number): number {
    return this.host.files.close(fd);
  }

  // ---- readiness ----

  /** poll(fds, 0): fills `revents`; → the number of fds with events */
  poll(fds: PollFd[]): number {
    let n = 0;
    for (const p of fds) {
      p.revents = 0;
      if (p.fd < 0) continue;
      const f = this.file(p.fd);
      if (f === null) p.revents = POLLNVAL;
      else p.revents = (f.wq === null ? DEFAULT_POLLMASK : f.poll()) & (p.events | POLLERR | POLLHUP);
      if (p.revents !== 0) n++;
    }
    return n;
  }

  epollCreate1(flags = 0): number {
    if ((flags & ~EPOLL_CLOEXEC) !== 0) return -ERRNO.EINVAL;
    if (this.host.files.size >= this.host.files.max) return -ERRNO.EMFILE;
    return this.install(new EpollFile(), (flags & EPOLL_CLOEXEC) !== 0);
  }

  epollCtl(epfd: number, op: number, fd: number, events = 0, data?: unknown): number {
    const ep = this.file(epfd);
    const f = this.file(fd);
    if (ep === null || f === null) return -ERRNO.EBADF;
    if (!(ep instanceof EpollFile) || epfd === fd) return -ERRNO.EINVAL;
    return data === undefined ? ep.ctl(op, fd, f, events) : ep.ctl(op, fd, f, events, data);
  }

  /** epoll_wait(epfd, out, max, 0) → the number of events */
  epollWait(epfd: number, out: EpollEvent[], max: number): number {
    const ep = this.file(epfd);
    if (ep === null) return -ERRNO.EBADF;
    if (!(ep instanceof EpollFile)) return -ERRNO.EINVAL;
    if (max <= 0) return -ERRNO.EINVAL;
    return ep.wait(out, max);
  }

  /**
   * The host or the network goes away: every socket fails with `errno` (its pending promise
   * calls settle with it, later calls fail at once), then every fd is closed (sockets release
   * their devmem tokens, netlink sockets unbind). Idempotent.
   */
  shutdownAll(errno: number): void {
    if (this.deadErrno !== 0) return;
    this.deadErrno = errno;
    const files = this.host.files;
    for (const [, f] of files.entries()) if (f instanceof SockFile) f.abort(errno);
    files.closeAll();
  }

  // ---- waiting forms (the only calls that sleep) ----

  /**
   * poll(fds, timeout): resolves with the number of ready fds as soon as one is ready, or 0
   * after `timeoutUs` (virtual or real µs; negative waits forever). Never rejects.
   */
  async pollWait(fds: PollFd[], timeoutUs: number): Promise<number> {
    const deadline = this.deadline(timeoutUs);
    for (;;) {
      const n = this.poll(fds);
      if (n > 0 || timeoutUs === 0 || this.deadErrno !== 0) return n;
      const left = this.left(timeoutUs, deadline);
      if (left === 0) return 0;
      const files: File[] = [];
      for (const p of fds) {
        const f = p.fd >= 0 ? this.file(p.fd) : null;
        if (f !== null && f.wq !== null) files.push(f);
      }
      if (await this.sleepOn(files, left)) return this.poll(fds);
    }
  }

  /** epoll_wait(epfd, out, max, timeout): as `epollWait`, waiting up to `timeoutUs` for an event */
  async epollWaitFor(epfd: number, out: EpollEvent[], max: number, timeoutUs: number): Promise<number> {
    const deadline = this.deadline(timeoutUs);
    for (;;) {
      const n = this.epollWait(epfd, out, max);
      if (n !== 0 || timeoutUs === 0 || this.deadErrno !== 0) return n;
      const left = this.left(timeoutUs, deadline);
      if (left === 0) return 0;
      if (await this.sleepOn([this.file(epfd)!], left)) return this.epollWait(epfd, out, max);
    }
  }

  private deadline(timeoutUs: number): number {
    const sched = this.host.sched;
    return timeoutUs >= 0 && sched !== undefined ? sched.now() + timeoutUs : -1;
  }

  /** µs left before `deadline` (-1: forever, 0: over) */
  private left(timeoutUs: number, deadline: number): number {
    if (timeoutUs < 0) return -1;
    const sched = this.host.sched;
    return sched === undefined ? 0 : Math.max(0, deadline - sched.now());
  }

  /** waits for a wake of any of `files` (→ false) or the timeout (→ true) */
  private sleepOn(files: File[], timeoutUs: number): Promise<boolean> {
    const sched = this.host.sched;
    return new Promise<boolean>((resolve) => {
      const entries: OnceEntry[] = [];
      let timer: Timer | null = null;
      const finish = (timedOut: boolean): void => {
        for (const e of entries) if (e.wqHead !== null) e.wqHead.remove(e);
        if (timer !== null && sched !== undefined) sched.cancel(timer);
        if (sched !== undefined) sched.noteWakeup();
        resolve(timedOut);
      };
      for (const f of files) {
        const e = new OnceEntry(() => finish(false));
        entries.push(e);
        f.wq!.add(e);
      }
      if (timeoutUs >= 0 && sched !== undefined) {
        timer = new Timer({ onTimer: () => finish(true) }, 0);
        sched.arm(timer, sched.now() + timeoutUs);
      } else if (timeoutUs >= 0) {
        queueMicrotask(() => finish(true));
      }
    });
  }

  // ---- helpers ----

  private addrArg(addr: SockAddr | Uint8Array, addrlen?: number): { sa: SockAddr; len: number } | null {
    if (addr instanceof Uint8Array) {
      const len = Math.min(addrlen ?? addr.length, addr.length);
      if (len < 2) return null;
      const sa = decodeSockaddr(addr, 0, len);
      if (sa === null) {
        // too short for its family: the family field alone decides the errno path (EINVAL)
        const family = addr[0]! | (addr[1]! << 8);
        return { sa: { family, addr: InetAddr.ANY4, port: 0 }, len };
      }
      return { sa, len };
    }
    return { sa: addr, len: addrlen ?? sockaddrLen(addr) };
  }
}
