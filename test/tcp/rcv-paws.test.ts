/**
 * PAWS and ts_recent on a synchronized connection, segment by segment (Linux 6.18
 * tcp_validate_incoming / tcp_paws_discard / tcp_disordered_ack_check / tcp_replace_ts_recent):
 * what is rejected, counted and answered, what passes (the one-tick replay window, a disordered
 * duplicate ACK, a stale ts_recent after TCP_PAWS_WRAP), which segment moves ts_recent, and the
 * forged far-future TSval that Linux — and so this stack — cannot refuse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_PAWS_WRAP_US } from '../../src/tcp/input/validate.js';
import { TCP_ACK, TCP_PSH } from '../../src/wire/tcp.js';
import { ackNum, flags, seqNum } from './harness/checkers.js';
import { TcpTestContext, type Conn } from './harness/context.js';

const MS = 1000;
const S = 1_000_000;
/** the remote's TS clock at the handshake */
const TS0 = 5000;

/** a stack connection that negotiated timestamps (and SACK); the remote's TSval is TS0 */
function open(): { ctx: TcpTestContext; c: Conn; stats: TcpTestContext['host']['kernel']['tcp']['stats'] } {
  const ctx = new TcpTestContext();
  const c = ctx.passiveOpen({ synOptions: { mss: 1460, wscale: 7, sackOk: true, ts: [TS0, 0] } });
  return { ctx, c, stats: ctx.host.kernel.tcp.stats };
}

/** data from the remote at its snd_nxt with TSval `ts` */
function data(c: Conn, ts: number, len = 100): void {
  c.send({ flags: TCP_ACK | TCP_PSH, payload: len, options: { ts: [ts, 0] } });
}

/** the TSecr the stack echoes on its next segment */
function ecr(s: { options: { ts: { val: number; ecr: number } | null } }): number {
  assert.ok(s.options.ts !== null, 'the segment carries timestamps');
  return s.options.ts.ecr;
}

describe('PAWS (RFC 7323 §5, Linux tcp_paws_discard)', () => {
  it('data with a TSval older than ts_recent is dropped, counted and answered with a duplicate ACK each (data is no ACK loop)', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 10);
    c.expectAck();
    for (let i = 0; i < 2; i++) {
      c.forge({ flags: TCP_ACK | TCP_PSH, payload: 100, options: { ts: [TS0 + 5, 0] } });
      const dup = c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
      assert.equal(ecr(dup), TS0 + 10, 'ts_recent unchanged');
    }
    assert.equal(stats.pawsEstabRejected, 2);
    assert.equal(stats.ackSkippedPaws, 0);
    assert.equal(c.tp!.readableBytes, 100, 'only the first segment was delivered');
    ctx.close();
  });

  it('pure ACKs PAWS rejects are answered at most once per 500 ms (tcp_invalid_ratelimit)', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 10);
    c.expectAck();
    // pure ACKs that are not disordered duplicates (they carry a zero window: an update)
    c.forge({ flags: TCP_ACK, window: 0, options: { ts: [TS0 + 5, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    c.forge({ flags: TCP_ACK, window: 0, options: { ts: [TS0 + 5, 0] } });
    ctx.expectNone(400 * MS, 'second reject within 500 ms');
    assert.equal(stats.pawsEstabRejected, 2);
    assert.equal(stats.ackSkippedPaws, 1);
    ctx.run(200 * MS);
    c.forge({ flags: TCP_ACK, window: 0, options: { ts: [TS0 + 5, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.ok(c.tp!.sndWnd > 0, 'no rejected window was applied');
    ctx.close();
  });

  it('a TSval one tick older than ts_recent still passes (TCP_PAWS_WINDOW), and does not move ts_recent back', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 10);
    c.expectAck();
    data(c, TS0 + 9);
    const a = c.expectAck();
    assert.equal(ecr(a), TS0 + 10);
    assert.equal(stats.pawsEstabRejected, 0);
    assert.equal(c.tp!.readableBytes, 200);
    ctx.close();
  });

  it('a pure duplicate ACK at rcv_nxt with a TSval within the RTO replay window is taken as disordered, not rejected', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 1000);
    c.expectAck();
    // a pure ACK at rcv_nxt: snd_wl1 = rcv_nxt, so the next one updates no window
    c.send({ flags: TCP_ACK, options: { ts: [TS0 + 1000, 0] } });
    ctx.expectNone(100 * MS, 'pure ACK');
    // 200 ms RTO → a replay window of 240 ticks (tcp_tsval_replay)
    c.send({ flags: TCP_ACK, options: { ts: [TS0 + 1000 - 200, 0] } });
    ctx.expectNone(100 * MS, 'disordered ACK');
    assert.equal(stats.pawsEstabRejected, 0);
    // beyond the replay window: a PAWS reject with its duplicate ACK
    c.send({ flags: TCP_ACK, options: { ts: [TS0 + 1000 - 300, 0] } });
    c.expectAck();
    assert.equal(stats.pawsEstabRejected, 1);
    ctx.close();
  });

  it('a pure ACK that would update the window, or acknowledges new data, is not excused by the replay window', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 1000);
    c.expectAck();
    c.send({ flags: TCP_ACK, options: { ts: [TS0 + 1000, 0] } });
    ctx.expectNone(100 * MS, 'pure ACK');
    // a zero window counts as an update (tcp_may_update_window)
    c.send({ flags: TCP_ACK, window: 0, options: { ts: [TS0 + 990, 0] } });
    c.expectAck();
    assert.equal(stats.pawsEstabRejected, 1, 'a window update with an old TSval');
    assert.ok(c.tp!.sndWnd > 0, 'the window was not applied');
    ctx.run(600 * MS);
    // the stack sends data; an ACK of it with an old TSval is rejected too (ack ≠ snd_una)
    assert.equal(ctx.write(c.fd, new Uint8Array(100)), 100);
    c.expectData(100);
    c.send({ flags: TCP_ACK, options: { ts: [TS0 + 990, 0] } });
    assert.equal(stats.pawsEstabRejected, 2);
    ctx.close();
  });

  it('an old pure ACK before rcv_nxt is dropped silently (SKB_DROP_REASON_TCP_RFC7323_PAWS_ACK): no count, no answer', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 1000);
    c.expectAck();
    c.forge({ flags: TCP_ACK, seq: c.sndNxt - 50, options: { ts: [TS0 + 10, 0] } });
    ctx.expectNone(S, 'old ACK');
    assert.equal(stats.pawsEstabRejected, 0);
    ctx.close();
  });

  it('a RST is looked at even with an old TSval (RFC 7323 §5.2)', () => {
    const { ctx, c } = open();
    data(c, TS0 + 1000);
    c.expectAck();
    c.forge({ flags: 0x04, options: { ts: [TS0 + 1, 0] } });
    assert.equal(c.state, 'CLOSE');
    ctx.close();
  });
});

