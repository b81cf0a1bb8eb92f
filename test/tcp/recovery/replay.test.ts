/**
 * The modules composed the way the TCP core must call them (Linux tcp_ack order), on a toy
 * sender with a SACK scoreboard, replaying packetdrill fast_recovery/prr-ss-10pkt-lost-1:
 * three SACKs above a lost first segment → RACK marks it lost (dupthresh: reo_wnd 0), CUBIC
 * ssthresh 7, PRR cwnd 7 and the fast retransmit; then one new segment per SACK; the
 * cumulative ACK ends Recovery at cwnd = ssthresh = 7 and releases one more segment. Also the
 * RACK reordering timer of the first SACKs (27 ms), and the toy's invariants.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CubicOps } from '../../../src/tcp/cong/cubic.js';
import { CwndUsage, type CwndValidateSock, tcpCurrentSsthresh, tcpCwndValidate, tcpInCwndReduction, tcpIsCwndLimited } from '../../../src/tcp/cong/cwnd.js';
import { CaState, type CongSock } from '../../../src/tcp/cong/types.js';
import { tcpCongControl } from '../../../src/tcp/recovery/cong-control.js';
import { tcpEndCwndReduction, tcpInitCwndReduction, type PrrSock } from '../../../src/tcp/recovery/prr.js';
import {
  RackState, TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS,
  rackAdvance, rackMarkLost, type RackSentQueue, type RackSock,
} from '../../../src/tcp/recovery/rack.js';
import { FLAG_DATA_ACKED, FLAG_DATA_SACKED, FLAG_SND_UNA_ADVANCED } from '../../../src/tcp/recovery/tlp.js';

const MS = 1000;
const MSS = 1000;

interface Rec { seq: number; endSeq: number; xmitUs: number; sacked: number; }

/** a toy sender: just enough of tcp_ack / tcp_fastretrans_alert / tcp_write_xmit (SACK path) */
class Toy implements PrrSock, RackSock, RackSentQueue<Rec>, CwndValidateSock {
  sndCwnd = 10;
  sndSsthresh = 0x7fffffff;
  sndCwndCnt = 0;
  readonly sndCwndClamp = 0xffffffff;
  readonly mss = MSS;
  srttUs = (100 * MS) << 3;
  minRttUs = 100 * MS;
  delivered = 0;
  nowUs = 0;
  sndNxt = 1;
  sndUna = 1;
  caState: CaState = CaState.Open;
  priorCwnd = 0;
  lsndtimeMs = 0;
  prrDelivered = 0;
  prrOut = 0;
  highSeq = 0;
  tlpHighSeq = 0;
  priorSsthresh = 0;
  readonly reordSeen = false;
  readonly reordering = 3;
  readonly sysctlRecovery = 1;
  readonly rtoMs = 300;
  readonly initCwnd = 10;
  readonly sndBufAvailable = true;
  /* scoreboard, in segments */
  rtx: Rec[] = [];
  tsorted: Rec[] = [];
  sackedOut = 0;
  lostOut = 0;
  retransOut = 0;
  unsent = 0;
  undoMarker = 0;
  undoRetrans = 0;
  reoTimerUs = 0;
  newlyLost = 0;
  readonly usage = new CwndUsage();
  readonly rack = new RackState();
  readonly ca = new CubicOps();
  readonly wire: string[] = [];

  get nowMs(): number { return Math.floor(this.nowUs / 1000); }
  get packetsOut(): number { return this.rtx.length; }
  get packetsInFlight(): number { return this.packetsOut - (this.sackedOut + this.lostOut) + this.retransOut; }
  get isCwndLimited(): boolean { return tcpIsCwndLimited(this as CongSock, this.usage); }

  tsortedFirst(): Rec | null { return this.tsorted[0] ?? null; }
  tsortedNext(s: Rec): Rec | null { return this.tsorted[this.tsorted.indexOf(s) + 1] ?? null; }
  /** Linux tcp_mark_skb_lost: a lost retransmission stops counting as retransmitted */
  markLost(s: Rec): void {
    if (s.sacked & TCPCB_SACKED_ACKED) return;
    if (s.sacked & TCPCB_LOST) {
      if (s.sacked & TCPCB_SACKED_RETRANS) {
        s.sacked &= ~TCPCB_SACKED_RETRANS;
        this.retransOut--;
        this.newlyLost++;
      }
    } else {
      s.sacked |= TCPCB_LOST;
      this.lostOut++;
      this.newlyLost++;
    }
    this.tsorted.splice(this.tsorted.indexOf(s), 1);
  }

