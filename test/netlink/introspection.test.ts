// dev-get, queue-get, napi-get/set, page-pool-stats-get and qstats-get through the client.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NETMEM_NONE } from '../../src/mem/index.js';
import { DUMP_DATAGRAM_MAX, NETDEV_FAMILY_ID, NetlinkSocket } from '../../src/netlink/index.js';
import { NLMSG_DONE, parseNlMsgs } from '../../src/wire/netlink.js';
import { FakeKernel, capture, rejects, setup } from './helpers.js';

describe('dev-get', () => {
  it('do and dump', async () => {
    const { sock } = setup();
    const eth0 = { ifindex: 2, xdpFeatures: 0, xdpRxMetadataFeatures: 0, xskFeatures: 0 };
    assert.deepEqual(await sock.netdev.devGet(2), eth0);
    assert.deepEqual((await sock.netdev.devDump()).map((d) => d.ifindex), [1, 2]);
    const e = await rejects(sock.netdev.devGet(9));
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.syscall, 'netlink netdev dev-get');
  });

  it('skips devices that are not present', async () => {
    const { sock, lo } = setup();
    lo.present = false;
    assert.deepEqual((await sock.netdev.devDump()).map((d) => d.ifindex), [2]);
  });

  it('the client resolves the family through nlctrl', async () => {
    const { sock } = setup();
    const f = await sock.ctrl.getFamily('netdev');
    assert.equal(f.id, NETDEV_FAMILY_ID);
    assert.equal(f.version, 1);
    assert.deepEqual(f.ops.map((o) => o.id), [1, 5, 9, 10, 11, 12, 13, 14, 15]);
    assert.deepEqual(f.ops.find((o) => o.id === 13)!.flags, 0x0b);
    assert.deepEqual(f.mcastGroups, [{ name: 'mgmt', id: 4 }, { name: 'page-pool', id: 5 }]);
    assert.equal((await rejects(sock.ctrl.getFamily('nope'))).code, 'ENOENT');
  });
});

describe('queue-get', () => {
  it('do: rx carries napi-id, tx does not; out of range is EINVAL', async () => {
    const { sock, eth0 } = setup();
    assert.deepEqual(await sock.netdev.queueGet({ ifindex: 2, id: 1, type: 'rx' }), { id: 1, type: 'rx', ifindex: 2, napiId: eth0.rxQueues[1]!.napiId });
    assert.deepEqual(await sock.netdev.queueGet({ ifindex: 2, id: 1, type: 'tx' }), { id: 1, type: 'tx', ifindex: 2 });
    const e = await rejects(sock.netdev.queueGet({ ifindex: 2, id: 4, type: 'rx' }));
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.extack, undefined);
    assert.equal((await rejects(sock.netdev.queueGet({ ifindex: 9, id: 0, type: 'rx' }))).code, 'ENODEV');
  });

  it('dump lists rx then tx queues of devices that are up', async () => {
    const { sock, lo } = setup();
    const all = await sock.netdev.queueDump();
    assert.deepEqual(all.map((q) => `${q.ifindex}:${q.type}${q.id}`), ['1:rx0', '1:tx0', '2:rx0', '2:rx1', '2:rx2', '2:rx3', '2:tx0', '2:tx1', '2:tx2', '2:tx3']);
    lo.up = false;
    assert.equal((await sock.netdev.queueDump(1)).length, 0);
    assert.equal((await rejects(sock.netdev.queueGet({ ifindex: 1, id: 0, type: 'rx' }))).code, 'ENOENT');
    assert.equal((await rejects(sock.netdev.queueDump(9))).code, 'ENODEV');
  });
});

