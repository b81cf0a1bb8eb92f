/**
 * The TCP write queue (src/tcp/write-queue): records over a frag ring, copied bytes and
 * caller-owned memory with a transmit completion, the hard boundaries (uarg, readability, EOR)
 * that no outgoing skb crosses, Linux's record split / grow with PSH and EOR on the tail piece,
 * and every reference (pages, net_iovs, completions) back to zero after ACK or release.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, MemSpace, PAGE_SIZE, PagePool, type NetmemRef,
} from '../../src/mem/index.js';
import { SkbCache, skbCopyBits, skbFree, type SkBuff, type UbufInfo } from '../../src/skb/index.js';
import { WQ_SKB_OVERHEAD, WriteQueue } from '../../src/tcp/write-queue/index.js';

function setup(maxFrags = 17) {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem, 4096, maxFrags);
  const q = new WriteQueue(mem, maxFrags);
  q.reset(1000);
  // the skb cache keeps the page it carves heads from: count pages above that
  skbFree(skbs.alloc(128, 128)!);
  const base = mem.host.inUse;
  return { mem, skbs, q, base };
}

function pattern(n: number, seed = 0): Uint8Array {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = (i * 31 + seed + (i >>> 9)) & 0xff;
  return d;
}

/** a completion that counts how often it ran */
function uarg(): UbufInfo & { done: number } {
  const u = { refcnt: 1, zerocopy: true, done: 0, complete(): void { u.done++; } };
  return u;
}

/** one outgoing skb with [seq, seq+len) attached; its bytes (readable frags only) */
function out(skbs: SkbCache, q: WriteQueue, seq: number, len: number): { skb: SkBuff; n: number; bytes: Uint8Array } {
  const skb = skbs.alloc(128, 128)!;
  const n = q.attachFrags(skb, seq, len);
  const bytes = new Uint8Array(n);
  if (!skb.unreadable) assert.equal(skbCopyBits(skb, 0, bytes, 0, n), 0);
  return { skb, n, bytes };
}

/** host pages the test's user buffer lives in: refs with one reference each, filled with `data` */
function userPages(mem: MemSpace, data: Uint8Array): NetmemRef[] {
  const refs: NetmemRef[] = [];
  for (let off = 0; off < data.length; off += PAGE_SIZE) {
    const ref = mem.allocPage();
    mem.buf(ref).set(data.subarray(off, Math.min(off + PAGE_SIZE, data.length)), mem.offset(ref));
    refs.push(ref);
  }
  return refs;
}

