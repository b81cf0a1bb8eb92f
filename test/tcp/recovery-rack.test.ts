/**
 * Loss detection as Linux 6.18 runs it, segment by segment through the harness: RACK's
 * reordering window and timer (RFC 8985), a SACK of part of a segment marking nothing, Disorder
 * on the first SACK without cwnd moderation, NewReno without SACK where duplicate ACKs let new
 * data out (limited transmit, RFC 3042) and the third starts the fast retransmit; plus forged
 * SACK blocks that must leave the scoreboard untouched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CaState } from '../../src/tcp/cong/types.js';
import { TCP_ACK, TCP_PSH } from '../../src/wire/tcp.js';
import { flags, seqNum } from './harness/checkers.js';
import { MSS, ackWith, burst, dataSeq, expectRetrans, openWithRtt } from './recovery-helpers.js';

/** a SACK connection (RTT 100 ms) with `n` full segments sent, then `us` of quiet */
function inFlight(n: number, us: number) {
  const { ctx, c } = openWithRtt();
  burst(ctx, c, n);
  ctx.run(us);
  return { ctx, c, tp: c.tp! };
}

/**
 * Without SACK: 15 segments written, 10 out, then two duplicate ACKs 10 ms apart (as
 * packetdrill's limited-transmit-no-sack: TSO deferral waits for a burst within 1 ms of the last
 * transmission), each letting one new pure-ACK segment out; 10 ms later. `n1` is the first new
 * segment, `afterFirst` the state right after the first duplicate ACK.
 */
function twoDupAcks() {
  const { ctx, c } = openWithRtt({ sack: false });
  const tp = c.tp!;
  assert.equal(ctx.write(c.fd, new Uint8Array(15 * MSS)), 15 * MSS);
  for (let i = 0; i < 10; i++) c.expect(seqNum(dataSeq(c, i * MSS)));
  ctx.run(110_000);
  ackWith(c, 0);
  const n1 = c.expect(seqNum(dataSeq(c, 10 * MSS)), flags(TCP_ACK));
  const afterFirst = { caState: tp.caState, cwnd: tp.sndCwnd };
  ctx.run(10_000);
  ackWith(c, 0);
  c.expect(seqNum(dataSeq(c, 11 * MSS)), flags(TCP_ACK));
  ctx.run(10_000);
  return { ctx, c, tp, n1, afterFirst };
}

