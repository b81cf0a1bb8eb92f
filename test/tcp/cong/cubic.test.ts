/**
 * CUBIC against Linux tcp_cubic.c, with the expected numbers worked by hand from the kernel's
 * fixed-point formulas (comments show the arithmetic): scale factors, cubic_root, the u64
 * `cube_rtt_scale · offs³ >> 40` (checked against an exact BigInt evaluation, wrap-around
 * included), ssthresh with fast convergence, cwnd trajectories in the concave and
 * Reno-friendly regions, HyStart (delay increase and ACK train, low window), the idle epoch
 * shift, the loss reset and adversarial inputs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CUBIC_DEFAULTS, CubicOps, createCubic, cubicDelta, cubicFactory, cubicRoot, usecsToJiffies,
} from '../../../src/tcp/cong/cubic.js';
import { CaEvent, CaState } from '../../../src/tcp/cong/types.js';
import { CwndUsage, tcpCwndValidate, tcpIsCwndLimited } from '../../../src/tcp/cong/cwnd.js';
import { tcpEnterLossCwnd } from '../../../src/tcp/recovery/cong-control.js';
import { FakeSock } from './fake-sock.js';

const MS = 1000;
/** HYSTART_MIN_SAMPLES */
const HYSTART_MIN = 8;

/** exact `(u32)((scale · offs³ mod 2^64) >> 40)` */
function deltaRef(scale: number, offs: number): number {
  const p = BigInt.asUintN(64, BigInt(scale) * BigInt(offs) ** 3n);
  return Number(BigInt.asUintN(32, p >> 40n));
}

describe('CUBIC fixed point', () => {
  it('precomputed factors are Linux’s: beta_scale 15, cube_rtt_scale 410, cube_factor 2^40/410', () => {
    const c = new CubicOps();
    assert.equal(c.betaScale, 15); // 8·1741 = 13928, /3 = 4642, /307 = 15
    assert.equal(c.cubeRttScale, 410);
    assert.equal(c.cubeFactor, 2681735677); // 1099511627776 / 410 = 2681735677.5
  });

  it('cubic_root: table for small values, one Newton step otherwise', () => {
    assert.equal(cubicRoot(0), 0); // (0 + 35) >> 6
    assert.equal(cubicRoot(1), 1); // (54 + 35) >> 6
    assert.equal(cubicRoot(8), 2); // (123 + 35) >> 6
    assert.equal(cubicRoot(27), 3); // (190 + 35) >> 6
    assert.equal(cubicRoot(63), 4); // (254 + 35) >> 6
    // a = cube_factor·10: fls 35, b = (35·84 >> 8) − 1 = 10, shift = a >> 30 = 24, v = 181,
    // x = (191 << 10) >> 6 = 3056; a / (3056·3055) = 2872; x = 8984; 8984·341 >> 10 = 2991
    assert.equal(cubicRoot(2681735677 * 10), 2991);
    // a = cube_factor·30: fls 37, b = 11, shift 9, v = 129, x = 139·32 = 4448;
    // a / (4448·4447) = 4067; x = 12963; 12963·341 >> 10 = 4316
    assert.equal(cubicRoot(2681735677 * 30), 4316);
  });

  it('cubic_root stays within 1% (or 1) of the true cube root across the range, BigInt path too', () => {
    for (const a of [64, 1000, 123456, 2 ** 40, 2 ** 52 + 12345, 2 ** 60, 2n ** 63n + 5n]) {
      const got = cubicRoot(a);
      const want = Math.cbrt(Number(a));
      assert.ok(Math.abs(got - want) <= Math.max(1, want * 0.01), `cbrt(${a}) = ${got}, want ≈ ${want}`);
    }
    // 123456: fls 17, b 4, shift 30, v 197, x = 207·16 >> 6 = 51; 123456 / 2550 = 48;
    // x = 150; 150·341 >> 10 = 49 (the kernel rounds down)
    assert.equal(cubicRoot(123456), 49);
    // the two paths agree where both apply
    assert.equal(cubicRoot(2 ** 52), cubicRoot(2n ** 52n));
  });

  it('the u64 delta: C = 0.4 over 10 s is 400 segments; wraps modulo 2^64 like C', () => {
    assert.equal(cubicDelta(410, 1024), 0); // 410·2^30 >> 40 = 0.4
    assert.equal(cubicDelta(410, 2048), 3); // 410·2^33 >> 40 = 3.2
    assert.equal(cubicDelta(410, 10240), 400); // 410·10240³ / 2^40 = 400.39
    assert.equal(cubicDelta(410, 2 ** 22), 0); // 410·2^66 ≡ 0 (mod 2^64)
    for (const o of [0, 1, 1389, 4214, 65535, 65536, 2 ** 20 + 7, 2 ** 21 + 1, 3_000_000, 2 ** 32 - 1, 2 ** 40 + 3]) {
      assert.equal(cubicDelta(410, o), deltaRef(410, o), `offs ${o}`);
    }
  });

  it('usecs_to_jiffies rounds up', () => {
    assert.equal(usecsToJiffies(0), 0);
    assert.equal(usecsToJiffies(1), 1);
    assert.equal(usecsToJiffies(100000), 100);
    assert.equal(usecsToJiffies(100001), 101);
  });
});

