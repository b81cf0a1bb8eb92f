import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, MemSpace, PAGE_SIZE, PagePool, type NetmemRef,
} from '../../src/mem/index.js';
import {
  MAX_SKB_FRAGS_LIMIT, SkbCache, SkbPieceIter, pskbMayPull, skbAddFrag, skbAppendFragList, skbChecksum, skbCopyBits,
  skbFlattenFragList, skbFragListLen, skbFree, skbPull, skbPut, skbRangeReadable, skbTrim, skbTryCoalesce, skbWarnings,
  type SkBuff,
} from '../../src/skb/index.js';
import { csumBytes, csumFinish } from '../../src/wire/checksum.js';

function setup(maxFrags?: number) {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem, 4096, maxFrags);
  const dm = new DeviceMemory(16 * PAGE_SIZE);
  const binding = new DmabufBinding(mem, new BindingTable(), dm, {}, 'eth0', 'rx');
  const pool = new PagePool(mem, new DmabufDevmemProvider(binding), { flags: 8, ifindex: 2, queueIdx: 0, ringSize: 16 });
  pool.init();
  // warm the skb cache's head page so that host page accounting has a stable baseline
  skbFree(skbs.alloc(64, 0)!);
  const base = mem.host.inUse;
  return { mem, skbs, pool, base };
}

/** a host page whose bytes at `off` are `first, first+1, ...` (len bytes) */
function page(mem: MemSpace, off: number, first: number, len: number): NetmemRef {
  const p = mem.allocPage();
  const b = mem.buf(p);
  for (let i = 0; i < len; i++) b[mem.offset(p) + off + i] = (first + i) & 0xff;
  return p;
}

/** an skb with `headLen` linear bytes starting at value `first`, then readable frags of the given lengths */
function mk(mem: MemSpace, skbs: SkbCache, first: number, headLen: number, frags: number[], room = 0): SkBuff {
  const skb = skbs.alloc(headLen + room, 0)!;
  const o = skbPut(skb, headLen);
  for (let i = 0; i < headLen; i++) skb.buf[o + i] = (first + i) & 0xff;
  let v = first + headLen;
  for (const fl of frags) {
    assert.ok(skbAddFrag(skb, page(mem, 100, v, fl), 100, fl));
    v += fl;
  }
  return skb;
}

const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

function copyAll(skb: SkBuff): number[] {
  const out = new Uint8Array(skb.len);
  assert.equal(skbCopyBits(skb, 0, out, 0, skb.len), 0);
  return [...out];
}

/** parent: 10 head + 20 frag; member 1: 5 head + 15 frag; member 2: 7 head → bytes 0..56 */
function chain(mem: MemSpace, skbs: SkbCache, room = 0): SkBuff {
  const p = mk(mem, skbs, 0, 10, [20], room);
  skbAppendFragList(p, mk(mem, skbs, 30, 5, [15]));
  skbAppendFragList(p, mk(mem, skbs, 50, 7, []));
  return p;
}

function assertReleased(env: ReturnType<typeof setup>): void {
  assert.equal(env.skbs.live, 0, 'every skb object back in the cache');
  assert.equal(env.mem.host.inUse, env.base, 'every host page reference dropped');
  assert.equal(env.pool.inflight(), env.pool.cached, 'every net_iov reference dropped');
}

