/**
 * The errno of each syscall in each socket state, as Linux answers (af_inet.c inet_* ops,
 * tcp_sendmsg / tcp_recvmsg, udp_sendmsg, ipv6 dual-stack rules). Table-driven: a state builds
 * sockets; each row makes one call and names the result.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { MsgHdr, SockOptVal, encodeSockaddr, type AddrOut } from '../../src/socket/index.js';
import { eq, establish, makePair, run, tcpFd, udpFd, v4, v6, type Pair } from './helpers.js';

interface Ctx {
  p: Pair;
  fd: number;
  /** a second fd of the state, when it has one (the accepted side, a listener …) */
  fd2: number;
}

type Row = [name: string, call: (c: Ctx) => number, want: number | keyof typeof ERRNO];

const buf = (n: number): Uint8Array => new Uint8Array(n);
const A = (c: Ctx) => c.p.a.sys;

function table(state: string, setup: (p: Pair) => { fd: number; fd2?: number }, rows: Row[]): void {
  describe(state, () => {
    for (const [name, call, want] of rows) {
      it(name, () => {
        const p = makePair();
        const s = setup(p);
        eq(call({ p, fd: s.fd, fd2: s.fd2 ?? -1 }), want, `${state}: ${name}`);
        p.net.close();
      });
    }
  });
}

describe('socket(): argument errors', () => {
  it('families, types, protocols, flags', () => {
    const p = makePair();
    const s = p.a.sys;
    eq(s.socket(C.AF_NETLINK + 100, C.SOCK_STREAM, 0), 'EAFNOSUPPORT');
    eq(s.socket(C.AF_INET, C.SOCK_STREAM, C.IPPROTO_UDP), 'EPROTONOSUPPORT');
    eq(s.socket(C.AF_INET6, C.SOCK_DGRAM, C.IPPROTO_TCP), 'EPROTONOSUPPORT');
    eq(s.socket(C.AF_INET, 5 /* SOCK_SEQPACKET */, 0), 'ESOCKTNOSUPPORT');
    eq(s.socket(C.AF_INET, 12, 0), 'EINVAL');
    eq(s.socket(C.AF_INET, C.SOCK_STREAM | 0x40000, 0), 'EINVAL');
    eq(s.socket(C.AF_INET, C.SOCK_STREAM, 300), 'EINVAL');
    // lowest free fd: stdio holds 0–2
    eq(s.socket(C.AF_INET, C.SOCK_STREAM, 0), 3);
    eq(s.socket(C.AF_INET6, C.SOCK_DGRAM | C.SOCK_CLOEXEC, 0), 4);
    eq(s.fcntl(4, C.F_GETFD), C.FD_CLOEXEC);
    eq(s.fcntl(3, C.F_GETFD), 0);
    p.net.close();
  });
});