describe('CUBIC ssthresh and undo', () => {
  it('beta 717/1024 with W_max, fast convergence below the last maximum', () => {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 10 });
    c.init(tp);
    assert.equal(c.ssthresh(tp), 7); // 10·717/1024 = 7.002
    assert.equal(c.lastMaxCwnd, 10);
    tp.sndCwnd = 7; // below the last maximum: W_max = 7·1741/2048 = 5.95 → 5
    assert.equal(c.ssthresh(tp), 4); // 7·717/1024 = 4.9
    assert.equal(c.lastMaxCwnd, 5);
    tp.sndCwnd = 2;
    assert.equal(c.ssthresh(tp), 2); // 1.4 → at least 2
    tp.sndCwnd = 100;
    assert.equal(c.ssthresh(tp), 70); // 70.02
    assert.equal(c.epochStart, 0);
  });

  it('undo is tcp_reno_undo_cwnd: max(cwnd, prior_cwnd)', () => {
    const c = createCubic();
    assert.equal(c.undoCwnd(new FakeSock({ sndCwnd: 7, priorCwnd: 10 })), 10);
    assert.equal(c.undoCwnd(new FakeSock({ sndCwnd: 12, priorCwnd: 10 })), 12);
  });
});

/** a socket just out of a loss at cwnd 100: ssthresh 70, cwnd 70, min delay 100 ms */
function afterLoss(): { c: CubicOps; tp: FakeSock } {
  const c = new CubicOps();
  const tp = new FakeSock({ sndCwnd: 100, nowUs: 5_000 * MS });
  c.init(tp);
  tp.sndSsthresh = c.ssthresh(tp);
  tp.sndCwnd = tp.sndSsthresh;
  c.pktsAcked(tp, { pktsAcked: 1, rttUs: 100_000, inFlight: 70 });
  return { c, tp };
}

