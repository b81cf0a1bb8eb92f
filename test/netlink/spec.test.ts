// The netdev uAPI numbers (include/uapi/linux/netdev.h, spec §1.2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  NETDEV_A_DEV, NETDEV_A_DMABUF, NETDEV_A_NAPI, NETDEV_A_PAGE_POOL, NETDEV_A_PAGE_POOL_STATS, NETDEV_A_QSTATS, NETDEV_A_QUEUE,
  NETDEV_CMD, NETDEV_FAMILY_ID, NETDEV_FAMILY_NAME, NETDEV_FAMILY_VERSION, NETDEV_QSTATS_SCOPE_QUEUE, NETDEV_QUEUE_TYPE_RX,
  NETDEV_QUEUE_TYPE_TX, QSTATS_COUNTERS,
} from '../../src/netlink/index.js';

describe('netdev uapi', () => {
  it('family and commands', () => {
    assert.equal(NETDEV_FAMILY_NAME, 'netdev');
    assert.equal(NETDEV_FAMILY_VERSION, 1);
    assert.equal(NETDEV_FAMILY_ID, 0x14);
    assert.deepEqual(Object.values(NETDEV_CMD), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(NETDEV_CMD.BIND_RX, 13);
    assert.equal(NETDEV_CMD.NAPI_SET, 14);
    assert.equal(NETDEV_CMD.BIND_TX, 15);
  });

  it('attribute sets', () => {
    assert.deepEqual(NETDEV_A_DMABUF, { IFINDEX: 1, QUEUES: 2, FD: 3, ID: 4, RX_BUF_SIZE: 5 });
    assert.deepEqual(NETDEV_A_QUEUE, { ID: 1, IFINDEX: 2, TYPE: 3, NAPI_ID: 4, DMABUF: 5, IO_URING: 6, XSK: 7 });
    assert.equal(NETDEV_A_PAGE_POOL.DMABUF, 7);
    assert.equal(NETDEV_A_PAGE_POOL.IO_URING, 8);
    assert.equal(NETDEV_A_PAGE_POOL_STATS.INFO, 1);
    assert.equal(NETDEV_A_PAGE_POOL_STATS.ALLOC_FAST, 8);
    assert.equal(NETDEV_A_PAGE_POOL_STATS.RECYCLE_RELEASED_REFCNT, 18);
    assert.equal(NETDEV_A_DEV.XSK_FEATURES, 6);
    assert.equal(NETDEV_A_NAPI.THREADED, 8);
    assert.equal(NETDEV_QUEUE_TYPE_RX, 0);
    assert.equal(NETDEV_QUEUE_TYPE_TX, 1);
    assert.equal(NETDEV_QSTATS_SCOPE_QUEUE, 1);
  });

  it('qstats counters are numbered 8..34 without gaps, in uapi order', () => {
    assert.deepEqual(QSTATS_COUNTERS.map(([t]) => t), Array.from({ length: 27 }, (_, i) => i + 8));
    for (const [t, name, key] of QSTATS_COUNTERS) {
      const C = name.toUpperCase().replace(/-/g, '_') as keyof typeof NETDEV_A_QSTATS;
      assert.equal(NETDEV_A_QSTATS[C], t, name);
      assert.equal(key, name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
    }
    assert.equal(NETDEV_A_QSTATS.RX_ALLOC_FAIL, 12);
    assert.equal(NETDEV_A_QSTATS.TX_HW_DROPS, 24);
    assert.equal(NETDEV_A_QSTATS.TX_WAKE, 34);
  });
});
