/**
 * The retransmit queue's scoreboard under arbitrary operation sequences (seeded): the byte
 * counters always equal what the records' TCPCB_* bits say, the transmission-ordered list
 * (RACK's tsorted queue) holds only records not SACKed, each once, in transmission order, and
 * everything returns to zero once all is acknowledged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RtxQueue, type TxRecord } from '../../src/tcp/output/rtx-queue.js';
import { TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from '../../src/tcp/recovery/rack.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function check(q: RtxQueue): void {
  let sacked = 0;
  let lost = 0;
  let retrans = 0;
  let n = 0;
  const inQueue = new Set<TxRecord>();
  for (let r = q.head; r !== null; r = r.next) {
    n++;
    inQueue.add(r);
    if (r.sacked & TCPCB_SACKED_ACKED) sacked += r.len;
    if (r.sacked & TCPCB_LOST) lost += r.len;
    if (r.sacked & TCPCB_SACKED_RETRANS) retrans += r.len;
    assert.ok(!((r.sacked & TCPCB_SACKED_ACKED) && (r.sacked & TCPCB_LOST)), 'never SACKed and lost');
    if (r.next !== null) assert.equal(r.endSeq, r.next.seq, 'records are contiguous');
  }
  assert.equal(n, q.count);
  assert.deepEqual([q.sackedOut, q.lostOut, q.retransOut], [sacked, lost, retrans]);
  const seen = new Set<TxRecord>();
  let prev: TxRecord | null = null;
  for (let r = q.tsortedFirst(); r !== null; r = q.tsortedNext(r)) {
    assert.ok(inQueue.has(r), 'a listed record is in the queue');
    assert.ok(!seen.has(r), 'listed once');
    seen.add(r);
    assert.equal(r.sacked & TCPCB_SACKED_ACKED, 0, 'SACKed records are not listed');
    if (prev !== null) assert.ok(prev.xmitUs <= r.xmitUs && (prev.xmitOrder <= r.xmitOrder), 'transmission order');
    assert.equal(r.tsPrev, prev);
    prev = r;
  }
  assert.equal(q.tsTail, prev);
}

describe('recovery: the retransmit queue scoreboard', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: counters and the transmission-ordered list stay consistent`, () => {
      const rand = rng(seed);
      const q = new RtxQueue();
      let nxt = 1000;
      let una = 1000;
      let now = 0;
      const pick = (): TxRecord | null => {
        let k = Math.floor(rand() * q.count);
        let r = q.head;
        while (r !== null && k-- > 0) r = r.next;
        return r;
      };
      for (let step = 0; step < 3000; step++) {
        now += Math.floor(rand() * 3);
        const op = rand();
        if (op < 0.3) {
          const len = 1 + Math.floor(rand() * 1000);
          q.push(nxt, nxt + len, now, false);
          nxt += len;
        } else if (op < 0.45) {
          const r = pick();
          if (r !== null) q.tagSacked(r);
        } else if (op < 0.6) {
          const r = pick();
          if (r !== null) q.markLost(r);
        } else if (op < 0.72) {
          const r = pick();
          if (r !== null && !(r.sacked & TCPCB_SACKED_ACKED)) q.markRetrans(r, now);
        } else if (op < 0.78) {
          const r = pick();
          if (r !== null && r.len > 1) q.split(r, 1 + Math.floor(rand() * (r.len - 1)));
        } else if (op < 0.82) {
          const r = pick();
          if (r !== null) q.collapse(r, 1500);
        } else if (op < 0.85) {
          const r = pick();
          if (r !== null) q.clearRetrans(r);
        } else if (op < 0.87) {
          q.markAllLost();
        } else if (op < 0.88) {
          q.unmarkLost();
        } else if (q.count > 0) {
          // a cumulative ACK, sometimes inside a record
          const target = una + Math.floor(rand() * (nxt - una + 1));
          q.ackTo(target);
          una = q.head === null ? nxt : q.head.seq;
        }
        check(q);
      }
      q.ackTo(nxt);
      check(q);
      assert.equal(q.count, 0);
      assert.deepEqual([q.sackedOut, q.lostOut, q.retransOut], [0, 0, 0]);
      assert.equal(q.tsortedFirst(), null);
    });
  }
});
