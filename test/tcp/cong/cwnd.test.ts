/**
 * cwnd moderation as Linux: tcp_is_cwnd_limited (slow start allows twice the flight),
 * tcp_cwnd_validate's per-window tracking and the application-limited shrink, slow start
 * after idle (tcp_cwnd_restart halving once per RTO down to the initial window) and
 * tcp_current_ssthresh. Numbers by hand.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CwndUsage, tcpCurrentSsthresh, tcpCwndRestart, tcpCwndValidate, tcpInCwndReduction,
  tcpIsCwndLimited, tcpSlowStartAfterIdleCheck,
} from '../../../src/tcp/cong/cwnd.js';
import { CaEvent, CaState, type CongSock, type CongestionOps } from '../../../src/tcp/cong/types.js';
import { RenoOps } from '../../../src/tcp/cong/reno.js';
import { FakeSock } from './fake-sock.js';

const MS = 1000;

class EventLog extends RenoOps {
  events: CaEvent[] = [];
  cwndEvent(_tp: CongSock, ev: CaEvent): void { this.events.push(ev); }
}

describe('tcp_is_cwnd_limited', () => {
  it('true when the last flight hit cwnd; in slow start while cwnd < 2 · max_packets_out', () => {
    const u = new CwndUsage();
    const tp = new FakeSock({ sndCwnd: 20, sndSsthresh: 0x7fffffff });
    assert.equal(tcpIsCwndLimited(tp, u), false);
    u.maxPacketsOut = 11;
    assert.equal(tcpIsCwndLimited(tp, u), true); // 20 < 22
    u.maxPacketsOut = 10;
    assert.equal(tcpIsCwndLimited(tp, u), false); // 20 < 20 is false
    tp.sndSsthresh = 20; // congestion avoidance: only the flag counts
    u.maxPacketsOut = 15;
    assert.equal(tcpIsCwndLimited(tp, u), false);
    u.isCwndLimited = true;
    assert.equal(tcpIsCwndLimited(tp, u), true);
  });
});

describe('tcp_cwnd_validate', () => {
  it('tracks the strongest use within a window, restarting it once snd_una passes', () => {
    const u = new CwndUsage();
    const tp = new FakeSock({ sndCwnd: 20, sndSsthresh: 20, packetsOut: 5, sndUna: 100, sndNxt: 200 });
    tcpCwndValidate(tp, u, false, false); // snd_una ≥ usage seq (0): new window
    assert.deepEqual([u.isCwndLimited, u.maxPacketsOut, u.cwndUsageSeq], [false, 5, 200]);
    tp.packetsOut = 8;
    tcpCwndValidate(tp, u, false, false); // more out, not limited: max grows
    assert.equal(u.maxPacketsOut, 8);
    tp.packetsOut = 20;
    tcpCwndValidate(tp, u, true, false);
    assert.deepEqual([u.isCwndLimited, u.maxPacketsOut], [true, 20]);
    tp.packetsOut = 3;
    tcpCwndValidate(tp, u, false, false); // same window: the limited flag sticks
    assert.equal(u.isCwndLimited, true);
    tp.sndUna = 200;
    tcpCwndValidate(tp, u, false, false); // window over
    assert.deepEqual([u.isCwndLimited, u.maxPacketsOut], [false, 3]);
    assert.equal(u.sndCwndUsed, 3);
  });

  it('application-limited for an RTO in Open: cwnd halfway down to what was used', () => {
    const u = new CwndUsage();
    const tp = new FakeSock({ sndCwnd: 40, sndSsthresh: 20, packetsOut: 12, rtoMs: 200, nowUs: 1000 * MS });
    u.sndCwndStamp = 800;
    tcpCwndValidate(tp, u, false, true);
    // used 12 (≥ init 10) < 40: ssthresh = max(20, 20 + 10) = 30, cwnd = (40 + 12) / 2 = 26
    assert.equal(tp.sndSsthresh, 30);
    assert.equal(tp.sndCwnd, 26);
    assert.equal(u.sndCwndUsed, 0);
    assert.equal(u.sndCwndStamp, 1000);
  });

  it('no shrink with the sysctl off, before an RTO passed, outside Open, or when sndbuf-limited', () => {
    const cases: Array<[Partial<FakeSock>, boolean, number]> = [
      [{}, false, 800],
      [{}, true, 801],
      [{ caState: CaState.Disorder }, true, 800],
      [{ sndBufAvailable: false }, true, 800],
    ];
    for (const [init, sysctl, stamp] of cases) {
      const u = new CwndUsage();
      u.sndCwndStamp = stamp;
      const tp = new FakeSock({ sndCwnd: 40, sndSsthresh: 20, packetsOut: 12, rtoMs: 200, nowUs: 1000 * MS, ...init });
      tcpCwndValidate(tp, u, false, sysctl);
      assert.equal(tp.sndCwnd, 40, JSON.stringify(init));
    }
  });
});

describe('slow start after idle (tcp_cwnd_restart)', () => {
  it('halves once per RTO idle, down to the initial window', () => {
    const ca = new EventLog();
    const u = new CwndUsage();
    const tp = new FakeSock({ sndCwnd: 80, sndSsthresh: 50 });
    // idle 700 ms, RTO 200: 500 > 0 → 40, 300 → 20, 100 → 10, −100 stop
    tcpCwndRestart(tp, u, ca, 700, 200, 10);
    assert.equal(tp.sndCwnd, 10);
    assert.equal(tp.sndSsthresh, 60); // max(50, 40 + 20)
    assert.deepEqual(ca.events, [CaEvent.CwndRestart]);
    const tq = new FakeSock({ sndCwnd: 80, sndSsthresh: 50 });
    tcpCwndRestart(tq, u, ca, 450, 200, 10); // 250 → 40, 50 → 20, −150 stop
    assert.equal(tq.sndCwnd, 20);
    const tr = new FakeSock({ sndCwnd: 6 });
    tcpCwndRestart(tr, u, ca, 10_000, 200, 10); // restart window min(10, 6): unchanged
    assert.equal(tr.sndCwnd, 6);
  });

  it('the idle check: only with the sysctl, nothing in flight and idle longer than the RTO', () => {
    const ca: CongestionOps = new RenoOps();
    const mk = (init: Partial<FakeSock>): FakeSock =>
      new FakeSock({ sndCwnd: 80, packetsOut: 0, rtoMs: 200, lsndtimeMs: 1000, nowUs: 1700 * MS, ...init });
    const u = new CwndUsage();
    let tp = mk({});
    tcpSlowStartAfterIdleCheck(tp, u, ca, false);
    assert.equal(tp.sndCwnd, 80);
    tp = mk({ packetsOut: 1 });
    tcpSlowStartAfterIdleCheck(tp, u, ca, true);
    assert.equal(tp.sndCwnd, 80);
    tp = mk({ nowUs: 1200 * MS });
    tcpSlowStartAfterIdleCheck(tp, u, ca, true); // 200 is not > 200
    assert.equal(tp.sndCwnd, 80);
    tp = mk({});
    tcpSlowStartAfterIdleCheck(tp, u, ca, true); // idle 700
    assert.equal(tp.sndCwnd, 10);
  });
});

describe('tcp_current_ssthresh / tcp_in_cwnd_reduction', () => {
  it('3/4 of cwnd outside a reduction, ssthresh within one', () => {
    assert.equal(tcpCurrentSsthresh(new FakeSock({ sndCwnd: 40, sndSsthresh: 20 })), 30);
    assert.equal(tcpCurrentSsthresh(new FakeSock({ sndCwnd: 40, sndSsthresh: 35 })), 35);
    assert.equal(tcpCurrentSsthresh(new FakeSock({ sndCwnd: 40, sndSsthresh: 20, caState: CaState.Recovery })), 20);
    assert.deepEqual(
      [CaState.Open, CaState.Disorder, CaState.CWR, CaState.Recovery, CaState.Loss].map(tcpInCwndReduction),
      [false, false, true, true, false],
    );
  });
});
