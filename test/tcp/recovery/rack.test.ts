/**
 * RACK (RFC 8985) as Linux tcp_recovery.c over a fake time-sorted sent queue: the reordering
 * window (min_rtt/4, 0 under dupthresh or in Recovery without reordering, steps, srtt cap),
 * the packetdrill timings (RTT 100 ms, one SACK → retransmit 27 ms later; three SACKs → at
 * once), skipping lost-but-unretransmitted records, the stop at the first record sent after
 * the reference, rack_advance's retransmission ambiguity and tie-break, DSACK-driven window
 * growth and persistence, and adversarial queues.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RackState, TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS,
  TCP_RACK_NO_DUPTHRESH, TCP_RACK_RECOVERY_THRESH, TCP_RACK_STATIC_REO_WND,
  rackAdvance, rackDetectLoss, rackMarkLost, rackReoWnd, rackUpdateReoWnd, tcpSkbSentAfter,
  type RackSentQueue, type RackSock,
} from '../../../src/tcp/recovery/rack.js';
import { CaState } from '../../../src/tcp/cong/types.js';

const MS = 1000;

interface Rec { seq: number; endSeq: number; xmitUs: number; sacked: number; }

/** tsorted_sent_queue: an array in transmit order; SACKed and lost records leave it */
class Queue implements RackSentQueue<Rec> {
  list: Rec[] = [];
  lost: Rec[] = [];
  scans = 0;
  tsortedFirst(): Rec | null { this.scans++; return this.list[0] ?? null; }
  tsortedNext(s: Rec): Rec | null { return this.list[this.list.indexOf(s) + 1] ?? null; }
  markLost(s: Rec): void {
    s.sacked |= TCPCB_LOST;
    this.lost.push(s);
    this.list.splice(this.list.indexOf(s), 1);
  }
  /** the peer SACKs `s`: tcp_sacktag_one */
  sack(rack: RackState, tp: RackSock, s: Rec): void {
    rackAdvance(rack, tp, s.sacked, s.endSeq, s.xmitUs);
    s.sacked |= TCPCB_SACKED_ACKED;
    this.list.splice(this.list.indexOf(s), 1);
  }
}

function sock(init: Partial<{ -readonly [K in keyof RackSock]: RackSock[K] }> = {}): { -readonly [K in keyof RackSock]: RackSock[K] } {
  return {
    nowUs: 0, minRttUs: 100 * MS, srttUs: (100 * MS) << 3, reordSeen: false, caState: CaState.Open,
    sackedOut: 0, reordering: 3, sysctlRecovery: 1, delivered: 0, ...init,
  };
}

/** `n` 1000-byte records all sent at `t` */
function burst(q: Queue, n: number, t: number, seq0 = 0): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const r = { seq: (seq0 + i * 1000) >>> 0, endSeq: (seq0 + (i + 1) * 1000) >>> 0, xmitUs: t, sacked: 0 };
    q.list.push(r);
    out.push(r);
  }
  return out;
}

describe('RACK reordering window', () => {
  it('min_rtt/4 normally; 0 in Recovery or at dupthresh until reordering is seen', () => {
    const rack = new RackState();
    assert.equal(rackReoWnd(rack, sock()), 25 * MS);
    assert.equal(rackReoWnd(rack, sock({ caState: CaState.Recovery })), 0);
    assert.equal(rackReoWnd(rack, sock({ caState: CaState.Loss })), 0);
    assert.equal(rackReoWnd(rack, sock({ sackedOut: 3 })), 0);
    assert.equal(rackReoWnd(rack, sock({ sackedOut: 3, sysctlRecovery: 1 | TCP_RACK_NO_DUPTHRESH })), 25 * MS);
    assert.equal(rackReoWnd(rack, sock({ sackedOut: 3, reordSeen: true, caState: CaState.Recovery })), 25 * MS);
  });

  it('scales with the steps, capped at srtt; 0 before any RTT sample', () => {
    const rack = new RackState();
    rack.reoWndSteps = 2;
    assert.equal(rackReoWnd(rack, sock()), 50 * MS);
    rack.reoWndSteps = 8;
    assert.equal(rackReoWnd(rack, sock()), 100 * MS);
    // no sample: min_rtt 0xffffffff, srtt 0 → 0 (u32 product wraps, the cap wins)
    assert.equal(rackReoWnd(rack, sock({ minRttUs: 0xffffffff, srttUs: 0 })), 0);
  });
});