table('TCP, fresh (CLOSE, unbound)', (p) => ({ fd: tcpFd(p.a) }), [
  ['bind to a local address', (c) => A(c).bind(c.fd, v4('10.0.0.1', 4000)), 0],
  ['bind to a foreign address', (c) => A(c).bind(c.fd, v4('10.9.9.9', 4000)), 'EADDRNOTAVAIL'],
  ['bind with a sockaddr_in6 on AF_INET', (c) => A(c).bind(c.fd, v6('::1', 4000)), 'EAFNOSUPPORT'],
  ['bind with a short address', (c) => A(c).bind(c.fd, encBytes(v4('10.0.0.1', 1)), 8), 'EINVAL'],
  ['bind AF_UNSPEC + INADDR_ANY (compat)', (c) => A(c).bind(c.fd, { family: C.AF_UNSPEC, addr: v4('0.0.0.0', 0).addr, port: 4001 }, 16), 0],
  ['listen (autobind)', (c) => A(c).listen(c.fd, 5), 0],
  ['accept4 (not listening)', (c) => A(c).accept4(c.fd), 'EINVAL'],
  ['accept4 with bad flags', (c) => A(c).accept4(c.fd, null, 0x1), 'EINVAL'],
  ['connect, non-blocking', (c) => A(c).connect(c.fd, v4('10.0.0.2', 80)), 'EINPROGRESS'],
  ['connect with a short address', (c) => A(c).connect(c.fd, encBytes(v4('10.0.0.2', 80)), 1), 'EINVAL'],
  ['connect AF_INET6 sockaddr on AF_INET', (c) => A(c).connect(c.fd, v6('fd00::2', 80)), 'EAFNOSUPPORT'],
  ['connect port 0', (c) => A(c).connect(c.fd, v4('10.0.0.2', 0)), 'EINVAL'],
  ['connect, no route', (c) => A(c).connect(c.fd, v4('192.168.7.7', 80)), 'ENETUNREACH'],
  ['send (never connected: EPIPE, as Linux)', (c) => A(c).send(c.fd, buf(10)), 'EPIPE'],
  ['recv (never connected)', (c) => A(c).recv(c.fd, buf(10)), 'ENOTCONN'],
  ['shutdown(SHUT_WR)', (c) => A(c).shutdown(c.fd, C.SHUT_WR), 'ENOTCONN'],
  ['shutdown(how = 3)', (c) => A(c).shutdown(c.fd, 3), 'EINVAL'],
  ['getpeername', (c) => A(c).getpeername(c.fd, { addr: null }), 'ENOTCONN'],
  ['getsockname', (c) => A(c).getsockname(c.fd, { addr: null }), 0],
  ['ioctl SIOCINQ', (c) => A(c).ioctl(c.fd, C.SIOCINQ), 0],
  ['ioctl SIOCOUTQ', (c) => A(c).ioctl(c.fd, C.SIOCOUTQ), 0],
  ['ioctl unknown', (c) => A(c).ioctl(c.fd, 0x1234), 'ENOTTY'],
  ['getsockopt SO_TYPE', (c) => A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_TYPE), C.SOCK_STREAM],
  ['getsockopt SO_DOMAIN', (c) => A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_DOMAIN), C.AF_INET],
  ['getsockopt SO_PROTOCOL', (c) => A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_PROTOCOL), C.IPPROTO_TCP],
  ['getsockopt SO_ERROR', (c) => A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_ERROR), 0],
  ['getsockopt unknown', (c) => A(c).getsockoptInt(c.fd, C.SOL_SOCKET, 999), 'ENOPROTOOPT'],
  ['setsockopt SO_TYPE (read-only)', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_TYPE, 1), 'ENOPROTOOPT'],
  ['setsockopt int with 2 bytes', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, buf(2)), 'EINVAL'],
  ['setsockopt SOL_IPV6 on AF_INET', (c) => A(c).setsockopt(c.fd, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 'ENOPROTOOPT'],
  ['SO_DEVMEM_DONTNEED optlen < 4', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, buf(2)), 'EINVAL'],
  ['SO_DEVMEM_DONTNEED optlen % 8', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, buf(12)), 'EINVAL'],
  ['SO_DEVMEM_DONTNEED unknown token', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, new Uint8Array([5, 0, 0, 0, 1, 0, 0, 0])), 0],
  ['fcntl F_GETFL', (c) => A(c).fcntl(c.fd, C.F_GETFL), C.O_RDWR | C.O_NONBLOCK],
  ['fcntl unknown cmd', (c) => A(c).fcntl(c.fd, 99), 'EINVAL'],
  ['close', (c) => A(c).close(c.fd), 0],
]);

