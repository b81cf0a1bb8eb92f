/**
 * PRR (RFC 6937) as Linux tcp_cwnd_reduction, numbers by hand: the proportional part spreads
 * the reduction over one round (RFC 6937's example: ssthresh 10 of prior 20 sends one segment
 * per two delivered), the slow-start reduction bound when snd_una advances without new loss,
 * the conservative bound otherwise, the forced fast retransmit, entry (ssthresh from the
 * algorithm: CUBIC cwnd 10 → 7, the packetdrill `cwnd 7 in Recovery`), exit and undo.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  tcpCwndReduction, tcpEndCwndReduction, tcpInitCwndReduction, tcpUndoCwnd,
} from '../../../src/tcp/recovery/prr.js';
import { CubicOps } from '../../../src/tcp/cong/cubic.js';
import { RenoOps } from '../../../src/tcp/cong/reno.js';
import { CaEvent, CaState, type CongSock } from '../../../src/tcp/cong/types.js';
import { FakeSock } from '../cong/fake-sock.js';

class EventLog extends RenoOps {
  events: CaEvent[] = [];
  cwndEvent(_tp: CongSock, ev: CaEvent): void { this.events.push(ev); }
}

describe('tcp_init_cwnd_reduction', () => {
  it('records the reduction start and takes ssthresh from the algorithm', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndCwndCnt: 5, sndNxt: 7777, tlpHighSeq: 99, prrOut: 3, prrDelivered: 4 });
    const cubic = new CubicOps();
    cubic.init(tp);
    tcpInitCwndReduction(tp, cubic);
    assert.deepEqual(
      [tp.highSeq, tp.tlpHighSeq, tp.sndCwndCnt, tp.priorCwnd, tp.prrDelivered, tp.prrOut, tp.sndSsthresh],
      [7777, 0, 0, 10, 0, 0, 7],
    );
  });
});

describe('tcp_cwnd_reduction', () => {
  it('first dupACK of a recovery: cwnd = in flight + 1 (CUBIC 10 → 7 in Recovery)', () => {
    const tp = new FakeSock({ sndCwnd: 10, caState: CaState.Recovery });
    tcpInitCwndReduction(tp, new CubicOps());
    tp.packetsInFlight = 6; // 10 out, 3 SACKed, 1 lost
    tcpCwndReduction(tp, 1, 1, false);
    // delta = 7 − 6 = 1 ≥ 0: max(1 − 0, 1) = 1, no SSRB (snd_una did not move), min(1, 1)
    assert.equal(tp.sndCwnd, 7);
    assert.equal(tp.prrDelivered, 1);
  });

  it('proportional part: RFC 6937’s example sends one segment per two delivered', () => {
    const tp = new FakeSock({ sndCwnd: 20, caState: CaState.Recovery });
    tcpInitCwndReduction(tp, new RenoOps()); // ssthresh 10
    assert.equal(tp.sndSsthresh, 10);
    let inFlight = 19; // one segment lost
    const sent: number[] = [];
    for (let ack = 0; ack < 18; ack++) {
      inFlight -= 1; // this ACK delivers (SACKs) one segment
      tp.packetsInFlight = inFlight;
      tcpCwndReduction(tp, 1, 0, false);
      const n = Math.max(0, tp.sndCwnd - inFlight);
      sent.push(n);
      inFlight += n;
      tp.prrOut += n;
    }
    // ACKs 1–16, in flight above ssthresh: ⌈d·10/20⌉ − out = 1,0,1,0,… (in flight 19 → 11);
    // ACK 17 leaves exactly ssthresh in flight: min(10 − 10, …) = 0; ACK 18: packet
    // conservation, min(10 − 9, max(18 − 8, 1)) = 1
    assert.deepEqual(sent, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1]);
    assert.equal(tp.prrOut, 9);
    assert.equal(inFlight, 10);
    inFlight -= 1;
    tp.packetsInFlight = inFlight;
    tcpCwndReduction(tp, 1, 0, false);
    // delta = 10 − 9 = 1: max(19 − 9, 1) = 10, min(1, 10) = 1 → cwnd 10
    assert.equal(tp.sndCwnd, 10);
  });

  it('slow-start reduction bound: snd_una advanced, no new loss → one more than delivered', () => {
    const tp = new FakeSock({ sndCwnd: 20, caState: CaState.Recovery });
    tcpInitCwndReduction(tp, new RenoOps()); // ssthresh 10
    tp.prrOut = 5;
    tp.prrDelivered = 5;
    tp.packetsInFlight = 4; // far below ssthresh after losses
    tcpCwndReduction(tp, 2, 0, true);
    // delta 6; max(7 − 5, 2) = 2, +1 (SSRB) = 3, min(6, 3) → cwnd 4 + 3
    assert.equal(tp.sndCwnd, 7);
    // a big cumulative ACK is capped at ssthresh − in flight
    tp.packetsInFlight = 4;
    tcpCwndReduction(tp, 9, 0, true);
    assert.equal(tp.sndCwnd, 10);
  });

  it('conservative bound: no SSRB when the ACK marked new losses or did not move snd_una', () => {
    for (const [lost, advanced] of [[1, true], [0, false]] as const) {
      const tp = new FakeSock({ sndCwnd: 20, caState: CaState.Recovery });
      tcpInitCwndReduction(tp, new RenoOps());
      tp.prrOut = 5;
      tp.prrDelivered = 5;
      tp.packetsInFlight = 4;
      tcpCwndReduction(tp, 2, lost, advanced);
      assert.equal(tp.sndCwnd, 6, `lost ${lost} advanced ${advanced}`); // 4 + max(2, 2)
    }
  });

  it('forces one segment (the fast retransmit) while nothing was sent in the recovery', () => {
    const tp = new FakeSock({ sndCwnd: 20, caState: CaState.Recovery });
    tcpInitCwndReduction(tp, new RenoOps());
    tp.packetsInFlight = 30; // far above ssthresh: proportional part ⌈1·10/20⌉ = 1
    tcpCwndReduction(tp, 1, 0, false);
    assert.equal(tp.sndCwnd, 31);
    tp.prrOut = 1;
    tp.packetsInFlight = 30;
    tcpCwndReduction(tp, 1, 0, false); // ⌈2·10/20⌉ − 1 = 0
    assert.equal(tp.sndCwnd, 30);
    tp.prrOut = 5; // sent more than allowed: negative sndcnt is clamped to 0 once prr_out > 0
    tcpCwndReduction(tp, 1, 0, false);
    assert.equal(tp.sndCwnd, 30);
  });

  it('ignores ACKs delivering nothing and a reduction never initialised', () => {
    const tp = new FakeSock({ sndCwnd: 20, caState: CaState.Recovery });
    tp.packetsInFlight = 5;
    tcpCwndReduction(tp, 3, 0, true); // prior_cwnd 0
    assert.equal(tp.sndCwnd, 20);
    tcpInitCwndReduction(tp, new RenoOps());
    tcpCwndReduction(tp, 0, 0, true);
    tcpCwndReduction(tp, -4, 0, true);
    assert.equal(tp.sndCwnd, 20);
    assert.equal(tp.prrDelivered, 0);
  });
});

describe('tcp_end_cwnd_reduction and undo', () => {
  it('CWR and a not-undone Recovery end at ssthresh; COMPLETE_CWR goes to the algorithm', () => {
    const ca = new EventLog();
    const cwr = new FakeSock({ sndCwnd: 4, sndSsthresh: 7, caState: CaState.CWR });
    tcpEndCwndReduction(cwr, ca, 0);
    assert.equal(cwr.sndCwnd, 7);
    const rec = new FakeSock({ sndCwnd: 4, sndSsthresh: 7, caState: CaState.Recovery });
    tcpEndCwndReduction(rec, ca, 1234);
    assert.equal(rec.sndCwnd, 7);
    const undone = new FakeSock({ sndCwnd: 10, sndSsthresh: 7, caState: CaState.Recovery });
    tcpEndCwndReduction(undone, ca, 0);
    assert.equal(undone.sndCwnd, 10);
    const inf = new FakeSock({ sndCwnd: 4, sndSsthresh: 0x7fffffff, caState: CaState.CWR });
    tcpEndCwndReduction(inf, ca, 1);
    assert.equal(inf.sndCwnd, 4);
    assert.deepEqual(ca.events, [CaEvent.CompleteCwr, CaEvent.CompleteCwr, CaEvent.CompleteCwr, CaEvent.CompleteCwr]);
  });

  it('undo restores cwnd through the algorithm and a larger prior ssthresh', () => {
    const tp = new FakeSock({ sndCwnd: 10, caState: CaState.Recovery });
    const ca = new CubicOps();
    ca.init(tp);
    tp.priorSsthresh = 0x7fffffff;
    tcpInitCwndReduction(tp, ca);
    tp.sndCwnd = 7;
    assert.equal(tcpUndoCwnd(tp, ca), true);
    assert.equal(tp.sndCwnd, 10); // max(7, prior_cwnd 10)
    assert.equal(tp.sndSsthresh, 0x7fffffff);
    const tq = new FakeSock({ sndCwnd: 5, sndSsthresh: 7, priorCwnd: 10, priorSsthresh: 0 });
    assert.equal(tcpUndoCwnd(tq, ca), false); // undo not possible (ECE)
    assert.equal(tq.sndCwnd, 5);
    const tr = new FakeSock({ sndCwnd: 5, sndSsthresh: 7, priorCwnd: 10, priorSsthresh: 6 });
    assert.equal(tcpUndoCwnd(tr, ca), false);
    assert.deepEqual([tr.sndCwnd, tr.sndSsthresh], [10, 7]);
  });
});
