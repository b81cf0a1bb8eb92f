// bind-rx / bind-tx through the typed client: the request and reply bytes, every errno in the
// 6.18 validation order with its extack, and what a bind does to queues and bindings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXTACK_HDS_DISABLED, EXTACK_HDS_THRESH, EXTACK_NO_NETMEM_TX, EXTACK_QUEUE_BOUND, EXTACK_XDP_ATTACHED, NetlinkSocket,
} from '../../src/netlink/index.js';
import { DmabufDevmemProvider } from '../../src/mem/index.js';
import { capture, hex, le32, rejects, setup, toHex } from './helpers.js';

const RX3 = [{ id: 3, type: 'rx' as const }];

describe('bind-rx bytes', () => {
  it('encodes the request like ynl and decodes the kernel reply (hand-computed bytes)', async () => {
    const { sock } = setup();
    const log = capture(sock);
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    assert.equal(id, 1);
    // seq 1 resolved "netdev" through nlctrl; seq 2 is the bind
    assert.equal(log.tx.length, 2);
    assert.equal(toHex(log.tx[0]!), toHex(hex('20000000 1000 0500 01000000 00000000 03010000 0b000200 6e65746465760000')));
    assert.equal(toHex(log.tx[1]!), toHex(hex(`
      38000000 1400 0500 02000000 00000000   // nlmsghdr: len 56, netdev, REQUEST|ACK, seq 2, pid 0
      0d 01 0000                             // genlmsghdr: cmd 13 (bind-rx), version 1
      08000100 02000000                      // ifindex 2
      08000300 05000000                      // fd 5
      14000280 08000100 03000000 08000300 00000000   // queues (NLA_F_NESTED) {id 3, type rx}
    `.replace(/\/\/.*$/gm, ''))));
    // the reply carrying id 1 (flags 0, the socket's port id), then the ACK (capped)
    const pid = le32(sock.pid);
    assert.equal(log.rx.length, 4);
    assert.equal(toHex(log.rx[2]!), toHex(hex(`1c000000 1400 0000 02000000 ${pid} 0d010000 08000400 01000000`)));
    assert.equal(toHex(log.rx[3]!), toHex(hex(`24000000 0200 0001 02000000 ${pid} 00000000 38000000 1400 0500 02000000 00000000`)));
  });

  it('accepts a handle carrying .fd and collapses duplicate queues', async () => {
    const { sock, eth0 } = setup();
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: { fd: 5 }, queues: [{ id: 1, type: 'rx' }, { id: 1, type: 'rx' }, { id: 0, type: 'rx' }] });
    assert.equal(id, 1);
    const b = sock.bindings[0]!;
    assert.equal(b.boundRxQueues.size, 2);
    assert.ok(eth0.rxQueues[0]!.mpProvider instanceof DmabufDevmemProvider);
    assert.ok(eth0.rxQueues[1]!.mpProvider instanceof DmabufDevmemProvider);
    assert.equal(eth0.rxQueues[2]!.mpProvider, null);
  });
});

