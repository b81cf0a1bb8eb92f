// Binding lifetime = netlink socket lifetime (spec §1.5, §3.8): close unbinds, buffers in flight
// keep the binding alive through detached page pools, ids are unlisted at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NETMEM_NONE } from '../../src/mem/index.js';
import { NetlinkSocket } from '../../src/netlink/index.js';
import { rejects, setup } from './helpers.js';

const RX3 = [{ id: 3, type: 'rx' as const }];

describe('binding lifetime', () => {
  it('queue-get shows dmabuf on bound queues only, and not after close', async () => {
    const { sock, k } = setup();
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const q3 = await sock.netdev.queueGet({ ifindex: 2, id: 3, type: 'rx' });
    assert.equal(q3.dmabuf, id);
    assert.equal((await sock.netdev.queueGet({ ifindex: 2, id: 2, type: 'rx' })).dmabuf, undefined);
    assert.equal((await sock.netdev.queueGet({ ifindex: 2, id: 3, type: 'tx' })).dmabuf, undefined);
    const all = await sock.netdev.queueDump(2);
    assert.deepEqual(all.filter((q) => q.dmabuf !== undefined).map((q) => [q.type, q.id]), [['rx', 3]]);
    sock.close();
    const viewer = new NetlinkSocket(k);
    assert.equal((await viewer.netdev.queueGet({ ifindex: 2, id: 3, type: 'rx' })).dmabuf, undefined);
  });

  it('page pools: the new pool reports dmabuf; the old one stays detached until drained', async () => {
    const { sock, k, eth0 } = setup();
    const oldPool = eth0.rxQueues[3]!.pool;
    const held = oldPool.alloc(); // a host page still in flight in the old pool
    assert.notEqual(held, NETMEM_NONE);
    k.sched.advanceTo(7_500_000);
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const newPool = eth0.rxQueues[3]!.pool;
    assert.notEqual(newPool, oldPool);
    assert.deepEqual(await sock.netdev.pagePoolGet(newPool.id), {
      id: newPool.id, ifindex: 2, napiId: eth0.rxQueues[3]!.napiId, inflight: 0, inflightMem: 0, dmabuf: id,
    });
    assert.deepEqual(await sock.netdev.pagePoolGet(oldPool.id), {
      id: oldPool.id, ifindex: 2, napiId: eth0.rxQueues[3]!.napiId, inflight: 1, inflightMem: 4096, detachTime: 7,
    });
    const dump = await sock.netdev.pagePoolDump();
    assert.ok(dump.some((p) => p.id === oldPool.id && p.detachTime === 7));
    assert.equal(dump.filter((p) => p.dmabuf === id).length, 1);
    k.mem.put(held);
    const e = await rejects(sock.netdev.pagePoolGet(oldPool.id));
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.syscall, 'netlink netdev page-pool-get');
  });

  it('close unbinds: id unlisted, queue restarted, binding freed once the pool drains', async () => {
    const { sock, k, eth0, dmabuf } = setup();
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const binding = sock.bindings[0]!;
    const devPool = eth0.rxQueues[3]!.pool;
    const niov = devPool.alloc(); // a device-memory buffer held by "the application"
    assert.notEqual(niov, NETMEM_NONE);
    assert.equal(binding.refCount, 2); // netlink + page pool
    k.sched.advanceTo(3_000_000);
    sock.close();
    // unlisted at once, queue back on host pages
    assert.equal(k.bindings.size, 0);
    assert.equal(k.bindings.lookup(id), null);
    assert.equal(binding.unlisted, true);
    assert.equal(eth0.rxQueues[3]!.mpProvider, null);
    assert.equal(eth0.rxQueues[3]!.pool.unreadable, false);
    assert.equal(binding.boundRxQueues.size, 0);
    assert.equal(binding.dev, null);
    // the detached pool keeps the binding (and the dma-buf mapping) alive
    assert.equal(binding.freed, false);
    assert.equal(dmabuf.attachments, 1);
    const viewer = new NetlinkSocket(k);
    assert.deepEqual(await viewer.netdev.pagePoolGet(devPool.id), {
      id: devPool.id, ifindex: 2, napiId: eth0.rxQueues[3]!.napiId, inflight: 1, inflightMem: 4096, detachTime: 3, dmabuf: id,
    });
    k.mem.put(niov);
    assert.equal(binding.freed, true);
    assert.equal(binding.leaked, 0);
    assert.equal(dmabuf.attachments, 0);
    assert.equal((await rejects(viewer.netdev.pagePoolGet(devPool.id))).code, 'ENOENT');
  });

  it('with nothing in flight, close frees the binding at once', async () => {
    const { sock, dmabuf } = setup();
    await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: [{ id: 0, type: 'rx' }, { id: 1, type: 'rx' }] });
    await sock.netdev.bindTx({ ifindex: 2, fd: 7 });
    const [rx, tx] = sock.bindings;
    sock.close();
    assert.equal(rx!.freed, true);
    assert.equal(tx!.freed, true);
    assert.equal(dmabuf.attachments, 0);
  });

  it('a second bind on the same queue after close succeeds, with the next id', async () => {
    const { sock, k } = setup();
    const a = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const s2 = new NetlinkSocket(k, { capNetAdmin: true });
    assert.equal((await rejects(s2.netdev.bindRx({ ifindex: 2, fd: 7, queues: RX3 }))).code, 'EEXIST');
    sock.close();
    const b = await s2.netdev.bindRx({ ifindex: 2, fd: 7, queues: RX3 });
    assert.equal(b.id, a.id + 2);
    assert.equal((await s2.netdev.queueGet({ ifindex: 2, id: 3, type: 'rx' })).dmabuf, b.id);
  });

  it('close is idempotent; operations after close fail with EBADF', async () => {
    const { sock } = setup();
    await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    sock.close();
    sock.close();
    assert.equal(sock.closed, true);
    assert.throws(() => sock.send(new Uint8Array(20)), { code: 'EBADF', syscall: 'sendmsg' });
    assert.throws(() => sock.recv(), { code: 'EBADF' });
    const e = await rejects(sock.netdev.devGet(2));
    assert.equal(e.code, 'EBADF');
  });

  it('close drops queued replies and frees the port id', () => {
    const { k, sock } = setup();
    sock.send(new Uint8Array([20, 0, 0, 0, 0x14, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]));
    assert.equal(sock.pending, 1);
    assert.throws(() => new NetlinkSocket(k, { pid: sock.pid }), { code: 'EADDRINUSE' });
    sock.close();
    assert.equal(new NetlinkSocket(k, { pid: sock.pid }).pid, sock.pid);
  });

  it('closing one socket leaves another socket\'s bindings alone', async () => {
    const { sock, k, eth0 } = setup();
    const s2 = new NetlinkSocket(k, { capNetAdmin: true });
    await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: [{ id: 0, type: 'rx' }] });
    const b2 = await s2.netdev.bindRx({ ifindex: 2, fd: 7, queues: [{ id: 1, type: 'rx' }] });
    sock.close();
    assert.equal(eth0.rxQueues[0]!.mpProvider, null);
    assert.equal(eth0.rxQueues[1]!.mpProvider?.dmabufId(), b2.id);
    assert.equal(k.bindings.size, 1);
    assert.deepEqual(s2.bindings.map((b) => b.id), [b2.id]);
  });
});

describe('netlink socket fd', () => {
  it('host.netlink() takes an fd and close() gives it back (no fd leak per socket)', async () => {
    const { Network } = await import('../../src/index.js');
    const net = new Network({ seed: 1 });
    const h = net.addHost('h');
    const files = h.kernel.files;
    const before = files.size;
    const socks = [];
    for (let i = 0; i < 50; i++) socks.push(h.netlink());
    assert.equal(files.size, before + 50);
    const fd = socks[7]!.fd;
    assert.ok(fd >= 0);
    assert.equal(files.get(fd)?.kind, 'netlink');
    for (const s of socks) s.close();
    assert.equal(files.size, before);
    assert.equal(files.get(fd), null);
    // closing the fd (sys.close) closes the socket object as well, and a later close() is a no-op
    const s = h.netlink();
    assert.equal(h.sys.close(s.fd), 0);
    assert.equal(s.closed, true);
    s.close();
    assert.equal(files.size, before);
    await net.close();
  });
});