table('TCP, bound', (p) => {
  const fd = tcpFd(p.a);
  eq(p.a.sys.bind(fd, v4('10.0.0.1', 4000)), 0);
  return { fd };
}, [
  ['bind again', (c) => A(c).bind(c.fd, v4('10.0.0.1', 4001)), 'EINVAL'],
  ['another socket on the same port', (c) => A(c).bind(tcpFd(c.p.a), v4('10.0.0.1', 4000)), 'EADDRINUSE'],
  ['another socket on the wildcard, same port', (c) => A(c).bind(tcpFd(c.p.a), v4('0.0.0.0', 4000)), 'EADDRINUSE'],
  ['an AF_INET6 :: socket on the same port', (c) => A(c).bind(tcpFd(c.p.a, C.AF_INET6), v6('::', 4000)), 'EADDRINUSE'],
  ['a v6-only :: socket on the same port', (c) => {
    const fd = tcpFd(c.p.a, C.AF_INET6);
    eq(A(c).setsockopt(fd, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).bind(fd, v6('::', 4000));
  }, 0],
  ['listen', (c) => A(c).listen(c.fd, 1), 0],
]);

table('TCP, listening', (p) => {
  const fd = tcpFd(p.b);
  eq(p.b.sys.bind(fd, v4('0.0.0.0', 5000)), 0);
  eq(p.b.sys.listen(fd, 4), 0);
  return { fd };
}, [
  ['accept4, queue empty', (c) => c.p.b.sys.accept4(c.fd), 'EAGAIN'],
  ['connect', (c) => c.p.b.sys.connect(c.fd, v4('10.0.0.1', 80)), 'EISCONN'],
  ['send', (c) => c.p.b.sys.send(c.fd, buf(1), C.MSG_NOSIGNAL), 'EPIPE'],
  ['recv', (c) => c.p.b.sys.recv(c.fd, buf(1)), 'ENOTCONN'],
  ['listen again (backlog change)', (c) => c.p.b.sys.listen(c.fd, 9), 0],
  ['bind', (c) => c.p.b.sys.bind(c.fd, v4('10.0.0.2', 5001)), 'EINVAL'],
  ['getpeername', (c) => c.p.b.sys.getpeername(c.fd, { addr: null }), 'ENOTCONN'],
  ['ioctl SIOCINQ', (c) => c.p.b.sys.ioctl(c.fd, C.SIOCINQ), 'EINVAL'],
  ['ioctl SIOCOUTQ', (c) => c.p.b.sys.ioctl(c.fd, C.SIOCOUTQ), 'EINVAL'],
  ['getsockopt SO_ACCEPTCONN', (c) => c.p.b.sys.getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_ACCEPTCONN), 1],
  ['a second listener on the port', (c) => {
    const fd = tcpFd(c.p.b);
    eq(c.p.b.sys.bind(fd, v4('10.0.0.2', 5000)), 'EADDRINUSE');
    return 0;
  }, 0],
  ['shutdown(SHUT_WR) keeps listening', (c) => {
    eq(c.p.b.sys.shutdown(c.fd, C.SHUT_WR), 0);
    return c.p.b.sys.accept4(c.fd);
  }, 'EAGAIN'],
  ['shutdown(SHUT_RD) stops listening', (c) => {
    eq(c.p.b.sys.shutdown(c.fd, C.SHUT_RD), 0);
    return c.p.b.sys.accept4(c.fd);
  }, 'EINVAL'],
  ['after shutdown(SHUT_RDWR), listen again', (c) => {
    eq(c.p.b.sys.shutdown(c.fd, C.SHUT_RDWR), 0);
    return c.p.b.sys.listen(c.fd, 4);
  }, 0],
]);

