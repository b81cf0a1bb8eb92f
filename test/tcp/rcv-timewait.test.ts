/**
 * TIME_WAIT input as Linux tcp_timewait_state_process: a RST at rcv_nxt ends it (unless
 * tcp_rfc1337), a new SYN (past rcv_nxt, or with a newer TSval) opens a new connection through
 * the listener, an old SYN / data / a PAWS-rejected ACK get one rate-limited ACK and keep it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { ackNum, flags } from './harness/checkers.js';
import { TcpTestContext, type Conn } from './harness/context.js';
import { hashedConnections } from './harness/probe.js';

const TS0 = 7000;

/** a passive connection in TIME_WAIT (the stack closed first), optionally with timestamps */
function timeWait(ts = false): { ctx: TcpTestContext; c: Conn } {
  const ctx = new TcpTestContext();
  const c = ctx.passiveOpen({ synOptions: ts ? { mss: 1460, wscale: 7, ts: [TS0, 0] } : { mss: 1460, wscale: 7 } });
  assert.equal(ctx.host.sys.shutdown(c.fd, 1), 0);
  c.expect(flags(TCP_FIN | TCP_ACK));
  c.rcvNxt = (c.rcvNxt + 1) | 0;
  c.send({ flags: TCP_ACK, options: ts ? { ts: [TS0 + 1, 0] } : undefined });
  c.send({ flags: TCP_FIN | TCP_ACK, options: ts ? { ts: [TS0 + 2, 0] } : undefined });
  c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
  assert.equal(c.state, 'TIME_WAIT');
  return { ctx, c };
}

describe('TIME_WAIT (Linux tcp_timewait_state_process)', () => {
  it('a RST at rcv_nxt ends TIME_WAIT (tcp_rfc1337=0, Linux default); with tcp_rfc1337 it is ignored', () => {
    const a = timeWait();
    a.c.forge({ flags: TCP_RST });
    assert.equal(a.c.state, 'CLOSE');
    a.ctx.expectNone(1_000_000);
    a.ctx.close();
    const b = timeWait();
    b.ctx.host.kernel.tcp.sysctl.tcp_rfc1337 = true;
    b.c.forge({ flags: TCP_RST });
    assert.equal(b.c.state, 'TIME_WAIT');
    b.ctx.expectNone(1_000_000);
    b.ctx.close();
  });

  it('a RST not at rcv_nxt is ignored', () => {
    const { ctx, c } = timeWait();
    c.forge({ flags: TCP_RST, seq: (c.sndNxt + 10) | 0 });
    assert.equal(c.state, 'TIME_WAIT');
    ctx.expectNone(1_000_000);
    ctx.close();
  });

  it('a new SYN past rcv_nxt opens a new connection on the same 4-tuple through the listener', () => {
    const { ctx, c } = timeWait();
    const iss = (c.sndNxt + 100_000) | 0;
    ctx.inject({ flags: TCP_SYN, seq: iss, options: { mss: 1460, wscale: 7 } });
    const sa = ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum((iss + 1) | 0));
    assert.equal(sa.dport, c.rport);
    assert.equal(sa.seq | 0, (c.rcvNxt + 65535 + 2) | 0, 'the new ISN is past the old sequence space (tw_isn)');
    assert.equal(c.state, 'CLOSE', 'the TIME_WAIT connection is gone');
    assert.equal(hashedConnections(ctx.host).get('SYN_RECV'), 1);
    ctx.inject({ flags: TCP_ACK, seq: (iss + 1) | 0, ack: (sa.seq + 1) | 0 });
    const fd = ctx.host.sys.accept4(c.lfd, null, 0);
    assert.ok(fd >= 0, `accept4 ${fd}`);
    assert.equal(ctx.state(fd), 'ESTABLISHED');
    ctx.close();
  });

  it('a new SYN below rcv_nxt but with a newer TSval opens a new connection too (PAWS says it is new)', () => {
    const { ctx, c } = timeWait(true);
    const iss = (c.sndNxt - 100_000) | 0;
    ctx.inject({ flags: TCP_SYN, seq: iss, options: { mss: 1460, wscale: 7, ts: [TS0 + 50, 0] } });
    ctx.expect(flags(TCP_SYN | TCP_ACK), ackNum((iss + 1) | 0));
    assert.equal(c.state, 'CLOSE');
    ctx.close();
  });

  it('an old SYN (below rcv_nxt, no newer TSval), data and PAWS-rejected ACKs are answered with an ACK (pure ones at most one per 500 ms); TIME_WAIT stays', () => {
    const { ctx, c } = timeWait(true);
    const stats = ctx.host.kernel.tcp.stats;
    ctx.run(600_000);
    c.forge({ flags: TCP_SYN, seq: (c.sndNxt - 100_000) | 0, options: { ts: [TS0 + 2, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    // data is never rate limited (no ACK loop without SYN: tcp_oow_rate_limited)
    c.forge({ flags: TCP_ACK | TCP_PSH, payload: 10, options: { ts: [TS0 + 3, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    const rej = stats.pawsEstabRejected;
    c.forge({ flags: TCP_ACK, options: { ts: [TS0 - 100, 0] } });
    ctx.expectNone(400_000, 'rate limited');
    assert.equal(stats.ackSkippedTimeWait, 1);
    assert.equal(stats.pawsEstabRejected, rej + 1);
    ctx.run(200_000);
    c.forge({ flags: TCP_ACK, options: { ts: [TS0 - 100, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(stats.pawsEstabRejected, rej + 2);
    assert.equal(c.state, 'TIME_WAIT');
    // the 60 s timer restarted with the ACK-flagged segments: still there 59 s later, gone after
    ctx.run(59_000_000);
    assert.equal(c.state, 'TIME_WAIT');
    ctx.run(2_000_000);
    assert.equal(c.state, 'CLOSE');
    ctx.close();
  });
});
