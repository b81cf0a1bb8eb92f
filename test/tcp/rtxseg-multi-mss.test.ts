/**
 * Multi-MSS retransmission (Linux tcp_xmit_retransmit_queue / __tcp_retransmit_skb): a lost run
 * of MSS that went out in one packet is sent again as one packet of up to (cwnd − in flight)
 * MSS, with PSH (a multi-segment packet); the first packet of a pass goes as one MSS (as Linux
 * 6.18 does); never across a SACKed record, a hole of another packet, or the peer's window; the
 * scoreboard stays per MSS and returns to zero.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_PSH } from '../../src/wire/tcp.js';
import type { Seg } from './harness/segment.js';
import { MSS, ackWith, dataSeq, openWithRtt } from './recovery-helpers.js';
import { patternPayload } from './harness/segment.js';

function segStr(s: Seg): string {
  return `${(s.flags & TCP_PSH) !== 0 ? 'P.' : '.'} ${s.seq}:${(s.seq + s.payload.length) >>> 0}(${s.payload.length})`;
}

/** writes n MSS in one call; returns the segments on the wire (expected one TSO packet or more) */
function writeAll(ctx: ReturnType<typeof openWithRtt>['ctx'], c: ReturnType<typeof openWithRtt>['c'], n: number): Seg[] {
  assert.equal(ctx.write(c.fd, patternPayload(0, n * MSS)), n * MSS);
  ctx.run(0);
  return ctx.drain();
}