describe('CUBIC congestion avoidance trajectories', () => {
  it('concave region after a loss: K, target and cnt as the kernel computes them', () => {
    const { c, tp } = afterLoss();
    assert.equal(tp.sndCwnd, 70);
    assert.equal(c.delayMin, 100_000);
    c.congAvoid(tp, 0, 1);
    // epoch starts: K = cubic_root(cube_factor·30) = 4316, origin 100;
    // t = (0 + 100 ms)·1024/1000 = 102; offs = 4214; 410·4214³ >> 40 = 27;
    // target 100 − 27 = 73 > 70: cnt = 70 / 3 = 23
    assert.equal(c.bicK, 4316);
    assert.equal(c.bicOriginPoint, 100);
    assert.equal(c.epochStart, 5000);
    assert.equal(c.cnt, 23);
    assert.equal(tp.sndCwndCnt, 1);
    // 22 more ACKs in the same ms: no recomputation; the 23rd credit adds a segment
    for (let i = 0; i < 21; i++) c.congAvoid(tp, 0, 1);
    assert.equal(tp.sndCwnd, 70);
    c.congAvoid(tp, 0, 1);
    assert.equal(tp.sndCwnd, 71);
    assert.equal(tp.sndCwndCnt, 0);
    assert.equal(c.ackCnt, 23);
    // 100 ms later: t = 200·1024/1000 = 204; offs 4112; 410·4112³ >> 40 = 25;
    // target 75: cnt = 71 / 4 = 17 (Reno estimate: 24 ACKs < (71·15) >> 3 = 133)
    tp.nowUs += 100 * MS;
    c.congAvoid(tp, 0, 1);
    assert.equal(c.cnt, 17);
    assert.equal(c.ackCnt, 24);
    assert.equal(c.tcpCwnd, 70);
  });

  it('Reno-friendly region: the Reno estimate takes over when the cubic curve is flat', () => {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 20, sndSsthresh: 20, nowUs: 10_000 * MS });
    c.init(tp);
    c.lastMaxCwnd = 20; // K = 0, origin 20: the curve is flat for the first 1.3 s
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 100_000, inFlight: 20 });
    // ACKs every 32 ms (just over HZ/32, so cnt is recomputed each time); until t reaches
    // 1389/1024 s, 410·t³ >> 40 is 0: target = 20, cnt = 100·20 = 2000
    for (let k = 1; k <= 37; k++) {
      c.congAvoid(tp, 0, 1);
      assert.equal(tp.sndCwnd, 20, `ack ${k}`);
      assert.equal(c.cnt, 2000, `ack ${k}`);
      tp.nowUs += 32 * MS;
    }
    // ack 38: ack_cnt 38 > (20·15) >> 3 = 37: Reno cwnd 21 > 20 → cnt = 20 / 1 = 20, and the
    // 37 credits already counted exceed it: cwnd 21
    c.congAvoid(tp, 0, 1);
    assert.equal(c.tcpCwnd, 21);
    assert.equal(c.cnt, 20);
    assert.equal(tp.sndCwnd, 21);
    assert.equal(tp.sndCwndCnt, 1);
  });

  it('first epoch without a loss caps cnt at 20 (5% per RTT), and at least 2 always', () => {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 40, sndSsthresh: 40, nowUs: 1_000 * MS });
    c.init(tp);
    c.congAvoid(tp, 0, 1); // last_max 0 → K 0, origin 40, target 40: cnt 4000 → 20
    assert.equal(c.cnt, 20);
    // a huge stretch of time: the target far above cwnd still grows at most 1 per 2 ACKs
    tp.nowUs += 100_000 * MS;
    c.congAvoid(tp, 0, 1);
    assert.equal(c.cnt, 2);
  });

  it('slow start grows by the ACKed segments and hands the leftover to CUBIC', () => {
    const c = new CubicOps(Object.freeze({ ...CUBIC_DEFAULTS, hystart: false }));
    const tp = new FakeSock({ sndCwnd: 10, sndSsthresh: 12, nowUs: 1_000 * MS });
    c.init(tp);
    c.congAvoid(tp, 0, 1);
    assert.equal(tp.sndCwnd, 11);
    assert.equal(c.epochStart, 0); // nothing left over: no CUBIC update
    c.congAvoid(tp, 0, 3); // 1 to reach 12, 2 left for CUBIC
    assert.equal(tp.sndCwnd, 12);
    assert.equal(c.epochStart, 1000);
    assert.equal(tp.sndCwndCnt, 2);
  });

  it('not cwnd-limited: no growth at all', () => {
    const { c, tp } = afterLoss();
    tp.isCwndLimited = false;
    for (let i = 0; i < 100; i++) c.congAvoid(tp, 0, 1);
    assert.equal(tp.sndCwnd, 70);
    assert.equal(c.epochStart, 0);
  });
});

