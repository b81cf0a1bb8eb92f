/**
 * `UdpProto`: a host's UDP over IPv4 and IPv6 (RFC 768; Linux udp.c / udp_ipv6.c behaviour). It
 * registers IPPROTO_UDP with the IP layer, checks and demultiplexes received datagrams to sockets
 * (lookup.ts), answers datagrams nobody wants with ICMP port unreachable, turns ICMP errors about
 * our datagrams into the pending error of connected sockets, and builds outgoing datagrams. The
 * socket layer above calls the `user*` entry points; results are 0 / byte counts or negative
 * errno values, never exceptions.
 *
 * Receive (`rcv`): length checked (short → InErrors), trimmed to the UDP length, checksum
 * verified unless the NIC vouched for it (CHECKSUM_UNNECESSARY / CHECKSUM_PARTIAL; an IPv4 zero
 * checksum means none, an IPv6 zero checksum is an error → InCsumErrors + InErrors), then queued
 * on the socket while its receive memory is not over SO_RCVBUF (else RcvbufErrors + InErrors).
 * Broadcast / multicast datagrams go to every matching socket (none: IgnoredMulti, no ICMP).
 * InDatagrams counts datagrams handed to the user, at recvmsg, as Linux does.
 *
 * Ownership: `rcv` takes the skb: it is queued on one socket or freed before `rcv` returns.
 * Hot paths allocate nothing: scratch addresses and output options are fields.
 */
import {
  InetAddr, MutAddr, PortTable, isMulticast, isUnspecified, isV4, pseudoHeaderSum, type Addr,
} from '../inet/index.js';
import type { IcmpErr, IpLayer, OutputOptions, RxMeta, Transport } from '../net/index.js';
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, pskbMayPull, skbChecksum, skbCopyBits, skbFree, skbPull, skbTrim,
  type SkBuff, type SkbCache,
} from '../skb/index.js';
import { ERRNO } from '../uapi/index.js';
import {
  EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLRDNORM, EPOLLWRBAND, EPOLLWRNORM, MSG_ERRQUEUE, MSG_OOB,
  MSG_PEEK, MSG_TRUNC, SHUT_RD, SHUT_RDWR, SHUT_WR,
} from '../uapi/constants.js';
import { csumFold } from '../wire/checksum.js';
import {
  ICMPV6_PKT_TOOBIG, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, IPPROTO_UDP, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SKB_TRUESIZE_OVERHEAD,
  SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF, SYSCTL_RMEM_MAX, SYSCTL_WMEM_MAX, UDP_HLEN, UDP_MAX_LEN, UDP_MAX_PAYLOAD_V4,
  UDP_MAX_PAYLOAD_V6,
} from './constants.js';
import { udpAllocPayload, udpCopyPayload, udpPushHeader } from './datagram.js';
import { udpLookup, udpScore } from './lookup.js';
import { UdpSock, type UdpRecvInfo } from './sock.js';

/** Linux `Udp` / `Udp6` SNMP counters (camelCase), both families together */
export interface UdpMib {
  inDatagrams: number;
  noPorts: number;
  inErrors: number;
  outDatagrams: number;
  rcvbufErrors: number;
  sndbufErrors: number;
  inCsumErrors: number;
  ignoredMulti: number;
}

export function newUdpMib(): UdpMib {
  return {
    inDatagrams: 0, noPorts: 0, inErrors: 0, outDatagrams: 0, rcvbufErrors: 0, sndbufErrors: 0, inCsumErrors: 0,
    ignoredMulti: 0,
  };
}

const LIMITED_BROADCAST = 0xffffffff;
/** `xmit`: no memory for the datagram (distinct from the IP layer's -ENOBUFS, a local drop) */
const XMIT_NOMEM = -0x10000;

/** the IPv4 limited broadcast 255.255.255.255 */
function isLimitedBroadcast(a: Addr): boolean {
  return isV4(a) && a.w3 === LIMITED_BROADCAST;
}