describe('rtxseg: a lost run goes again as one multi-MSS packet', () => {
  it('two holes, one in each 5-MSS packet: first MSS alone, then each hole\'s rest as one packet with PSH', () => {
    const { ctx, c } = openWithRtt({ sack: true });
    const first = writeAll(ctx, c, 10);
    // two GSO packets of 5 MSS (the NIC cuts them; PSH on each packet's last frame)
    assert.deepEqual(first.filter((s) => (s.flags & TCP_PSH) !== 0).map((s) => s.seq), [dataSeq(c, 4 * MSS), dataSeq(c, 9 * MSS)]);
    ctx.run(100_000);
    // ACK of the first MSS, SACKs of [4,5) and [8,10) MSS: holes [1,4) and [5,8)
    ackWith(c, MSS, [[4 * MSS, 5 * MSS], [8 * MSS, 10 * MSS]]);
    const out = ctx.drain();
    // PRR leaves cwnd 4: [1,2) alone (first of the pass), [2,4) as one 2-MSS packet (the NIC
    // puts PSH on its last frame), then [5,6) as far as cwnd goes — never [4,6) across the SACK
    assert.equal(c.tp!.sndCwnd, 4);
    assert.deepEqual(out.map(segStr), [
      `. ${dataSeq(c, MSS)}:${dataSeq(c, 2 * MSS)}(${MSS})`,
      `. ${dataSeq(c, 2 * MSS)}:${dataSeq(c, 3 * MSS)}(${MSS})`,
      `P. ${dataSeq(c, 3 * MSS)}:${dataSeq(c, 4 * MSS)}(${MSS})`,
      `. ${dataSeq(c, 5 * MSS)}:${dataSeq(c, 6 * MSS)}(${MSS})`,
    ]);
    assert.ok(out[1]!.t === out[2]!.t, 'one packet');
    // the payload is the stream's bytes (re-referenced frags, not reordered)
    assert.deepEqual(out[1]!.payload, patternPayload(2 * MSS, MSS));
    assert.deepEqual(out[2]!.payload, patternPayload(3 * MSS, MSS));
    const tp = c.tp!;
    const q = tp.rtx;
    // the scoreboard counts each MSS of the multi-MSS packet once, in bytes
    assert.equal(q.retransOut, 4 * MSS);
    assert.equal(q.lostOut, 6 * MSS);
    assert.equal(tp.stats.retransSegs, 4);
    assert.equal(tp.undoRetrans, 4);
    // everything acknowledged: counters back to zero, the stack goes quiet
    ackWith(c, 10 * MSS);
    assert.deepEqual([q.count, q.sackedOut, q.lostOut, q.retransOut], [0, 0, 0, 0]);
    ctx.drain();
    ctx.expectNone(5_000_000, 'after all was acknowledged');
  });

  it('holes of separately sent packets are never merged into one retransmission', () => {
    const { ctx, c } = openWithRtt({ sack: true });
    // ten writes of one MSS each
    const segs: Seg[] = [];
    for (let i = 0; i < 10; i++) {
      assert.equal(ctx.write(c.fd, patternPayload(i * MSS, MSS)), MSS);
      ctx.run(0);
      segs.push(...ctx.drain());
    }
    // each write its own packet, each ending a write (PSH)
    assert.equal(segs.length, 10);
    assert.ok(segs.every((s) => (s.flags & TCP_PSH) !== 0));
    const sizes = segs.map((s) => s.payload.length);
    ctx.run(100_000);
    ackWith(c, MSS, [[6 * MSS, 10 * MSS]]);
    const out = ctx.drain();
    // each retransmitted packet stays within one original packet's range
    let at = dataSeq(c, 0);
    const bounds = new Set<number>();
    for (const n of sizes) {
      bounds.add(at);
      at = (at + n) >>> 0;
    }
    assert.ok(out.length > 0, 'retransmitted');
    for (const s of out) {
      const end = (s.seq + s.payload.length) >>> 0;
      for (const b of bounds) {
        const inside = ((b - s.seq) | 0) > 0 && ((end - b) | 0) > 0;
        assert.ok(!inside, `${segStr(s)} crosses the packet boundary ${b}`);
      }
      // a merged packet would show a frame without PSH (the NIC keeps it for the last frame)
      assert.ok((s.flags & TCP_PSH) !== 0, `${segStr(s)}: part of a merged retransmission`);
    }
  });

  it('a forged SACK above snd_nxt changes nothing; every packet of a pass is whole MSS within the window', () => {
    const { ctx, c } = openWithRtt({ sack: true });
    writeAll(ctx, c, 10);
    ctx.run(100_000);
    // forged: a SACK block above snd_nxt is ignored (no retransmission, no counters)
    ackWith(c, 0, [[20 * MSS, 21 * MSS]]);
    assert.equal(c.tp!.rtx.sackedOut, 0);
    assert.equal(c.tp!.rtx.retransOut, 0);
    ctx.drain();
    // one hole [1,5) inside the first packet, the rest SACKed; a window of 3.5 MSS past snd_una
    ackWith(c, MSS, [[5 * MSS, 10 * MSS]], Math.floor(3.5 * MSS / 128));
    const out = ctx.drain();
    assert.ok(out.length >= 1, 'retransmitted');
    assert.equal(out[0]!.seq, dataSeq(c, MSS));
    // frames of one packet leave together; a multi-MSS packet ends inside the window (whole
    // MSS), a single MSS only has to start inside it (Linux: the head of the window)
    const wndEnd = dataSeq(c, 4.5 * MSS);
    let pktStart = out[0]!.seq;
    for (let i = 0; i < out.length; i++) {
      const s = out[i]!;
      assert.equal(s.payload.length, MSS, segStr(s));
      assert.ok(((s.seq - wndEnd) | 0) < 0, `${segStr(s)} starts beyond the window`);
      const lastOfPkt = i === out.length - 1 || out[i + 1]!.t !== s.t || (s.flags & TCP_PSH) !== 0;
      if (lastOfPkt) {
        const end = (s.seq + MSS) >>> 0;
        if (((end - pktStart) | 0) > MSS) assert.ok(((end - wndEnd) | 0) <= 0, `packet ${pktStart}..${end} beyond the window`);
        if (i + 1 < out.length) pktStart = out[i + 1]!.seq;
      }
    }
    ackWith(c, 10 * MSS);
    const q = c.tp!.rtx;
    assert.deepEqual([q.count, q.sackedOut, q.lostOut, q.retransOut], [0, 0, 0, 0]);
  });
});
