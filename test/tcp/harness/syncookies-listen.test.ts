/**
 * SYN cookies on the listen path, segment by segment: a full SYN queue answers SYNs with cookie
 * SYN-ACKs and keeps nothing; the cookie's ACK becomes an accepted connection with the options
 * the timestamp carried; forged, expired and unexpected cookie ACKs are reset and counted;
 * tcp_syncookies 0 / 2 and a full accept queue behave as in Linux. IPv4 and IPv6.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../../src/index.js';
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/wire/tcp.js';
import { ackNum, flags, seqNum } from './checkers.js';
import { Conn, STACK_PORT, TcpTestContext } from './context.js';
import { hashedCount, tcpSockOf } from './probe.js';
import { patternPayload, type OptSpec } from './segment.js';

const FAMILIES = [4, 6] as const;
const MSS = { 4: 1460, 6: 1440 } as const;
const FULL: OptSpec = { mss: 1460, sackOk: true, ts: [1000, 0], wscale: 7 };

interface Fill {
  ctx: TcpTestContext;
  lfd: number;
  /** the request that fills the SYN queue (backlog 1) */
  req: Conn;
}

/** a listener with backlog 1 whose SYN queue one half-open connection fills */
function fullQueue(family: 4 | 6): Fill {
  const ctx = new TcpTestContext({ family });
  const lfd = ctx.listen(STACK_PORT, 1);
  const req = ctx.synRecv({ lfd, rport: 30000 });
  return { ctx, lfd, req };
}

function mib(ctx: TcpTestContext): { sent: number; recv: number; failed: number; drops: number } {
  const t = ctx.host.snmp().tcp;
  return { sent: t.syncookiesSent, recv: t.syncookiesRecv, failed: t.syncookiesFailed, drops: t.listenDrops };
}

/** sends a SYN from `rport`, expects the cookie SYN-ACK; returns the remote's view */
function cookieSyn(ctx: TcpTestContext, rport: number, opts: OptSpec, iss = 0x20000000): Conn {
  ctx.inject({ flags: TCP_SYN, seq: iss, sport: rport, options: opts });
  const sa = ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum(iss + 1));
  const c = new Conn(ctx, -1, STACK_PORT, rport, (iss + 1) >>> 0, (sa.seq + 1) >>> 0);
  c.stackIss = sa.seq;
  c.synAck = sa;
  return c;
}

