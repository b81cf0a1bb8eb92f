// Linux 7.3 rx-buf-size (the spec's "rx-page-size", §12): the bind-rx attribute, net_iovs larger
// than a page, the page-pool order rule (E2BIG), alignment of the dma-buf to the net_iov size
// (EINVAL with the kernel's extack), and receive cmsgs / tokens over large net_iovs end to end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, NcdevmemPattern, Network, type Host } from '../../src/index.js';
import type { NetDevice } from '../../src/netdev/index.js';
import { bindDevmem, makePair, patternConn } from '../e2e/helpers.js';
import { rejection } from './helpers.js';

function oneHost(opts: { maxRxPageOrder?: number } = {}): { net: Network; h: Host; dev: NetDevice } {
  const net = new Network({ seed: 6 });
  const h = net.addHost('h');
  const dev = h.addDevice('eth0', { rxQueues: 2, ...opts });
  h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  return { net, h, dev };
}

const Q1 = [{ id: 1, type: 'rx' as const }];

describe('rx-buf-size: bind-rx validation (§12)', () => {
  it('not a power of two, or below the page size: EINVAL with the extack, nothing bound', async () => {
    const { net, h, dev } = oneHost();
    const nl = h.netlink();
    const fd = h.allocDeviceMemory(1 << 20).fd;
    for (const v of [0, 2048, 12288, 4097]) {
      const e = await rejection(nl.netdev.bindRx({ ifindex: dev.ifindex, fd, queues: Q1, rxBufSize: v }));
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.extack?.msg, `rx_buf_size ${v} must be a power of 2 >= page size (4096)`);
    }
    assert.equal(h.kernel.mem.bindings.size, 0);
    assert.equal(dev.rxQueues[1]!.mpProvider, null);
    // 4096 is the default size: accepted, pool order 0
    await nl.netdev.bindRx({ ifindex: dev.ifindex, fd, queues: Q1, rxBufSize: 4096 });
    assert.equal(dev.rxQueues[1]!.pool.order, 0);
    nl.close();
    net.close();
  });

  it('dma-buf size or a scatterlist entry not aligned to the net_iov size: EINVAL with the extack', async () => {
    const { net, h, dev } = oneHost();
    const nl = h.netlink();
    const e = await rejection(nl.netdev.bindRx({ ifindex: dev.ifindex, fd: h.allocDeviceMemory(4 * 16384 + 4096).fd, queues: Q1, rxBufSize: 16384 }));
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.extack?.msg, 'dmabuf size 69632 not aligned to niov size 16384');
    const dm = h.allocDeviceMemory(5 * 16384, { sgChunk: 20480 });
    const s = await rejection(nl.netdev.bindRx({ ifindex: dev.ifindex, fd: dm.fd, queues: Q1, rxBufSize: 16384 }));
    assert.equal(s.code, 'EINVAL');
    assert.equal(s.extack?.msg, 'dmabuf sg entry (addr=0x0000000100000000, len=20480) not aligned to niov size 16384');
    assert.equal(dm.attachments, 0, 'the failed bind detached');
    assert.equal(h.kernel.mem.bindings.size, 0);
    nl.close();
    net.close();
  });

  it('page-pool order must equal niov shift - page shift: E2BIG from a driver that caps it; EOPNOTSUPP without support', async () => {
    const capped = oneHost({ maxRxPageOrder: 1 });
    const nl = capped.h.netlink();
    const fd = capped.h.allocDeviceMemory(1 << 20).fd;
    const e = await rejection(nl.netdev.bindRx({ ifindex: capped.dev.ifindex, fd, queues: Q1, rxBufSize: 16384 }));
    assert.equal(e.code, 'E2BIG');
    assert.equal(capped.dev.rxQueues[1]!.mpProvider, null, 'the queue is back on host pages');
    assert.equal(capped.dev.rxQueues[1]!.pool.unreadable, false);
    await nl.netdev.bindRx({ ifindex: capped.dev.ifindex, fd, queues: Q1, rxBufSize: 8192 });
    assert.equal(capped.dev.rxQueues[1]!.pool.order, 1);
    assert.equal(capped.dev.rxQueues[1]!.pool.bufSize, 8192);
    nl.close();
    capped.net.close();
    const none = oneHost({ maxRxPageOrder: 0 });
    const nl2 = none.h.netlink();
    const u = await rejection(nl2.netdev.bindRx({ ifindex: none.dev.ifindex, fd: none.h.allocDeviceMemory(1 << 20).fd, queues: Q1, rxBufSize: 8192 }));
    assert.equal(u.code, 'EOPNOTSUPP');
    nl2.close();
    none.net.close();
  });
});

describe('rx-buf-size: receive over large net_iovs (devmem.py check_rx_large_niov)', () => {
  for (const mtu of [1500, 9000]) {
    it(`16 KiB net_iovs, MTU ${mtu}: cmsgs within one net_iov each, one token per frag piece, data validated on the device`, async () => {
      const p = makePair({ seed: 7, mtu });
      assert.equal(p.devq, 3);
      const { net, eb } = p;
      const { dmabuf, nl, id } = await bindDevmem(p, 256 * 16384, 16384);
      const pool = eb.rxQueues[3]!.pool;
      assert.equal(pool.order, 2);
      assert.equal((await nl.netdev.pagePoolGet(pool.id)).dmabuf, id);
      const size = 1 << 20;
      const { ls, sender, conn } = await patternConn(p, size);
      const pattern = new NcdevmemPattern(7);
      let bytes = 0;
      let bad = 0;
      let dmabufCmsgs = 0;
      let maxFrag = 0;
      const tokens = new Set<number>();
      for (;;) {
        const m = await conn.recvmsg({ iovLen: 1 << 20, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
        if (m.length === 0) break;
        for (const c of m.cmsgs) {
          if (c.kind !== 'dmabuf') continue;
          dmabufCmsgs++;
          assert.equal(c.dmabufId, id);
          assert.ok(c.fragOffset % 16384 + c.fragSize <= 16384, 'a frag never crosses a net_iov');
          maxFrag = Math.max(maxFrag, c.fragSize);
          bad += dmabuf.validate(c.fragOffset, c.fragSize, pattern);
          assert.ok(!tokens.has(c.fragToken), 'one token per frag piece');
          tokens.add(c.fragToken);
        }
        bytes += m.length;
        const list = [...tokens].map((t) => ({ tokenStart: t, tokenCount: 1 }));
        for (let i = 0; i < list.length; i += 128) conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, list.slice(i, i + 128));
        tokens.clear();
      }
      await sender;
      assert.equal(bytes, size);
      assert.equal(bad, 0);
      assert.ok(dmabufCmsgs > 0);
      if (mtu === 9000) assert.ok(maxFrag > 4096, `a frag larger than a page (${maxFrag})`);
      assert.equal(dmabuf.stats.hostVisibleBytes, 0, 'a receive-only run: the host never saw device bytes');
      const pp = await nl.netdev.pagePoolGet(pool.id);
      assert.ok(pp.inflight > 0);
      assert.equal(pp.inflightMem, pp.inflight * 16384, 'inflight-mem counts 16 KiB buffers');
      conn.close();
      ls.close();
      nl.close();
      await net.close();
    });
  }
});