describe('RACK loss detection', () => {
  it('one SACK above a hole: the hole is lost 27 ms later (RTT 100 ms + 25 ms window + 2 ms)', () => {
    const rack = new RackState();
    const q = new Queue();
    const [r1, r2] = burst(q, 4, 0);
    const tp = sock({ nowUs: 100 * MS, sackedOut: 1 });
    q.sack(rack, tp, r2!);
    assert.equal(rack.advanced, true);
    assert.equal(rack.rttUs, 100 * MS);
    assert.equal(rack.endSeq, 2000);
    assert.equal(rackMarkLost(rack, tp, q, 1_000 * MS), 27 * MS);
    assert.equal(rack.advanced, false);
    assert.equal(q.lost.length, 0);
    // the reordering timer fires: r1 is now 127 ms old > 100 + 25
    tp.nowUs = 127 * MS;
    assert.equal(rackDetectLoss(rack, tp, q), 0);
    assert.deepEqual(q.lost, [r1]);
    assert.equal(r1!.sacked & TCPCB_LOST, TCPCB_LOST);
    // records sent after the reference (r3, r4: higher end_seq at the same time) are untouched
    assert.equal(q.list.length, 2);
  });

  it('three SACKs (dupthresh): the hole is lost at once, no timer', () => {
    const rack = new RackState();
    const q = new Queue();
    const [r1, r2, r3, r4] = burst(q, 4, 0);
    const tp = sock({ nowUs: 100 * MS });
    for (const r of [r2!, r3!, r4!]) { q.sack(rack, tp, r); tp.sackedOut++; }
    assert.equal(rackMarkLost(rack, tp, q, 1_000 * MS), 0);
    assert.deepEqual(q.lost, [r1]);
  });

  it('skips lost records not yet retransmitted, stops at the first sent after the reference', () => {
    const rack = new RackState();
    const q = new Queue();
    const a: Rec = { seq: 0, endSeq: 1000, xmitUs: 0, sacked: TCPCB_LOST }; // RTO-marked, in list
    const b: Rec = { seq: 1000, endSeq: 2000, xmitUs: 10 * MS, sacked: 0 };
    const d: Rec = { seq: 3000, endSeq: 4000, xmitUs: 20 * MS, sacked: 0 };
    const e: Rec = { seq: 2000, endSeq: 3000, xmitUs: 150 * MS, sacked: TCPCB_LOST | TCPCB_RETRANS }; // resent
    q.list.push(a, b, d, e);
    const tp = sock({ nowUs: 200 * MS, sackedOut: 1 });
    q.sack(rack, tp, d); // reference: sent at 20 ms, RTT 180 ms
    assert.equal(rack.rttUs, 180 * MS);
    rackDetectLoss(rack, tp, q);
    // b: 180 + 25 − 190 = 15 ms left; e sent after the reference: loop stops; a skipped
    assert.deepEqual(q.lost, []);
    assert.equal(rackDetectLoss(rack, tp, q), 15 * MS);
    tp.nowUs = 215 * MS;
    rackDetectLoss(rack, tp, q);
    assert.deepEqual(q.lost, [b]);
    // a SACK for the retransmission sent at 150 ms: ambiguity check passes (RTT 65 ms < min_rtt
    // 100 ms and RETRANS set → ignored)
    tp.nowUs = 215 * MS;
    rack.advanced = false;
    rackAdvance(rack, tp, e.sacked, e.endSeq, e.xmitUs);
    assert.equal(rack.advanced, false);
    // a new segment sent at 200 ms and SACKed at 300 ms makes e (resent at 150 ms) old:
    // RTT 100 + 25 − 150 < 0 → its retransmission is lost too
    const f: Rec = { seq: 4000, endSeq: 5000, xmitUs: 200 * MS, sacked: 0 };
    q.list.push(f);
    tp.nowUs = 300 * MS;
    q.sack(rack, tp, f);
    assert.equal(rackMarkLost(rack, tp, q, 1_000 * MS), 0);
    assert.deepEqual(q.lost, [b, e]);
    assert.equal(q.list.length, 1); // only a (lost, awaiting retransmission) remains
  });

  it('the timer is capped at the RTO; nothing advanced means no scan', () => {
    const rack = new RackState();
    const q = new Queue();
    const [, r2] = burst(q, 2, 0);
    const tp = sock({ nowUs: 100 * MS, minRttUs: 4_000 * MS, srttUs: (4_000 * MS) << 3 });
    q.sack(rack, tp, r2!); // RTT 100 ms (below min_rtt, but not a retransmission)
    // window = min(1000 ms, 4000 ms) = 1000 ms: wait 1 s, capped at RTO 300 ms
    assert.equal(rackMarkLost(rack, tp, q, 300 * MS), 300 * MS);
    const scans = q.scans;
    assert.equal(rackMarkLost(rack, tp, q, 300 * MS), 0);
    assert.equal(q.scans, scans);
  });

  it('ties in transmit time go to the higher end_seq; the reference never moves back', () => {
    assert.equal(tcpSkbSentAfter(5, 5, 2000, 1000), true);
    assert.equal(tcpSkbSentAfter(5, 5, 1000, 2000), false);
    assert.equal(tcpSkbSentAfter(6, 5, 1000, 2000), true);
    assert.equal(tcpSkbSentAfter(5, 5, 0x10, 0xfffffff0), true); // sequence wrap
    const rack = new RackState();
    const tp = sock({ nowUs: 500 * MS });
    rackAdvance(rack, tp, 0, 9000, 300 * MS);
    rackAdvance(rack, tp, 0, 5000, 100 * MS); // older: RTT updates, reference stays
    assert.equal(rack.mstamp, 300 * MS);
    assert.equal(rack.endSeq, 9000);
    assert.equal(rack.rttUs, 400 * MS);
    // a retransmission with RTT ≥ min_rtt is not ambiguous
    rackAdvance(rack, tp, TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS, 9500, 350 * MS);
    assert.equal(rack.mstamp, 350 * MS);
  });

  it('adversarial queues: empty, all newer than the reference, clock skew', () => {
    const rack = new RackState();
    const tp = sock({ nowUs: 100 * MS });
    const empty = new Queue();
    rackAdvance(rack, tp, 0, 1000, 0);
    assert.equal(rackMarkLost(rack, tp, empty, 1_000 * MS), 0);
    const q = new Queue();
    burst(q, 5, 50 * MS, 10_000);
    rack.advanced = true;
    assert.equal(rackMarkLost(rack, tp, q, 1_000 * MS), 0);
    assert.equal(q.lost.length, 0);
    // a record stamped in the future (never in practice) is not lost and sets no negative wait
    const r = new RackState();
    const q2 = new Queue();
    q2.list.push({ seq: 0, endSeq: 1000, xmitUs: 900 * MS, sacked: 0 });
    r.mstamp = 950 * MS;
    r.rttUs = 10 * MS;
    r.endSeq = 2000;
    const wait = rackDetectLoss(r, tp, q2);
    assert.ok(wait > 0);
    assert.equal(q2.lost.length, 0);
  });
});

