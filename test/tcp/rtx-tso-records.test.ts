/**
 * One retransmit-queue record per untouched TSO packet (rtx-queue.ts `pushPacket`): the record of
 * `segs` pieces must behave exactly as the per-MSS records it stands for. Checked two ways:
 * (1) the queue against a twin forced per-segment, under random pushes, ACKs (whole packets,
 * piece boundaries, inside a piece, the FIN alone) and explosions at random times — same segment
 * count, same RTT sample, and record for record the same queue once exploded; (2) two stacks over
 * a lossy, reordering wire, run twice from the same seed — once as is, once with the sender's
 * queue per-segment from the start (`tsoRecords = false`) — must put the same segments on the wire at the same
 * virtual times (and the first run must have used multi-piece records, or the check proves
 * nothing).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RtxQueue, type TxRecord } from '../../src/tcp/output/rtx-queue.js';
import { Pair } from './harness/pair.js';

function records(q: RtxQueue): string[] {
  const out: string[] = [];
  for (let r: TxRecord | null = q.head; r !== null; r = r.next) {
    out.push(`${r.seq}-${r.endSeq} t${r.xmitUs} o${r.xmitOrder} ${r.fin ? 'F' : ''}${r.psh ? 'P' : ''}${r.cont ? 'C' : ''} s${r.sacked}`);
  }
  return out;
}

/** the records a queue stands for, multi-piece records listed as their pieces (nothing changed) */
function pieces(q: RtxQueue): string[] {
  const out: string[] = [];
  for (let r: TxRecord | null = q.head; r !== null; r = r.next) {
    for (let i = 0; i < r.segs; i++) {
      const last = i === r.segs - 1;
      const seq = (r.seq + i * r.pieceLen) | 0;
      const end = last ? r.endSeq : (seq + r.pieceLen) | 0;
      const flags = `${last && r.fin ? 'F' : ''}${last && r.psh ? 'P' : ''}${i > 0 || r.cont ? 'C' : ''}`;
      out.push(`${seq}-${end} t${r.xmitUs} o${r.xmitOrder + i} ${flags} s${r.sacked}`);
    }
  }
  return out;
}

function tsOrder(q: RtxQueue): number[] {
  const out: number[] = [];
  for (let r = q.tsortedFirst(); r !== null; r = q.tsortedNext(r)) out.push(r.xmitOrder);
  return out;
}

/** the ACK path's form (input/ack.ts): whole records off, then the head trimmed (whole pieces by ackPieces) */
function cleanTo(q: RtxQueue, ack: number): void {
  let r = q.head;
  while (r !== null && ((r.endSeq - ack) | 0) <= 0) {
    q.unlinkHead(r);
    r = q.head;
  }
  if (r !== null) q.trimHead(r, ack);
}

type Op = { kind: 'send'; len: number; fin: boolean } | { kind: 'ack'; frac: number; snap: number } | { kind: 'explode' };

