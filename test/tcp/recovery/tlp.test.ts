/**
 * Tail loss probe as Linux tcp_schedule_loss_probe / tcp_send_loss_probe /
 * tcp_process_tlp_ack: PTO = 2·srtt + 2 ms (+ rto_min instead with one segment out), 1 s
 * without a sample, rounded up to jiffies, never past the RTO; the conditions that forbid a
 * probe; the probe choice; and every branch of the ACK outcome, sequence wrap included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLAG_DATA, FLAG_DATA_SACKED, FLAG_DSACK_TLP, FLAG_SND_UNA_ADVANCED, FLAG_WIN_UPDATE,
  TCP_RTO_MIN_US, TlpAck, TlpProbe, tlpProbeKind, tlpProcessAck, tlpTimeoutUs, type TlpSock,
} from '../../../src/tcp/recovery/tlp.js';
import { CaState } from '../../../src/tcp/cong/types.js';

const MS = 1000;

function sock(init: Partial<{ -readonly [K in keyof TlpSock]: TlpSock[K] }> = {}): TlpSock {
  return {
    earlyRetrans: 3, packetsOut: 4, sackOk: true, caState: CaState.Open, fastopenPending: false,
    srttUs: (10 * MS) << 3, rtoMinUs: TCP_RTO_MIN_US, rtoUs: 210 * MS, rtoDeltaUs: 210 * MS,
    tlpHighSeq: 0, tlpRetrans: false, ...init,
  };
}

describe('probe timeout', () => {
  it('2·srtt + 2 ms with several segments out (RTT 10 ms → 22 ms)', () => {
    assert.equal(tlpTimeoutUs(sock(), false), 22 * MS);
    assert.equal(tlpTimeoutUs(sock({ earlyRetrans: 4, caState: CaState.CWR }), true), 22 * MS);
  });

  it('2·srtt + rto_min with one segment out (the peer may delay its ACK), capped by the RTO', () => {
    assert.equal(tlpTimeoutUs(sock({ packetsOut: 1, rtoDeltaUs: 10_000 * MS }), false), 220 * MS);
    assert.equal(tlpTimeoutUs(sock({ packetsOut: 1 }), false), 210 * MS);
    assert.equal(tlpTimeoutUs(sock({ packetsOut: 1, rtoUs: 205 * MS }), true), 205 * MS);
  });

  it('1 s without an RTT sample, capped by the RTO; a passed RTO deadline does not cap', () => {
    assert.equal(tlpTimeoutUs(sock({ srttUs: 0, rtoDeltaUs: 3_000 * MS }), false), 1_000 * MS);
    assert.equal(tlpTimeoutUs(sock({ srttUs: 0, rtoDeltaUs: 600 * MS }), false), 600 * MS);
    assert.equal(tlpTimeoutUs(sock({ rtoDeltaUs: 0 }), false), 22 * MS);
    assert.equal(tlpTimeoutUs(sock({ rtoDeltaUs: -5 * MS }), false), 22 * MS);
  });

  it('rounds up to whole jiffies', () => {
    // srtt 10.0005 ms: 2·srtt = 20001 µs + 2000 = 22001 µs → 23 ms
    assert.equal(tlpTimeoutUs(sock({ srttUs: 80_004 }), false), 23 * MS);
    assert.equal(tlpTimeoutUs(sock({ rtoDeltaUs: 15_500 }), false), 16 * MS);
  });

  it('no probe: TLP off, nothing out, no SACK, in Recovery/Loss/Disorder, Fast Open pending', () => {
    for (const init of [
      { earlyRetrans: 0 }, { earlyRetrans: 2 }, { earlyRetrans: 5 }, { packetsOut: 0 }, { sackOk: false },
      { caState: CaState.Recovery }, { caState: CaState.Loss }, { caState: CaState.Disorder },
      { fastopenPending: true },
    ]) {
      assert.equal(tlpTimeoutUs(sock(init), false), -1, JSON.stringify(init));
    }
  });
});

describe('probe choice', () => {
  it('new data when it fits the window, else the last segment; nothing while one is out', () => {
    assert.equal(tlpProbeKind(sock(), true, false), TlpProbe.NewData);
    assert.equal(tlpProbeKind(sock(), false, false), TlpProbe.RetransmitLast);
    assert.equal(tlpProbeKind(sock(), false, true), TlpProbe.None);
    assert.equal(tlpProbeKind(sock({ tlpHighSeq: 5000 }), true, false), TlpProbe.None);
  });
});

describe('ACK of a probe (tcp_process_tlp_ack)', () => {
  const out = (retrans: boolean, high = 5000): TlpSock => sock({ tlpHighSeq: high, tlpRetrans: retrans });

  it('an ACK below the probe decides nothing; no probe outstanding decides nothing', () => {
    assert.equal(tlpProcessAck(out(true), 4999, FLAG_SND_UNA_ADVANCED), TlpAck.Pending);
    assert.equal(tlpProcessAck(sock(), 9000, 0), TlpAck.Pending);
  });

  it('a probe of new data reaching the receiver ends the episode', () => {
    assert.equal(tlpProcessAck(out(false), 5000, FLAG_SND_UNA_ADVANCED), TlpAck.NoLoss);
  });

  it('a DSACK of the probe: original and probe both arrived, no loss', () => {
    assert.equal(tlpProcessAck(out(true), 5000, FLAG_DSACK_TLP), TlpAck.NoLoss);
  });

  it('an ACK beyond the probe: the probe repaired a loss', () => {
    assert.equal(tlpProcessAck(out(true), 5001, FLAG_SND_UNA_ADVANCED), TlpAck.Loss);
  });

  it('at the probe: a pure duplicate ACK means no loss; data, window update or SACK wait', () => {
    assert.equal(tlpProcessAck(out(true), 5000, 0), TlpAck.NoLoss);
    for (const f of [FLAG_DATA, FLAG_WIN_UPDATE, FLAG_DATA_SACKED, FLAG_SND_UNA_ADVANCED]) {
      assert.equal(tlpProcessAck(out(true), 5000, f), TlpAck.Pending, `flag ${f}`);
    }
  });

  it('sequence numbers wrap', () => {
    assert.equal(tlpProcessAck(out(true, 0xfffffff0), 0x10, FLAG_SND_UNA_ADVANCED), TlpAck.Loss);
    assert.equal(tlpProcessAck(out(true, 0x10), 0xfffffff0, FLAG_SND_UNA_ADVANCED), TlpAck.Pending);
  });
});
