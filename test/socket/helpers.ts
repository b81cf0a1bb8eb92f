/**
 * Syscall-level fixtures: two hosts on a simulated wire (A 10.0.0.1 / fd00::1, B 10.0.0.2 /
 * fd00::2), stepped synchronously in virtual time, and sockaddr builders.
 */
import assert from 'node:assert/strict';
import { constants as C, ERRNO, type Host } from '../../src/index.js';
import { InetAddr } from '../../src/inet/index.js';
import type { SockAddr } from '../../src/socket/index.js';
import { makePair, type Pair } from '../e2e/helpers.js';

export { makePair, type Pair };

export function v4(addr: string, port: number): SockAddr {
  return { family: C.AF_INET, addr: InetAddr.parse(addr), port };
}

export function v6(addr: string, port: number): SockAddr {
  return { family: C.AF_INET6, addr: InetAddr.parse(addr), port, flowinfo: 0, scopeId: 0 };
}

/** runs the network for `us` of virtual time */
export function run(p: Pair, us = 20_000): void {
  p.net.runFor(us);
}

/** asserts a syscall result: a count ≥ 0, or the named errno */
export function eq(r: number, want: number | keyof typeof ERRNO, what = ''): void {
  const w = typeof want === 'number' ? want : -ERRNO[want];
  const name = (n: number): string => (n < 0 ? `-${Object.entries(ERRNO).find(([, v]) => v === -n)?.[0] ?? -n}` : String(n));
  assert.equal(name(r), name(w), what);
}

/** a non-blocking TCP socket fd on `h` */
export function tcpFd(h: Host, family: number = C.AF_INET): number {
  const fd = h.sys.socket(family, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
  assert.ok(fd >= 0, `socket: ${fd}`);
  return fd;
}

export function udpFd(h: Host, family: number = C.AF_INET): number {
  const fd = h.sys.socket(family, C.SOCK_DGRAM | C.SOCK_NONBLOCK, 0);
  assert.ok(fd >= 0, `socket: ${fd}`);
  return fd;
}

/** a listener on B:port and an established connection from A; all fds non-blocking */
export function establish(p: Pair, port = 5000, family: number = C.AF_INET): { lfd: number; cfd: number; sfd: number } {
  const lfd = tcpFd(p.b, family);
  const any = family === C.AF_INET6 ? v6('::', port) : v4('0.0.0.0', port);
  eq(p.b.sys.bind(lfd, any), 0, 'bind');
  eq(p.b.sys.listen(lfd, 8), 0, 'listen');
  const cfd = tcpFd(p.a, family);
  const dst = family === C.AF_INET6 ? v6('::ffff:10.0.0.2', port) : v4('10.0.0.2', port);
  eq(p.a.sys.connect(cfd, dst), 'EINPROGRESS', 'connect');
  run(p);
  const sfd = p.b.sys.accept4(lfd, null, C.SOCK_NONBLOCK);
  assert.ok(sfd >= 0, `accept4: ${sfd}`);
  return { lfd, cfd, sfd };
}