describe('CUBIC events', () => {
  it('TxStart after idle shifts the epoch by the idle time, never past now', () => {
    const { c, tp } = afterLoss();
    c.congAvoid(tp, 0, 1);
    assert.equal(c.epochStart, 5000);
    tp.lsndtimeMs = 5100;
    tp.nowUs = 5300 * MS;
    c.cwndEvent(tp, CaEvent.TxStart);
    assert.equal(c.epochStart, 5200);
    // an idle time longer than the epoch age clamps the epoch to now
    tp.lsndtimeMs = 0;
    tp.nowUs = 6000 * MS;
    c.cwndEvent(tp, CaEvent.TxStart);
    assert.equal(c.epochStart, 6000);
    // other events and no epoch: nothing
    c.cwndEvent(tp, CaEvent.CompleteCwr);
    assert.equal(c.epochStart, 6000);
    const d = new CubicOps();
    d.init(tp);
    d.cwndEvent(tp, CaEvent.TxStart);
    assert.equal(d.epochStart, 0);
  });

  it('setState(Loss) resets the state and starts a new HyStart round; other states keep it', () => {
    const { c, tp } = afterLoss();
    c.congAvoid(tp, 0, 1);
    c.setState(tp, CaState.Recovery);
    assert.equal(c.lastMaxCwnd, 100);
    tp.sndNxt = 12345;
    c.setState(tp, CaState.Loss);
    assert.equal(c.lastMaxCwnd, 0);
    assert.equal(c.epochStart, 0);
    assert.equal(c.delayMin, 0);
    assert.equal(c.endSeq, 12345);
    assert.equal(c.currRtt, 0xffffffff);
  });

  it('delay samples are ignored within 1 s of an epoch start, and negative RTTs always', () => {
    const { c, tp } = afterLoss();
    c.congAvoid(tp, 0, 1); // epoch at 5000 ms
    tp.nowUs = 5999 * MS;
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 50_000, inFlight: 70 });
    assert.equal(c.delayMin, 100_000);
    tp.nowUs = 6000 * MS;
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: -1, inFlight: 70 });
    assert.equal(c.delayMin, 100_000);
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 50_000, inFlight: 70 });
    assert.equal(c.delayMin, 50_000);
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 0, inFlight: 70 });
    assert.equal(c.delayMin, 1); // a zero RTT counts as 1 µs
  });
});

