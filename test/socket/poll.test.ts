/**
 * poll masks as Linux tcp_poll / udp_poll compute them in each state, and epoll: level and edge
 * triggering, EPOLLONESHOT, EPOLL_CTL errors, items leaving the set when their file closes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../src/index.js';
import type { EpollEvent, PollFd } from '../../src/socket/index.js';
import { eq, establish, makePair, run, tcpFd, udpFd, v4, type Pair } from './helpers.js';

const IN = C.POLLIN | C.POLLRDNORM;
const OUT = C.POLLOUT | C.POLLWRNORM;

function mask(p: Pair, host: 'a' | 'b', fd: number, events = 0xffff): number {
  const pf: PollFd[] = [{ fd, events, revents: 0 }];
  (host === 'a' ? p.a : p.b).sys.poll(pf);
  return pf[0]!.revents;
}

function names(m: number): string {
  const all: [string, number][] = [['IN', C.POLLIN], ['PRI', C.POLLPRI], ['OUT', C.POLLOUT], ['ERR', C.POLLERR], ['HUP', C.POLLHUP],
    ['NVAL', C.POLLNVAL], ['RDNORM', C.POLLRDNORM], ['RDBAND', C.POLLRDBAND], ['WRNORM', C.POLLWRNORM], ['WRBAND', C.POLLWRBAND], ['RDHUP', C.POLLRDHUP]];
  return all.filter(([, b]) => (m & b) !== 0).map(([n]) => n).join('|') || '0';
}

function pm(actual: number, want: number, what: string): void {
  assert.equal(names(actual), names(want), what);
}

describe('poll masks (tcp_poll)', () => {
  it('fresh, listening, connecting, established, readable', () => {
    const p = makePair();
    const fresh = tcpFd(p.a);
    pm(mask(p, 'a', fresh), OUT | C.POLLHUP, 'a fresh socket: OUT|HUP (CLOSE)');
    const { lfd, cfd, sfd } = establish(p);
    pm(mask(p, 'b', lfd), 0, 'a listener with nothing queued');
    const c2 = tcpFd(p.a);
    eq(p.a.sys.connect(c2, v4('10.0.0.2', 5000)), 'EINPROGRESS');
    pm(mask(p, 'a', c2), 0, 'SYN_SENT: nothing');
    run(p);
    pm(mask(p, 'b', lfd), IN, 'a listener with a connection to accept');
    pm(mask(p, 'a', cfd), OUT, 'established, idle');
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    pm(mask(p, 'a', cfd), IN | OUT, 'established with data');
    pm(mask(p, 'a', cfd, C.POLLIN), C.POLLIN, 'revents only carries what was asked (plus ERR/HUP)');
    p.net.close();
  });

  it('SO_RCVLOWAT holds POLLIN back until enough is queued', () => {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    eq(p.a.sys.setsockopt(cfd, C.SOL_SOCKET, C.SO_RCVLOWAT, 100), 0);
    eq(p.b.sys.send(sfd, new Uint8Array(50)), 50);
    run(p);
    pm(mask(p, 'a', cfd), OUT, '50 < rcvlowat');
    eq(p.b.sys.send(sfd, new Uint8Array(50)), 50);
    run(p);
    pm(mask(p, 'a', cfd), IN | OUT, '100 = rcvlowat');
    p.net.close();
  });

  it('half close: peer FIN → IN|RDHUP; own SHUT_WR keeps OUT; both → HUP', () => {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    eq(p.b.sys.shutdown(sfd, C.SHUT_WR), 0);
    run(p);
    pm(mask(p, 'a', cfd), IN | C.POLLRDHUP | OUT, 'peer FIN');
    pm(mask(p, 'b', sfd), OUT, 'own SHUT_WR: OUT (SEND_SHUTDOWN)');
    eq(p.a.sys.shutdown(cfd, C.SHUT_WR), 0);
    run(p);
    pm(mask(p, 'a', cfd), IN | C.POLLRDHUP | OUT | C.POLLHUP, 'both directions shut');
    p.net.close();
  });

  it('refused connect: ERR|HUP|IN|RDHUP|OUT, then SO_ERROR clears ERR', () => {
    const p = makePair();
    const fd = tcpFd(p.a);
    eq(p.a.sys.connect(fd, v4('10.0.0.2', 5999)), 'EINPROGRESS');
    run(p);
    pm(mask(p, 'a', fd), C.POLLERR | C.POLLHUP | IN | C.POLLRDHUP | OUT, 'tcp_done after RST');
    eq(p.a.sys.getsockoptInt(fd, C.SOL_SOCKET, C.SO_ERROR), 111);
    pm(mask(p, 'a', fd), C.POLLHUP | IN | C.POLLRDHUP | OUT, 'error taken');
    p.net.close();
  });

  it('shutdown(SHUT_RD) of an unconnected socket: ENOTCONN, yet the mask changes (as Linux)', () => {
    const p = makePair();
    const fd = tcpFd(p.a);
    eq(p.a.sys.shutdown(fd, C.SHUT_RD), 'ENOTCONN');
    pm(mask(p, 'a', fd), IN | C.POLLRDHUP | OUT | C.POLLHUP, 'RCV_SHUTDOWN');
    p.net.close();
  });

  it('POLLNVAL for a bad fd; negative fds are skipped; files without poll report the default mask', () => {
    const p = makePair();
    const dm = p.a.allocDeviceMemory(4096);
    const fds: PollFd[] = [{ fd: 77, events: C.POLLIN, revents: 0 }, { fd: -1, events: C.POLLIN, revents: 0 }, { fd: dm.fd, events: C.POLLIN | C.POLLOUT, revents: 0 }];
    eq(p.a.sys.poll(fds), 2);
    pm(fds[0]!.revents, C.POLLNVAL, 'bad fd');
    pm(fds[1]!.revents, 0, 'negative fd');
    pm(fds[2]!.revents, C.POLLIN | C.POLLOUT, 'DEFAULT_POLLMASK & events');
    p.net.close();
  });
});

describe('poll masks (udp_poll)', () => {
  it('always writable; IN with a datagram; ERR after ICMP port unreachable; shutdown bits', () => {
    const p = makePair();
    const a = udpFd(p.a);
    const b = udpFd(p.b);
    const WOUT = OUT | C.POLLWRBAND;
    pm(mask(p, 'a', a), WOUT, 'fresh UDP');
    eq(p.b.sys.bind(b, v4('0.0.0.0', 7777)), 0);
    eq(p.a.sys.sendto(a, new Uint8Array(5), 0, v4('10.0.0.2', 7777)), 5);
    run(p);
    pm(mask(p, 'b', b), IN | WOUT, 'a datagram queued');
    eq(p.a.sys.connect(a, v4('10.0.0.2', 7)), 0);
    eq(p.a.sys.send(a, new Uint8Array(1)), 1);
    run(p);
    pm(mask(p, 'a', a), C.POLLERR | WOUT, 'ECONNREFUSED pending');
    eq(p.a.sys.shutdown(a, C.SHUT_RDWR), 0);
    pm(mask(p, 'a', a), C.POLLERR | WOUT | IN | C.POLLRDHUP | C.POLLHUP, 'both shut');
    p.net.close();
  });
});

describe('epoll', () => {
  function setup(): { p: Pair; ep: number; cfd: number; sfd: number } {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    const ep = p.a.sys.epollCreate1(0);
    assert.ok(ep >= 0);
    return { p, ep, cfd, sfd };
  }

  it('level-triggered: reported on every wait while readable', () => {
    const { p, ep, cfd, sfd } = setup();
    const ev: EpollEvent[] = [];
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN, 42), 0);
    eq(p.a.sys.epollWait(ep, ev, 8), 0, 'nothing to read yet');
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 1);
    assert.equal(ev[0]!.data, 42);
    pm(ev[0]!.events, C.POLLIN, 'EPOLLIN only (events & mask)');
    eq(p.a.sys.epollWait(ep, ev, 8), 1, 'still readable: reported again');
    eq(p.a.sys.recv(cfd, new Uint8Array(10)), 10);
    eq(p.a.sys.epollWait(ep, ev, 8), 0, 'drained: gone');
    p.net.close();
  });

  it('edge-triggered: once per wakeup', () => {
    const { p, ep, cfd, sfd } = setup();
    const ev: EpollEvent[] = [];
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN | C.EPOLLET), 0);
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 1);
    assert.equal(ev[0]!.data, cfd, 'data defaults to the fd');
    eq(p.a.sys.epollWait(ep, ev, 8), 0, 'no new edge');
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 1, 'new data is a new edge');
    p.net.close();
  });

  it('EPOLLONESHOT: disabled after one report until EPOLL_CTL_MOD', () => {
    const { p, ep, cfd, sfd } = setup();
    const ev: EpollEvent[] = [];
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN | C.EPOLLONESHOT), 0);
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 1);
    eq(p.b.sys.send(sfd, new Uint8Array(10)), 10);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 0, 'disarmed');
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_MOD, cfd, C.EPOLLIN | C.EPOLLONESHOT), 0);
    eq(p.a.sys.epollWait(ep, ev, 8), 1, 're-armed and still readable');
    p.net.close();
  });

  it('EPOLLOUT, EPOLLRDHUP and EPOLLHUP/ERR always watched; maxevents', () => {
    const { p, ep, cfd, sfd } = setup();
    const ev: EpollEvent[] = [];
    const c2 = tcpFd(p.a);
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLOUT | C.EPOLLRDHUP), 0);
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, c2, 0), 0);
    eq(p.a.sys.epollWait(ep, ev, 1), 1, 'maxevents 1');
    eq(p.a.sys.epollWait(ep, ev, 8), 2, 'both: OUT on cfd, HUP on the fresh socket');
    const byData = new Map(ev.slice(0, 2).map((e) => [e.data, e.events]));
    pm(byData.get(cfd)!, C.EPOLLOUT, 'established');
    pm(byData.get(c2)!, C.EPOLLHUP, 'fresh socket: HUP though not asked');
    eq(p.b.sys.shutdown(sfd, C.SHUT_WR), 0);
    run(p);
    eq(p.a.sys.epollWait(ep, ev, 8), 2);
    pm(ev.find((e) => e.data === cfd)!.events, C.EPOLLOUT | C.EPOLLRDHUP, 'peer FIN: RDHUP');
    p.net.close();
  });

  it('epoll_ctl errors; closing a file removes it; the epoll fd polls readable', () => {
    const { p, ep, cfd } = setup();
    const s = p.a.sys;
    const dm = p.a.allocDeviceMemory(4096);
    eq(s.epollCtl(ep, C.EPOLL_CTL_MOD, cfd, C.EPOLLIN), 'ENOENT');
    eq(s.epollCtl(ep, C.EPOLL_CTL_DEL, cfd), 'ENOENT');
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN), 0);
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN), 'EEXIST');
    eq(s.epollCtl(ep, 9, cfd, C.EPOLLIN), 'EINVAL');
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, ep, C.EPOLLIN), 'EINVAL');
    eq(s.epollCtl(cfd, C.EPOLL_CTL_ADD, ep, C.EPOLLIN), 'EINVAL', 'epfd is not an epoll');
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, 99, C.EPOLLIN), 'EBADF');
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, dm.fd, C.EPOLLIN), 'EPERM', 'not pollable');
    eq(s.epollCreate1(1), 'EINVAL');
    eq(s.epollWait(ep, [], 0), 'EINVAL');
    eq(s.epollWait(cfd, [], 1), 'EINVAL');
    // a fresh socket is HUP: ready at once, and the epoll fd itself polls IN
    const fresh = tcpFd(p.a);
    eq(s.epollCtl(ep, C.EPOLL_CTL_ADD, fresh, C.EPOLLIN), 0);
    pm(mask(p, 'a', ep), C.POLLIN | C.POLLRDNORM, 'epoll fd readable');
    eq(s.close(fresh), 0);
    eq(s.epollWait(ep, [], 8), 0, 'closed file left the set');
    eq(s.epollCtl(ep, C.EPOLL_CTL_DEL, cfd), 0);
    pm(mask(p, 'a', ep), 0, 'nothing ready');
    p.net.close();
  });
});

describe('waiting forms', () => {
  it('pollWait: resolves when data arrives, or with 0 at the timeout (virtual time)', async () => {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    const fds: PollFd[] = [{ fd: cfd, events: C.POLLIN, revents: 0 }];
    const t0 = p.net.now;
    assert.equal(await p.a.sys.pollWait(fds, 5000), 0);
    assert.ok(p.net.now - t0 >= 5000, 'waited the whole timeout');
    const w = p.a.sys.pollWait(fds, 1_000_000);
    eq(p.b.sys.send(sfd, new Uint8Array(3)), 3);
    assert.equal(await w, 1);
    assert.equal(fds[0]!.revents, C.POLLIN);
    assert.ok(p.net.now - t0 < 100_000, 'woken by the data, not the timeout');
    p.net.close();
  });

  it('epollWaitFor: edge-triggered events wake the waiter', async () => {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    const ep = p.a.sys.epollCreate1(0);
    eq(p.a.sys.epollCtl(ep, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN | C.EPOLLET), 0);
    const ev: EpollEvent[] = [];
    const w = p.a.sys.epollWaitFor(ep, ev, 4, -1);
    eq(p.b.sys.send(sfd, new Uint8Array(3)), 3);
    assert.equal(await w, 1);
    assert.equal(ev[0]!.data, cfd);
    assert.equal(await p.a.sys.epollWaitFor(ep, ev, 4, 1000), 0, 'no new edge before the timeout');
    p.net.close();
  });
});

describe('nested epoll', () => {
  it('a set inside a set reports readiness; cycles and deep nests fail with ELOOP', () => {
    const p = makePair();
    const { cfd, sfd } = establish(p);
    const s = p.a.sys;
    const inner = s.epollCreate1(0);
    const outer = s.epollCreate1(0);
    eq(s.epollCtl(inner, C.EPOLL_CTL_ADD, cfd, C.EPOLLIN), 0);
    eq(s.epollCtl(outer, C.EPOLL_CTL_ADD, inner, C.EPOLLIN), 0);
    eq(s.epollCtl(inner, C.EPOLL_CTL_ADD, outer, C.EPOLLIN), 'ELOOP', 'a cycle');
    const ev: EpollEvent[] = [];
    eq(s.epollWait(outer, ev, 4), 0);
    eq(p.b.sys.send(sfd, new Uint8Array(1)), 1);
    run(p);
    eq(s.epollWait(outer, ev, 4), 1);
    assert.equal(ev[0]!.data, inner);
    // at most EP_MAX_NESTS + 1 = 5 sets in a chain (inner, outer, e0, e1, e2): a sixth is too deep
    const chain = [outer];
    for (let i = 0; i < 4; i++) {
      const e = s.epollCreate1(0);
      const r = s.epollCtl(e, C.EPOLL_CTL_ADD, chain[chain.length - 1]!, C.EPOLLIN);
      if (i < 3) eq(r, 0, `level ${i}`);
      else eq(r, 'ELOOP', `level ${i}`);
      chain.push(e);
    }
    p.net.close();
  });
});