describe('recovery: RACK (SACK connections)', () => {
  it('the last of 4 segments SACKed: no retransmission until the reordering timer (RTT/4 + 2 ms), then the head', () => {
    const { ctx, c } = openWithRtt();
    const tp = c.tp!;
    const segs = burst(ctx, c, 4);
    assert.deepEqual(segs.map((s) => s.payload.length), [MSS, MSS, MSS, MSS]);
    assert.equal(segs[3]!.flags, TCP_ACK | TCP_PSH, 'PSH on the end of the write only');
    ctx.run(100_000);
    const t0 = ctx.now;
    ackWith(c, 0, [[3 * MSS, 4 * MSS]]);
    // the SACK alone is not a loss signal yet: Disorder, cwnd untouched
    assert.equal(tp.caState, CaState.Disorder);
    assert.equal(tp.sndCwnd, 10);
    assert.equal(tp.reoPending, true, 'the RACK reordering timer is armed');
    // min_rtt 100 ms → reo_wnd 25 ms; the head was sent 100 ms ago: 25 ms left + 2 ms → 27 ms
    const r = expectRetrans(c, 0, MSS);
    assert.equal(r.t - t0, 27_000);
    assert.equal(tp.caState, CaState.Recovery);
    assert.equal(tp.rtx.lostOut, 3 * MSS, 'RACK marked the three segments sent before the SACKed one');
    assert.equal(tp.sackedOut, 1);
    // PRR: one segment for the one delivered; nothing more until the next ACK
    ctx.expectNone(50_000, 'PRR sends one segment per delivered one');
    ctx.close();
  });

  it('three segments SACKed: the head is lost at once (no reordering seen: reo_wnd 0), fast retransmit on that ACK', () => {
    const { ctx, c, tp } = inFlight(10, 100_000);
    ackWith(c, 0, [[MSS, 2 * MSS]]);
    ackWith(c, 0, [[MSS, 3 * MSS]]);
    assert.equal(tp.caState, CaState.Disorder);
    ackWith(c, 0, [[MSS, 4 * MSS]]);
    const r = expectRetrans(c, 0, MSS);
    assert.equal(r.t, ctx.now, 'sent on the third SACK');
    assert.equal(tp.caState, CaState.Recovery);
    assert.equal(tp.sndSsthresh, 7, 'CUBIC: 10 × 0.7');
    assert.equal(tp.stats.fastRetrans, 1);
    ctx.close();
  });

  it('net.ipv4.tcp_recovery with TCP_RACK_NO_DUPTHRESH (4): three SACKed segments are not enough, the reordering window holds', () => {
    const { ctx, c } = openWithRtt();
    const tp = c.tp!;
    ctx.host.kernel.tcp.sysctl.tcp_recovery = 1 | 4;
    burst(ctx, c, 10);
    ctx.run(100_000);
    ackWith(c, 0, [[MSS, 4 * MSS]]);
    const t0 = ctx.now;
    assert.equal(tp.caState, CaState.Disorder);
    const r = expectRetrans(c, 0, MSS);
    assert.equal(r.t - t0, 27_000, 'min_rtt/4 + 2 ms later, by the reordering timer');
    assert.equal(tp.caState, CaState.Recovery);
    ctx.close();
  });

  it('a SACK of the last byte only (not a whole segment) marks nothing: the tail loss probe, then the RTO', () => {
    const { ctx, c } = openWithRtt();
    const tp = c.tp!;
    const segs = burst(ctx, c, 4);
    const tx = segs[0]!.t;
    ctx.run(100_000);
    ackWith(c, 0, [[4 * MSS - 1, 4 * MSS]]);
    assert.equal(tp.rtx.sackedOut, 0);
    assert.equal(tp.caState, CaState.Open);
    // the probe: PTO = 2·srtt + 2 ms after the flight went out; the last segment again
    const probe = c.expectWithin(200_000, seqNum(dataSeq(c, 3 * MSS)), flags(TCP_ACK | TCP_PSH));
    assert.equal(probe.payload.length, MSS);
    assert.equal(probe.t - tx, 202_000);
    // the RTO (srtt + max(4·rttvar, 200 ms) = 300 ms) from the probe: the head, state Loss
    const rto = c.expectWithin(400_000, seqNum(dataSeq(c, 0)), flags(TCP_ACK));
    assert.equal(rto.payload.length, MSS);
    assert.equal(rto.t - probe.t, 300_000);
    assert.equal(tp.caState, CaState.Loss);
    assert.equal(tp.sndCwnd, 1);
    ctx.close();
  });

  it('reordering: a SACKed hole filled by the original widens reordering and RACK keeps its window in recovery', () => {
    const { ctx, c, tp } = inFlight(10, 100_000);
    // 5 segments SACKed above a hole at 0..1000, then the hole arrives (reordering, not loss)
    ackWith(c, 0, [[2 * MSS, 3 * MSS]]);
    ackWith(c, 0, [[2 * MSS, 4 * MSS]]);
    ackWith(c, MSS, [[2 * MSS, 4 * MSS]]);
    assert.ok(tp.reordSeen, 'reordering was seen');
    assert.ok(tp.reordering >= 3);
    ctx.close();
  });
});

describe('recovery: without SACK (NewReno, RFC 6582) and limited transmit (RFC 3042)', () => {
  it('each of the first two duplicate ACKs sends one new segment; the third retransmits the head', () => {
    const { ctx, c, tp, n1, afterFirst } = twoDupAcks();
    assert.equal(n1.payload.length, MSS);
    assert.equal(afterFirst.caState, CaState.Disorder);
    assert.equal(afterFirst.cwnd, 10, 'no cwnd change on a duplicate ACK');
    ackWith(c, 0);
    expectRetrans(c, 0, MSS);
    assert.equal(tp.caState, CaState.Recovery);
    assert.equal(tp.sndSsthresh, 7);
    // a partial ACK (NewReno): the next hole is retransmitted at once
    ackWith(c, 2 * MSS);
    expectRetrans(c, 2 * MSS, MSS);
    ctx.close();
  });

  it('duplicate ACKs that turn out to be reordering: back to Open, slow start goes on', () => {
    const { ctx, c, tp } = twoDupAcks();
    ackWith(c, 3 * MSS);
    assert.equal(tp.caState, CaState.Open);
    // one segment newly ACKed (two were duplicate-ACKed): cwnd 10 → 11, 11 − 9 in flight = 2 out
    assert.equal(tp.sndCwnd, 11);
    const s = c.expect(seqNum(dataSeq(c, 12 * MSS)));
    assert.equal(s.payload.length + (ctx.drain().reduce((n, x) => n + x.payload.length, 0)), 2 * MSS);
    ctx.close();
  });
});