export class UdpProto implements Transport {
  readonly mib: UdpMib = newUdpMib();
  /** local ports of UDP sockets (separate from TCP's) */
  readonly ports: PortTable;
  /** scratch: a datagram's addresses while it is processed */
  private readonly saddr = new MutAddr();
  private readonly daddr = new MutAddr();
  private readonly outOpts: OutputOptions = { tos: 0, ttl: 64, df: true };

  constructor(
    readonly ip: IpLayer,
    readonly skbs: SkbCache,
    /** keys the ephemeral-port choice and the SO_REUSEPORT flow hash */
    readonly secret: number,
  ) {
    this.ports = new PortTable(secret);
    ip.register(IPPROTO_UDP, this);
  }

  // =====================================================================================
  // input
  // =====================================================================================

  rcv(skb: SkBuff, meta: RxMeta): void {
    const mib = this.mib;
    if (!pskbMayPull(skb, UDP_HLEN)) {
      mib.inErrors++;
      skbFree(skb);
      return;
    }
    const dv = skb.dv;
    const o = skb.data;
    const sport = dv.getUint16(o);
    const dport = dv.getUint16(o + 2);
    let ulen = dv.getUint16(o + 4);
    const check = dv.getUint16(o + 6);
    const family = meta.family;
    if (family === 6 && ulen === 0) ulen = skb.len; // jumbo payload form (RFC 2675)
    if (ulen > skb.len || ulen < UDP_HLEN) {
      mib.inErrors++;
      skbFree(skb);
      return;
    }
    if (ulen < skb.len) skbTrim(skb, ulen);
    skb.transportHeader = o;
    const saddr = this.saddr.set(meta.src);
    const daddr = this.daddr.set(meta.dst);
    if (check === 0) {
      if (family === 6) return this.csumError(skb); // RFC 8200 §8.1: mandatory over IPv6
    } else if (skb.ipSummed !== CHECKSUM_UNNECESSARY && skb.ipSummed !== CHECKSUM_PARTIAL) {
      if (skb.unreadable) return this.csumError(skb); // cannot be verified in software
      const sum = skbChecksum(skb, 0, ulen, pseudoHeaderSum(saddr, daddr, IPPROTO_UDP, ulen));
      if (csumFold(sum) !== 0xffff) return this.csumError(skb);
    }
    // broadcast / multicast by IP destination (Linux: the route's RTCF_BROADCAST|MULTICAST); a
    // unicast to us that came in a link-layer broadcast frame is still unicast
    if (isMulticast(daddr) || isLimitedBroadcast(daddr) || (meta.linkBcast && !this.ip.isLocalAddress(daddr))) {
      this.mcastDeliver(skb, family, saddr, sport, daddr, dport);
      return;
    }
    const us = udpLookup(this.ports, this.secret, family, saddr, sport, daddr, dport);
    if (us === null) {
      mib.noPorts++;
      this.ip.sendPortUnreach(skb, meta);
      skbFree(skb);
      return;
    }
    skbPull(skb, UDP_HLEN);
    this.queueRcv(us, skb, saddr, sport);
  }

  private csumError(skb: SkBuff): void {
    this.mib.inCsumErrors++;
    this.mib.inErrors++;
    skbFree(skb);
  }

  /** broadcast / multicast: a copy to every socket that matches (Linux __udp4_lib_mcast_deliver) */
  private mcastDeliver(skb: SkBuff, family: 4 | 6, saddr: Addr, sport: number, daddr: Addr, dport: number): void {
    const users = this.ports.users(dport);
    let first: UdpSock | null = null;
    skbPull(skb, UDP_HLEN);
    for (let i = 0; i < users.length; i++) {
      const us = users[i] as UdpSock;
      if (udpScore(us, family, saddr, sport, daddr) < 0) continue;
      if (first === null) {
        first = us;
        continue;
      }
      const copy = udpCopyPayload(this.skbs, skb, skb.len);
      if (copy === null) {
        us.stats.drops++;
        this.mib.rcvbufErrors++;
        this.mib.inErrors++;
        continue;
      }
      this.queueRcv(us, copy, saddr, sport);
    }
    if (first === null) {
      this.mib.ignoredMulti++;
      skbFree(skb);
      return;
    }
    this.queueRcv(first, skb, saddr, sport);
  }

