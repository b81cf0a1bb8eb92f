/**
 * User pages: a caller's Uint8Array pinned as host pages without a copy (page i = bytes
 * [i*4096, (i+1)*4096)), referenced by frags through MemSpace.get/put, released page by page
 * when their counts reach zero, the region's slots reused; ordinary pages unaffected.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemSpace, PAGE_SIZE, pinUserPages } from '../../src/mem/index.js';
import { SkbCache, skbAddFrag, skbCopyBits, skbFree } from '../../src/skb/index.js';

describe('user pages', () => {
  it('page i is the caller bytes [i*4096, (i+1)*4096): writes by the caller are seen through the page (no copy)', () => {
    const mem = new MemSpace();
    const view = new Uint8Array(3 * PAGE_SIZE + 100);
    for (let i = 0; i < view.length; i++) view[i] = i & 0xff;
    const up = pinUserPages(mem.host, view)!;
    assert.equal(up.pages, 4);
    for (let i = 0; i < up.pages; i++) {
      const ref = up.ref(i);
      const b = mem.buf(ref);
      const o = mem.offset(ref);
      assert.equal(b[o], (i * PAGE_SIZE) & 0xff);
      assert.equal(b.buffer, view.buffer, 'the page is the caller memory itself');
    }
    view[2 * PAGE_SIZE + 5] = 0xee;
    const r2 = up.ref(2);
    assert.equal(mem.buf(r2)[mem.offset(r2) + 5], 0xee);
    assert.equal(mem.host.userPagesPinned, 4);
    assert.equal(mem.host.inUse, 0, 'user pages are not host pages of the stack');
    up.unpin();
    assert.equal(mem.host.userPagesPinned, 0);
    assert.ok(up.released);
  });

  it('a view with a byteOffset (subarray) maps from its own start; regions larger than a chunk slot span slots', () => {
    const mem = new MemSpace();
    const backing = new Uint8Array((1 << 20) * 2 + 10);
    backing[13] = 1;
    backing[(1 << 20) + 13] = 2;
    const view = backing.subarray(13);
    const up = pinUserPages(mem.host, view)!;
    assert.equal(up.pages, Math.ceil(view.length / PAGE_SIZE));
    const r0 = up.ref(0);
    assert.equal(mem.buf(r0)[mem.offset(r0)], 1);
    const r256 = up.ref(256);
    assert.equal(mem.buf(r256)[mem.offset(r256)], 2);
    up.unpin();
    assert.equal(mem.host.userPagesPinned, 0);
  });

  it('frags keep pages alive after unpin; the region is released (callback once) when the last frag goes', () => {
    const mem = new MemSpace();
    const cache = new SkbCache(mem);
    const view = new Uint8Array(2 * PAGE_SIZE);
    view.fill(7);
    const up = pinUserPages(mem.host, view)!;
    let released = 0;
    up.onReleased = () => released++;
    const skb = cache.allocBare();
    for (let i = 0; i < up.pages; i++) {
      mem.get(up.ref(i));
      assert.ok(skbAddFrag(skb, up.ref(i), 10, 100));
    }
    up.unpin();
    up.unpin(); // idempotent
    assert.equal(mem.host.userPagesPinned, 2);
    assert.equal(released, 0);
    const out = new Uint8Array(200);
    assert.equal(skbCopyBits(skb, 0, out, 0, 200), 0);
    assert.ok(out.every((b) => b === 7));
    skbFree(skb);
    assert.equal(mem.host.userPagesPinned, 0);
    assert.equal(released, 1);
  });

  it('slots are reused by later regions and ordinary page allocation keeps working around them', () => {
    const mem = new MemSpace({ maxHostBytes: 2 << 20 });
    const a = mem.allocPage();
    const up1 = pinUserPages(mem.host, new Uint8Array(PAGE_SIZE))!;
    const total = mem.host.totalPages;
    up1.unpin();
    const up2 = pinUserPages(mem.host, new Uint8Array(PAGE_SIZE))!;
    assert.equal(mem.host.totalPages, total, 'the freed slot was reused');
    // ordinary pages up to the limit (2 MiB = 512 pages) still come: user slots do not count
    let n = 1;
    while (mem.allocPage() !== -1) n++;
    assert.equal(n, 512);
    up2.unpin();
    mem.put(a);
    assert.equal(mem.host.userPagesPinned, 0);
  });

  it('over maxUserPages the pin fails (null → ENOBUFS); an empty view pins nothing', () => {
    const mem = new MemSpace();
    mem.host.maxUserPages = 2;
    assert.equal(pinUserPages(mem.host, new Uint8Array(3 * PAGE_SIZE)), null);
    const e = pinUserPages(mem.host, new Uint8Array(0))!;
    assert.equal(e.pages, 0);
    let called = false;
    e.onReleased = () => (called = true);
    e.unpin();
    assert.ok(called);
    assert.equal(mem.host.userPagesPinned, 0);
  });
});