describe('ts_recent (Linux tcp_replace_ts_recent)', () => {
  it('a segment past rcv_wup (out of order) does not move ts_recent; the next in-order one does', () => {
    const { ctx, c } = open();
    data(c, TS0 + 10);
    c.expectAck();
    c.forge({ flags: TCP_ACK | TCP_PSH, seq: c.sndNxt + 1000, payload: 100, options: { ts: [TS0 + 50, 0] } });
    const a = c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(ecr(a), TS0 + 10, 'out-of-order data left ts_recent alone');
    data(c, TS0 + 60);
    const b = c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(ecr(b), TS0 + 60);
    ctx.close();
  });

  it('a forged far-future TSval at rcv_nxt with an acceptable ACK becomes ts_recent, as in Linux; the peer\'s real segments are then PAWS-rejected, each answer rate limited', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 10);
    c.expectAck();
    const far = TS0 + 1_000_000_000;
    c.forge({ flags: TCP_ACK, options: { ts: [far, 0] } });
    ctx.expectNone(100 * MS, 'a pure ACK is not answered');
    assert.equal(c.tp!.tsRecent, far);
    // the real peer's data: never accepted; one duplicate ACK per segment (Linux does not
    // rate limit answers to data), nothing more — no exchange starts
    for (let i = 0; i < 40; i++) {
      c.forge({ flags: TCP_ACK | TCP_PSH, payload: 100, options: { ts: [TS0 + 20 + i, 0] } });
      const dup = c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
      assert.equal(ecr(dup), far, 'the duplicate ACK echoes the forged TSval');
      ctx.run(50 * MS);
    }
    assert.equal(ctx.pending.length, 0);
    assert.equal(c.tp!.readableBytes, 100);
    assert.equal(stats.pawsEstabRejected, 40);
    ctx.close();
  });

  it('after TCP_PAWS_WRAP (about 35.8 minutes) a poisoned ts_recent no longer rejects: the peer\'s segment is taken and replaces it', () => {
    const { ctx, c, stats } = open();
    data(c, TS0 + 10);
    c.expectAck();
    const far = TS0 + 1_000_000_000;
    c.forge({ flags: TCP_ACK, options: { ts: [far, 0] } });
    ctx.run(TCP_PAWS_WRAP_US - 10 * S);
    c.forge({ flags: TCP_ACK | TCP_PSH, payload: 100, options: { ts: [TS0 + 30, 0] } });
    c.expect(flags(TCP_ACK), ackNum(c.sndNxt));
    assert.equal(stats.pawsEstabRejected, 1, 'still rejected just before the wrap');
    ctx.run(20 * S);
    data(c, TS0 + 40);
    const a = c.expect(flags(TCP_ACK), seqNum(c.rcvNxt), ackNum(c.sndNxt));
    assert.equal(ecr(a), TS0 + 40, 'ts_recent replaced by the stale-rule');
    assert.equal(stats.pawsEstabRejected, 1);
    assert.equal(c.tp!.readableBytes, 200);
    ctx.close();
  });
});