describe('skb frag list', () => {
  it('members follow the frags: lengths, copy and checksum at every offset', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs);
    assert.equal(p.len, 57);
    assert.equal(p.dataLen, 47);
    assert.equal(skbFragListLen(p), 27);
    assert.equal(p.unreadable, false);
    const all = copyAll(p);
    assert.deepEqual(all, seq(0, 57));
    const bytes = Uint8Array.from(all);
    for (let off = 0; off < 57; off++) {
      for (let len = 0; off + len <= 57; len++) {
        assert.equal(csumFinish(skbChecksum(p, off, len, 0)), csumBytes(bytes.subarray(off, off + len)), `csum ${off}+${len}`);
      }
    }
    const part = new Uint8Array(20);
    assert.equal(skbCopyBits(p, 27, part, 0, 20), 0);
    assert.deepEqual([...part], seq(27, 20));
    assert.equal(skbCopyBits(p, 50, part, 0, 8), -14, 'past the end');
    skbFree(p);
    assertReleased(env);
  });

  it('trim cuts inside a member, at a member boundary, and before the list', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs);
    skbTrim(p, 40);
    assert.equal(p.len, 40);
    assert.equal(skbFragListLen(p), 10);
    assert.equal(p.fragListTail, p.fragList);
    assert.deepEqual(copyAll(p), seq(0, 40));
    assert.equal(env.skbs.live, 2, 'the second member was freed');
    skbAppendFragList(p, mk(env.mem, env.skbs, 40, 3, [2]));
    assert.deepEqual(copyAll(p), seq(0, 45), 'appending after a trim uses the new tail');
    skbTrim(p, 30);
    assert.equal(p.fragList, null);
    assert.equal(p.len, 30);
    assert.equal(p.dataLen, 20);
    skbTrim(p, 12);
    assert.deepEqual(copyAll(p), seq(0, 12));
    skbFree(p);
    assertReleased(env);
  });

  it('pskbMayPull pulls through frags and members, freeing emptied members', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs, 64);
    assert.equal(pskbMayPull(p, 50), true);
    assert.equal(p.tail - p.data, 50);
    assert.equal(p.nrFrags, 0);
    assert.equal(p.len, 57);
    assert.equal(p.dataLen, 7);
    assert.equal(env.skbs.live, 2, 'member 1 fully pulled and freed');
    assert.deepEqual(copyAll(p), seq(0, 57));
    assert.equal(pskbMayPull(p, 58), false);
    assert.equal(pskbMayPull(p, 57), true);
    assert.equal(p.fragList, null);
    assert.equal(p.fragListTail, null);
    assert.deepEqual(copyAll(p), seq(0, 57));
    skbFree(p);
    assertReleased(env);
  });

  it('pskbMayPull stops partway in a member (head, then its frags)', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs, 64);
    assert.equal(pskbMayPull(p, 38), true);
    const m = p.fragList!;
    assert.equal(m.tail - m.data, 0);
    assert.equal(m.len, 12);
    assert.equal(m.fragLen[0], 12);
    assert.deepEqual(copyAll(p), seq(0, 57));
    skbFree(p);
    assertReleased(env);
  });

  it('an unreadable member makes the skb unreadable; each piece is checked on its own', () => {
    const env = setup();
    const p = mk(env.mem, env.skbs, 0, 10, [20], 64);
    const c = mk(env.mem, env.skbs, 30, 5, []);
    assert.ok(skbAddFrag(c, env.pool.alloc(), 0, 100));
    skbAppendFragList(p, c);
    assert.equal(p.unreadable, true);
    assert.equal(p.len, 135);
    const out = new Uint8Array(200);
    assert.equal(skbCopyBits(p, 0, out, 0, 35), 0, 'parent frags and member head are readable');
    assert.deepEqual([...out.subarray(0, 35)], seq(0, 35));
    const w = skbWarnings.unreadableCopy;
    assert.equal(skbCopyBits(p, 30, out, 0, 6), -14);
    assert.equal(skbWarnings.unreadableCopy, w + 1);
    assert.equal(skbRangeReadable(p, 0, 35), true);
    assert.equal(skbRangeReadable(p, 34, 2), false);
    const wc = skbWarnings.unreadableChecksum;
    assert.equal(skbChecksum(p, 0, 135, 0), skbChecksum(p, 0, 35, 0), 'device bytes contribute nothing');
    assert.equal(skbWarnings.unreadableChecksum, wc + 1);
    const early = env.pool.alloc();
    assert.equal(skbAddFrag(p, early, 0, 10), false, 'a net_iov frag never joins readable frag slots');
    env.mem.put(early);
    assert.equal(pskbMayPull(p, 36), false, 'cannot pull device bytes');
    assert.equal(p.tail - p.data, 10, 'a refused pull changes nothing');
    assert.equal(pskbMayPull(p, 35), true);
    // adding frags follows the existing rules: no readable frag into an unreadable skb, no mix
    const mixed = skbWarnings.mixedFrag;
    const pg = env.mem.allocPage();
    assert.equal(skbAddFrag(p, pg, 0, 10), false);
    assert.equal(skbWarnings.mixedFrag, mixed + 1);
    assert.ok(skbAddFrag(p, env.pool.alloc(), 0, 10), 'a net_iov frag joins an unreadable skb whose slots are empty');
    assert.equal(p.len, 145);
    env.mem.put(pg);
    skbFree(p);
    assertReleased(env);
  });

  it('readable members of an unreadable parent stay readable', () => {
    const env = setup();
    const p = env.skbs.alloc(64, 0)!;
    skbPut(p, 4);
    assert.ok(skbAddFrag(p, env.pool.alloc(), 0, 50));
    skbAppendFragList(p, mk(env.mem, env.skbs, 7, 3, [9]));
    assert.equal(p.unreadable, true);
    const out = new Uint8Array(12);
    assert.equal(skbCopyBits(p, 54, out, 0, 12), 0);
    assert.deepEqual([...out], seq(7, 12));
    assert.ok(skbAddFrag(p, env.pool.alloc(), 0, 10), 'a net_iov frag may join net_iov frags');
    assert.equal(p.len, 76);
    out.fill(0);
    assert.equal(skbCopyBits(p, 64, out, 0, 12), 0, 'member bytes now follow the added frag');
    assert.deepEqual([...out], seq(7, 12));
    skbFree(p);
    assertReleased(env);
  });

  it('a child with its own frag list is flattened into the parent list', () => {
    const env = setup();
    const child = mk(env.mem, env.skbs, 30, 5, [5]);
    skbAppendFragList(child, mk(env.mem, env.skbs, 40, 4, []));
    const p = mk(env.mem, env.skbs, 0, 10, [20]);
    skbAppendFragList(p, child);
    assert.equal(p.len, 44);
    assert.equal(child.len, 10);
    assert.equal(child.fragList, null);
    assert.equal(p.fragList, child);
    assert.equal(p.fragListTail, child.next);
    assert.deepEqual(copyAll(p), seq(0, 44));
    skbFree(p);
    assertReleased(env);
  });

  it('refuses to append a linked or freed child', () => {
    const env = setup();
    const p = mk(env.mem, env.skbs, 0, 4, []);
    const a = mk(env.mem, env.skbs, 4, 4, []);
    const b = mk(env.mem, env.skbs, 8, 4, []);
    a.next = b;
    assert.throws(() => skbAppendFragList(p, a), /unlinked/);
    a.next = null;
    assert.throws(() => skbAppendFragList(p, p), /unlinked/);
    skbFree(b);
    assert.throws(() => skbAppendFragList(p, b), /unlinked/);
    skbFree(a);
    skbFree(p);
    assertReleased(env);
  });

  it('coalesce moves a frag list along and refuses to put frags after one', () => {
    const env = setup();
    const to = mk(env.mem, env.skbs, 0, 4, [6]);
    const from = mk(env.mem, env.skbs, 10, 3, [7]);
    skbAppendFragList(from, mk(env.mem, env.skbs, 20, 2, [3]));
    assert.equal(skbTryCoalesce(to, from), false, 'from has linear bytes');
    skbPull(from, 3);
    assert.equal(skbTryCoalesce(to, from), true);
    assert.equal(from.len, 0);
    assert.equal(from.fragList, null);
    skbFree(from);
    assert.deepEqual(copyAll(to), [...seq(0, 4), ...seq(4, 6), ...seq(13, 7), ...seq(20, 5)]);
    const more = mk(env.mem, env.skbs, 0, 0, [5]);
    assert.equal(skbTryCoalesce(to, more), false, 'no frags after a frag list');
    skbFree(more);
    skbFree(to);
    assertReleased(env);
  });

  it('flatten turns members into frag slots, or refuses without changing anything', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs);
    assert.equal(skbFlattenFragList(p), true);
    assert.equal(p.fragList, null);
    assert.equal(p.nrFrags, 4, 'frag, member head, member frag, member head');
    assert.equal(p.len, 57);
    assert.equal(p.dataLen, 47);
    assert.deepEqual(copyAll(p), seq(0, 57));
    skbFree(p);
    assertReleased(env);

    // too many pieces for 17 slots
    const q = mk(env.mem, env.skbs, 0, 2, Array.from({ length: 16 }, () => 1));
    skbAppendFragList(q, mk(env.mem, env.skbs, 18, 1, [1]));
    assert.equal(skbFlattenFragList(q), false);
    assert.notEqual(q.fragList, null);
    assert.deepEqual(copyAll(q), seq(0, 20));
    skbFree(q);

    // device-memory frags then a readable member head: refused
    const d = env.skbs.alloc(64, 0)!;
    assert.ok(skbAddFrag(d, env.pool.alloc(), 0, 10));
    skbAppendFragList(d, mk(env.mem, env.skbs, 0, 3, []));
    assert.equal(skbFlattenFragList(d), false);
    skbFree(d);

    // an external (wrapped) member head cannot become a frag
    const e = mk(env.mem, env.skbs, 0, 2, []);
    const ext = new Uint8Array(8);
    skbAppendFragList(e, env.skbs.wrap(ext, new DataView(ext.buffer)));
    assert.equal(skbFlattenFragList(e), false);
    skbFree(e);
    assertReleased(env);
  });

  it('the piece iterator walks head, frags and members from any offset', () => {
    const env = setup();
    const p = chain(env.mem, env.skbs);
    const c = env.skbs.alloc(32, 0)!;
    assert.ok(skbAddFrag(c, env.pool.alloc(), 64, 40));
    skbAppendFragList(p, c);
    const it = new SkbPieceIter();
    const seen: string[] = [];
    const bytes: number[] = [];
    it.reset(p, 3);
    while (it.next()) {
      seen.push(`${it.isHead ? 'h' : 'f'}${it.netIov ? 'n' : ''}${it.len}`);
      if (!it.netIov) for (let i = 0; i < it.len; i++) bytes.push(it.buf[it.off + i]!);
      else assert.equal(it.pageOff, 64);
    }
    assert.deepEqual(seen, ['h7', 'f20', 'h5', 'f15', 'h7', 'fn40']);
    assert.deepEqual(bytes, seq(3, 54));
    it.reset(p, 31, 10);
    seen.length = 0;
    while (it.next()) seen.push(`${it.isHead ? 'h' : 'f'}${it.len}`);
    assert.deepEqual(seen, ['h4', 'f6']);
    skbFree(p);
    assertReleased(env);
  });

  it('frag capacity is configurable up to 45 (Linux CONFIG_MAX_SKB_FRAGS)', () => {
    assert.throws(() => new SkbCache(new MemSpace(), 16, 46), RangeError);
    assert.throws(() => new SkbCache(new MemSpace(), 16, 8), RangeError);
    const env = setup(MAX_SKB_FRAGS_LIMIT);
    const skb = env.skbs.alloc(64, 0)!;
    assert.equal(skb.maxFrags, 45);
    for (let i = 0; i < 45; i++) assert.ok(skbAddFrag(skb, env.pool.alloc(), 0, 1000 + i));
    const extra = env.pool.alloc();
    assert.equal(skbAddFrag(skb, extra, 0, 1), false);
    env.mem.put(extra);
    assert.equal(skb.len, 45 * 1000 + (44 * 45) / 2);
    skbFree(skb);
    assertReleased(env);
  });
});