  /** Linux __udp_enqueue_schedule_skb: charge the receive buffer or drop; takes the skb */
  private queueRcv(us: UdpSock, skb: SkBuff, saddr: Addr, sport: number): void {
    if (us.rmemAlloc > us.rcvbuf) {
      us.stats.drops++;
      this.mib.rcvbufErrors++;
      this.mib.inErrors++;
      skbFree(skb);
      return;
    }
    const truesize = skb.len + SKB_TRUESIZE_OVERHEAD;
    us.rmemAlloc += truesize;
    us.rxq.push(skb, saddr, sport, truesize);
    if (us.sockOwner !== null) us.sockOwner.udpReadable(us);
  }

  /**
   * An ICMP / ICMPv6 error about a datagram we sent (Linux __udp4_lib_err / __udp6_lib_err):
   * the socket is found by the quoted header (our address and port are its source), and a hard
   * error becomes the pending error of a connected socket; unconnected sockets ignore errors
   * (IP_RECVERR is off). A path-MTU error is hard (PMTU discovery is on).
   */
  /** Linux __udp4_lib_err / __udp6_lib_err; false when no socket takes the report (so a forged
   * "fragmentation needed" for a flow nobody has does not lower the path MTU) */
  err(e: IcmpErr): boolean {
    if (e.l4Len < 4) return false;
    const sport = e.dv.getUint16(e.l4Off);
    const dport = e.dv.getUint16(e.l4Off + 2);
    const us = udpLookup(this.ports, this.secret, e.family, e.dst, dport, e.src, sport);
    if (us === null) return false;
    const pmtu = (e.family === 4 && e.type === ICMP_DEST_UNREACH && e.code === ICMP_FRAG_NEEDED) ||
      (e.family === 6 && e.type === ICMPV6_PKT_TOOBIG);
    if (pmtu) us.dstMtu = 0; // the IP layer learned the new path MTU: look it up again
    const hard = e.fatal || pmtu;
    if (!hard || !us.connected || e.errno === 0) return true;
    us.err = e.errno;
    if (us.sockOwner !== null) us.sockOwner.udpError(us);
    return true;
  }

  // =====================================================================================
  // user entry points
  // =====================================================================================

  socket(family: 4 | 6): UdpSock {
    return new UdpSock(family);
  }

  /** the family's wildcard as `us` binds it when no address is given */
  private wildcard(us: UdpSock): InetAddr {
    return us.sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
  }

  /** bind(2): 0 or -errno (Linux inet_bind / inet6_bind + udp_v4_get_port) */
  userBind(us: UdpSock, addr: Addr, port: number): number {
    if (us.closed) return -ERRNO.EBADF;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -ERRNO.EINVAL;
    if (us.lport !== 0) return -ERRNO.EINVAL;
    const v4 = isV4(addr);
    if (us.sockFamily === 4 && !v4) return -ERRNO.EAFNOSUPPORT;
    if (us.sockFamily === 6 && v4 && us.v6only) return -ERRNO.EINVAL;
    const any = isUnspecified(addr);
    if (!any && !isMulticast(addr) && !isLimitedBroadcast(addr) && !this.ip.isLocalAddress(addr)) {
      return -ERRNO.EADDRNOTAVAIL;
    }
    // Linux: an AF_INET6 socket bound to a specific IPv6 address becomes v6only
    const savedV6only = us.v6only;
    if (us.sockFamily === 6 && !v4 && !any) us.v6only = true;
    const r = this.ports.bind(us, InetAddr.from(addr), port);
    if (r < 0) {
      us.v6only = savedV6only;
      return r;
    }
    // ::ffff:0.0.0.0 is an explicit (IPv4-only) binding too
    us.bindAddrLock = !any || (us.sockFamily === 6 && v4);
    us.bindPortLock = port !== 0;
    return 0;
  }