describe('HyStart', () => {
  function slowStart(cwnd: number): { c: CubicOps; tp: FakeSock } {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: cwnd, nowUs: 1_000 * MS, sndNxt: 1000, sndUna: 0 });
    c.init(tp);
    return { c, tp };
  }

  it('delay: a round whose minimum RTT exceeds the previous minimum by 16 ms exits slow start', () => {
    const { c, tp } = slowStart(20);
    // round 1: RTT 200 ms (delay_min 200 ms; threshold clamp(200/8, 4, 16) = 16 ms)
    for (let i = 0; i < 4; i++) {
      tp.nowUs += 10 * MS; // ACKs 10 ms apart: no ACK train
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: 200_000, inFlight: 20 });
    }
    assert.equal(c.delayMin, 200_000);
    // a new round: snd_una passes the round's end
    tp.sndUna = 1001;
    tp.sndNxt = 5000;
    const rtts = [216_000, 216_000, 216_000, 216_000, 216_000, 216_000, 216_000, 216_000, 216_000];
    for (const r of rtts) {
      tp.nowUs += 10 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: r, inFlight: 20 });
    }
    // 216 ms is not above 200 + 16: still in slow start after the 9th sample
    assert.equal(c.found, false);
    assert.equal(tp.sndSsthresh, 0x7fffffff);
    tp.sndUna = 5001;
    tp.sndNxt = 9000;
    tp.sndCwnd = 36;
    for (let i = 0; i < 8; i++) {
      tp.nowUs += 10 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: 217_000, inFlight: 36 });
      assert.equal(c.found, false, `sample ${i + 1} of ${HYSTART_MIN}`);
    }
    tp.nowUs += 10 * MS;
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 217_000, inFlight: 36 });
    assert.equal(c.found, true);
    assert.equal(tp.sndSsthresh, 36); // ssthresh = cwnd
  });

  it('ACK train: closely spaced ACKs spanning half the minimum delay exit slow start', () => {
    const { c, tp } = slowStart(16);
    // delay_min 10 ms; threshold (10 ms + 0 pacing cushion) / 2 = 5 ms from the round start
    for (let i = 1; i <= 5; i++) {
      tp.nowUs += 1 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: 10_000, inFlight: 16 });
      assert.equal(c.found, false, `ack ${i}`);
    }
    tp.nowUs += 1 * MS; // 6 ms > 5 ms
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 10_000, inFlight: 16 });
    assert.equal(c.found, true);
    assert.equal(tp.sndSsthresh, 16);
  });

  it('ACK train with pacing: no halving, plus the GSO cushion (at most 1 ms)', () => {
    const { c, tp } = slowStart(16);
    tp.pacingEnabled = true;
    tp.pacingRate = 1_000_000_000; // 65536·4·1e6 / 1e9 = 262 µs cushion
    // threshold 10000 + 262 = 10262 µs
    for (let i = 1; i <= 10; i++) {
      tp.nowUs += 1 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: 10_000, inFlight: 16 });
    }
    assert.equal(c.found, false); // 10000 ≤ 10262
    tp.nowUs += 1 * MS;
    c.pktsAcked(tp, { pktsAcked: 1, rttUs: 10_000, inFlight: 16 });
    assert.equal(c.found, true);
  });

  it('a gap over 2 ms breaks the train; below hystart_low_window nothing is detected', () => {
    const { c, tp } = slowStart(16);
    for (let i = 0; i < 20; i++) {
      tp.nowUs += 3 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: 10_000, inFlight: 16 });
    }
    assert.equal(c.found, false);
    const s = slowStart(15);
    for (let i = 0; i < 20; i++) {
      s.tp.nowUs += 1 * MS;
      s.c.pktsAcked(s.tp, { pktsAcked: 1, rttUs: i < 9 ? 10_000 : 90_000, inFlight: 15 });
    }
    assert.equal(s.c.found, false);
    assert.equal(s.tp.sndSsthresh, 0x7fffffff);
  });

  it('HyStart off (module parameter): never exits slow start on its own', () => {
    const c = cubicFactory(Object.freeze({ ...CUBIC_DEFAULTS, hystart: false }))() as CubicOps;
    const tp = new FakeSock({ sndCwnd: 32, nowUs: 1_000 * MS });
    c.init(tp);
    for (let i = 0; i < 30; i++) {
      tp.nowUs += 1 * MS;
      c.pktsAcked(tp, { pktsAcked: 1, rttUs: i < 9 ? 10_000 : 90_000, inFlight: 32 });
    }
    assert.equal(c.found, false);
    assert.equal(tp.sndSsthresh, 0x7fffffff);
  });
});


describe('CUBIC adversarial inputs', () => {
  it('extreme windows, times and wrap-around stay u32 integers and never throw', () => {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 1, sndSsthresh: 1, nowUs: 0 });
    c.init(tp);
    const cwnds = [1, 2, 0xffff, 0x7fffffff, 0xfffffffe];
    for (const w of cwnds) {
      tp.sndCwnd = w;
      tp.sndSsthresh = 2;
      tp.sndCwndClamp = 0xffffffff;
      c.lastMaxCwnd = 0xffffffff;
      c.epochStart = 0;
      tp.nowUs = (2 ** 32 - 5) * MS; // jiffies about to wrap
      for (let i = 0; i < 50; i++) {
        c.congAvoid(tp, 0, 7);
        c.pktsAcked(tp, { pktsAcked: 7, rttUs: 0x7fffffff, inFlight: w });
        tp.nowUs += 40 * MS;
      }
      for (const v of [tp.sndCwnd, tp.sndCwndCnt, c.cnt, c.bicK, c.bicOriginPoint, c.ackCnt, c.tcpCwnd, c.epochStart]) {
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `value ${v} for cwnd ${w}`);
      }
      assert.ok(c.cnt >= 2);
      const ss = c.ssthresh(tp);
      assert.ok(Number.isInteger(ss) && ss >= 2);
    }
  });
});

