/**
 * Property tests (fast-check, fixed seeds) over arbitrary event sequences:
 *  - CUBIC / Reno driven through ACKs, SACKs, recoveries, RTOs, idle restarts and undo keep
 *    cwnd, ssthresh and the counters u32 integers with cwnd ≥ 1 and ssthresh ≥ 2, and never
 *    throw;
 *  - RACK marks lost exactly the records the RFC 8985 rule names (sent before the reference,
 *    unacknowledged for RTT + reordering window), and its timer is the longest remaining wait
 *    plus 2 ms rounded up to a jiffy, capped at the RTO.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CubicOps } from '../../../src/tcp/cong/cubic.js';
import { RenoOps } from '../../../src/tcp/cong/reno.js';
import { CwndUsage, tcpCwndRestart } from '../../../src/tcp/cong/cwnd.js';
import { CaEvent, CaState, type CongestionOps } from '../../../src/tcp/cong/types.js';
import { tcpCongControl, tcpEnterLossCwnd } from '../../../src/tcp/recovery/cong-control.js';
import { tcpEndCwndReduction, tcpInitCwndReduction, tcpUndoCwnd } from '../../../src/tcp/recovery/prr.js';
import {
  RackState, TCPCB_LOST, TCPCB_SACKED_RETRANS, rackAdvance, rackMarkLost, rackReoWnd, tcpSkbSentAfter,
  type RackSentQueue, type RackSock,
} from '../../../src/tcp/recovery/rack.js';
import { FLAG_DATA_ACKED, FLAG_DATA_SACKED, FLAG_SND_UNA_ADVANCED } from '../../../src/tcp/recovery/tlp.js';
import { FakeSock } from '../cong/fake-sock.js';

const MS = 1000;

type Ev =
  | { k: 'ack'; acked: number; dtMs: number; rttMs: number; inOrder: boolean }
  | { k: 'recovery' }
  | { k: 'end' }
  | { k: 'rto' }
  | { k: 'undo' }
  | { k: 'idle'; ms: number }
  | { k: 'flight'; n: number };

const evArb: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('ack' as const), acked: fc.integer({ min: 0, max: 64 }), dtMs: fc.integer({ min: 0, max: 3000 }), rttMs: fc.integer({ min: -1, max: 2000 }), inOrder: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'recovery' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'end' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'rto' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'undo' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('idle' as const), ms: fc.integer({ min: 0, max: 100_000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('flight' as const), n: fc.integer({ min: 0, max: 5000 }) }) },
);

function u32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function drive(ca: CongestionOps, evs: Ev[]): void {
  const tp = new FakeSock({ sndCwnd: 10, nowUs: 1_000 * MS, sndNxt: 1, sndUna: 1 });
  const usage = new CwndUsage();
  ca.init(tp);
  for (const e of evs) {
    switch (e.k) {
      case 'ack': {
        tp.nowUs += e.dtMs * MS;
        tp.sndUna = (tp.sndUna + e.acked * 1000) >>> 0;
        tp.sndNxt = (tp.sndUna + tp.packetsInFlight * 1000) >>> 0;
        ca.pktsAcked?.(tp, { pktsAcked: e.acked, rttUs: e.rttMs < 0 ? -1 : e.rttMs * MS, inFlight: tp.packetsInFlight });
        const flag = e.inOrder ? FLAG_DATA_ACKED | FLAG_SND_UNA_ADVANCED : FLAG_DATA_SACKED;
        tcpCongControl(tp, ca, tp.sndUna, e.acked, 0, flag, 3, 3);
        break;
      }
      case 'recovery':
        if (tp.caState < CaState.CWR) {
          tp.priorSsthresh = tp.sndSsthresh;
          tcpInitCwndReduction(tp, ca);
          tp.caState = CaState.Recovery;
          ca.setState?.(tp, CaState.Recovery);
        }
        break;
      case 'end':
        if (tp.caState !== CaState.Open) {
          tcpEndCwndReduction(tp, ca, 1);
          tp.caState = CaState.Open;
          ca.setState?.(tp, CaState.Open);
        }
        break;
      case 'rto':
        tcpEnterLossCwnd(tp, ca, 0);
        tp.caState = CaState.Loss;
        ca.setState?.(tp, CaState.Loss);
        tp.highSeq = tp.sndNxt;
        break;
      case 'undo':
        tcpUndoCwnd(tp, ca);
        break;
      case 'idle':
        tp.lsndtimeMs = tp.nowMs;
        tp.nowUs += e.ms * MS;
        ca.cwndEvent?.(tp, CaEvent.TxStart);
        tcpCwndRestart(tp, usage, ca, e.ms, 200, 10);
        break;
      case 'flight':
        tp.packetsInFlight = e.n;
        break;
    }
    assert.ok(u32(tp.sndCwnd) && tp.sndCwnd >= 1, `cwnd ${tp.sndCwnd} after ${JSON.stringify(e)}`);
    assert.ok(u32(tp.sndSsthresh) && tp.sndSsthresh >= 2, `ssthresh ${tp.sndSsthresh}`);
    assert.ok(u32(tp.sndCwndCnt), `cwnd_cnt ${tp.sndCwndCnt}`);
  }
}

describe('congestion control under arbitrary event sequences', () => {
  it('CUBIC keeps its windows sane', () => {
    fc.assert(fc.property(fc.array(evArb, { maxLength: 200 }), (evs) => {
      const c = new CubicOps();
      drive(c, evs);
      for (const v of [c.cnt, c.lastMaxCwnd, c.bicK, c.bicOriginPoint, c.ackCnt, c.tcpCwnd, c.epochStart, c.delayMin]) {
        assert.ok(u32(v), `cubic field ${v}`);
      }
    }), { seed: 0x5eed, numRuns: 300 });
  });

  it('Reno keeps its windows sane', () => {
    fc.assert(fc.property(fc.array(evArb, { maxLength: 200 }), (evs) => drive(new RenoOps(), evs)),
      { seed: 0xbee, numRuns: 200 });
  });
});

interface Rec { endSeq: number; xmitUs: number; sacked: number; }

class Queue implements RackSentQueue<Rec> {
  constructor(public list: Rec[]) {}
  tsortedFirst(): Rec | null { return this.list[0] ?? null; }
  tsortedNext(s: Rec): Rec | null { return this.list[this.list.indexOf(s) + 1] ?? null; }
  markLost(s: Rec): void {
    s.sacked |= TCPCB_LOST;
    this.list.splice(this.list.indexOf(s), 1);
  }
}

describe('RACK against the RFC 8985 rule', () => {
  it('marks lost exactly the expired records sent before the reference; timer is the longest wait', () => {
    const recArb = fc.record({
      gapUs: fc.integer({ min: 0, max: 50 * MS }),
      state: fc.constantFrom(0, TCPCB_LOST, TCPCB_LOST | TCPCB_SACKED_RETRANS),
    });
    fc.assert(fc.property(
      fc.array(recArb, { minLength: 1, maxLength: 40 }),
      fc.nat(39), fc.integer({ min: 0, max: 500 * MS }), fc.integer({ min: 1, max: 300 * MS }),
      fc.nat(5), fc.integer({ min: 10 * MS, max: 3000 * MS }),
      (specs, refIdx, lateUs, minRtt, sackedOut, rto) => {
        // records in transmit order (times non-decreasing, ties in sequence order)
        let t = 0;
        const recs: Rec[] = specs.map((s, i) => {
          t += s.gapUs;
          return { endSeq: (0xffff0000 + (i + 1) * 1000) >>> 0, xmitUs: t, sacked: s.state };
        });
        const ref = recs[refIdx % recs.length]!;
        const tp: RackSock = {
          nowUs: ref.xmitUs + minRtt + lateUs, minRttUs: minRtt, srttUs: minRtt << 3, reordSeen: false,
          caState: CaState.Open, sackedOut, reordering: 3, sysctlRecovery: 1, delivered: 0,
        };
        const rack = new RackState();
        const q = new Queue(recs.filter((r) => r !== ref));
        rackAdvance(rack, tp, 0, ref.endSeq, ref.xmitUs);
        const wnd = rackReoWnd(rack, tp);
        const before = q.list.slice();
        const state = before.map((r) => r.sacked);
        const timer = rackMarkLost(rack, tp, q, rto);
        let longest = 0;
        for (let i = 0; i < before.length; i++) {
          const r = before[i]!;
          const sacked = state[i]!;
          const skip = (sacked & TCPCB_LOST) !== 0 && (sacked & TCPCB_SACKED_RETRANS) === 0;
          const older = tcpSkbSentAfter(ref.xmitUs, r.xmitUs, ref.endSeq, r.endSeq);
          const remaining = rack.rttUs + wnd - (tp.nowUs - r.xmitUs);
          const lost = !skip && older && remaining <= 0;
          assert.equal(!q.list.includes(r), lost, `record sent at ${r.xmitUs}`);
          if (!skip && older && remaining > 0) longest = Math.max(longest, remaining);
        }
        const want = longest === 0 ? 0 : Math.min(Math.ceil((longest + 2000) / 1000) * 1000, rto);
        assert.equal(timer, want);
      },
    ), { seed: 0x8985, numRuns: 500 });
  });
});
