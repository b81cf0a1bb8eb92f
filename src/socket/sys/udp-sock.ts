/**
 * `UdpSockFile`: the socket side of UDP (Linux `inet_dgram_ops` / `inet6_dgram_ops` over
 * `udp_prot`): sockaddr checks of bind / connect / sendto by family (an AF_INET6 socket also takes
 * a sockaddr_in for connect and sendto, as `__ip6_datagram_connect` and `udpv6_sendmsg` do),
 * recvmsg with the source address, `udp_poll`, SIOCINQ, socket options. listen / accept answer
 * EOPNOTSUPP (`sock_no_listen`), SO_DEVMEM_DONTNEED EBADF (the socket layer checks it). The
 * `UdpSock` belongs to UDP; this file holds it from socket() to close().
 */
import { InetAddr } from '../../inet/index.js';
import { UdpRecvInfo, type UdpProto, type UdpSock, type UdpSockOwner } from '../../udp/index.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, ERRNO, IPPROTO_UDP, IP_TOS, IP_TTL, IPV6_V6ONLY, MSG_DONTWAIT, SIOCINQ, SIOCOUTQ,
  SOCKADDR_IN_LEN, SOCK_DGRAM, SOL_IP, SOL_IPV6, SOL_SOCKET, SO_BROADCAST, SO_ERROR, SO_RCVBUF, SO_REUSEADDR,
  SO_REUSEPORT, SO_SNDBUF, MSG_ERRQUEUE, MSG_ZEROCOPY, POLLERR, SO_ZEROCOPY,
} from '../../uapi/index.js';
import { ubufMarkCopied } from '../../skb/index.js';
import { ErrQueue, recvErrqueue } from './errqueue.js';
import { ZcSock, msgZerocopyRealloc, netZcopyPut, netZcopyPutAbort } from './zerocopy.js';
import { UIO_MAXIOV, type MsgHdr } from './msghdr.js';
import { SockFile, WAKE_ALL, WAKE_IN, type SockOptVal } from './sock.js';
import type { SockAddr } from './sockaddr.js';

export class UdpSockFile extends SockFile implements UdpSockOwner {
  readonly us: UdpSock;
  private readonly info = new UdpRecvInfo();
  /** sk_error_queue (MSG_ZEROCOPY notifications) and the zero-copy state */
  readonly errq: ErrQueue = new ErrQueue(this);
  readonly zc: ZcSock = new ZcSock(this.errq, false);
  /** SOCK_ZEROCOPY */
  zerocopy = false;
  /** sk_tsflags (no UDP transmit timestamps yet: reported on error-queue reads only) */
  readonly tsflags = 0;

  constructor(readonly udp: UdpProto, family: number) {
    super(family, SOCK_DGRAM, IPPROTO_UDP);
    this.us = udp.socket(family === AF_INET6 ? 6 : 4);
    this.us.sockOwner = this;
  }

  udpReadable(): void {
    this.wq.wake(WAKE_IN);
  }

  udpError(): void {
    this.wq.wake(WAKE_ALL);
  }

  protected get bound(): boolean {
    return this.us.lport !== 0;
  }

  protected get listening(): boolean {
    return false;
  }

  private syncOpts(): void {
    const us = this.us;
    us.reuseAddr = this.reuseAddr;
    us.reusePort = this.reusePort;
    us.v6only = this.v6only;
  }

  bind(sa: SockAddr, len: number): number {
    const e = this.checkBindAddr(sa, len);
    if (e < 0) return e;
    this.syncOpts();
    return this.udp.userBind(this.us, sa.addr, sa.port);
  }