  /** inet_autobind: an ephemeral port on the family's wildcard; 0 or -EAGAIN */
  private autobind(us: UdpSock): number {
    if (us.lport !== 0) return 0;
    return this.ports.bind(us, us.laddr, 0) < 0 ? -ERRNO.EAGAIN : 0;
  }

  /**
   * connect(2): `addr` null is AF_UNSPEC (disconnect). Linux __ip4_datagram_connect /
   * __ip6_datagram_connect: autobinds, routes, takes the route's source as the bound address when
   * none was bound, and records the peer. 0 or -errno.
   */
  userConnect(us: UdpSock, addr: Addr | null, port: number): number {
    if (us.closed) return -ERRNO.EBADF;
    if (addr === null) return this.disconnect(us);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -ERRNO.EINVAL;
    const v4 = isV4(addr);
    if (us.sockFamily === 4 && !v4) return -ERRNO.EAFNOSUPPORT;
    if (us.sockFamily === 6) {
      if (v4 && us.v6only) return -ERRNO.ENETUNREACH;
      if (!v4 && isV4(us.laddr) && us.bindAddrLock) return -ERRNO.ENETUNREACH;
    }
    if (this.autobind(us) < 0) return -ERRNO.EAGAIN;
    // connecting to the wildcard means the loopback address (Linux)
    let dst: Addr = addr;
    if (isUnspecified(addr)) dst = v4 || isV4(us.laddr) ? InetAddr.LOOPBACK4 : InetAddr.LOOPBACK6;
    const rt = this.ip.route(dst);
    if (rt === null) return -ERRNO.ENETUNREACH;
    if (isLimitedBroadcast(dst) && !us.broadcast) return -ERRNO.EACCES;
    if (isUnspecified(us.laddr)) us.laddr = rt.src; // Linux rehashes the socket under its new address
    us.dstMtu = rt.mtu;
    us.raddr = InetAddr.from(dst);
    us.rport = port;
    us.connected = true;
    return 0;
  }

  /** Linux __udp_disconnect: forget the peer; unbind what was bound implicitly */
  private disconnect(us: UdpSock): number {
    us.connected = false;
    us.dstMtu = 0;
    us.raddr = this.wildcard(us);
    us.rport = 0;
    if (!us.bindAddrLock) us.laddr = this.wildcard(us);
    if (!us.bindPortLock && us.lport !== 0) this.ports.unbind(us);
    return 0;
  }