describe('bind-rx errors, in the 6.18 order', () => {
  it('EPERM without CAP_NET_ADMIN, before anything else', async () => {
    const { k } = setup();
    const sock = new NetlinkSocket(k, { capNetAdmin: false });
    const e = await rejects(sock.netdev.bindRx({ ifindex: 99, fd: 99, queues: [] }));
    assert.equal(e.errno, 1);
    assert.equal(e.code, 'EPERM');
    assert.equal(e.syscall, 'netlink netdev bind-rx');
    assert.equal(e.extack, undefined);
  });

  it('the default socket has no CAP_NET_ADMIN', async () => {
    const { k } = setup();
    const e = await rejects(new NetlinkSocket(k).netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.code, 'EPERM');
  });

  it('missing queues: EINVAL with missing-attribute extack', async () => {
    const { sock } = setup();
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: [] }));
    assert.equal(e.errno, 22);
    assert.equal(e.code, 'EINVAL');
    assert.deepEqual(e.extack, { missingAttr: 2, badAttr: 'queues' });
  });

  it('absent device: ENODEV even when the fd is bad too (device first)', async () => {
    const { sock } = setup();
    const e = await rejects(sock.netdev.bindRx({ ifindex: 42, fd: 99, queues: RX3 }));
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.errno, 19);
    // Linux 6.18 sets no bad-attr when the lookup fails (checked against a live kernel)
    assert.equal(e.extack, undefined);
  });

  it('device not present: ENODEV with bad-attr ifindex', async () => {
    const { sock, eth0 } = setup();
    eth0.present = false;
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.code, 'ENODEV');
    assert.deepEqual(e.extack, { badAttrOffset: 20, badAttr: 'ifindex' });
  });

  it('no queue-management ops: EOPNOTSUPP with bad-attr ifindex, before the queues are read', async () => {
    const { sock } = setup({ eth0: { queueMgmt: false } });
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: [{ id: 0, type: 'tx' }] }));
    assert.equal(e.errno, 95);
    assert.equal(e.code, 'EOPNOTSUPP');
    assert.deepEqual(e.extack, { badAttrOffset: 20, badAttr: 'ifindex' });
  });

  it('a tx queue: EINVAL with bad-attr on its type', async () => {
    const { sock } = setup();
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: [{ id: 0, type: 'tx' }] }));
    assert.equal(e.code, 'EINVAL');
    // 20 genl+hdr, ifindex at 20, fd at 28, nest at 36, id at 40, type at 48
    assert.deepEqual(e.extack, { badAttrOffset: 48, badAttr: 'queues.type' });
  });

  it('queue id >= real_num_rx_queues: EINVAL with bad-attr on the id, before the fd is looked at', async () => {
    const { sock } = setup();
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 99, queues: [{ id: 0, type: 'rx' }, { id: 4, type: 'rx' }] }));
    assert.equal(e.code, 'EINVAL');
    assert.deepEqual(e.extack, { badAttrOffset: 60, badAttr: 'queues.id' });
  });

  it('empty queue nests: EINVAL, missing id inside the nest', async () => {
    const { sock } = setup();
    // hand-built: ifindex 2, fd 5, an empty queues nest
    sock.send(hex('28000000 1400 0500 09000000 00000000 0d010000 08000100 02000000 08000300 05000000 04000280'));
    const d = sock.recv()!;
    assert.equal(toHex(d), toHex(hex(`34000000 0200 0003 09000000 ${le32(sock.pid)} eaffffff 28000000 14000500 09000000 00000000
      08000500 01000000 08000600 24000000`)));
    assert.equal(sock.recv(), null);
  });

  it('queue nest without type: missing type, nest offset reported', async () => {
    const { sock } = setup();
    sock.send(hex('30000000 1400 0500 09000000 00000000 0d010000 08000100 02000000 08000300 05000000 0c000280 08000100 01000000'));
    const d = toHex(sock.recv()!);
    assert.ok(d.startsWith('34000000'));
    assert.ok(d.endsWith('0800050003000000' + '0800060024000000'), d);
  });

  it('bad fd: EBADF; fd that is not a dma-buf: EINVAL; nothing stays bound', async () => {
    const { sock, k } = setup();
    const e1 = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 99, queues: RX3 }));
    assert.equal(e1.errno, 9);
    assert.equal(e1.code, 'EBADF');
    assert.equal(e1.extack, undefined);
    const e2 = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 6, queues: RX3 }));
    assert.equal(e2.code, 'EINVAL');
    assert.equal(e2.extack, undefined);
    assert.equal(k.bindings.size, 0);
    assert.equal(sock.bindings.length, 0);
  });

  it('HDS off: EINVAL "tcp-data-split is disabled"; the failed binding is unbound and freed', async () => {
    const { sock, k, eth0, dmabuf } = setup();
    eth0.tcpDataSplit = 'off';
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.code, 'EINVAL');
    assert.deepEqual(e.extack, { msg: EXTACK_HDS_DISABLED });
    assert.equal(e.message, 'netlink netdev bind-rx: EINVAL: tcp-data-split is disabled');
    assert.equal(k.bindings.size, 0);
    assert.equal(sock.bindings.length, 0);
    assert.equal(dmabuf.attachments, 0);
  });

  it('HDS unknown (driver default) is refused as well', async () => {
    const { sock, eth0 } = setup();
    eth0.tcpDataSplit = 'unknown';
    assert.equal((await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }))).extack?.msg, EXTACK_HDS_DISABLED);
  });

  it('hds-thresh not zero: EINVAL', async () => {
    const { sock, eth0 } = setup();
    eth0.hdsThresh = 128;
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.code, 'EINVAL');
    assert.deepEqual(e.extack, { msg: EXTACK_HDS_THRESH });
  });

  it('XDP attached: EEXIST', async () => {
    const { sock, eth0 } = setup();
    eth0.xdpAttached = true;
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.errno, 17);
    assert.equal(e.code, 'EEXIST');
    assert.deepEqual(e.extack, { msg: EXTACK_XDP_ATTACHED });
  });

  it('queue already bound (by another socket): EEXIST; queues bound before it are restored', async () => {
    const { sock, k, eth0 } = setup();
    const first = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const other = new NetlinkSocket(k, { capNetAdmin: true });
    const before1 = eth0.rxQueues[1]!.pool;
    const e = await rejects(other.netdev.bindRx({ ifindex: 2, fd: 7, queues: [{ id: 1, type: 'rx' }, { id: 3, type: 'rx' }] }));
    assert.equal(e.code, 'EEXIST');
    assert.deepEqual(e.extack, { msg: EXTACK_QUEUE_BOUND });
    // queue 1 was bound, then unbound again: provider gone, restarted with host pages
    assert.equal(eth0.rxQueues[1]!.mpProvider, null);
    assert.notEqual(eth0.rxQueues[1]!.pool, before1);
    assert.equal(eth0.rxQueues[1]!.pool.unreadable, false);
    // queue 3 still belongs to the first binding
    assert.equal((await sock.netdev.queueGet({ ifindex: 2, id: 3, type: 'rx' })).dmabuf, first.id);
    assert.equal(k.bindings.size, 1);
    assert.equal(other.bindings.length, 0);
    // the failed binding's id was consumed (ids are cyclic, never reused right away)
    assert.equal((await other.netdev.bindRx({ ifindex: 2, fd: 7, queues: [{ id: 2, type: 'rx' }] })).id, 3);
  });

  it('driver ignores the provider: ENODATA, queue left as it was', async () => {
    const { sock, k, eth0 } = setup({ eth0: { honorsMemoryProvider: false } });
    const pool = eth0.rxQueues[3]!.pool;
    const e = await rejects(sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 }));
    assert.equal(e.errno, 61);
    assert.equal(e.code, 'ENODATA');
    assert.equal(e.extack, undefined);
    assert.equal(eth0.rxQueues[3]!.mpProvider, null);
    assert.equal(eth0.rxQueues[3]!.pool, pool);
    assert.equal(k.bindings.size, 0);
    assert.ok(k.mem.livePools().every((p) => p.provider.dmabufId() === 0));
  });
});