describe('CUBIC replaying packetdrill cubic-hystart-delay-rtt-jumps-upward on the hooks', () => {
  it('cwnd 20 → 22 … 36 in slow start, then HyStart sets ssthresh = cwnd = 36 on the 9th sample', () => {
    // the core's order on each ACK: snd_una moves, pkts_acked (RTT of the newest segment
    // ACKed), then cong_avoid with the segments ACKed; then it sends what cwnd allows
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 10, nowUs: 200 * MS, sndNxt: 1, sndUna: 1, mss: 1000 });
    c.init(tp);
    const ack = (seq: number, acked: number, rttUs: number, sndNxtAfter: number): void => {
      tp.sndUna = seq;
      c.pktsAcked(tp, { pktsAcked: acked, rttUs, inFlight: 0 });
      c.congAvoid(tp, seq, acked);
      tp.sndNxt = sndNxtAfter;
    };
    tp.sndNxt = 10001; // write(30000): 10 segments
    tp.nowUs = 400 * MS;
    ack(10001, 10, 200 * MS, 30001);
    assert.equal(tp.sndCwnd, 20);
    // the second flight was sent at 400 ms; ACKs of 2 segments from +240 ms, 1 ms apart
    const want = [22, 24, 26, 28, 30, 32, 34, 36];
    tp.nowUs = 640 * MS;
    for (let i = 0; i < want.length; i++) {
      ack(12001 + 2000 * i, 2, (240 + i) * MS, 30001);
      assert.equal(tp.sndSsthresh, 0x7fffffff, `ack ${12001 + 2000 * i}`);
      assert.equal(tp.sndCwnd, want[i], `ack ${12001 + 2000 * i}`);
      tp.nowUs += 1 * MS;
    }
    ack(28001, 2, 248 * MS, 30001); // 9th sample: min 240 ms > 200 + 16 ms
    assert.equal(tp.sndSsthresh, 36);
    assert.equal(tp.sndCwnd, 36);
    tp.nowUs += 1 * MS;
    ack(30001, 2, 249 * MS, 30001);
    assert.equal(tp.sndSsthresh, 36);
    assert.equal(tp.sndCwnd, 36);
  });

  it('…and cubic-hystart-delay-min-rtt-jumps-downward: a new minimum RTT does not exit', () => {
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 10, nowUs: 200 * MS, sndNxt: 1, sndUna: 1 });
    c.init(tp);
    tp.sndNxt = 10001;
    tp.nowUs = 400 * MS;
    tp.sndUna = 10001;
    c.pktsAcked(tp, { pktsAcked: 10, rttUs: 200 * MS, inFlight: 0 });
    c.congAvoid(tp, 10001, 10);
    tp.sndNxt = 30001; // 18 000 bytes now, 2 000 more at +180 ms
    for (let i = 0; i < 10; i++) {
      tp.nowUs = (600 + i) * MS;
      tp.sndUna = 12001 + 2000 * i;
      // the last ACK covers the small write sent at 580 ms: RTT 29 ms, a new minimum
      const rtt = i < 9 ? (200 + i) * MS : 29 * MS;
      c.pktsAcked(tp, { pktsAcked: 2, rttUs: rtt, inFlight: 0 });
      c.congAvoid(tp, tp.sndUna, 2);
      assert.equal(tp.sndSsthresh, 0x7fffffff, `ack ${tp.sndUna}`);
      assert.equal(tp.sndCwnd, 22 + 2 * i, `ack ${tp.sndUna}`);
    }
    assert.equal(c.delayMin, 29 * MS);
  });
});