describe('write queue: copied bytes', () => {
  it('fills records up to the size goal, attaches byte-exact frags for any range, frees everything on ACK', () => {
    const { mem, skbs, q, base } = setup();
    q.sizeGoal = 10_000;
    const data = pattern(25_000);
    assert.equal(q.append(data, 0, 25_000), 25_000);
    assert.equal(q.count, 3);
    assert.deepEqual([q.head!.len, q.head!.next!.len, q.tail!.len], [10_000, 10_000, 5000]);
    assert.equal(q.endSeq, 26_000);
    assert.equal(q.wmemQueued, 3 * WQ_SKB_OVERHEAD + 25_000);
    // ranges across records and pages, as new data and as retransmissions
    for (const [s, l] of [[1000, 1448], [9000, 4000], [1000 + 24_000, 1000], [5555, 17_000]] as const) {
      const o = out(skbs, q, s, l);
      assert.equal(o.n, l);
      assert.ok(Buffer.from(o.bytes).equals(Buffer.from(data.subarray(s - 1000, s - 1000 + l))), `range ${s}+${l}`);
      skbFree(o.skb);
    }
    assert.equal(q.segLimit(1000, 1 << 30), 25_000, 'no hard boundary in copied bytes');
    const pages = mem.host.inUse;
    assert.ok(pages >= 7);
    q.ackTo(1000 + 12_000);
    assert.equal(q.count, 2, 'the fully acknowledged record is gone, the partial one trimmed');
    assert.equal(q.head!.seq, 13_000);
    assert.equal(q.wmemQueued, 2 * WQ_SKB_OVERHEAD + 13_000);
    const o = out(skbs, q, 13_000, 100);
    assert.ok(Buffer.from(o.bytes).equals(Buffer.from(data.subarray(12_000, 12_100))));
    skbFree(o.skb);
    q.ackTo(26_000);
    assert.equal(q.bytes, 0);
    assert.equal(q.count, 0);
    assert.equal(q.wmemQueued, 0);
    q.release();
    assert.equal(mem.host.inUse, base, 'every page back (queue, copy page)');
  });

  it('sequence numbers are int32 and wrap: a queue across 2^31 and across 2^32 behaves the same', () => {
    for (const start of [0x7fffff00 | 0, -700, 2_000_000_000]) {
      const { mem, skbs, q, base } = setup();
      q.reset(start);
      q.sizeGoal = 2000;
      const data = pattern(5000, 4);
      assert.equal(q.append(data, 0, 5000), 5000);
      assert.equal(q.startSeq, start | 0);
      assert.equal(q.endSeq, (start + 5000) | 0, 'int32 end');
      assert.equal(q.head!.seq, start | 0);
      assert.equal(q.tail!.endSeq, (start + 5000) | 0);
      const o = out(skbs, q, (start + 1500) | 0, 1500);
      assert.equal(o.n, 1500);
      assert.ok(Buffer.from(o.bytes).equals(Buffer.from(data.subarray(1500, 3000))));
      skbFree(o.skb);
      assert.equal(q.segLimit((start + 4999) | 0, 100), 1);
      q.ackTo((start + 2500) | 0);
      assert.equal(q.count, 2);
      assert.equal(q.head!.seq, (start + 2500) | 0);
      q.ackTo((start + 5000) | 0);
      assert.equal(q.bytes, 0);
      q.release();
      assert.equal(mem.host.inUse, base);
    }
  });

  it('an outgoing skb that holds a page reference keeps the bytes valid after the ACK', () => {
    const { mem, skbs, q, base } = setup();
    const data = pattern(3000, 7);
    q.append(data, 0, 3000);
    const o = out(skbs, q, 1000, 3000);
    q.ackTo(4000);
    q.release();
    assert.ok(mem.host.inUse > base, 'the skb still references its page');
    const again = new Uint8Array(3000);
    skbCopyBits(o.skb, 0, again, 0, 3000);
    assert.ok(Buffer.from(again).equals(Buffer.from(data)));
    skbFree(o.skb);
    assert.equal(mem.host.inUse, base);
  });

  it('adversarial: ACKs below the queue or beyond its end, empty ranges, out-of-range attaches', () => {
    const { mem, skbs, q, base } = setup();
    q.append(pattern(5000), 0, 5000);
    q.ackTo(500); // below startSeq (1000): nothing
    assert.equal(q.bytes, 5000);
    assert.equal(out(skbs, q, 900, 10).n, 0, 'before the queue');
    assert.equal(out(skbs, q, 6000, 10).n, 0, 'past the queue');
    assert.equal(q.segLimit(6000, 100), 0);
    q.ackTo(1_000_000); // beyond the end: clamps
    assert.equal(q.bytes, 0);
    assert.equal(q.startSeq, 6000);
    assert.equal(q.count, 0);
    q.release();
    assert.equal(mem.host.inUse, base);
  });

  it('many small writes coalesce into one frag per page; the ring grows and wraps without losing bytes', () => {
    const { mem, skbs, q, base } = setup();
    q.sizeGoal = 64 * 1448;
    const data = pattern(200_000, 3);
    let off = 0;
    let acked = 1000;
    while (off < data.length) {
      const n = Math.min(777, data.length - off);
      assert.equal(q.append(data, off, n), n);
      off += n;
      if (off % (777 * 40) === 0) {
        // ACK half of what is queued: the ring's head moves, later appends wrap
        acked = (acked + ((q.endSeq - acked) >> 1)) >>> 0;
        q.ackTo(acked);
      }
    }
    assert.ok(q.bytes > 40_000);
    const want = Math.min(16 * PAGE_SIZE - 100, q.bytes);
    const o = out(skbs, q, acked, want);
    assert.equal(o.n, want);
    assert.ok(Buffer.from(o.bytes).equals(Buffer.from(data.subarray(acked - 1000, acked - 1000 + o.n))));
    skbFree(o.skb);
    q.release();
    assert.equal(mem.host.inUse, base);
  });
});