  established(): void {
    this.ca.init(this);
  }

  write(bytes: number): void {
    this.unsent += bytes;
    this.xmit();
  }

  /** tcp_xmit_retransmit_queue then tcp_write_xmit, then tcp_cwnd_validate */
  xmit(): void {
    let sent = 0;
    for (const r of this.rtx) {
      if (this.packetsInFlight >= this.sndCwnd || this.retransOut >= this.lostOut) break;
      if (!(r.sacked & TCPCB_LOST) || (r.sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS))) continue;
      r.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;
      r.xmitUs = this.nowUs;
      this.retransOut++;
      this.undoRetrans++;
      this.tsorted.push(r);
      if (tcpInCwndReduction(this.caState)) this.prrOut++;
      this.wire.push(`${r.seq}:${r.endSeq}`);
    }
    while (this.unsent > 0 && this.packetsInFlight < this.sndCwnd) {
      const len = Math.min(MSS, this.unsent);
      const r: Rec = { seq: this.sndNxt, endSeq: this.sndNxt + len, xmitUs: this.nowUs, sacked: 0 };
      this.rtx.push(r);
      this.tsorted.push(r);
      this.unsent -= len;
      this.sndNxt += len;
      sent++;
      if (tcpInCwndReduction(this.caState)) this.prrOut++;
      this.wire.push(`${r.seq}:${r.endSeq}`);
    }
    const limited = this.packetsInFlight >= this.sndCwnd;
    if (sent > 0 || limited) tcpCwndValidate(this, this.usage, limited, false);
  }

  /** tcp_ack for a cumulative ACK `ack` and one SACK block [sackStart, sackEnd) */
  ack(ack: number, sackStart = 0, sackEnd = 0): void {
    let flag = 0;
    const priorDelivered = this.delivered;
    this.newlyLost = 0;
    // tcp_sacktag_write_queue
    for (const r of this.rtx) {
      if (r.sacked & TCPCB_SACKED_ACKED || r.seq < sackStart || r.endSeq > sackEnd) continue;
      rackAdvance(this.rack, this, r.sacked, r.endSeq, r.xmitUs);
      if (r.sacked & TCPCB_LOST) { r.sacked &= ~TCPCB_LOST; this.lostOut--; }
      if (r.sacked & TCPCB_SACKED_RETRANS) { r.sacked &= ~TCPCB_SACKED_RETRANS; this.retransOut--; }
      r.sacked |= TCPCB_SACKED_ACKED;
      this.sackedOut++;
      this.delivered++;
      const i = this.tsorted.indexOf(r);
      if (i >= 0) this.tsorted.splice(i, 1);
      flag |= FLAG_DATA_SACKED;
    }
    // tcp_clean_rtx_queue
    let rtt = -1;
    while (this.rtx.length > 0 && this.rtx[0]!.endSeq <= ack) {
      const r = this.rtx.shift()!;
      if (!(r.sacked & TCPCB_SACKED_ACKED)) {
        rackAdvance(this.rack, this, r.sacked, r.endSeq, r.xmitUs);
        this.delivered++;
        if (!(r.sacked & TCPCB_EVER_RETRANS)) rtt = this.nowUs - r.xmitUs;
      } else {
        this.sackedOut--;
      }
      if (r.sacked & TCPCB_LOST) this.lostOut--;
      if (r.sacked & TCPCB_SACKED_RETRANS) this.retransOut--;
      const i = this.tsorted.indexOf(r);
      if (i >= 0) this.tsorted.splice(i, 1);
      flag |= FLAG_DATA_ACKED;
    }
    if (ack > this.sndUna) { this.sndUna = ack; flag |= FLAG_SND_UNA_ADVANCED; }
    this.ca.pktsAcked(this, { pktsAcked: this.delivered - priorDelivered, rttUs: rtt, inFlight: this.packetsInFlight });
    // tcp_fastretrans_alert (SACK, no undo evidence)
    if (this.caState === CaState.Recovery && this.sndUna >= this.highSeq) {
      const undone = this.undoMarker !== 0 && this.undoRetrans === 0;
      this.caState = CaState.Open;
      this.ca.setState(this, CaState.Open);
      if (!undone) tcpEndCwndReduction(this, this.ca, this.undoMarker);
    }
    const t = rackMarkLost(this.rack, this, this, 1_000 * MS);
    if (t) this.reoTimerUs = t;
    if (this.caState < CaState.Recovery) {
      if (this.lostOut > 0) {
        this.priorSsthresh = tcpCurrentSsthresh(this);
        this.undoMarker = this.sndUna;
        this.undoRetrans = 0;
        tcpInitCwndReduction(this, this.ca);
        this.caState = CaState.Recovery;
        this.ca.setState(this, CaState.Recovery);
      } else {
        this.caState = this.sackedOut + this.lostOut + this.retransOut > 0 ? CaState.Disorder : CaState.Open;
      }
    }
    tcpCongControl(this, this.ca, ack, this.delivered - priorDelivered, this.newlyLost, flag, 3, 3);
    this.xmit();
  }
}

