/**
 * The timers that give up or probe, through the syscall layer and the segment harness:
 * TCP_USER_TIMEOUT bounding the RTO episode (the last RTO clamped to what is left), the
 * tcp_retries2 budget as Linux models it (tcp_model_timeout), keepalive probes (seq = snd_una −
 * 1, no payload) with TCP_KEEPIDLE / INTVL / CNT, answered and unanswered, and TCP_CONGESTION.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import { SockOptVal } from '../../src/socket/sys/sock.js';
import { tcpModelTimeoutMs } from '../../src/tcp/timer/rto.js';
import { TCP_ACK, TCP_RST } from '../../src/wire/tcp.js';
import { ackNum, flags, seqNum } from './harness/checkers.js';
import { burst, dataSeq, openWithRtt } from './recovery-helpers.js';

const SOL_TCP = 6;

/** runs until `tp` is closed (1 ms steps); returns the time it closed */
function runUntilClosed(ctx: { run(us: number): void; now: number }, tp: { state: number }, max: number): number {
  const end = ctx.now + max;
  while (tp.state !== 7 && ctx.now < end) ctx.run(1000);
  assert.equal(tp.state, 7, 'closed');
  return ctx.now;
}
const TCP_USER_TIMEOUT = 18;
const TCP_CONGESTION = 13;

describe('recovery timers: giving up', () => {
  it('TCP_USER_TIMEOUT: the last RTO is clamped; the socket fails with ETIMEDOUT 3 s after the first RTO retransmission', () => {
    const { ctx, c } = openWithRtt();
    assert.equal(ctx.host.sys.setsockopt(c.fd, SOL_TCP, TCP_USER_TIMEOUT, 3000), 0);
    burst(ctx, c, 2);
    const t0 = ctx.now;
    const failAt = runUntilClosed(ctx, c.tp!, 10_000_000);
    const tx = ctx.drain().filter((s) => s.payload.length > 0);
    // the loss probe (the last segment: not counted as a retransmission), then the head at RTOs
    // of 300, 600, 1200 ms; the next (2400 ms) is clamped to the 1200 ms the user timeout leaves
    assert.deepEqual(tx.map((s) => [s.t - t0, (s.seq - dataSeq(c, 0)) | 0]), [[202_000, 1000], [502_000, 0], [1_102_000, 0], [2_302_000, 0]]);
    assert.equal(failAt - t0, 3_502_000);
    assert.equal(ctx.read(c.fd), -ERRNO.ETIMEDOUT);
    ctx.close();
  });

  it('tcp_retries2: the give-up time is what that many backed-off RTOs from 200 ms take', () => {
    assert.equal(tcpModelTimeoutMs(15, 200_000), 924_600, 'Linux: 924.6 s for the default 15');
    assert.equal(tcpModelTimeoutMs(3, 200_000), 3000);
    const { ctx, c } = openWithRtt();
    ctx.host.kernel.tcp.sysctl.tcp_retries2 = 3;
    burst(ctx, c, 2);
    const t0 = ctx.now;
    const failAt = runUntilClosed(ctx, c.tp!, 20_000_000);
    const tx = ctx.drain().filter((s) => s.payload.length > 0);
    assert.deepEqual(tx.map((s) => s.t - t0), [202_000, 502_000, 1_102_000, 2_302_000]);
    // the RTO at 4.702 s finds 4.2 s ≥ 3 s since the first retransmission: no fifth, ETIMEDOUT
    assert.equal(failAt - t0, 4_702_000);
    assert.equal(ctx.read(c.fd), -ERRNO.ETIMEDOUT);
    ctx.close();
  });

  it('an orphan (closed with data unacknowledged) gives up after tcp_orphan_retries backed-off RTOs', () => {
    const { ctx, c } = openWithRtt();
    ctx.host.kernel.tcp.sysctl.tcp_orphan_retries = 2;
    burst(ctx, c, 1);
    const t0 = ctx.now;
    assert.equal(ctx.host.sys.close(c.fd), 0);
    const tp = c.tp!;
    const goneAt = runUntilClosed(ctx, tp, 10_000_000);
    const tx = ctx.drain().filter((s) => s.payload.length > 0 || (s.flags & 1) !== 0);
    // the FIN at close; the loss probe resends it (the last record) at 202 ms; the RTOs resend
    // the head at 502 and 1102 ms; at 2302 ms 1.8 s have passed since the first retransmission,
    // more than 2 backed-off RTOs from 200 ms take (1.4 s): the orphan is destroyed
    assert.deepEqual(tx.map((s) => [s.t - t0, s.payload.length, s.flags & 1]), [
      [0, 0, 1], [202_000, 0, 1], [502_000, 1000, 0], [1_102_000, 1000, 0],
    ]);
    assert.equal(goneAt - t0, 2_302_000);
    assert.equal(ctx.host.kernel.tcp.connectionCount, 0, 'the orphan is gone');
    ctx.close();
  });

  it('with nothing received, no retransmission after the connection failed (the stack goes quiet)', () => {
    const { ctx, c } = openWithRtt();
    assert.equal(ctx.host.sys.setsockopt(c.fd, SOL_TCP, TCP_USER_TIMEOUT, 1000), 0);
    burst(ctx, c, 1);
    ctx.run(5_000_000);
    ctx.drain();
    ctx.expectNone(60_000_000, 'after the give-up');
    assert.equal(ctx.host.kernel.tcp.connectionCount, 0);
    ctx.close();
  });
});