table('TCP, connecting (SYN_SENT)', (p) => {
  const fd = tcpFd(p.a);
  eq(p.a.sys.connect(fd, v4('10.0.0.2', 5000)), 'EINPROGRESS');
  return { fd };
}, [
  ['connect again', (c) => A(c).connect(c.fd, v4('10.0.0.2', 5000)), 'EALREADY'],
  ['send, non-blocking', (c) => A(c).send(c.fd, buf(4)), 'EAGAIN'],
  ['recv, non-blocking', (c) => A(c).recv(c.fd, buf(4)), 'EAGAIN'],
  ['getpeername', (c) => A(c).getpeername(c.fd, { addr: null }), 'ENOTCONN'],
  ['listen', (c) => A(c).listen(c.fd, 1), 'EINVAL'],
  ['bind', (c) => A(c).bind(c.fd, v4('10.0.0.1', 4000)), 'EINVAL'],
  ['accept4', (c) => A(c).accept4(c.fd), 'EINVAL'],
  ['refused: the next connect reports ECONNREFUSED', (c) => {
    run(c.p);
    return A(c).connect(c.fd, v4('10.0.0.2', 5000));
  }, 'ECONNREFUSED'],
  ['refused: SO_ERROR reports it once', (c) => {
    run(c.p);
    eq(A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_ERROR), ERRNO.ECONNREFUSED);
    return A(c).getsockoptInt(c.fd, C.SOL_SOCKET, C.SO_ERROR);
  }, 0],
  ['shutdown aborts the attempt', (c) => A(c).shutdown(c.fd, C.SHUT_RDWR), 0],
]);

table('TCP, established', (p) => {
  const e = establish(p);
  return { fd: e.cfd, fd2: e.sfd };
}, [
  ['connect once more: 0 (SS_CONNECTING → SS_CONNECTED)', (c) => A(c).connect(c.fd, v4('10.0.0.2', 5000)), 0],
  ['connect after that', (c) => {
    A(c).connect(c.fd, v4('10.0.0.2', 5000));
    return A(c).connect(c.fd, v4('10.0.0.2', 5000));
  }, 'EISCONN'],
  ['connect on the accepted socket', (c) => c.p.b.sys.connect(c.fd2, v4('10.0.0.1', 80)), 'EISCONN'],
  ['send', (c) => A(c).send(c.fd, buf(100)), 100],
  ['recv, nothing queued', (c) => A(c).recv(c.fd, buf(10)), 'EAGAIN'],
  ['recv with MSG_DONTWAIT on a blocking fd', (c) => {
    A(c).fcntl(c.fd, C.F_SETFL, 0);
    return A(c).recv(c.fd, buf(10), C.MSG_DONTWAIT);
  }, 'EAGAIN'],
  ['listen', (c) => A(c).listen(c.fd, 1), 'EINVAL'],
  ['accept4', (c) => A(c).accept4(c.fd), 'EINVAL'],
  ['bind', (c) => A(c).bind(c.fd, v4('10.0.0.1', 4444)), 'EINVAL'],
  ['getpeername', (c) => A(c).getpeername(c.fd, { addr: null }), 0],
  ['FIONREAD after the peer sent 300 bytes', (c) => {
    eq(c.p.b.sys.send(c.fd2, buf(300)), 300);
    run(c.p);
    return A(c).ioctl(c.fd, C.FIONREAD);
  }, 300],
  ['SIOCOUTQ while the peer does not ack (unsent + unacked)', (c) => {
    eq(A(c).send(c.fd, buf(500)), 500);
    return A(c).ioctl(c.fd, C.SIOCOUTQ);
  }, 500],
  ['send after shutdown(SHUT_WR)', (c) => {
    eq(A(c).shutdown(c.fd, C.SHUT_WR), 0);
    return A(c).send(c.fd, buf(1));
  }, 'EPIPE'],
  ['shutdown(SHUT_WR) twice', (c) => {
    eq(A(c).shutdown(c.fd, C.SHUT_WR), 0);
    return A(c).shutdown(c.fd, C.SHUT_WR);
  }, 0],
  ['recv after shutdown(SHUT_RD): end of stream', (c) => {
    eq(A(c).shutdown(c.fd, C.SHUT_RD), 0);
    return A(c).recv(c.fd, buf(1));
  }, 0],
  ['recv after the peer closed: end of stream', (c) => {
    eq(c.p.b.sys.close(c.fd2), 0);
    run(c.p);
    return A(c).recv(c.fd, buf(1));
  }, 0],
  ['send after the peer reset', (c) => {
    // SO_LINGER {1, 0}: close sends RST
    const lg = new Uint8Array(8);
    lg[0] = 1;
    eq(c.p.b.sys.setsockopt(c.fd2, C.SOL_SOCKET, C.SO_LINGER, lg), 0);
    eq(c.p.b.sys.close(c.fd2), 0);
    run(c.p);
    return A(c).send(c.fd, buf(1), C.MSG_NOSIGNAL);
  }, 'ECONNRESET'],
  ['recv after the peer reset, second call', (c) => {
    const lg = new Uint8Array(8);
    lg[0] = 1;
    c.p.b.sys.setsockopt(c.fd2, C.SOL_SOCKET, C.SO_LINGER, lg);
    c.p.b.sys.close(c.fd2);
    run(c.p);
    eq(A(c).recv(c.fd, buf(1)), 'ECONNRESET');
    return A(c).recv(c.fd, buf(1));
  }, 0],
  ['connect AF_UNSPEC disconnects; connect works again', (c) => {
    eq(A(c).connect(c.fd, { family: C.AF_UNSPEC, addr: v4('0.0.0.0', 0).addr, port: 0 }, 16), 0);
    return A(c).connect(c.fd, v4('10.0.0.2', 5000));
  }, 'EINPROGRESS'],
]);