describe('packetdrill prr-ss-10pkt-lost-1 replayed on the modules', () => {
  it('RACK + CUBIC + PRR: cwnd 7, fast retransmit, one segment per SACK, cwnd 7 after', () => {
    const s = new Toy();
    s.nowUs = 200 * MS;
    s.established();
    s.write(10_000);
    assert.deepEqual(s.wire.splice(0), ['1:1001', '1001:2001', '2001:3001', '3001:4001', '4001:5001',
      '5001:6001', '6001:7001', '7001:8001', '8001:9001', '9001:10001']);
    s.nowUs = 310 * MS;
    s.ack(1, 1001, 2001);
    // one SACK: RTT 110 ms + reo_wnd 25 ms − 110 ms = 25 ms, + 2 ms → the REO timer
    assert.equal(s.reoTimerUs, 27 * MS);
    assert.equal(s.caState, CaState.Disorder);
    s.nowUs = 320 * MS;
    s.ack(1, 1001, 3001);
    assert.deepEqual(s.wire, []);
    s.nowUs = 330 * MS;
    s.ack(1, 1001, 4001); // third SACK: dupthresh, reo_wnd 0: 1:1001 lost now
    assert.deepEqual(s.wire.splice(0), ['1:1001']);
    assert.equal(s.caState, CaState.Recovery);
    assert.equal(s.sndCwnd, 7);
    assert.equal(s.sndSsthresh, 7);
    s.nowUs = 350 * MS;
    s.write(7000);
    assert.deepEqual(s.wire, []); // in flight 7 = cwnd
    for (let i = 0; i < 6; i++) {
      s.nowUs += 10 * MS;
      s.ack(1, 1001, 5001 + 1000 * i);
      assert.deepEqual(s.wire.splice(0), [`${10001 + 1000 * i}:${11001 + 1000 * i}`], `SACK ${i + 5}`);
      assert.equal(s.sndCwnd, 7);
    }
    s.nowUs += 20 * MS;
    s.ack(10001);
    assert.deepEqual(s.wire.splice(0), ['16001:17001']);
    assert.equal(s.caState, CaState.Open);
    assert.equal(s.sndCwnd, 7);
    assert.equal(s.sndSsthresh, 7);
    // the scoreboard is consistent
    assert.deepEqual([s.sackedOut, s.lostOut, s.retransOut, s.packetsOut], [0, 0, 0, 7]);
    for (const ack of [12001, 14001, 16001, 17001]) {
      s.nowUs += 20 * MS;
      s.ack(ack);
    }
    assert.equal(s.packetsOut, 0);
    assert.ok(s.sndCwnd >= 7);
  });

  it('prr-ss-30pkt-lost1_4: four holes retransmitted one per SACK, 7 segments after recovery', () => {
    const s = new Toy();
    s.srttUs = (10 * MS) << 3;
    s.minRttUs = 10 * MS;
    s.nowUs = 10 * MS;
    s.established();
    s.write(10_000);
    s.wire.length = 0;
    s.nowUs = 20 * MS;
    s.ack(1, 4001, 5001);
    assert.equal(s.reoTimerUs, 5 * MS); // 10 + 2.5 − 10 = 2.5 ms, + 2 ms, rounded up
    s.nowUs = 22 * MS;
    s.ack(1, 4001, 6001);
    s.ack(1, 4001, 7001); // dupthresh: all four holes lost; in flight 3, PRR cwnd 4
    assert.deepEqual(s.wire.splice(0), ['1:1001']);
    assert.deepEqual([s.caState, s.sndSsthresh, s.sndCwnd, s.lostOut], [CaState.Recovery, 7, 4, 4]);
    s.ack(1, 4001, 8001);
    assert.deepEqual(s.wire.splice(0), ['1001:2001']);
    s.ack(1, 4001, 9001);
    assert.deepEqual(s.wire.splice(0), ['2001:3001']);
    s.ack(1, 4001, 10001);
    assert.deepEqual(s.wire.splice(0), ['3001:4001']);
    s.nowUs = 32 * MS;
    s.ack(1001, 4001, 10001); // snd_una advanced, no new loss: SSRB, nothing left to send
    // in flight 9 − (6 SACKed + 3 lost) + 3 retransmitted = 3; + min(7 − 3, max(5 − 4, 1) + 1)
    assert.equal(s.sndCwnd, 5);
    s.ack(2001, 4001, 10001);
    s.ack(3001, 4001, 10001);
    s.ack(10001);
    assert.deepEqual(s.wire, []);
    assert.deepEqual([s.caState, s.sndCwnd, s.sndSsthresh], [CaState.Open, 7, 7]);
    s.nowUs = 42 * MS;
    s.write(10_000);
    assert.deepEqual(s.wire.splice(0), ['10001:11001', '11001:12001', '12001:13001', '13001:14001',
      '14001:15001', '15001:16001', '16001:17001']);
  });

  it('prr-ss-30pkt-lost-1_4-11_16: sends in Disorder, CRB, SSRB, a lost retransmission', () => {
    const s = new Toy();
    s.srttUs = (10 * MS) << 3;
    s.minRttUs = 10 * MS;
    s.nowUs = 10 * MS;
    s.established();
    s.write(20_000);
    assert.equal(s.wire.splice(0).length, 10);
    const step = (ms: number, ack: number, from: number, to: number, want: string[]): void => {
      s.nowUs += ms * MS;
      s.ack(ack, from, to);
      assert.deepEqual(s.wire.splice(0), want, `ack ${ack} sack ${from}:${to}`);
    };
    // first dupACKs: Disorder, in flight 9 < cwnd 10 lets new data out
    step(10, 1, 4001, 5001, ['10001:11001']);
    step(2, 1, 4001, 6001, ['11001:12001']);
    // third SACK: 1–4 lost, in flight 12 − (3 + 4) = 5, PRR cwnd 6
    step(2, 1, 4001, 7001, ['1:1001']);
    assert.deepEqual([s.caState, s.sndSsthresh, s.sndCwnd], [CaState.Recovery, 7, 6]);
    step(2, 1, 4001, 8001, ['1001:2001']);
    step(2, 1, 4001, 9001, ['2001:3001']);
    step(2, 1, 4001, 10001, ['3001:4001']);
    // conservative bound: one segment per segment delivered
    step(2, 1, 4001, 11001, ['12001:13001']);
    step(2, 1, 4001, 12001, ['13001:14001']);
    // snd_una advances with no new loss: slow-start bound, two segments
    step(10, 1001, 4001, 12001, ['14001:15001', '15001:16001']);
    assert.equal(s.sndCwnd, 7);
    // 2001:4001 SACKed: the retransmission of 1001:2001 (sent 20 ms ago, RTT now 16 ms,
    // reo_wnd 0 in Recovery) is lost again and resent, plus one new segment
    step(2, 1001, 2001, 12001, ['1001:2001', '16001:17001']);
    assert.equal(s.sndCwnd, 6);
    step(2, 1001, 2001, 13001, ['17001:18001']);
    step(2, 1001, 2001, 14001, ['18001:19001']);
    assert.deepEqual([s.lostOut, s.retransOut], [1, 1]);
  });
});