  listen(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  accept(): SockFile | number {
    return -ERRNO.EOPNOTSUPP;
  }

  /** the destination of a connect / sendto by family rules, or -errno */
  private dest(sa: SockAddr, len: number, forSend: boolean): number {
    if (this.family === AF_INET6 && sa.family === AF_INET) {
      // the IPv4 path of a dual-stack socket
      if (this.v6only) return forSend ? -ERRNO.ENETUNREACH : -ERRNO.EAFNOSUPPORT;
      return len < SOCKADDR_IN_LEN ? -ERRNO.EINVAL : 0;
    }
    if (this.family === AF_INET && sa.family === AF_UNSPEC && forSend) return len < SOCKADDR_IN_LEN ? -ERRNO.EINVAL : 0;
    return this.checkPeerAddr(sa, len);
  }

  connect(sa: SockAddr, len: number): number {
    if (len < 2) return -ERRNO.EINVAL;
    this.syncOpts();
    if (sa.family === AF_UNSPEC) return this.udp.userConnect(this.us, null, 0);
    const e = this.dest(sa, len, false);
    if (e < 0) return e;
    return this.udp.userConnect(this.us, sa.addr, sa.port);
  }

  getsockname(): SockAddr {
    return this.nameOf(this.us.laddr, this.us.lport);
  }

  getpeername(): SockAddr | number {
    if (!this.us.connected) return -ERRNO.ENOTCONN;
    return this.nameOf(this.us.raddr, this.us.rport);
  }

  shutdown(how: number): number {
    const r = this.udp.userShutdown(this.us, how);
    if (r !== -ERRNO.EINVAL) this.wq.wake(WAKE_ALL);
    return r;
  }

  /** one datagram; blocking callers get -ENOBUFS to wait for memory */
  sendmsg(msg: MsgHdr, flags: number, nonblock: boolean): number {
    nonblock = nonblock || (flags & MSG_DONTWAIT) !== 0;
    // (audit8) numeric iovecs have no user memory behind them here; an iovec list is one datagram
    if (msg.devIov !== null) return -ERRNO.EFAULT;
    if (msg.iovecs !== null) {
      if (msg.iovecs.length > UIO_MAXIOV) return -ERRNO.EMSGSIZE;
      msg.gatherIovecs();
    }
    msg.started = true;
    let dst: InetAddr | null = null;
    let port = 0;
    const to = msg.name;
    if (to !== null && !(this.family === AF_INET6 && to.family === AF_UNSPEC)) {
      const e = this.dest(to, msg.nameLen, true);
      if (e < 0) return e;
      dst = to.addr;
      port = to.port;
      if (port === 0) return -ERRNO.EINVAL;
    }
    this.syncOpts();
    // MSG_ZEROCOPY: UDP copies the datagram into its skb, so the notification (one id per
    // datagram) reports SO_EE_CODE_ZEROCOPY_COPIED, as Linux does on a device without SG/csum
    let uarg = null;
    if ((flags & MSG_ZEROCOPY) !== 0 && this.zerocopy && msg.iovLen > 0) {
      uarg = msgZerocopyRealloc(this.zc, msg.iovLen, null);
      if (uarg === null) return -ERRNO.ENOBUFS;
      ubufMarkCopied(uarg);
    }
    const r = this.udp.userSendmsg(this.us, msg.iov!, msg.iovOff, msg.iovLen, dst, port, flags & ~MSG_ZEROCOPY);
    if (uarg !== null) {
      if (r > 0) netZcopyPut(uarg);
      else netZcopyPutAbort(uarg, true);
    }
    if (r === -ERRNO.ENOBUFS && !nonblock) return r;
    if (r >= 0) msg.done = r;
    return r;
  }

  /** one datagram; -EAGAIN when none is queued (a blocking caller waits and calls again) */
  recvmsg(msg: MsgHdr, flags: number, _nonblock: boolean): number {
    msg.started = true;
    if (flags & MSG_ERRQUEUE) return recvErrqueue(this.errq, this, msg);
    const iov = msg.iov ?? EMPTY;
    const info = this.info;
    const r = this.udp.userRecvmsg(this.us, iov, 0, msg.iov === null ? 0 : msg.iovLen, flags, info);
    if (r === -ERRNO.EAGAIN) return r;
    if (r < 0) return r;
    msg.iovUsed = Math.min(info.len, msg.iovLen);
    msg.msgFlags = info.flags;
    msg.controlLen = 0;
    if (msg.wantName) msg.name = this.nameOf(InetAddr.from(info.addr), info.port);
    return r;
  }

  override poll(): number {
    // a non-empty error queue is POLLERR (udp_poll → datagram_poll)
    return this.udp.userPoll(this.us) | (this.errq.empty ? 0 : POLLERR);
  }

  ioctl(cmd: number, out: SockOptVal): number {
    switch (cmd) {
      case SIOCINQ:
        out.value = this.udp.userInq(this.us);
        return 0;
      case SIOCOUTQ:
        out.value = 0;
        return 0;
    }
    return -ERRNO.ENOTTY;
  }

  protected setProtoOpt(level: number, name: number, v: number): number {
    const us = this.us;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_REUSEADDR:
        case SO_REUSEPORT:
          this.syncOpts();
          return 0;
        case SO_RCVBUF:
          this.udp.setRcvbuf(us, v);
          return 0;
        case SO_SNDBUF:
          this.udp.setSndbuf(us, v);
          return 0;
        case SO_BROADCAST:
          us.broadcast = v !== 0;
          return 0;
        case SO_ZEROCOPY:
          if (v < 0 || v > 1) return -ERRNO.EINVAL;
          this.zerocopy = v !== 0;
          return 0;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IP) {
      switch (name) {
        case IP_TOS:
          us.tos = v & 0xff;
          return 0;
        case IP_TTL:
          if (v !== -1 && (v < 1 || v > 255)) return -ERRNO.EINVAL;
          us.ttl = v;
          return 0;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IPV6 && name === IPV6_V6ONLY) {
      us.v6only = v !== 0;
      return 0;
    }
    return -ERRNO.ENOPROTOOPT;
  }

  protected getProtoOpt(level: number, name: number, out: SockOptVal): number {
    const us = this.us;
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_ERROR:
          out.value = this.udp.userSockError(us);
          return 0;
        case SO_RCVBUF:
          out.value = us.rcvbuf;
          return 0;
        case SO_SNDBUF:
          out.value = us.sndbuf;
          return 0;
        case SO_BROADCAST:
          out.value = us.broadcast ? 1 : 0;
          return 0;
        case SO_ZEROCOPY:
          out.value = this.zerocopy ? 1 : 0;
          return 0;
      }
      return -ERRNO.ENOPROTOOPT;
    }
    if (level === SOL_IP) {
      switch (name) {
        case IP_TOS:
          out.value = us.tos;
          return 0;
        case IP_TTL:
          out.value = us.ttl < 0 ? 64 : us.ttl;
          return 0;
      }
    }
    return -ERRNO.ENOPROTOOPT;
  }

  protected closeProto(): void {
    this.zc.dead = true;
    this.errq.purge();
    this.udp.userClose(this.us);
  }

  protected abortProto(errno: number): void {
    this.us.err = errno;
  }
}

const EMPTY = new Uint8Array(0);