describe('napi', () => {
  it('get, dump (highest id first), set needs CAP_NET_ADMIN', async () => {
    const { sock, k, eth0 } = setup();
    const ids = eth0.rxQueues.map((q) => q.napiId);
    const dump = await sock.netdev.napiDump(2);
    assert.deepEqual(dump.map((n) => n.id), [...ids].sort((a, b) => b - a));
    assert.deepEqual(await sock.netdev.napiGet(ids[2]!), {
      id: ids[2], ifindex: 2, threaded: 0, deferHardIrqs: 0, irqSuspendTimeout: 0, groFlushTimeout: 0,
    });
    const e = await rejects(sock.netdev.napiGet(99999));
    assert.equal(e.code, 'ENOENT');
    assert.deepEqual(e.extack, { badAttrOffset: 20, badAttr: 'id' });
    const unpriv = new NetlinkSocket(k);
    assert.equal((await rejects(unpriv.netdev.napiSet({ id: ids[2]!, deferHardIrqs: 5 }))).code, 'EPERM');
    await sock.netdev.napiSet({ id: ids[2]!, deferHardIrqs: 5, groFlushTimeout: 20000, threaded: 1 });
    const n = await unpriv.netdev.napiGet(ids[2]!);
    assert.equal(n.deferHardIrqs, 5);
    assert.equal(n.groFlushTimeout, 20000);
    assert.equal(n.threaded, 1);
    const bad = await rejects(sock.netdev.napiSet({ id: ids[2]!, threaded: 2 }));
    assert.equal(bad.code, 'ERANGE');
    assert.equal(bad.extack?.msg, 'integer out of range');
    assert.equal(bad.extack?.badAttr, 'threaded');
  });
});

describe('page-pool-stats-get', () => {
  it('reports the pool counters after allocations', async () => {
    const { sock, k, eth0 } = setup();
    const pool = eth0.rxQueues[0]!.pool;
    const refs = [pool.alloc(), pool.alloc(), pool.alloc()];
    assert.ok(refs.every((r) => r !== NETMEM_NONE));
    for (const r of refs) k.mem.put(r, true); // recycled into the alloc cache
    const again = pool.alloc(); // fast path
    const s = await sock.netdev.pagePoolStatsGet(pool.id);
    assert.deepEqual(s, {
      info: { id: pool.id, ifindex: 2 },
      allocFast: 1, allocSlow: 3, allocSlowHighOrder: 0, allocEmpty: 0, allocRefill: 0, allocWaive: 0,
      recycleCached: 3, recycleCacheFull: 0, recycleRing: 0, recycleRingFull: 0, recycleReleasedRefcnt: 0,
    });
    const p = await sock.netdev.pagePoolGet(pool.id);
    assert.equal(p.inflight, 3);
    assert.equal(p.inflightMem, 3 * 4096);
    k.mem.put(again, true);
    const dump = await sock.netdev.pagePoolStatsDump();
    assert.equal(dump.length, k.mem.livePools().length);
    assert.deepEqual(dump.find((d) => d.info.id === pool.id)?.recycleCached, 4);
    assert.equal((await rejects(sock.netdev.pagePoolStatsGet(4242))).code, 'ENOENT');
  });

  it('selecting by ifindex is refused; a missing id names the nest', () => {
    const { sock } = setup();
    const req = (inner: string): Uint8Array => {
      const body = Buffer.from(inner.replace(/\s+/g, ''), 'hex');
      const nest = Buffer.concat([Buffer.from([body.length + 4, 0, 0x01, 0x80]), body]);
      const len = 20 + nest.length;
      return new Uint8Array(Buffer.concat([Buffer.from([len, 0, 0, 0, 0x14, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0]), nest]));
    };
    sock.send(req('08000100 01000000 08000200 02000000'));
    const h1 = Buffer.from(sock.recv()!).toString('hex');
    assert.ok(h1.includes(Buffer.from('selecting by ifindex not supported').toString('hex')), h1);
    assert.ok(h1.endsWith('0800020020000000'), h1); // offset of the inner ifindex
    sock.send(req(''));
    const h2 = Buffer.from(sock.recv()!).toString('hex');
    assert.ok(h2.endsWith('08000500010000000800060014000000'), h2); // miss id, nest at 20
  });
});

