/**
 * Reno and the shared cwnd helpers against Linux tcp_cong.c, numbers worked by hand:
 * tcp_slow_start (stops at ssthresh, returns the leftover), tcp_cong_avoid_ai (credit counter,
 * stretch ACKs, credit from a larger w), tcp_reno_cong_avoid (only when cwnd-limited),
 * tcp_reno_ssthresh and tcp_reno_undo_cwnd, and a trajectory over RTT rounds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RenoOps, TCP_INFINITE_SSTHRESH, createReno, tcpCongAvoidAi, tcpInSlowStart, tcpSlowStart,
} from '../../../src/tcp/cong/reno.js';
import { FakeSock } from './fake-sock.js';

describe('tcp_slow_start', () => {
  it('grows by the ACKed segments while below ssthresh and returns nothing left', () => {
    const tp = new FakeSock({ sndCwnd: 10 });
    assert.equal(tcpSlowStart(tp, 2), 0);
    assert.equal(tp.sndCwnd, 12);
  });

  it('stops at ssthresh and returns the leftover for congestion avoidance', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndSsthresh: 11 });
    assert.equal(tcpSlowStart(tp, 3), 2);
    assert.equal(tp.sndCwnd, 11);
  });

  it('respects snd_cwnd_clamp', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndCwndClamp: 11 });
    assert.equal(tcpSlowStart(tp, 5), 0);
    assert.equal(tp.sndCwnd, 11);
  });

  it('tcp_in_slow_start is cwnd < ssthresh', () => {
    assert.equal(tcpInSlowStart(new FakeSock({ sndCwnd: 9, sndSsthresh: 10 })), true);
    assert.equal(tcpInSlowStart(new FakeSock({ sndCwnd: 10, sndSsthresh: 10 })), false);
  });
});

describe('tcp_cong_avoid_ai', () => {
  it('adds one segment per w ACKed segments', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndSsthresh: 10 });
    for (let i = 0; i < 9; i++) tcpCongAvoidAi(tp, 10, 1);
    assert.equal(tp.sndCwnd, 10);
    assert.equal(tp.sndCwndCnt, 9);
    tcpCongAvoidAi(tp, 10, 1);
    assert.equal(tp.sndCwnd, 11);
    assert.equal(tp.sndCwndCnt, 0);
  });

  it('a stretch ACK adds several segments and keeps the remainder', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndCwndCnt: 9 });
    tcpCongAvoidAi(tp, 10, 12); // cnt 21 → +2, 1 left
    assert.equal(tp.sndCwnd, 12);
    assert.equal(tp.sndCwndCnt, 1);
  });

  it('credit accumulated under a larger w is applied gently (one segment) first', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndCwndCnt: 25 });
    tcpCongAvoidAi(tp, 20, 1); // 25 ≥ 20: cnt 0, cwnd 11; then cnt 1
    assert.equal(tp.sndCwnd, 11);
    assert.equal(tp.sndCwndCnt, 1);
  });

  it('never exceeds the clamp, and w = 0 does not divide by zero', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndCwndClamp: 10, sndCwndCnt: 0 });
    tcpCongAvoidAi(tp, 1, 5);
    assert.equal(tp.sndCwnd, 10);
    const tq = new FakeSock({ sndCwnd: 10 });
    tcpCongAvoidAi(tq, 0, 3);
    assert.equal(tq.sndCwnd, 13);
    assert.equal(tq.sndCwndCnt, 0);
  });
});

describe('Reno ops', () => {
  it('does nothing when not cwnd-limited (RFC 2861)', () => {
    const tp = new FakeSock({ sndCwnd: 10, isCwndLimited: false });
    createReno().congAvoid(tp, 0, 5);
    assert.equal(tp.sndCwnd, 10);
  });

  it('slow start reaches ssthresh, the leftover goes to additive increase', () => {
    const tp = new FakeSock({ sndCwnd: 9, sndSsthresh: 10 });
    new RenoOps().congAvoid(tp, 0, 3);
    assert.equal(tp.sndCwnd, 10);
    assert.equal(tp.sndCwndCnt, 2);
  });

  it('ssthresh is max(cwnd / 2, 2); undo is max(cwnd, prior_cwnd)', () => {
    const r = new RenoOps();
    assert.equal(r.ssthresh(new FakeSock({ sndCwnd: 10 })), 5);
    assert.equal(r.ssthresh(new FakeSock({ sndCwnd: 11 })), 5);
    assert.equal(r.ssthresh(new FakeSock({ sndCwnd: 3 })), 2);
    assert.equal(r.ssthresh(new FakeSock({ sndCwnd: 1 })), 2);
    assert.equal(r.undoCwnd(new FakeSock({ sndCwnd: 5, priorCwnd: 10 })), 10);
    assert.equal(r.undoCwnd(new FakeSock({ sndCwnd: 12, priorCwnd: 10 })), 12);
    assert.equal(r.name, 'reno');
  });

  it('trajectory: doubles per round in slow start, then +1 per round', () => {
    // each round ACKs the whole window one segment at a time
    const tp = new FakeSock({ sndCwnd: 10, sndSsthresh: 30 });
    const r = createReno();
    const seen: number[] = [];
    for (let round = 0; round < 6; round++) {
      const w = tp.sndCwnd;
      for (let i = 0; i < w; i++) r.congAvoid(tp, 0, 1);
      seen.push(tp.sndCwnd);
    }
    // 10 → 20 → 30 (the first 10 ACKs of round 2 reach ssthresh, the other 10 are credit)
    // → 31 (credit 10 + 20 ACKs = 30 = w, 10 more credit) → 32 → 33 → 34
    assert.deepEqual(seen, [20, 30, 31, 32, 33, 34]);
    assert.equal(TCP_INFINITE_SSTHRESH, 0x7fffffff);
  });
});
