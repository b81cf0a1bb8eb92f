import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BindingTable, DeviceMemory, DmabufBinding, DmabufDevmemProvider, HostPageProvider, MemSpace, NETMEM_NONE, PAGE_SIZE,
  PagePool, netmemIsNetIov,
} from '../../src/mem/index.js';

function devmemPool(size: number) {
  const mem = new MemSpace();
  const table = new BindingTable();
  const dm = new DeviceMemory(size, { sgChunk: 8 * PAGE_SIZE });
  const dev = { ifindex: 2 };
  const binding = new DmabufBinding(mem, table, dm, dev, 'eth0', 'rx');
  const provider = new DmabufDevmemProvider(binding);
  const pool = new PagePool(mem, provider, { flags: 8, ifindex: 2, queueIdx: 0, ringSize: 4 });
  assert.equal(pool.init(), 0);
  return { mem, table, dm, binding, provider, pool };
}

describe('PagePool with the host-page provider', () => {
  it('allocates host pages, recycles through cache and ring, counts with kernel stat names', () => {
    const mem = new MemSpace();
    const pool = new PagePool(mem, new HostPageProvider(mem), { flags: 0, ifindex: 2, queueIdx: 0, ringSize: 2 });
    const a = pool.alloc();
    const b = pool.alloc();
    assert.ok(!netmemIsNetIov(a));
    assert.equal(pool.stats.allocSlow, 2);
    assert.equal(mem.refCount(a), 1);
    mem.put(a, true); // softirq: into the cache
    assert.equal(pool.stats.recycleCached, 1);
    mem.put(b); // process context: into the ring
    assert.equal(pool.stats.recycleRing, 1);
    assert.equal(pool.alloc(), a);
    assert.equal(pool.stats.allocFast, 1);
    assert.equal(pool.alloc(), b);
    assert.equal(pool.stats.allocRefill, 1);
    assert.equal(pool.inflight(), 2);
  });

  it('releases to the provider when the ring is full', () => {
    const mem = new MemSpace();
    const pool = new PagePool(mem, new HostPageProvider(mem), { flags: 0, ifindex: 2, queueIdx: 0, ringSize: 1 });
    const refs = [pool.alloc(), pool.alloc(), pool.alloc()];
    for (const r of refs) mem.put(r);
    assert.equal(pool.stats.recycleRing, 1);
    assert.equal(pool.stats.recycleRingFull, 2);
    assert.equal(pool.inflight(), 1);
  });
});

describe('dmabuf binding and provider', () => {
  it('cuts the dma-buf into page-sized net_iovs with dma-buf offsets', () => {
    const { mem, binding, pool } = devmemPool(16 * PAGE_SIZE + 100);
    assert.equal(binding.numNiovs, 16); // the tail shorter than a page has no net_iov
    assert.equal(binding.areas.length, 2);
    const offs = new Set<number>();
    for (let i = 0; i < 16; i++) {
      const r = pool.alloc();
      assert.ok(netmemIsNetIov(r));
      assert.equal(mem.niovBindingId(r), binding.id);
      offs.add(mem.niovDmabufOffset(r));
    }
    assert.deepEqual([...offs].sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i * PAGE_SIZE));
    assert.equal(pool.alloc(), NETMEM_NONE);
    assert.equal(pool.stats.allocEmpty, 1);
  });

  it('a net_iov has no host address', () => {
    const { mem, pool } = devmemPool(4 * PAGE_SIZE);
    const r = pool.alloc();
    assert.throws(() => mem.buf(r), TypeError);
  });

  it('binding refs: netlink + pool; freed only when the pool drained after destroy', () => {
    const { mem, table, binding, pool, dm } = devmemPool(8 * PAGE_SIZE);
    assert.equal(binding.refCount, 2); // netlink + pool
    const held = pool.alloc();
    binding.unlist();
    binding.put(); // netlink reference gone (unbind)
    assert.equal(table.lookup(binding.id), null);
    pool.destroy(1);
    assert.equal(pool.detached, true);
    assert.equal(binding.freed, false, 'an in-flight net_iov keeps the binding alive');
    assert.equal(dm.attachments, 1);
    mem.put(held);
    assert.equal(pool.freed, true);
    assert.equal(binding.freed, true);
    assert.equal(binding.leaked, 0);
    assert.equal(dm.attachments, 0);
  });

  it('binding ids are cyclic, start at 1 and are shared', () => {
    const mem = new MemSpace();
    const table = new BindingTable();
    const dm = new DeviceMemory(PAGE_SIZE * 2);
    const b1 = new DmabufBinding(mem, table, dm, {}, 'eth0', 'rx');
    const b2 = new DmabufBinding(mem, table, dm, {}, 'eth0', 'tx');
    assert.equal(b1.id, 1);
    assert.equal(b2.id, 2);
    assert.ok(b2.txVec !== null && b2.txVec.length === 2);
    b1.put();
    const b3 = new DmabufBinding(mem, table, dm, {}, 'eth0', 'rx');
    assert.equal(b3.id, 3, 'ids are not reused right away (cyclic)');
  });

  it('property: every netmem handed out comes back; inflight returns to zero', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(20)), { maxLength: 200 }), (ops) => {
        const { mem, pool, binding } = devmemPool(32 * PAGE_SIZE);
        const held: number[] = [];
        for (const [alloc, k] of ops) {
          if (alloc) {
            const r = pool.alloc();
            if (r !== NETMEM_NONE) {
              held.push(r);
              if (k % 3 === 0) {
                mem.get(r); // a second holder (a token)
                held.push(r);
              }
            }
          } else if (held.length > 0) {
            const [r] = held.splice(k % held.length, 1);
            mem.put(r!, k % 2 === 0);
          }
        }
        for (const r of held) mem.put(r);
        assert.equal(pool.inflight() - pool.cached, 0);
        pool.destroy(1);
        assert.equal(pool.inflight(), 0);
        assert.equal(binding.chunkPool.available, binding.chunkPool.capacity);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('DeviceMemory', () => {
  it('counts host reads; device operations do not read into the host', () => {
    const dm = new DeviceMemory(64);
    dm.writeFromHost(0, new Uint8Array([1, 2, 3]));
    assert.equal(dm.stats.hostBytesWritten, 3);
    assert.match(dm.digest(0, 3), /^[0-9a-f]{64}$/);
    assert.equal(dm.stats.hostBytesRead, 0);
    assert.deepEqual([...dm.copyToHost(0, 3)], [1, 2, 3]);
    assert.equal(dm.stats.hostBytesRead, 3);
    assert.throws(() => dm.copyToHost(60, 10), RangeError);
  });
});