describe('qstats-get', () => {
  it('device totals vs per-queue entries', async () => {
    const { sock, eth0 } = setup();
    eth0.rxQueues[0]!.stats.rxPackets = 10;
    eth0.rxQueues[0]!.stats.rxBytes = 15000;
    eth0.rxQueues[2]!.stats.rxPackets = 5;
    eth0.rxQueues[2]!.stats.rxBytes = 500;
    eth0.rxQueues[2]!.stats.rxAllocFail = 2;
    eth0.txQueues[1]!.stats.txPackets = 7;
    eth0.txQueues[1]!.stats.txBytes = 700;
    const totals = await sock.netdev.qstatsDump({ ifindex: 2 });
    assert.equal(totals.length, 1);
    assert.deepEqual(totals[0], {
      ifindex: 2,
      rxPackets: 15, rxBytes: 15500, rxAllocFail: 2, rxHwDrops: 0, rxHwDropOverruns: 0,
      rxCsumComplete: 0, rxCsumUnnecessary: 0, rxCsumNone: 0, rxCsumBad: 0,
      txPackets: 7, txBytes: 700, txHwDrops: 0, txHwDropErrors: 0, txCsumNone: 0, txNeedsCsum: 0, txHwGsoPackets: 0, txHwGsoBytes: 0,
      txHwGsoWirePackets: 0, txHwGsoWireBytes: 0, txStop: 0, txWake: 0,
    });
    const perQ = await sock.netdev.qstatsDump({ ifindex: 2, scope: 'queue' });
    assert.deepEqual(perQ.map((q) => `${q.queueType}${q.queueId}`), ['rx0', 'rx1', 'rx2', 'rx3', 'tx0', 'tx1', 'tx2', 'tx3']);
    assert.equal(perQ[2]!.rxPackets, 5);
    assert.equal(perQ[2]!.rxAllocFail, 2);
    assert.equal(perQ[2]!.txPackets, undefined);
    assert.equal(perQ[5]!.txBytes, 700);
    assert.equal(perQ[5]!.rxPackets, undefined);
    const sum = perQ.reduce((a, q) => a + (q.rxBytes ?? 0), 0);
    assert.equal(sum, totals[0]!.rxBytes);
    // all devices
    assert.deepEqual((await sock.netdev.qstatsDump()).map((q) => q.ifindex), [1, 2]);
    // per-queue entries only for devices that are up; totals regardless
    eth0.up = false;
    assert.equal((await sock.netdev.qstatsDump({ ifindex: 2, scope: 'queue' })).length, 0);
    assert.equal((await sock.netdev.qstatsDump({ ifindex: 2 })).length, 1);
    const e = await rejects(sock.netdev.qstatsDump({ ifindex: 9 }));
    assert.equal(e.code, 'ENODEV');
    assert.deepEqual(e.extack, { badAttrOffset: 20, badAttr: 'ifindex' });
  });
});

describe('dumps', () => {
  it('a large dump is split into datagrams of at most DUMP_DATAGRAM_MAX bytes, DONE in the last', async () => {
    const k = new FakeKernel();
    k.addDevice('big0', 2, { rxQueues: 200 });
    const sock = new NetlinkSocket(k);
    const log = capture(sock);
    const stats = await sock.netdev.pagePoolStatsDump();
    assert.equal(stats.length, 400);
    const dump = log.rx.slice(2); // after the nlctrl reply and ack
    assert.ok(dump.length >= 2, `datagrams: ${dump.length}`);
    for (const d of dump) assert.ok(d.length <= DUMP_DATAGRAM_MAX);
    const types = dump.map((d) => parseNlMsgs(d).map((m) => m.type));
    assert.equal(types.flat().filter((t) => t === NLMSG_DONE).length, 1);
    assert.equal(types[types.length - 1]!.at(-1), NLMSG_DONE);
    assert.equal(types.flat().length, 401);
  });
});