describe('write queue: caller-owned memory (appendFrag)', () => {
  it('joins the tail only with the same uarg; copies never join it; attachFrags stops at each boundary and sets skb.uarg', () => {
    const { mem, skbs, q, base } = setup();
    q.sizeGoal = 1 << 20;
    const user = pattern(3 * PAGE_SIZE, 9);
    const pages = userPages(mem, user);
    const u1 = uarg();
    const u2 = uarg();
    q.append(pattern(1000), 0, 1000); // [1000, 2000) copied
    assert.ok(q.appendFrag(pages[0]!, 0, PAGE_SIZE, u1)); // [2000, 6096) u1
    assert.ok(q.appendFrag(pages[1]!, 0, 100, u1)); // joins
    assert.ok(q.appendFrag(pages[1]!, 100, 200, u2)); // new record (other uarg)
    q.append(pattern(500, 1), 0, 500); // new record: a copy never joins a uarg record
    assert.equal(q.count, 4);
    assert.deepEqual([q.head!.uarg, q.head!.next!.uarg, q.head!.next!.next!.uarg, q.tail!.uarg], [null, u1, u2, null]);
    assert.equal(u1.refcnt, 2, 'the queue holds one reference per record');
    assert.equal(q.segLimit(1000, 1 << 20), 1000, 'copy | u1');
    assert.equal(q.segLimit(2000, 1 << 20), PAGE_SIZE + 100, 'u1 | u2');
    assert.equal(q.segLimit(2000 + PAGE_SIZE + 100, 1 << 20), 200, 'u2 | copy');
    // an skb asked to cross the copy/u1 boundary gets only the copied part, and no uarg
    const a = out(skbs, q, 1500, 1000);
    assert.equal(a.n, 500);
    assert.equal(a.skb.uarg, null);
    skbFree(a.skb);
    // the u1 range: the skb shares the completion, bytes are the user's own pages
    const b = out(skbs, q, 2000, PAGE_SIZE + 100);
    assert.equal(b.n, PAGE_SIZE + 100);
    assert.equal(b.skb.uarg, u1);
    assert.equal(u1.refcnt, 3);
    assert.ok(Buffer.from(b.bytes).equals(Buffer.from(user.subarray(0, PAGE_SIZE + 100))));
    // ACK everything: the queue's references go, the skb still holds u1
    q.ackTo(q.endSeq);
    assert.equal(q.count, 0);
    assert.equal(u2.refcnt, 1, 'u2: only its creator');
    assert.equal(u1.refcnt, 2);
    assert.equal(u1.done, 0);
    skbFree(b.skb);
    assert.equal(u1.refcnt, 1);
    // the creator's reference last: completion exactly once
    u1.refcnt--;
    u1.complete();
    assert.equal(u1.done, 1);
    // the caller's page references are still its own
    for (const p of pages) assert.equal(mem.refCount(p), 1);
    for (const p of pages) mem.put(p);
    q.release();
    assert.equal(mem.host.inUse, base);
  });

  it('release (close, abort) drops the queue references of unacknowledged records', () => {
    const { mem, q, base } = setup();
    const pages = userPages(mem, pattern(PAGE_SIZE));
    const u = uarg();
    q.appendFrag(pages[0]!, 0, 1000, u);
    q.appendFrag(pages[0]!, 1000, 1000, u);
    assert.equal(mem.refCount(pages[0]!), 2, 'adjacent ranges of one page share one frag entry');
    q.release();
    assert.equal(u.refcnt, 1);
    assert.equal(mem.refCount(pages[0]!), 1);
    mem.put(pages[0]!);
    assert.equal(mem.host.inUse, base);
  });

  it('adversarial appendFrag ranges are refused and change nothing', () => {
    const { mem, q } = setup();
    const pages = userPages(mem, pattern(PAGE_SIZE));
    const u = uarg();
    assert.equal(q.appendFrag(pages[0]!, 0, 0, u), false);
    assert.equal(q.appendFrag(pages[0]!, -1, 10, u), false);
    assert.equal(q.appendFrag(pages[0]!, 4000, 200, u), false);
    assert.equal(q.appendFrag(pages[0]!, 0, Number.NaN, u), false);
    assert.equal(q.appendFrag(-1, 0, 10, u), false);
    assert.equal(q.count, 0);
    assert.equal(q.bytes, 0);
    assert.equal(u.refcnt, 1);
    assert.equal(mem.refCount(pages[0]!), 1);
    mem.put(pages[0]!);
  });

  it('a record whose frag slots are full is pushed and the next frag starts a new one', () => {
    const { mem, q, base } = setup(17);
    q.sizeGoal = 1 << 20;
    const pages = userPages(mem, pattern(18 * PAGE_SIZE));
    const u = uarg();
    for (const p of pages) assert.ok(q.appendFrag(p, 0, 100, u)); // not adjacent: one frag each
    assert.equal(q.count, 2);
    assert.equal(q.head!.nrFrags, 17);
    assert.equal(q.head!.psh, true);
    assert.equal(q.tail!.len, 100);
    q.release();
    for (const p of pages) mem.put(p);
    assert.equal(mem.host.inUse, base);
  });

  it('device memory (net_iov) is unreadable: never in one record or skb with host bytes', () => {
    const mem = new MemSpace();
    const skbs = new SkbCache(mem);
    const q = new WriteQueue(mem, 17);
    q.reset(1);
    q.sizeGoal = 1 << 20;
    const dm = new DeviceMemory(8 * PAGE_SIZE);
    const binding = new DmabufBinding(mem, new BindingTable(), dm, {}, 'eth0', 'rx');
    const pool = new PagePool(mem, new DmabufDevmemProvider(binding), { flags: 8, ifindex: 2, queueIdx: 0, ringSize: 8 });
    pool.init();
    const niov = pool.alloc();
    assert.ok((niov & 1) === 1);
    const u = uarg();
    q.append(pattern(300), 0, 300);
    assert.ok(q.appendFrag(niov, 0, 2000, u));
    assert.equal(q.count, 2);
    assert.equal(q.tail!.unreadable, true);
    assert.equal(q.segLimit(1, 10_000), 300);
    const a = out(skbs, q, 1, 2300);
    assert.equal(a.n, 300, 'stops before the net_iov');
    assert.equal(a.skb.unreadable, false);
    skbFree(a.skb);
    const b = out(skbs, q, 301, 2000);
    assert.equal(b.n, 2000);
    assert.equal(b.skb.unreadable, true);
    assert.equal(b.skb.uarg, u);
    skbFree(b.skb);
    q.ackTo(q.endSeq);
    assert.equal(u.refcnt, 1);
  });
});