describe('CUBIC replaying packetdrill cubic-rto-ss-ca-cwnd-bump on the hooks', () => {
  it('after an RTO: slow start 2 → 7, then cwnd 8 on the 16th ACK in avoidance', () => {
    // The RTO at cwnd 10: ssthresh 7, then setState(Loss) resets W_max to 0, so cnt is capped
    // at 20; cnt is recomputed only 98 ms apart (same cwnd within HZ/32), and at the 16th ACK
    // the Reno-friendly estimate passes 7 (16 > (7·15) >> 3 = 13): cnt = 7, and the 15
    // credits already counted add the segment.
    const c = new CubicOps();
    const tp = new FakeSock({ sndCwnd: 10, nowUs: 100 * MS, sndNxt: 1, sndUna: 1 });
    const usage = new CwndUsage();
    c.init(tp);
    const flight: Array<{ end: number; t: number }> = [];
    const send = (): number => {
      let n = 0;
      while (tp.packetsInFlight < tp.sndCwnd) {
        flight.push({ end: tp.sndNxt + 1000, t: tp.nowUs });
        tp.sndNxt += 1000;
        tp.packetsInFlight++;
        tp.packetsOut++;
        n++;
      }
      tcpCwndValidate(tp, usage, tp.packetsInFlight >= tp.sndCwnd, false);
      tp.isCwndLimited = tcpIsCwndLimited(tp, usage);
      return n;
    };
    const ack = (seq: number, atMs: number): number => {
      tp.nowUs = atMs * MS;
      let acked = 0;
      let rtt = -1;
      while (flight.length > 0 && flight[0]!.end <= seq) {
        const f = flight.shift()!;
        rtt = f.t < 0 ? -1 : tp.nowUs - f.t; // a retransmission gives no sample (Karn)
        acked++;
      }
      tp.sndUna = seq;
      tp.packetsInFlight -= acked;
      tp.packetsOut -= acked;
      c.pktsAcked(tp, { pktsAcked: acked, rttUs: rtt, inFlight: tp.packetsInFlight });
      tp.isCwndLimited = tcpIsCwndLimited(tp, usage);
      c.congAvoid(tp, seq, acked);
      return send();
    };
    // one segment at 100 ms, ACKed at 200 ms: not cwnd-limited, cwnd stays 10
    flight.push({ end: 1001, t: 100 * MS });
    tp.sndNxt = 1001;
    tp.packetsInFlight = tp.packetsOut = 1;
    tcpCwndValidate(tp, usage, false, false);
    tp.isCwndLimited = tcpIsCwndLimited(tp, usage);
    tp.nowUs = 200 * MS;
    ack(1001, 200);
    assert.equal(tp.sndCwnd, 10);
    // second segment at 200 ms (already counted by `send`: only it was queued)
    flight.length = 0;
    flight.push({ end: 2001, t: -1 }); // lost; its RTO retransmission (800 ms) gives no RTT
    tp.sndNxt = 2001;
    tp.packetsInFlight = 0; // the RTO marked it lost (its retransmission is out: see below)
    tp.packetsOut = 1;
    tp.nowUs = 800 * MS;
    assert.equal(tcpEnterLossCwnd(tp, c, 0), true);
    c.setState(tp, CaState.Loss);
    tp.caState = CaState.Loss;
    assert.deepEqual([tp.sndCwnd, tp.sndSsthresh, c.lastMaxCwnd], [1, 7, 0]);
    tp.packetsInFlight = 1; // the retransmission
    tcpCwndValidate(tp, usage, true, false);
    tp.caState = CaState.Open; // the ACK of the retransmission ends Loss (no undo evidence)
    const script: Array<[number, number, number, number]> = [
      // ack, at ms, cwnd after, segments sent
      [2001, 900, 2, 2], [3001, 1000, 3, 2], [4001, 1002, 4, 2], [5001, 1100, 5, 2], [6001, 1102, 6, 2],
      [7001, 1104, 7, 2], [8001, 1106, 7, 1], [9001, 1204, 7, 1], [10001, 1206, 7, 1], [11001, 1208, 7, 1],
      [12001, 1210, 7, 1], [13001, 1212, 7, 1], [14001, 1214, 7, 1], [15001, 1216, 7, 1], [16001, 1314, 7, 1],
      [17001, 1317, 7, 1], [18001, 1319, 7, 1], [19001, 1321, 7, 1], [20001, 1323, 7, 1], [21001, 1325, 7, 1],
      [22001, 1327, 7, 1], [23001, 1425, 8, 2],
    ];
    for (const [seq, at, cwnd, sent] of script) {
      const n = ack(seq, at);
      assert.equal(tp.sndCwnd, cwnd, `cwnd after ack ${seq}`);
      assert.equal(n, sent, `segments sent after ack ${seq}`);
    }
    assert.equal(tp.sndSsthresh, 7);
  });
});