  /**
   * sendmsg(2) of one datagram: `len` bytes of `data[off..]` to `dst`:`dport`, or to the
   * connected peer when `dst` is null. Returns `len` or -errno (checks in Linux's order).
   */
  userSendmsg(us: UdpSock, data: Uint8Array, off: number, len: number, dst: Addr | null, dport: number, flags: number): number {
    if (us.closed) return -ERRNO.EBADF;
    if (len > UDP_MAX_LEN) return -ERRNO.EMSGSIZE;
    if (flags & MSG_OOB) return -ERRNO.EOPNOTSUPP;
    if (off < 0 || len < 0 || off + len > data.length) return -ERRNO.EFAULT;
    if (this.autobind(us) < 0) return -ERRNO.EAGAIN;
    let to: Addr;
    if (dst !== null) {
      const v4 = isV4(dst);
      if (us.sockFamily === 4 && !v4) return -ERRNO.EAFNOSUPPORT;
      if (us.sockFamily === 6) {
        if (v4 && us.v6only) return -ERRNO.ENETUNREACH;
        if (!v4 && isV4(us.laddr) && !isUnspecified(us.laddr)) return -ERRNO.ENETUNREACH;
      }
      if (!Number.isInteger(dport) || dport <= 0 || dport > 65535) return -ERRNO.EINVAL;
      to = isUnspecified(dst) ? (v4 ? InetAddr.LOOPBACK4 : InetAddr.LOOPBACK6) : dst;
    } else {
      if (!us.connected) return -ERRNO.EDESTADDRREQ;
      to = us.raddr;
      dport = us.rport;
    }
    const v4 = isV4(to);
    if (!v4 && isV4(us.laddr) && !isUnspecified(us.laddr)) return -ERRNO.ENETUNREACH;
    // a connected socket sends from its bound address with its cached path MTU (Linux keeps the
    // route in sk_dst_cache); anything else looks the route up per datagram
    const cached = dst === null && !isUnspecified(us.laddr);
    let src: Addr = us.laddr;
    let mtu = cached ? us.dstMtu : 0;
    if (mtu === 0) {
      const rt = this.ip.route(to);
      if (rt === null) return -ERRNO.ENETUNREACH;
      if (isUnspecified(us.laddr) || isV4(us.laddr) !== v4) src = rt.src;
      mtu = rt.mtu;
      if (cached) us.dstMtu = mtu;
    }
    if (isLimitedBroadcast(to) && !us.broadcast) return -ERRNO.EACCES;
    if (len > (v4 ? UDP_MAX_PAYLOAD_V4 : UDP_MAX_PAYLOAD_V6)) return -ERRNO.EMSGSIZE;
    // sock_alloc_send_skb: the pending error, then the shutdown state
    if (us.err !== 0) return -this.takeError(us);
    if (us.shutdownMask & SEND_SHUTDOWN) return -ERRNO.EPIPE;
    let r = this.xmit(us, data, off, len, src, to, dport, mtu);
    if (r === -ERRNO.EMSGSIZE && cached) {
      // the path MTU shrank since it was cached: look it up again and resend once
      const rt = this.ip.route(to);
      if (rt === null) return -ERRNO.ENETUNREACH;
      us.dstMtu = rt.mtu;
      r = this.xmit(us, data, off, len, src, to, dport, rt.mtu);
    }
    if (r === XMIT_NOMEM) {
      this.mib.sndbufErrors++; // sock_alloc_send_skb failed: the caller may wait for memory
      return -ERRNO.ENOBUFS;
    }
    if (r === -ERRNO.ENOBUFS) {
      this.mib.sndbufErrors++; // Linux udp_send_skb: dropped locally, not an error to the caller
      return len;
    }
    if (r < 0) {
      us.dstMtu = 0;
      return r;
    }
    this.mib.outDatagrams++;
    us.stats.datagramsOut++;
    return len;
  }

  /** builds one datagram and hands it to IP: the output's result, or XMIT_NOMEM */
  private xmit(us: UdpSock, data: Uint8Array, off: number, len: number, src: Addr, to: Addr, dport: number, mtu: number): number {
    const skb = udpAllocPayload(this.skbs, data, off, len);
    if (skb === null) return XMIT_NOMEM;
    const ulen = udpPushHeader(skb, src, us.lport, to, dport);
    const o = this.outOpts;
    o.tos = us.tos;
    o.ttl = us.ttl >= 0 ? us.ttl : 64;
    // IP_PMTUDISC_WANT: DF on what fits the path MTU; larger datagrams are fragmented
    o.df = ulen + (isV4(to) ? 20 : 40) <= mtu;
    return this.ip.output(skb, src, to, IPPROTO_UDP, o);
  }