describe('write queue: EOR and Linux record surgery', () => {
  it('markEor closes the tail: appends start a new record, segLimit and attachFrags stop at its end', () => {
    const { skbs, q } = setup();
    q.sizeGoal = 65_000;
    q.append(pattern(10_400), 0, 10_400);
    q.append(pattern(400, 1), 0, 400);
    q.markEor();
    q.append(pattern(10_000, 2), 0, 10_000);
    assert.equal(q.count, 2, '400 joined the first record, the EOR record took no more');
    assert.equal(q.head!.len, 10_800);
    assert.equal(q.head!.eor, true);
    assert.equal(q.segLimit(1000, 1 << 20), 10_800);
    assert.equal(q.segLimit(1000 + 10_800, 1 << 20), 10_000);
    const o = out(skbs, q, 1000 + 10_000, 2000);
    assert.equal(o.n, 800);
    skbFree(o.skb);
    q.release();
  });

  it('split keeps PSH / EOR on the tail piece; grow eats the next record (its PSH moves) but never an EOR or zerocopy one', () => {
    const { q } = setup();
    q.sizeGoal = 5000;
    q.append(pattern(12_000), 0, 12_000); // 5000 | 5000 | 2000
    const [r1, r2, r3] = [q.head!, q.head!.next!, q.tail!];
    r3.psh = true;
    r3.eor = true;
    q.split(r3, 500);
    assert.deepEqual([r3.len, r3.psh, r3.eor, r3.next!.len, r3.next!.psh, r3.next!.eor], [500, false, false, 1500, true, true]);
    assert.equal(q.count, 4);
    r2.psh = true;
    q.grow(r1, 5000); // eats r2 whole
    assert.deepEqual([r1.len, r1.psh, q.count], [10_000, true, 3]);
    q.grow(r1, 200); // takes part of r3 (now the next): its marks stay there
    assert.deepEqual([r1.len, r3.len, r3.seq], [10_200, 300, 1000 + 10_200]);
    q.grow(r3, 10_000); // r3 → the EOR piece: whole
    assert.equal(r3.len, 1800);
    assert.equal(r3.eor, true);
    assert.equal(q.tail, r3);
    q.append(pattern(100), 0, 100); // after an EOR record: new record
    q.grow(r3, 100);
    assert.equal(r3.len, 1800, 'nothing joins an EOR record');
    assert.equal(q.wmemQueued, q.count * WQ_SKB_OVERHEAD + q.bytes);
    q.release();
  });
});
