/**
 * tcp_update_pacing_rate: 200 % of cwnd·mss/srtt below half of ssthresh, 120 % above, packets
 * out counted when larger than cwnd, the max-rate cap, no division before an RTT sample, and an
 * exact result for windows past 2^53.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tcpPacingRate } from '../../../src/tcp/cong/pacing.js';

const SRTT_100MS = 100_000 << 3;

describe('tcp_update_pacing_rate', () => {
  it('slow start: 2 × 10 × 1000 B / 100 ms = 200 000 B/s', () => {
    assert.equal(tcpPacingRate({ mss: 1000, sndCwnd: 10, sndSsthresh: 0x7fffffff, packetsOut: 0, srttUs: SRTT_100MS }), 200_000);
  });

  it('from half of ssthresh on: 120 %', () => {
    // cwnd 10, ssthresh 20 or 21: 10 < 10 is false → 1.2 × 100 000; ssthresh 22: 10 < 11
    assert.equal(tcpPacingRate({ mss: 1000, sndCwnd: 10, sndSsthresh: 20, packetsOut: 0, srttUs: SRTT_100MS }), 120_000);
    assert.equal(tcpPacingRate({ mss: 1000, sndCwnd: 10, sndSsthresh: 21, packetsOut: 0, srttUs: SRTT_100MS }), 120_000);
    assert.equal(tcpPacingRate({ mss: 1000, sndCwnd: 10, sndSsthresh: 22, packetsOut: 0, srttUs: SRTT_100MS }), 200_000);
  });

  it('counts packets out above cwnd, honours the ratios given and the cap', () => {
    const tp = { mss: 1448, sndCwnd: 10, sndSsthresh: 7, packetsOut: 12, srttUs: 10_000 << 3 };
    // 1448 · 80 000 · 120 · 12 / 80 000 = 2 085 120 ... / (srtt 10 ms): 1448·12·1.2/0.01
    assert.equal(tcpPacingRate(tp), 2_085_120);
    assert.equal(tcpPacingRate(tp, 200, 100), 1_737_600);
    assert.equal(tcpPacingRate(tp, 200, 120, 1_000_000), 1_000_000);
  });

  it('before an RTT sample the rate is not divided; large windows stay exact', () => {
    assert.equal(tcpPacingRate({ mss: 1000, sndCwnd: 10, sndSsthresh: 4, packetsOut: 0, srttUs: 0 }), 1000 * 80_000 * 120 * 10);
    // 1448 · 80 000 · 120 · 300 000 = 4.17e15 < 2^53; srtt 1 ms
    const big = tcpPacingRate({ mss: 1448, sndCwnd: 300_000, sndSsthresh: 2, packetsOut: 0, srttUs: 8000 });
    assert.equal(big, Number((1448n * 80_000n * 120n * 300_000n) / 8000n));
  });
});
