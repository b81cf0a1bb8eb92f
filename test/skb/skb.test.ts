import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, MemSpace, PAGE_SIZE, PagePool,
} from '../../src/mem/index.js';
import {
  SkbCache, pskbMayPull, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPush, skbPut, skbTrim, skbTryCoalesce, skbWarnings,
} from '../../src/skb/index.js';
import { csumBytes, csumFinish } from '../../src/wire/checksum.js';

function setup() {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const dm = new DeviceMemory(16 * PAGE_SIZE);
  const binding = new DmabufBinding(mem, new BindingTable(), dm, {}, 'eth0', 'rx');
  const pool = new PagePool(mem, new DmabufDevmemProvider(binding), { flags: 8, ifindex: 2, queueIdx: 0, ringSize: 16 });
  pool.init();
  return { mem, skbs, pool, dm };
}

/** a readable skb: 10 linear bytes 0..9, then a host-page frag with 20 bytes 10..29 */
function readableSkb(mem: MemSpace, skbs: SkbCache) {
  const skb = skbs.alloc(64, 0)!;
  const o = skbPut(skb, 10);
  for (let i = 0; i < 10; i++) skb.buf[o + i] = i;
  const page = mem.allocPage();
  for (let i = 0; i < 20; i++) mem.buf(page)[mem.offset(page) + 100 + i] = 10 + i;
  assert.ok(skbAddFrag(skb, page, 100, 20));
  return skb;
}

describe('SkBuff', () => {
  it('copies across linear and frag bytes of a readable skb', () => {
    const { mem, skbs } = setup();
    const skb = readableSkb(mem, skbs);
    const out = new Uint8Array(30);
    assert.equal(skbCopyBits(skb, 0, out, 0, 30), 0);
    assert.deepEqual([...out], Array.from({ length: 30 }, (_, i) => i));
    const expected = csumBytes(out);
    assert.equal(csumFinish(skbChecksum(skb, 0, 30, 0)), expected);
    // odd split point: checksum starting at offset 5 over 25 bytes
    assert.equal(csumFinish(skbChecksum(skb, 5, 25, 0)), csumBytes(out.subarray(5)));
    skbFree(skb);
  });

  it('a net_iov frag makes the skb unreadable; copies and pulls into it fail', () => {
    const { skbs, pool } = setup();
    const skb = skbs.alloc(64, 16)!;
    const o = skbPut(skb, 8);
    skb.buf.fill(7, o, o + 8);
    assert.equal(skb.unreadable, false);
    assert.ok(skbAddFrag(skb, pool.alloc(), 0, 1000));
    assert.equal(skb.unreadable, true);
    const out = new Uint8Array(100);
    const before = skbWarnings.unreadableCopy;
    assert.equal(skbCopyBits(skb, 0, out, 0, 8), 0, 'the linear part is readable');
    assert.equal(skbCopyBits(skb, 4, out, 0, 10), -14, 'EFAULT when reaching into the frags');
    assert.equal(skbWarnings.unreadableCopy, before + 1);
    assert.equal(pskbMayPull(skb, 8), true);
    assert.equal(pskbMayPull(skb, 9), false);
    // checksum covers the head only
    const headOnly = skbChecksum(skb, 0, 8, 0);
    assert.equal(skbChecksum(skb, 0, skb.len, 0), headOnly);
    skbPush(skb, 4);
    assert.equal(skb.len, 1012);
    skbFree(skb);
  });

  it('a page frag joins an unreadable skb as Linux allows; the skb stays unreadable and its frags are refused', () => {
    const { mem, skbs, pool } = setup();
    const skb = skbs.alloc(64, 0)!;
    assert.ok(skbAddFrag(skb, pool.alloc(), 0, 100));
    const page = mem.allocPage();
    assert.ok(skbAddFrag(skb, page, 0, 100));
    assert.equal(skb.unreadable, true);
    assert.equal(skb.len, 200);
    assert.equal(skbCopyBits(skb, 100, new Uint8Array(100), 0, 100), -14, 'the page bytes are unreadable with the rest');
    skbFree(skb);
    assert.equal(pool.inflight(), pool.cached, 'the net_iov reference dropped');
  });

  it('coalesce refuses different readability and moves frag references otherwise', () => {
    const { mem, skbs, pool } = setup();
    const a = skbs.alloc(64, 0)!;
    const b = skbs.alloc(64, 0)!;
    const c = readableSkb(mem, skbs);
    skbAddFrag(a, pool.alloc(), 0, 100);
    skbAddFrag(b, pool.alloc(), 0, 50);
    assert.equal(skbTryCoalesce(a, c), false);
    assert.equal(skbTryCoalesce(a, b), true);
    assert.equal(a.len, 150);
    assert.equal(a.nrFrags, 2);
    assert.equal(b.len, 0);
    skbFree(b);
    skbFree(c);
    skbTrim(a, 120);
    assert.equal(a.len, 120);
    assert.equal(a.fragLen[1], 20);
    skbFree(a);
    assert.equal(pool.inflight(), pool.cached, 'all net_iov references dropped');
  });

  it('freeing returns every reference; double free throws', () => {
    const { mem, skbs } = setup();
    const skb = readableSkb(mem, skbs);
    const page = skb.fragRef[0]!;
    assert.equal(mem.refCount(page), 1);
    mem.get(page);
    skbFree(skb);
    assert.equal(mem.refCount(page), 1);
    assert.throws(() => skbFree(skb), /double free/);
    mem.put(page);
  });
});
