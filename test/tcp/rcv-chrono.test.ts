/**
 * Send chronographs (Linux tcp_chrono_*, reported as tcpi_busy_time / tcpi_rwnd_limited /
 * tcpi_sndbuf_limited), segment by segment in virtual time: busy from the first queued byte until
 * everything is acknowledged, rwnd limited while the peer's window holds the send head back (a
 * zero or a too-small window), nothing while idle; and the TCP_INFO fields that carry them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SockOptVal } from '../../src/socket/index.js';
import { tcpChronoStats, type ChronoStats } from '../../src/tcp/index.js';
import { SOL_TCP, TCP_INFO } from '../../src/uapi/index.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { TcpTestContext, type Conn } from './harness/context.js';

const MS = 1000;

function stats(c: Conn): ChronoStats {
  return tcpChronoStats(c.tp!, c.ctx.now, { busyTime: 0, rwndLimited: 0, sndbufLimited: 0 });
}

describe('send chronographs (tcpi_busy_time, tcpi_rwnd_limited)', () => {
  it('a zero window: rwnd limited from the write until the window opens; busy until the data is acknowledged; idle counts nothing', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    c.window = 0;
    c.send({ flags: TCP_ACK });
    ctx.run(50 * MS);
    assert.deepEqual(stats(c), { busyTime: 0, rwndLimited: 0, sndbufLimited: 0 }, 'idle: nothing runs');
    assert.equal(ctx.write(c.fd, new Uint8Array(1000)), 1000);
    ctx.run(100 * MS);
    ctx.drain();
    assert.equal(stats(c).rwndLimited, 100 * MS);
    c.window = 2000;
    c.send({ flags: TCP_ACK });
    c.expectData(1000);
    const at = stats(c);
    assert.equal(at.rwndLimited, 100 * MS, 'rwnd limited stopped when the window opened');
    ctx.run(30 * MS);
    c.send({ flags: TCP_ACK });
    const s = stats(c);
    assert.equal(s.rwndLimited, 100 * MS);
    assert.equal(s.busyTime, 130 * MS, 'busy = rwnd limited + 30 ms in flight');
    ctx.run(500 * MS);
    assert.equal(stats(c).busyTime, 130 * MS, 'nothing runs once everything is acknowledged');
    ctx.close();
  });

  it('a window too small for the send head counts as rwnd limited too; a cwnd-limited head does not', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen({ synOptions: { mss: 1460 } });
    // a window may only shrink with an ACK that moves snd_una (tcp_may_update_window)
    assert.equal(ctx.write(c.fd, new Uint8Array(100)), 100);
    c.expectData(100);
    c.window = 10;
    c.send({ flags: TCP_ACK });
    assert.equal(c.tp!.sndWnd, 10);
    assert.equal(ctx.write(c.fd, new Uint8Array(1000)), 1000);
    ctx.run(40 * MS);
    ctx.drain();
    assert.equal(stats(c).rwndLimited, 40 * MS);
    assert.equal(stats(c).busyTime, 40 * MS, 'the first 100 bytes were acknowledged at once: busy stopped then');
    ctx.close();
    // cwnd-limited: a big window, more data than the initial cwnd: busy only
    const ctx2 = new TcpTestContext();
    const c2 = ctx2.passiveOpen();
    assert.equal(ctx2.write(c2.fd, new Uint8Array(100_000)), 100_000);
    ctx2.run(20 * MS);
    const s = stats(c2);
    assert.equal(s.rwndLimited, 0);
    assert.equal(s.busyTime, 20 * MS);
    ctx2.close();
  });

  it('TCP_INFO carries the three figures, µs', () => {
    const ctx = new TcpTestContext();
    const c = ctx.passiveOpen();
    c.window = 0;
    c.send({ flags: TCP_ACK });
    assert.equal(ctx.write(c.fd, new Uint8Array(500)), 500);
    ctx.run(70 * MS);
    const out = new SockOptVal();
    assert.equal(ctx.host.sys.getsockopt(c.fd, SOL_TCP, TCP_INFO, out), 0);
    const info = out.data as { busyTime: number; rwndLimited: number; sndbufLimited: number };
    assert.equal(info.rwndLimited, 70 * MS);
    assert.equal(info.busyTime, 70 * MS);
    assert.equal(info.sndbufLimited, 0);
    ctx.close();
  });
});
