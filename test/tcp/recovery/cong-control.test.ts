/**
 * tcp_cong_control / tcp_may_raise_cwnd and the cwnd part of tcp_enter_loss: PRR inside a
 * reduction, growth only on in-order delivery unless the path reorders, ssthresh reduced once
 * per window on RTO (CUBIC 10 → 7), cwnd = in flight + 1, CA_EVENT_LOSS.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tcpCongControl, tcpEnterLossCwnd, tcpMayRaiseCwnd } from '../../../src/tcp/recovery/cong-control.js';
import { tcpInitCwndReduction } from '../../../src/tcp/recovery/prr.js';
import {
  FLAG_DATA, FLAG_DATA_ACKED, FLAG_DATA_SACKED, FLAG_SND_UNA_ADVANCED, FLAG_SYN_ACKED,
} from '../../../src/tcp/recovery/tlp.js';
import { CubicOps } from '../../../src/tcp/cong/cubic.js';
import { RenoOps } from '../../../src/tcp/cong/reno.js';
import { CaEvent, CaState, type CongSock } from '../../../src/tcp/cong/types.js';
import { FakeSock } from '../cong/fake-sock.js';

class EventLog extends RenoOps {
  events: CaEvent[] = [];
  cwndEvent(_tp: CongSock, ev: CaEvent): void { this.events.push(ev); }
}

describe('tcp_may_raise_cwnd', () => {
  it('in-order delivery only, unless reordering exceeds the sysctl (then SACKs count)', () => {
    assert.equal(tcpMayRaiseCwnd(FLAG_DATA_ACKED, 3, 3), true);
    assert.equal(tcpMayRaiseCwnd(FLAG_DATA_SACKED, 3, 3), false);
    assert.equal(tcpMayRaiseCwnd(FLAG_SYN_ACKED, 3, 3), false);
    assert.equal(tcpMayRaiseCwnd(FLAG_DATA, 3, 3), false);
    assert.equal(tcpMayRaiseCwnd(FLAG_DATA_SACKED, 10, 3), true);
    assert.equal(tcpMayRaiseCwnd(FLAG_SYN_ACKED, 10, 3), true);
    assert.equal(tcpMayRaiseCwnd(FLAG_DATA, 10, 3), false);
  });
});

describe('tcp_cong_control', () => {
  it('Open: congestion avoidance on an in-order ACK, nothing on a pure SACK', () => {
    const tp = new FakeSock({ sndCwnd: 10 });
    const ca = new RenoOps();
    tcpCongControl(tp, ca, 1000, 2, 0, FLAG_DATA_ACKED | FLAG_SND_UNA_ADVANCED, 3, 3);
    assert.equal(tp.sndCwnd, 12);
    tcpCongControl(tp, ca, 1000, 2, 0, FLAG_DATA_SACKED, 3, 3);
    assert.equal(tp.sndCwnd, 12);
  });

  it('Recovery: PRR sets cwnd, the algorithm is not asked to grow', () => {
    const tp = new FakeSock({ sndCwnd: 10, caState: CaState.Recovery });
    const ca = new CubicOps();
    ca.init(tp);
    tcpInitCwndReduction(tp, ca);
    tp.packetsInFlight = 6;
    tcpCongControl(tp, ca, 1000, 1, 1, FLAG_DATA_SACKED, 3, 3);
    assert.equal(tp.sndCwnd, 7);
    assert.equal(ca.epochStart, 0);
  });
});

describe('tcp_enter_loss (cwnd part)', () => {
  it('first RTO: prior values kept, ssthresh from the algorithm, cwnd = in flight + 1, LOSS event', () => {
    const tp = new FakeSock({ sndCwnd: 10, sndSsthresh: 0x7fffffff, packetsInFlight: 0, sndCwndCnt: 4 });
    const ca = new EventLog();
    assert.equal(tcpEnterLossCwnd(tp, ca, 0), true);
    assert.deepEqual(
      [tp.priorSsthresh, tp.priorCwnd, tp.sndSsthresh, tp.sndCwnd, tp.sndCwndCnt],
      [0x7fffffff, 10, 5, 1, 0],
    );
    assert.deepEqual(ca.events, [CaEvent.Loss]);
    const cubic = new CubicOps();
    const tq = new FakeSock({ sndCwnd: 10 });
    cubic.init(tq);
    tcpEnterLossCwnd(tq, cubic, 0);
    assert.equal(tq.sndSsthresh, 7);
  });

  it('a repeated RTO in Loss keeps the reduced ssthresh; in-window Recovery too', () => {
    const ca = new EventLog();
    const tp = new FakeSock({ sndCwnd: 1, sndSsthresh: 5, caState: CaState.Loss, highSeq: 9000, sndUna: 1000, packetsInFlight: 1 });
    assert.equal(tcpEnterLossCwnd(tp, ca, 1), false);
    assert.deepEqual([tp.sndSsthresh, tp.sndCwnd], [5, 2]);
    const tr = new FakeSock({ sndCwnd: 7, sndSsthresh: 7, caState: CaState.Recovery, highSeq: 9000, sndUna: 1000 });
    assert.equal(tcpEnterLossCwnd(tr, ca, 0), false);
    assert.equal(tr.sndSsthresh, 7);
    // Loss with no retransmission counted yet, or high_seq already ACKed: reduce again
    const ts = new FakeSock({ sndCwnd: 8, sndSsthresh: 5, caState: CaState.Loss, highSeq: 9000, sndUna: 1000 });
    assert.equal(tcpEnterLossCwnd(ts, ca, 0), true);
    const tu = new FakeSock({ sndCwnd: 8, sndSsthresh: 5, caState: CaState.Recovery, highSeq: 9000, sndUna: 9000 });
    assert.equal(tcpEnterLossCwnd(tu, ca, 0), true);
    assert.equal(tu.sndSsthresh, 4);
    assert.deepEqual(ca.events, [CaEvent.Loss, CaEvent.Loss]);
  });
});