describe('bind-rx / bind-tx success', () => {
  it('ids start at 1 and are shared between rx and tx', async () => {
    const { sock, k } = setup();
    assert.equal((await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 })).id, 1);
    assert.equal((await sock.netdev.bindTx({ ifindex: 2, fd: 7 })).id, 2);
    assert.equal((await sock.netdev.bindRx({ ifindex: 2, fd: 7, queues: [{ id: 2, type: 'rx' }] })).id, 3);
    assert.equal(k.bindings.size, 3);
    assert.deepEqual(sock.bindings.map((b) => [b.id, b.direction]), [[1, 'rx'], [2, 'tx'], [3, 'rx']]);
    assert.equal(k.bindings.lookup(2)!.txVec !== null, true);
  });

  it('the bound queue runs on a dmabuf page pool', async () => {
    const { sock, eth0 } = setup();
    const { id } = await sock.netdev.bindRx({ ifindex: 2, fd: 5, queues: RX3 });
    const rxq = eth0.rxQueues[3]!;
    assert.equal(rxq.pool.provider.dmabufId(), id);
    assert.equal(rxq.pool.unreadable, true);
    const b = sock.bindings[0]!;
    assert.ok(b.boundRxQueues.has(rxq));
    assert.equal(b.dev, eth0);
  });

  it('bind-tx: missing fd, ENODEV, EOPNOTSUPP with message, EBADF; no admin-perm', async () => {
    const { k } = setup();
    const sock = new NetlinkSocket(k, { capNetAdmin: false });
    const miss = await rejects(sock.netdev.bindTx({ ifindex: 0x7fffffff, fd: 5 }));
    assert.equal(miss.code, 'ENODEV');
    const nt = await rejects(sock.netdev.bindTx({ ifindex: 1, fd: 5 }));
    assert.equal(nt.code, 'EOPNOTSUPP');
    assert.deepEqual(nt.extack, { msg: EXTACK_NO_NETMEM_TX });
    const bad = await rejects(sock.netdev.bindTx({ ifindex: 2, fd: 99 }));
    assert.equal(bad.code, 'EBADF');
    const { id } = await sock.netdev.bindTx({ ifindex: 2, fd: 5 });
    assert.equal(id, 1);
    assert.equal(sock.bindings[0]!.boundRxQueues.size, 0);
    // missing fd, hand-built
    sock.send(hex('1c000000 1400 0500 05000000 00000000 0f010000 08000100 02000000'));
    assert.ok(toHex(sock.recv()!).endsWith('0800050003000000'));
  });
});