table('closed and non-socket fds', (p) => {
  const dm = p.a.allocDeviceMemory(1 << 16);
  const fd = tcpFd(p.a);
  eq(p.a.sys.close(fd), 0);
  return { fd, fd2: dm.fd };
}, [
  ['close twice', (c) => A(c).close(c.fd), 'EBADF'],
  ['bind on a closed fd', (c) => A(c).bind(c.fd, v4('10.0.0.1', 1)), 'EBADF'],
  ['send on a closed fd', (c) => A(c).send(c.fd, buf(1)), 'EBADF'],
  ['recv on a closed fd', (c) => A(c).recv(c.fd, buf(1)), 'EBADF'],
  ['fcntl on a closed fd', (c) => A(c).fcntl(c.fd, C.F_GETFL), 'EBADF'],
  ['ioctl on a closed fd', (c) => A(c).ioctl(c.fd, C.FIONREAD), 'EBADF'],
  ['negative fd', (c) => A(c).listen(-1, 1), 'EBADF'],
  ['bind on a dma-buf fd', (c) => A(c).bind(c.fd2, v4('10.0.0.1', 1)), 'ENOTSOCK'],
  ['listen on a dma-buf fd', (c) => A(c).listen(c.fd2, 1), 'ENOTSOCK'],
  ['getsockopt on a dma-buf fd', (c) => A(c).getsockoptInt(c.fd2, C.SOL_SOCKET, C.SO_TYPE), 'ENOTSOCK'],
  ['ioctl FIONREAD on a dma-buf fd', (c) => A(c).ioctl(c.fd2, C.FIONREAD), 'ENOTTY'],
  ['the freed fd is reused first (lowest free)', (c) => A(c).socket(C.AF_INET, C.SOCK_STREAM, 0) - c.fd, 0],
]);