describe('recovery: forged SACK blocks leave the scoreboard alone', () => {
  it('blocks beyond snd_nxt, below snd_una, reversed, empty or wrapping are ignored and counted', () => {
    const { ctx, c, tp } = inFlight(4, 50_000);
    const discards0 = ctx.host.kernel.tcp.stats.sackDiscard;
    const sack = (blocks: [number, number][]): void => {
      c.send({ flags: TCP_ACK, ack: dataSeq(c, 0), options: { sack: blocks } });
    };
    const base = dataSeq(c, 0);
    sack([[(base + 4 * MSS) >>> 0, (base + 5 * MSS) >>> 0]]); // beyond snd_nxt
    sack([[(base + 2 * MSS) >>> 0, (base + MSS) >>> 0]]); // reversed
    sack([[(base + MSS) >>> 0, (base + MSS) >>> 0]]); // empty
    sack([[(base + 0x80000000) >>> 0, (base + 0x80001000) >>> 0]]); // half the sequence space away
    sack([[(base - 5000) >>> 0, (base - 4000) >>> 0], [(base + 3 * MSS) >>> 0, (base + 6 * MSS) >>> 0]]);
    assert.equal(tp.rtx.sackedOut, 0);
    assert.equal(tp.rtx.lostOut, 0);
    assert.equal(tp.rtx.retransOut, 0);
    assert.ok(ctx.host.kernel.tcp.stats.sackDiscard - discards0 >= 5);
    assert.equal(tp.caState, CaState.Open, 'nothing SACKed, nothing lost');
    assert.equal(tp.sndCwnd, 10);
    ctx.expectNone(40_000, 'no retransmission');
    // the connection still recovers normally afterwards
    ackWith(c, 4 * MSS);
    assert.equal(tp.rtx.count, 0);
    assert.equal(tp.caState, CaState.Open);
    ctx.close();
  });

  it('unsorted, overlapping and repeated blocks SACK exactly the segments some block covers whole', () => {
    const { ctx, c, tp } = inFlight(8, 50_000);
    ackWith(c, 0, [[3 * MSS, 5 * MSS], [MSS, 2 * MSS], [MSS + 500, 4 * MSS], [3 * MSS, 5 * MSS]]);
    assert.equal(tp.rtx.sackedOut, 4 * MSS, 'segments 1, 2, 3, 4');
    let r = tp.rtx.head;
    const bits: number[] = [];
    for (; r !== null; r = r.next) bits.push(r.sacked & 1);
    assert.deepEqual(bits, [0, 1, 1, 1, 1, 0, 0, 0]);
    assert.equal(tp.reordSeen, false, 'blocks judged in sequence order: no false reordering');
    ctx.close();
  });

  it('a receiver that reneges: the RTO forgets every SACK mark and resends the SACKed data too', () => {
    const { ctx, c, tp } = inFlight(4, 50_000);
    ackWith(c, 0, [[MSS, 2 * MSS]]);
    assert.equal(tp.rtx.sackedOut, MSS);
    // the receiver dropped what it SACKed: the ACK stops at the SACKed segment
    ackWith(c, MSS);
    assert.equal(tp.rtx.head!.sacked & 1, 1, 'the head is a SACKed record: reneging');
    // the reneging timer (max(srtt/2, 10 ms)) — then an RTO that marks everything lost
    ctx.run(400_000);
    assert.equal(tp.isSackReneg, true);
    assert.equal(tp.rtx.sackedOut, 0);
    const resent = ctx.drain().filter((s) => s.payload.length > 0).map((s) => (s.seq - dataSeq(c, 0)) | 0);
    assert.equal(resent[0], MSS, 'the reneged segment is sent again first');
    ctx.close();
  });
});