describe('retransmit queue: one record per TSO packet', () => {
  it('matches per-MSS records under pushes, ACKs anywhere and explosions (property)', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), len: fc.integer({ min: 0, max: 70_000 }), fin: fc.boolean() }),
      fc.record({ kind: fc.constant('ack' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }), snap: fc.constantFrom(0, 1, 1, 1, 2, 3) }),
      fc.constant({ kind: 'explode' as const }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 536, max: 9000 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (ops, mss, isn) => {
      const a = new RtxQueue();
      const b = new RtxQueue();
      b.tsoRecords = false;
      let una = isn;
      let nxt = isn;
      let now = 0;
      let finSent = false;
      for (const o of ops) {
        now += 10;
        if (o.kind === 'send') {
          if (finSent) continue;
          const fin = o.fin && o.len < 20_000;
          if (o.len === 0 && !fin) continue;
          a.pushPacket(nxt, o.len, mss, now, fin, true);
          b.pushPacket(nxt, o.len, mss, now, fin, true);
          nxt = (nxt + o.len + (fin ? 1 : 0)) | 0;
          finSent = fin;
        } else if (o.kind === 'ack') {
          const out = (nxt - una) | 0;
          let k = Math.floor(out * o.frac);
          // snap 0: anywhere; 1: a piece boundary; 2: all but the FIN; 3: everything
          if (o.snap === 1) k -= k % mss;
          else if (o.snap === 2 && finSent) k = out - 1;
          else if (o.snap === 3) k = out;
          const ack = (una + k) | 0;
          if (o.snap === 1) {
            // at a piece boundary: the ACK path's piece-wise trim against plain per-MSS records
            cleanTo(a, ack);
            b.ackTo(ack);
          } else {
            assert.equal(a.ackTo(ack), b.ackTo(ack), 'the RTT sample (Karn) is the same');
          }
          una = ack;
        } else {
          a.segmentize();
        }
        assert.equal(a.count, b.count, 'segments in flight (packets_out)');
        assert.deepEqual(pieces(a), records(b));
      }
      a.segmentize();
      assert.equal(a.multi, 0);
      assert.deepEqual(records(a), records(b));
      assert.deepEqual(tsOrder(a), tsOrder(b));
      assert.equal(a.count, b.count);
    }), { numRuns: 600 });
  });

  it('an emptied queue goes back to multi-piece records; clear resets', () => {
    const q = new RtxQueue();
    q.pushPacket(0, 10 * 1448, 1448, 1, false, true);
    assert.equal(q.count, 10);
    assert.equal(q.multi, 1);
    q.segmentize();
    q.pushPacket(10 * 1448, 3 * 1448, 1448, 2, false, true);
    assert.equal(q.multi, 0, 'per-segment while the queue is not empty');
    assert.equal(q.count, 13);
    q.ackTo(13 * 1448);
    assert.equal(q.count, 0);
    q.pushPacket(13 * 1448, 3 * 1448, 1448, 3, false, true);
    assert.equal(q.multi, 1);
    q.clear();
    assert.equal(q.multi + q.count, 0);
    assert.equal(q.perSegment, false);
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: a lossy, reordering transfer puts the same segments on the wire at the same times as a per-segment queue`, () => {
      const run = (forcePerSegment: boolean): { wire: string[]; multiPushed: number; retrans: number } => {
        const p = new Pair({ family, seed: 11, delayUs: 200, loss: 0.005, reorder: 0.01 });
        const { cfd, sfd, ca } = p.establish();
        if (forcePerSegment) ca.rtx.tsoRecords = false;
        const data = new Uint8Array(3 << 20);
        for (let i = 0; i < data.length; i++) data[i] = (i * 31) >>> 3;
        let sent = 0;
        let got = 0;
        const buf = new Uint8Array(1 << 20);
        for (let step = 0; step < 40_000 && got < data.length; step++) {
          // 128 KiB bursts, each once the previous one is acknowledged: the queue empties between
          // them, so clean bursts use multi-piece records and lossy ones explode them
          if (sent < data.length && ca.rtx.count === 0) {
            const n = p.a.sys.send(cfd, data.subarray(sent, Math.min(data.length, sent + 128 * 1024)));
            if (n > 0) sent += n;
          }
          p.run(500);
          for (;;) {
            const n = p.b.sys.recv(sfd, buf);
            if (n <= 0) break;
            for (let i = 0; i < n; i++) if (buf[i] !== data[got + i]) assert.fail(`byte ${got + i} differs`);
            got += n;
          }
        }
        assert.equal(got, data.length, 'every byte arrived');
        const wire = p.log.map((e) => `${e.seg.t} ${e.side} ${e.seg.seq} ${e.seg.ack} ${e.seg.flags} ${e.seg.window} ${e.seg.payload.length}`);
        const multiPushed = ca.rtx.multiPushed;
        // retransmissions on the wire: A's data below what A had already sent
        let high = ca.iss;
        let retrans = 0;
        for (const e of p.log) {
          if (e.side !== 'a' || e.seg.payload.length === 0) continue;
          const end = (e.seg.seq + e.seg.payload.length) | 0;
          if (((e.seg.seq - high) | 0) < 0) retrans++;
          if (((end - high) | 0) > 0) high = end;
        }
        p.close();
        return { wire, multiPushed, retrans };
      };
      const normal = run(false);
      const perSeg = run(true);
      assert.ok(normal.multiPushed > 20, `the sender used multi-piece records (${normal.multiPushed})`);
      assert.equal(perSeg.multiPushed, 0);
      assert.ok(normal.retrans >= 10, `losses were recovered from (${normal.retrans} retransmissions)`);
      assert.ok(normal.wire.length > 1000);
      assert.deepEqual(normal.wire, perSeg.wire);
    });
  }
});