  /**
   * recvmsg(2) of one datagram into `buf[off..off+len)`: bytes copied, or with MSG_TRUNC the
   * datagram's length; `info` (when given) gets the source, the length and msg_flags. The
   * pending error is reported first; an empty queue gives -EAGAIN, or 0 after SHUT_RD.
   */
  userRecvmsg(us: UdpSock, buf: Uint8Array, off: number, len: number, flags: number, info: UdpRecvInfo | null): number {
    if (info !== null) info.datagram = false;
    if (us.closed) return -ERRNO.EBADF;
    if (flags & MSG_ERRQUEUE) return -ERRNO.EAGAIN; // no IP_RECVERR: the error queue stays empty
    if (us.err !== 0) return -this.takeError(us);
    const skb = us.rxq.peek();
    if (skb === null) return us.shutdownMask & RCV_SHUTDOWN ? 0 : -ERRNO.EAGAIN;
    if (off < 0 || len < 0 || off + len > buf.length) return -ERRNO.EFAULT;
    const ulen = skb.len;
    const copied = len < ulen ? len : ulen;
    const peek = (flags & MSG_PEEK) !== 0;
    if (info !== null) {
      info.port = us.rxq.peekSource(info.addr);
      info.len = ulen;
      info.flags = copied < ulen ? MSG_TRUNC : 0;
      info.datagram = true;
    }
    const r = copied > 0 ? skbCopyBits(skb, 0, buf, off, copied) : 0;
    if (!peek) {
      us.rmemAlloc -= us.rxq.peekTruesize();
      us.rxq.shift();
      skbFree(skb);
    }
    if (r < 0) {
      if (!peek) {
        us.stats.drops++;
        this.mib.inErrors++;
      }
      return r;
    }
    if (!peek) {
      this.mib.inDatagrams++;
      us.stats.datagramsIn++;
    }
    return flags & MSG_TRUNC ? ulen : copied;
  }

  /** SO_ERROR (Linux sock_error): the pending error as a positive errno, cleared; 0 when none */
  userSockError(us: UdpSock): number {
    return this.takeError(us);
  }

  private takeError(us: UdpSock): number {
    const e = us.err;
    us.err = 0;
    return e;
  }

  /** poll(2) mask (Linux udp_poll / datagram_poll) */
  userPoll(us: UdpSock): number {
    let mask = 0;
    if (us.err !== 0) mask |= EPOLLERR;
    if (us.shutdownMask & RCV_SHUTDOWN) mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
    if (us.shutdownMask === SHUTDOWN_MASK) mask |= EPOLLHUP;
    if (us.rxq.count > 0) mask |= EPOLLIN | EPOLLRDNORM;
    // no send-memory accounting: a UDP socket is always writable
    mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    return mask;
  }

  /** FIONREAD / SIOCINQ: the next datagram's payload length, 0 when none */
  userInq(us: UdpSock): number {
    const skb = us.rxq.peek();
    return skb === null ? 0 : skb.len;
  }

  /**
   * shutdown(2): `how` SHUT_RD / SHUT_WR / SHUT_RDWR. Linux applies the mask even to an
   * unconnected socket, then reports -ENOTCONN for it.
   */
  userShutdown(us: UdpSock, how: number): number {
    if (us.closed) return -ERRNO.EBADF;
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return -ERRNO.EINVAL;
    us.shutdownMask |= how + 1; // SHUT_RD 0 → RCV, SHUT_WR 1 → SEND, SHUT_RDWR 2 → both
    if (us.sockOwner !== null) us.sockOwner.udpReadable(us);
    return us.connected ? 0 : -ERRNO.ENOTCONN;
  }

  /** SO_RCVBUF (Linux: clamped to rmem_max, doubled, at least SOCK_MIN_RCVBUF) */
  setRcvbuf(us: UdpSock, val: number): void {
    const v = Math.max(0, Math.min(val | 0, SYSCTL_RMEM_MAX));
    us.rcvbuf = Math.max(v * 2, SOCK_MIN_RCVBUF);
  }

  /** SO_SNDBUF (Linux: clamped to wmem_max, doubled, at least SOCK_MIN_SNDBUF) */
  setSndbuf(us: UdpSock, val: number): void {
    const v = Math.max(0, Math.min(val | 0, SYSCTL_WMEM_MAX));
    us.sndbuf = Math.max(v * 2, SOCK_MIN_SNDBUF);
  }

  /** close(2): unbinds, frees every queued datagram, forgets the owner */
  userClose(us: UdpSock): void {
    if (us.closed) return;
    us.closed = true;
    if (us.lport !== 0) this.ports.unbind(us);
    us.rxq.purge();
    us.rmemAlloc = 0;
    us.connected = false;
    us.sockOwner = null;
  }
}