table('UDP', (p) => ({ fd: udpFd(p.a), fd2: udpFd(p.b) }), [
  ['listen', (c) => A(c).listen(c.fd, 1), 'EOPNOTSUPP'],
  ['accept4', (c) => A(c).accept4(c.fd), 'EOPNOTSUPP'],
  ['send without an address', (c) => A(c).send(c.fd, buf(4)), 'EDESTADDRREQ'],
  ['sendto port 0', (c) => A(c).sendto(c.fd, buf(4), 0, v4('10.0.0.2', 0)), 'EINVAL'],
  ['sendto', (c) => A(c).sendto(c.fd, buf(4), 0, v4('10.0.0.2', 9)), 4],
  ['sendto a sockaddr_in6 on AF_INET', (c) => A(c).sendto(c.fd, buf(4), 0, v6('fd00::2', 9)), 'EAFNOSUPPORT'],
  ['sendto a short address', (c) => A(c).sendto(c.fd, buf(4), 0, encBytes(v4('10.0.0.2', 9)), 10), 'EINVAL'],
  ['sendto too large', (c) => A(c).sendto(c.fd, buf(65_508), 0, v4('10.0.0.2', 9)), 'EMSGSIZE'],
  ['recv, nothing queued', (c) => A(c).recv(c.fd, buf(4)), 'EAGAIN'],
  ['getpeername, unconnected', (c) => A(c).getpeername(c.fd, { addr: null }), 'ENOTCONN'],
  ['shutdown, unconnected', (c) => A(c).shutdown(c.fd, C.SHUT_RDWR), 'ENOTCONN'],
  ['SO_DEVMEM_DONTNEED on UDP', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, buf(8)), 'EBADF'],
  ['SO_DEVMEM_DONTNEED on UDP, optlen < 4 first', (c) => A(c).setsockopt(c.fd, C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, buf(3)), 'EINVAL'],
  ['connect, then send', (c) => {
    eq(A(c).connect(c.fd, v4('10.0.0.2', 9)), 0);
    return A(c).send(c.fd, buf(7));
  }, 7],
  ['connect, then shutdown', (c) => {
    eq(A(c).connect(c.fd, v4('10.0.0.2', 9)), 0);
    return A(c).shutdown(c.fd, C.SHUT_WR);
  }, 0],
  ['send after shutdown(SHUT_WR)', (c) => {
    eq(A(c).connect(c.fd, v4('10.0.0.2', 9)), 0);
    A(c).shutdown(c.fd, C.SHUT_WR);
    return A(c).send(c.fd, buf(1), C.MSG_NOSIGNAL);
  }, 'EPIPE'],
  ['connected to a closed port: ICMP → ECONNREFUSED on the next send', (c) => {
    eq(A(c).connect(c.fd, v4('10.0.0.2', 9)), 0);
    eq(A(c).send(c.fd, buf(1)), 1);
    run(c.p);
    return A(c).send(c.fd, buf(1));
  }, 'ECONNREFUSED'],
  ['recvfrom: bytes and source', (c) => {
    eq(c.p.b.sys.bind(c.fd2, v4('0.0.0.0', 9999)), 0);
    eq(A(c).sendto(c.fd, new Uint8Array([1, 2, 3]), 0, v4('10.0.0.2', 9999)), 3);
    run(c.p);
    eq(c.p.b.sys.ioctl(c.fd2, C.FIONREAD), 3);
    const from: AddrOut = { addr: null };
    const r = c.p.b.sys.recvfrom(c.fd2, buf(2), 0, from);
    assert.equal(String(from.addr!.addr), '10.0.0.1');
    return r;
  }, 2],
  ['recvmsg truncates: MSG_TRUNC in msg_flags', (c) => {
    eq(c.p.b.sys.bind(c.fd2, v4('0.0.0.0', 9999)), 0);
    eq(A(c).sendto(c.fd, buf(10), 0, v4('10.0.0.2', 9999)), 10);
    run(c.p);
    const m = new MsgHdr().setRecv(buf(4), null);
    const r = c.p.b.sys.recvmsg(c.fd2, m, 0);
    assert.equal(m.msgFlags & C.MSG_TRUNC, C.MSG_TRUNC);
    return r;
  }, 4],
]);