describe('RACK reordering-window adaptation (tcp_rack_update_reo_wnd)', () => {
  it('a DSACK widens the window a step and keeps it for 16 recoveries', () => {
    const rack = new RackState();
    const tp = sock({ delivered: 20 });
    rack.dsackSeen = true;
    rackUpdateReoWnd(rack, tp, 10);
    assert.deepEqual([rack.reoWndSteps, rack.reoWndPersist, rack.lastDelivered, rack.dsackSeen], [2, TCP_RACK_RECOVERY_THRESH, 20, false]);
    // a DSACK within the same round trip (prior_delivered before last_delivered) is ignored
    rack.dsackSeen = true;
    rackUpdateReoWnd(rack, tp, 15);
    assert.deepEqual([rack.reoWndSteps, rack.dsackSeen], [2, false]);
    // persistence: without DSACKs the width stays while reoWndPersist > 0
    rackUpdateReoWnd(rack, tp, 30);
    assert.equal(rack.reoWndSteps, 2);
    rack.reoWndPersist = 0;
    rackUpdateReoWnd(rack, tp, 31);
    assert.equal(rack.reoWndSteps, 1);
  });

  it('static window sysctl and empty samples change nothing; steps saturate at 255', () => {
    const rack = new RackState();
    rack.dsackSeen = true;
    rackUpdateReoWnd(rack, sock({ sysctlRecovery: 1 | TCP_RACK_STATIC_REO_WND }), 10);
    assert.equal(rack.reoWndSteps, 1);
    rackUpdateReoWnd(rack, sock(), 0);
    assert.equal(rack.reoWndSteps, 1);
    assert.equal(rack.dsackSeen, true);
    rack.reoWndSteps = 255;
    rackUpdateReoWnd(rack, sock({ delivered: 5 }), 10);
    assert.equal(rack.reoWndSteps, 255);
    rack.reset();
    assert.deepEqual([rack.reoWndSteps, rack.mstamp, rack.advanced], [1, -1, false]);
  });
});