describe('SYN cookies: listen path', () => {
  for (const family of FAMILIES) {
    it(`IPv${family}: full SYN queue → cookie SYN-ACK, nothing kept; its ACK → an accepted connection with SACK, wscale, timestamps`, () => {
      const { ctx, lfd } = fullQueue(family);
      const before = hashedCount(ctx.host);
      const m0 = mib(ctx);
      const c = cookieSyn(ctx, 30001, FULL);
      const sa = c.synAck!;
      assert.match(sa.options.text, new RegExp(`^mss ${MSS[family]},sackOK,TS val \\d+ ecr 1000,nop,wscale 7$`));
      assert.equal(sa.window, 65535);
      assert.equal(hashedCount(ctx.host), before, 'no request kept');
      assert.equal(mib(ctx).sent, m0.sent + 1);
      assert.equal(tcpSockOf(ctx.host, lfd).synQueueLen, 1);
      // the ACK echoes the cookie TSval: the connection is rebuilt from it
      const tsval = sa.options.ts!.val;
      c.send({ flags: TCP_ACK, options: { ts: [1001, tsval] } });
      assert.equal(mib(ctx).recv, m0.recv + 1);
      const fd = ctx.host.sys.accept4(lfd, null, C.SOCK_NONBLOCK);
      assert.ok(fd >= 0, `accept4 ${fd}`);
      c.fd = fd;
      c.tp = ctx.tp(fd);
      assert.equal(c.state, 'ESTABLISHED');
      const tp = c.tp;
      assert.equal(tp.iss, sa.seq, 'ISN = the cookie');
      assert.deepEqual([tp.sackOk, tp.tsOk, tp.wscaleOk, tp.sndWscale], [true, true, true, 7]);
      // the cookie's MSS (IPv4 table: 1460; IPv6 table: 1440) less the timestamp option
      assert.equal(tp.mss, (family === 4 ? 1460 : 1440) - 12);
      // data both ways; TSvals continue from the cookie's (same offset)
      c.send({ flags: TCP_PSH | TCP_ACK, payload: 100, options: { ts: [1002, tsval] } });
      const a = c.expectAck();
      assert.ok(a.options.ts !== null && a.options.ts.val >= tsval && a.options.ts.val - tsval < 1000, `TSval ${a.options.ts?.val} after ${tsval}`);
      assert.equal(a.options.ts.ecr, 1002, 'TSecr: the data segment\'s TSval (ts_recent updated)');
      assert.deepEqual(ctx.read(fd), patternPayload(c.sndNxt - 100, 100));
      assert.equal(ctx.write(fd, patternPayload(5, 300)), 300);
      c.expectData(300);
      ctx.close();
    });

    it(`IPv${family}: without timestamps the SYN-ACK carries only the MSS; the connection has no wscale / SACK`, () => {
      const { ctx, lfd } = fullQueue(family);
      const c = cookieSyn(ctx, 30002, { mss: 1300, sackOk: true, wscale: 7 });
      assert.equal(c.synAck!.options.text, `mss ${MSS[family]}`);
      c.send({ flags: TCP_ACK });
      const fd = ctx.host.sys.accept4(lfd, null, C.SOCK_NONBLOCK);
      assert.ok(fd >= 0);
      const tp = ctx.tp(fd);
      assert.deepEqual([tp.sackOk, tp.tsOk, tp.wscaleOk], [false, false, false]);
      // IPv4 table: 1300 → 1300; IPv6 table: 1300 → 1220
      assert.equal(tp.mss, family === 4 ? 1300 : 1220);
      ctx.close();
    });

    it(`IPv${family}: forged, misdirected and expired cookie ACKs are reset and counted; no child`, () => {
      const { ctx, lfd } = fullQueue(family);
      const c = cookieSyn(ctx, 30003, FULL);
      const m0 = mib(ctx);
      const n0 = hashedCount(ctx.host);
      const tsval = c.synAck!.options.ts!.val;
      // a wrong cookie (not off by one: the MSS index sits in the low bits, as in Linux)
      c.forge({ flags: TCP_ACK, ack: (c.rcvNxt + 0x7654321) >>> 0, options: { ts: [1001, tsval] } });
      ctx.expect(flags(TCP_RST), seqNum(c.rcvNxt + 0x7654321));
      // the right cookie from another port
      ctx.inject({ flags: TCP_ACK, seq: c.sndNxt, ack: c.rcvNxt, sport: 30004, options: { ts: [1001, tsval] } });
      ctx.expect(flags(TCP_RST), seqNum(c.rcvNxt));
      assert.equal(mib(ctx).failed, m0.failed + 2);
      assert.equal(hashedCount(ctx.host), n0);
      // the right cookie, 3 minutes later: expired (and the overflow is no longer recent)
      ctx.run(180_000_000);
      ctx.drain();
      c.forge({ flags: TCP_ACK, options: { ts: [1001, tsval] } });
      ctx.expect(flags(TCP_RST), seqNum(c.rcvNxt));
      assert.equal(ctx.host.sys.accept4(lfd, null, C.SOCK_NONBLOCK), -ERRNO.EAGAIN);
      assert.equal(mib(ctx).recv, m0.recv);
      ctx.close();
    });

    it(`IPv${family}: a cookie ACK that claims SACK while the host has SACK off is refused`, () => {
      const { ctx } = fullQueue(family);
      const c = cookieSyn(ctx, 30005, FULL);
      ctx.host.kernel.tcp.sysctl.tcp_sack = false;
      c.forge({ flags: TCP_ACK, options: { ts: [1001, c.synAck!.options.ts!.val] } });
      ctx.expect(flags(TCP_RST));
      ctx.close();
    });
  }

  it('an ACK with no request and no recent overflow is not checked as a cookie (plain RST, not counted)', () => {
    const ctx = new TcpTestContext();
    ctx.listen();
    ctx.inject({ flags: TCP_ACK, seq: 1, ack: 2 });
    ctx.expect(flags(TCP_RST), seqNum(2));
    assert.deepEqual(mib(ctx), { sent: 0, recv: 0, failed: 0, drops: 0 });
    ctx.close();
  });

  it('tcp_syncookies = 0: a full SYN queue drops SYNs silently (ListenDrops)', () => {
    const { ctx } = fullQueue(4);
    ctx.host.kernel.tcp.sysctl.tcp_syncookies = 0;
    const d0 = mib(ctx).drops;
    ctx.inject({ flags: TCP_SYN, seq: 5, sport: 30010, options: { mss: 1460 } });
    ctx.expectNone(100_000);
    assert.equal(mib(ctx).drops, d0 + 1);
    assert.equal(mib(ctx).sent, 0);
    ctx.close();
  });

  it('tcp_syncookies = 2: every SYN gets a cookie, even with room in the queue', () => {
    const ctx = new TcpTestContext();
    const lfd = ctx.listen(STACK_PORT, 128);
    ctx.host.kernel.tcp.sysctl.tcp_syncookies = 2;
    const n0 = hashedCount(ctx.host);
    const c = cookieSyn(ctx, 30011, { mss: 1460 });
    assert.equal(hashedCount(ctx.host), n0);
    c.send({ flags: TCP_ACK });
    assert.ok(ctx.host.sys.accept4(lfd, null, C.SOCK_NONBLOCK) >= 0);
    ctx.close();
  });

  it('a full accept queue drops SYNs and cookie ACKs even with cookies on', () => {
    const ctx = new TcpTestContext();
    const lfd = ctx.listen(STACK_PORT, 1);
    ctx.host.kernel.tcp.sysctl.tcp_syncookies = 2;
    const c1 = cookieSyn(ctx, 30020, { mss: 1460 });
    c1.send({ flags: TCP_ACK }); // accepted into the queue, not accept()ed
    assert.equal(tcpSockOf(ctx.host, lfd).acceptQueue.length, 1);
    const d0 = mib(ctx).drops;
    ctx.inject({ flags: TCP_SYN, seq: 9, sport: 30021, options: { mss: 1460 } });
    ctx.expectNone(100_000, 'SYN with a full accept queue');
    assert.equal(mib(ctx).drops, d0 + 1);
    ctx.close();
  });
});