table('AF_INET6, dual-stack rules', (p) => ({ fd: tcpFd(p.a, C.AF_INET6), fd2: udpFd(p.a, C.AF_INET6) }), [
  ['bind a sockaddr_in (16 bytes) on AF_INET6', (c) => A(c).bind(c.fd, v4('10.0.0.1', 1000)), 'EINVAL'],
  ['bind a v4-mapped address', (c) => A(c).bind(c.fd, v6('::ffff:10.0.0.1', 1000)), 0],
  ['bind a v4-mapped address on a v6-only socket', (c) => {
    eq(A(c).setsockopt(c.fd, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).bind(c.fd, v6('::ffff:10.0.0.1', 1000));
  }, 'EINVAL'],
  ['IPV6_V6ONLY after bind', (c) => {
    eq(A(c).bind(c.fd, v6('::', 1000)), 0);
    return A(c).setsockopt(c.fd, C.SOL_IPV6, C.IPV6_V6ONLY, 1);
  }, 'EINVAL'],
  ['IPV6_V6ONLY reads back', (c) => {
    eq(A(c).setsockopt(c.fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).getsockoptInt(c.fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY);
  }, 1],
  ['connect v4-mapped on a v6-only socket', (c) => {
    eq(A(c).setsockopt(c.fd, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).connect(c.fd, v6('::ffff:10.0.0.2', 80));
  }, 'ENETUNREACH'],
  ['connect v4-mapped', (c) => A(c).connect(c.fd, v6('::ffff:10.0.0.2', 80)), 'EINPROGRESS'],
  ['connect a sockaddr_in on a TCP AF_INET6 socket', (c) => A(c).connect(c.fd, v4('10.0.0.2', 80)), 'EINVAL'],
  ['UDP: connect a sockaddr_in (dual-stack IPv4 path)', (c) => A(c).connect(c.fd2, v4('10.0.0.2', 80)), 0],
  ['UDP: connect a sockaddr_in on a v6-only socket', (c) => {
    eq(A(c).setsockopt(c.fd2, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).connect(c.fd2, v4('10.0.0.2', 80));
  }, 'EAFNOSUPPORT'],
  ['UDP: sendto a sockaddr_in on a v6-only socket', (c) => {
    eq(A(c).setsockopt(c.fd2, C.SOL_IPV6, C.IPV6_V6ONLY, 1), 0);
    return A(c).sendto(c.fd2, buf(1), 0, v4('10.0.0.2', 80));
  }, 'ENETUNREACH'],
  ['UDP: sendto v4-mapped', (c) => A(c).sendto(c.fd2, buf(3), 0, v6('::ffff:10.0.0.2', 80)), 3],
  ['getsockname of a fresh socket is ::', (c) => {
    const out: AddrOut = { addr: null };
    eq(A(c).getsockname(c.fd, out), 0);
    assert.equal(out.addr!.family, C.AF_INET6);
    assert.equal(String(out.addr!.addr), '::');
    return 0;
  }, 0],
]);

describe('SIGPIPE accounting', () => {
  it('EPIPE counts a SIGPIPE unless MSG_NOSIGNAL', () => {
    const p = makePair();
    const fd = tcpFd(p.a);
    eq(p.a.sys.send(fd, buf(1)), 'EPIPE');
    assert.equal(p.a.sys.sigpipes, 1);
    eq(p.a.sys.send(fd, buf(1), C.MSG_NOSIGNAL), 'EPIPE');
    assert.equal(p.a.sys.sigpipes, 1);
    p.net.close();
  });
});

describe('getsockopt/ioctl values', () => {
  it('SO_LINGER round-trips as struct linger; TCP_INFO is an object', () => {
    const p = makePair();
    const { cfd } = establish(p);
    const lg = new Uint8Array([1, 0, 0, 0, 7, 0, 0, 0]);
    eq(p.a.sys.setsockopt(cfd, C.SOL_SOCKET, C.SO_LINGER, lg), 0);
    const o = new SockOptVal();
    eq(p.a.sys.getsockopt(cfd, C.SOL_SOCKET, C.SO_LINGER, o), 0);
    assert.deepEqual([...o.bytes!], [...lg]);
    eq(p.a.sys.getsockopt(cfd, C.SOL_TCP, C.TCP_INFO, o), 0);
    assert.equal((o.data as { state: string }).state, 'ESTABLISHED');
    p.net.close();
  });
});

function encBytes(sa: Parameters<typeof encodeSockaddr>[0]): Uint8Array {
  const b = new Uint8Array(28);
  encodeSockaddr(sa, b, 0);
  return b;
}
