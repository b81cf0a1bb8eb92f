/**
 * Undoing spurious cwnd reductions as Linux does (tcp_try_undo_recovery / _dsack / _loss, RFC
 * 2883 DSACK and RFC 3522 Eifel with timestamps, F-RTO RFC 5682), and DSACKs that must not
 * undo: for data never retransmitted, more than was retransmitted, or longer than the window.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CaState } from '../../src/tcp/cong/types.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { seqNum } from './harness/checkers.js';
import { MSS, ackWith, burst, dataSeq, expectRetrans, openWithRtt } from './recovery-helpers.js';

/** ten segments out, a SACK of [1, 4) MSS: the first is fast-retransmitted (Recovery) */
function fastRetransmitFirst(): ReturnType<typeof openWithRtt> & { tp: NonNullable<ReturnType<typeof openWithRtt>['c']['tp']> } {
  const { ctx, c } = openWithRtt();
  burst(ctx, c, 10);
  ctx.run(100_000);
  ackWith(c, 0, [[MSS, 4 * MSS]]);
  expectRetrans(c, 0, MSS);
  return { ctx, c, tp: c.tp! };
}

describe('recovery: DSACK undo', () => {
  it('the original of a fast-retransmitted segment arrives too: the DSACK of it undoes the reduction', () => {
    const { ctx, c, tp } = fastRetransmitFirst();
    assert.equal(tp.caState, CaState.Recovery);
    assert.equal(tp.sndSsthresh, 7);
    assert.equal(tp.undoRetrans, 1);
    // everything arrived, and the retransmission was a duplicate: DSACK [0, 1000) below the ACK
    ctx.run(50_000);
    ackWith(c, 10 * MSS, [[0, MSS]]);
    assert.equal(tp.undoRetrans, 0, 'the one retransmission is shown redundant');
    assert.equal(tp.caState, CaState.Open);
    assert.equal(tp.sndSsthresh, 0x7fffffff, 'ssthresh back to its value before the recovery');
    assert.ok(tp.sndCwnd >= 10, `cwnd restored (${tp.sndCwnd})`);
    assert.equal(tp.undoCount, 1);
    ctx.close();
  });

  it('forged DSACKs do not undo: for data never retransmitted, longer than the window, more than was retransmitted', () => {
    const { ctx, c, tp } = fastRetransmitFirst();
    const stats = ctx.host.kernel.tcp.stats;
    const dsacks0 = stats.dsacksIn;
    // a DSACK (inside the second block) of a segment that was only SACKed, never retransmitted
    ackWith(c, 0, [[2 * MSS, 3 * MSS], [MSS, 4 * MSS]]);
    assert.equal(stats.dsacksIn, dsacks0 + 1);
    assert.equal(tp.dsackDups, 1);
    assert.equal(tp.undoRetrans, 1, 'not a retransmission: no undo credit');
    // a DSACK longer than the peer ever offered as window: dubious, not counted
    c.send({ flags: TCP_ACK, ack: dataSeq(c, 0), options: { sack: [[(dataSeq(c, 0) - 0x01000000) >>> 0, dataSeq(c, 0)]] } });
    assert.equal(tp.dsackDups, 1);
    // another one: now more DSACKed segments (2) than were ever retransmitted (1)
    ackWith(c, 0, [[2 * MSS, 3 * MSS], [MSS, 4 * MSS]]);
    assert.equal(tp.dsackDups, 2);
    assert.equal(tp.caState, CaState.Recovery, 'still recovering');
    assert.equal(tp.sndSsthresh, 7, 'ssthresh stays reduced');
    // so even a DSACK of the real retransmission is no longer believed: no undo
    ctx.run(50_000);
    ackWith(c, 10 * MSS, [[0, MSS]]);
    assert.equal(tp.undoRetrans, 1);
    assert.equal(tp.caState, CaState.Open);
    assert.equal(tp.sndCwnd, 7, 'cwnd = ssthresh after the recovery, not undone');
    assert.equal(tp.undoCount, 0);
    assert.equal(tp.rtx.count, 0);
    assert.equal(tp.rtx.sackedOut + tp.rtx.lostOut + tp.rtx.retransOut, 0, 'scoreboard back to zero');
    ctx.close();
  });
});

describe('recovery: spurious RTO undone (timestamps: Eifel; F-RTO)', () => {
  it('an RTO whose original was only delayed: the ACK echoes the original TSval → undo to Open', () => {
    const { ctx, c } = openWithRtt({ ts: true });
    const tp = c.tp!;
    assert.equal(tp.tsOk, true);
    const segs = burst(ctx, c, 2);
    const origTs = segs[1]!.options.ts!.val;
    // no ACK: the tail loss probe, then the RTO retransmits the head
    ctx.run(700_000);
    assert.equal(tp.stats.timeouts, 1);
    assert.equal(tp.caState, CaState.Loss);
    assert.equal(tp.sndCwnd, 1);
    assert.ok(tp.firstRetransUs >= 0);
    ctx.drain();
    // the ACK of the original transmission arrives late: TSecr is older than the retransmission
    c.send({ flags: TCP_ACK, ack: dataSeq(c, 2 * MSS), options: { ts: [2000, origTs] } });
    assert.equal(tp.caState, CaState.Open, 'undone');
    assert.equal(tp.sndCwnd, 10, 'cwnd back');
    assert.equal(tp.undoCount, 1);
    ctx.close();
  });

  it('F-RTO: after an RTO the ACK of the head lets new data out; an ACK of never-retransmitted data proves the RTO spurious', () => {
    const { ctx, c } = openWithRtt();
    const tp = c.tp!;
    assert.equal(ctx.write(c.fd, new Uint8Array(14 * MSS)), 14 * MSS);
    for (let i = 0; i < 10; i++) c.expect(seqNum(dataSeq(c, i * MSS)));
    ctx.run(1_000_000);
    assert.equal(tp.stats.timeouts, 1);
    assert.equal(tp.frto, true);
    ctx.drain();
    // (the tail loss probe before the RTO sent 10..11 kB, new data)
    // the first ACK covers the retransmitted head only: F-RTO step 2.b sends new data, not more
    // retransmissions
    ackWith(c, MSS);
    const n = c.expect(seqNum(dataSeq(c, 11 * MSS)));
    assert.ok(n.payload.length >= MSS, 'new data, not a retransmission');
    assert.equal(tp.caState, CaState.Loss);
    // the next ACK covers data never retransmitted: the timeout was spurious (step 3.b)
    ackWith(c, 3 * MSS);
    assert.equal(tp.caState, CaState.Open);
    assert.equal(tp.spuriousRtoCount, 1);
    assert.equal(tp.undoCount, 1);
    ctx.close();
  });
});
