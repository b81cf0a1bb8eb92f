// Frag pages (Linux SKB_FRAG_PAGE_ORDER): the 32 KiB compound pages TCP copies sent bytes into.
// Allocation, release and reuse keep every block distinct and the page accounting exact, across
// many chunks and random release orders; the host-memory limit ends allocation with -1 (the
// socket then falls back to 4 KiB pages); a frag page's 32 KiB are addressed from its head.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAG_PAGE_SIZE, HostMemory, MemSpace, NETMEM_NONE, PAGE_SIZE } from '../../src/mem/index.js';

describe('frag pages', () => {
  it('blocks never overlap, inUse counts 8 pages each, released blocks are reused (any release order; property)', () => {
    fc.assert(fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 130 }), (order, n) => {
      const h = new HostMemory();
      const live = new Set<number>();
      const pages = new Set<number>();
      const take = (): void => {
        const p = h.allocFragPage();
        assert.ok(p >= 0);
        assert.equal(p % 8, 0, 'a block starts on an 8-page boundary');
        assert.ok(!live.has(p), `block ${p} handed out twice`);
        live.add(p);
        for (let i = 0; i < 8; i++) {
          assert.ok(!pages.has(p + i), `page ${p + i} in two places`);
          pages.add(p + i);
        }
        // the block is contiguous bytes of one chunk
        assert.ok(h.offset(p) + FRAG_PAGE_SIZE <= h.buf(p).length);
      };
      const drop = (p: number): void => {
        h.refcnt[p]!--;
        h.release(p);
        live.delete(p);
        for (let i = 0; i < 8; i++) pages.delete(p + i);
      };
      for (let i = 0; i < n; i++) take();
      // single pages never come from a frag chunk (nor frag pages from a page chunk)
      const single = h.alloc();
      assert.ok(!pages.has(single));
      for (const k of order) {
        const all = [...live];
        if (all.length > 0 && k % 3 !== 0) drop(all[k % all.length]!);
        else take();
        assert.equal(h.inUse, live.size * 8 + 1);
      }
      for (const p of [...live]) drop(p);
      assert.equal(h.inUse, 1);
    }), { numRuns: 60 });
  });

  it('the host-memory limit: allocation returns -1 when a new chunk would pass maxPages; a release makes room again', () => {
    const h = new HostMemory(2 * 256 * PAGE_SIZE); // two chunks
    const got: number[] = [];
    for (;;) {
      const p = h.allocFragPage();
      if (p < 0) break;
      got.push(p);
    }
    assert.equal(got.length, 64); // 2 chunks × 32 blocks
    assert.equal(h.inUse, 512);
    assert.equal(h.alloc(), -1, 'no chunk left for single pages either');
    h.refcnt[got[5]!] = 0;
    h.release(got[5]!);
    assert.equal(h.allocFragPage(), got[5]);
  });

  it('MemSpace: one reference for the whole block; put of the last frees all 8 pages', () => {
    const mem = new MemSpace();
    const ref = mem.allocFragPage();
    assert.notEqual(ref, NETMEM_NONE);
    assert.equal(mem.host.inUse, 8);
    // bytes written at the end of the block are read back through the head's buf/offset
    const b = mem.buf(ref);
    b[mem.offset(ref) + FRAG_PAGE_SIZE - 1] = 0xab;
    assert.equal(mem.dv(ref).getUint8(mem.offset(ref) + FRAG_PAGE_SIZE - 1), 0xab);
    mem.get(ref);
    mem.put(ref);
    assert.equal(mem.host.inUse, 8);
    mem.put(ref);
    assert.equal(mem.host.inUse, 0);
    assert.equal(mem.allocFragPage(), ref, 'the freed block is handed out again');
  });
});