describe('recovery timers: keepalive', () => {
  it('SO_KEEPALIVE with TCP_KEEPIDLE 10 s, KEEPINTVL 5 s, KEEPCNT 3: probes at 10, 15, 20 s; reset at 25 s', () => {
    const { ctx, c } = openWithRtt();
    const sys = ctx.host.sys;
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, C.TCP_KEEPIDLE, 10), 0);
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, C.TCP_KEEPINTVL, 5), 0);
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, C.TCP_KEEPCNT, 3), 0);
    const t0 = ctx.now;
    assert.equal(sys.setsockopt(c.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1), 0);
    const una = dataSeq(c, 0);
    const probes = [0, 1, 2].map(() => c.expectWithin(30_000_000, flags(TCP_ACK), seqNum((una - 1) >>> 0), ackNum(c.sndNxt)));
    for (const p of probes) assert.equal(p.payload.length, 0);
    assert.deepEqual(probes.map((p) => p.t - t0), [10_000_000, 15_000_000, 20_000_000]);
    const rst = c.expectWithin(10_000_000, flags(TCP_RST | TCP_ACK));
    assert.equal(rst.t - t0, 25_000_000);
    assert.equal(ctx.read(c.fd), -ERRNO.ETIMEDOUT);
    ctx.close();
  });

  it('an answered probe starts the idle time again; SO_KEEPALIVE off stops the probes', () => {
    const { ctx, c } = openWithRtt();
    const sys = ctx.host.sys;
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, C.TCP_KEEPIDLE, 10), 0);
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, C.TCP_KEEPINTVL, 5), 0);
    assert.equal(sys.setsockopt(c.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1), 0);
    const t0 = ctx.now;
    const p1 = c.expectWithin(11_000_000, flags(TCP_ACK), seqNum((dataSeq(c, 0) - 1) >>> 0));
    assert.equal(p1.t - t0, 10_000_000);
    ctx.run(50_000);
    c.send({ flags: TCP_ACK, ack: dataSeq(c, 0) });
    assert.equal(c.tp!.probesOut, 0, 'the ACK answered it');
    const t1 = ctx.now;
    const p2 = c.expectWithin(11_000_000, flags(TCP_ACK), seqNum((dataSeq(c, 0) - 1) >>> 0));
    assert.equal(p2.t - t1, 10_000_000, 'idle again from the answer');
    // off: no more probes
    assert.equal(sys.setsockopt(c.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 0), 0);
    ctx.expectNone(30_000_000, 'keepalive off');
    assert.equal(c.state, 'ESTABLISHED');
    ctx.close();
  });

  it('a listener passes SO_KEEPALIVE and TCP_KEEPIDLE to its children', () => {
    const { ctx, c } = openWithRtt();
    assert.equal(ctx.host.sys.setsockopt(c.lfd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1), 0);
    assert.equal(ctx.host.sys.setsockopt(c.lfd, SOL_TCP, C.TCP_KEEPIDLE, 5), 0);
    const c2 = ctx.passiveOpen({ lfd: c.lfd, rport: 40001 });
    assert.equal(c2.tp!.keepalive, true);
    const p = c2.expectWithin(6_000_000, flags(TCP_ACK));
    assert.equal(p.payload.length, 0);
    ctx.host.sys.close(c2.fd);
    ctx.close();
  });
});

describe('TCP_CONGESTION', () => {
  it('setsockopt picks the algorithm by name, getsockopt returns it NUL-padded; unknown names are ENOENT', () => {
    const { ctx, c } = openWithRtt();
    const sys = ctx.host.sys;
    const name = (fd: number): string => {
      const out = new SockOptVal();
      assert.equal(sys.getsockopt(fd, SOL_TCP, TCP_CONGESTION, out), 0);
      return Buffer.from(out.bytes!).toString('latin1').replace(/\0+$/, '');
    };
    assert.equal(name(c.fd), 'cubic');
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, new TextEncoder().encode('reno')), 0);
    assert.equal(name(c.fd), 'reno');
    assert.equal(c.tp!.caOps.name, 'reno');
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, new TextEncoder().encode('nosuch')), -ERRNO.ENOENT);
    assert.equal(sys.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, new Uint8Array(0)), -ERRNO.EINVAL);
    assert.equal(name(c.fd), 'reno');
    ctx.close();
  });
});
