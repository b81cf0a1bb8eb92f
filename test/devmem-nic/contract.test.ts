// The devmem contract rows of issue 8 item 3 (spec §1.3, §1.5, §4.1): netdev unregister, the
// header-split guards' extack, the channel guard's count, XDP refused while a queue is bound,
// ENODEV with the bad attribute for a registered but absent device.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, Network, type Host } from '../../src/index.js';
import { NETMEM_NONE, type DmabufBinding } from '../../src/mem/index.js';
import type { NetDevice } from '../../src/netdev/index.js';
import { rejection } from './helpers.js';

interface Rig {
  net: Network;
  h: Host;
  dev: NetDevice;
  nl: ReturnType<Host['netlink']>;
  id: number;
  binding: DmabufBinding;
}

/** eth0 with 4 rx queues, HDS on, queue 3 bound to a 16-page dma-buf */
async function boundRig(): Promise<Rig> {
  const net = new Network({ seed: 3 });
  const h = net.addHost('h');
  const dev = h.addDevice('eth0', { rxQueues: 4 });
  h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  const nl = h.netlink();
  const { id } = await nl.netdev.bindRx({ ifindex: dev.ifindex, fd: h.allocDeviceMemory(16 * 4096).fd, queues: [{ id: 3, type: 'rx' }] });
  const binding = h.kernel.mem.bindings.lookup(id)!;
  return { net, h, dev, nl, id, binding };
}

function thrown(fn: () => unknown): ErrnoError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ErrnoError, String(e));
    return e;
  }
  assert.fail('expected a throw');
}

describe('§1.5 netdev unregister while bound', () => {
  it('the binding loses its device, the pool detaches, and the binding is freed when the last reference goes', async () => {
    const r = await boundRig();
    const pool = r.dev.rxQueues[3]!.pool;
    const held = pool.alloc(); // a device buffer still held (a token the application keeps)
    assert.notEqual(held, NETMEM_NONE);
    assert.equal(r.binding.refCount, 2, 'netlink + the page pool');
    r.h.kernel.unregisterDevice('eth0');
    assert.equal(r.dev.registered, false);
    assert.equal(r.binding.dev, null, 'the binding lost its device (mp uninstall of its last queue)');
    assert.equal(r.binding.boundRxQueues.size, 0);
    assert.equal(r.dev.rxQueues[3]!.mpProvider, null);
    assert.equal(pool.detached, true, 'the pool is detached');
    assert.equal(pool.freed, false, 'but alive: a buffer is in flight');
    assert.ok(r.dev.oldPools.includes(pool));
    assert.equal(r.binding.freed, false);
    // the dump still shows the draining pool with its dmabuf, no device
    const pp = (await r.nl.netdev.pagePoolDump()).find((p) => p.id === pool.id);
    assert.ok(pp !== undefined && pp.dmabuf === r.id && pp.ifindex === undefined && pp.inflight === 1, JSON.stringify(pp));
    // the socket close no longer touches a device; the buffer's return frees it all
    r.nl.close();
    assert.equal(r.binding.freed, false);
    r.h.kernel.mem.put(held);
    assert.equal(pool.freed, true);
    assert.equal(r.binding.freed, true, 'freed when the last reference went');
    assert.equal(r.binding.leaked, 0);
    // gone for netlink: ENODEV, no bad attribute (not registered at all)
    const nl2 = r.h.netlink();
    const e = await rejection(nl2.netdev.bindRx({ ifindex: r.dev.ifindex, fd: r.h.allocDeviceMemory(4096).fd, queues: [{ id: 0, type: 'rx' }] }));
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.extack, undefined);
    const q = await rejection(nl2.netdev.queueGet({ ifindex: r.dev.ifindex, id: 0, type: 'rx' }));
    assert.equal(q.code, 'ENODEV', 'introspection no longer sees the device');
    assert.equal(thrown(() => r.h.kernel.unregisterDevice('eth0')).code, 'ENODEV', 'unregistered once');
    nl2.close();
    r.net.close();
  });

  it('a TX binding loses its device on unregister (later sends: ENODEV); the receive path stops', async () => {
    const net = new Network({ seed: 4 });
    const h = net.addHost('h');
    const dev = h.addDevice('eth0', { rxQueues: 1 });
    const nl = h.netlink();
    const { id } = await nl.netdev.bindTx({ ifindex: dev.ifindex, fd: h.allocDeviceMemory(8192).fd });
    h.kernel.unregisterDevice('eth0');
    const b = h.kernel.mem.bindings.getTx(id)!;
    assert.ok(b !== null, 'still listed until its socket closes');
    assert.equal(b.dev, null, 'no device: the route-device check fails (ENODEV)');
    b.put();
    nl.close();
    assert.equal(b.freed, true);
    const frame = new Uint8Array(60);
    const skb = h.kernel.skbs.wrap(frame, new DataView(frame.buffer));
    dev.receiveFrame(skb);
    assert.equal(dev.counters.rxDropped, 1);
    net.close();
  });
});

describe('§1.3 ENODEV with the bad attribute', () => {
  it('bind-rx and bind-tx on a registered but absent device (netif_device_present false): ENODEV, bad-attr ifindex', async () => {
    const net = new Network({ seed: 5 });
    const h = net.addHost('h');
    const dev = h.addDevice('eth0', { rxQueues: 2 });
    h.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    dev.present = false; // netif_device_detach
    const nl = h.netlink();
    const fd = h.allocDeviceMemory(8192).fd;
    const e = await rejection(nl.netdev.bindRx({ ifindex: dev.ifindex, fd, queues: [{ id: 1, type: 'rx' }] }));
    assert.equal(e.code, 'ENODEV');
    assert.deepEqual(e.extack, { badAttrOffset: 20, badAttr: 'ifindex' });
    const t = await rejection(nl.netdev.bindTx({ ifindex: dev.ifindex, fd }));
    assert.equal(t.code, 'ENODEV');
    assert.deepEqual(t.extack, { badAttrOffset: 20, badAttr: 'ifindex' });
    // an ifindex nobody registered: ENODEV without a bad attribute
    const u = await rejection(nl.netdev.bindTx({ ifindex: 77, fd }));
    assert.equal(u.code, 'ENODEV');
    assert.equal(u.extack, undefined);
    assert.equal(h.kernel.mem.bindings.size, 0, 'nothing bound');
    net.close();
  });
});

describe('§1.5 reconfiguration guards while a queue is bound', () => {
  it('HDS guards: EINVAL with the kernel extack for tcp-data-split off/auto and a non-zero hds-thresh', async () => {
    const r = await boundRig();
    for (const split of ['off', 'unknown'] as const) {
      const e = thrown(() => r.h.ethtool.setRings('eth0', { tcpDataSplit: split }));
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.extack?.msg, "can't disable tcp-data-split while device has memory provider enabled");
    }
    const e = thrown(() => r.h.ethtool.setRings('eth0', { hdsThresh: 64 }));
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.extack?.msg, "can't set non-zero hds_thresh while device is memory provider enabled");
    assert.equal(r.dev.tcpDataSplit, 'on');
    assert.equal(r.dev.hdsThresh, 0);
    r.nl.close();
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'off', hdsThresh: 64 });
    r.net.close();
  });

  it('the channel guard reports the smallest allowed count: the bound index + 1', async () => {
    const r = await boundRig();
    for (const rx of [1, 3]) {
      const e = thrown(() => r.h.ethtool.setChannels('eth0', { rx }));
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.extack?.msg, 'requested channel counts are too low for existing memory provider setting (4)');
    }
    r.h.ethtool.setChannels('eth0', { rx: 4 }); // keeps queue 3
    assert.equal(r.dev.rxQueues.length, 4);
    assert.equal(r.dev.minMpChannelCount(), 4);
    r.nl.close();
    assert.equal(r.dev.minMpChannelCount(), 0);
    r.h.ethtool.setChannels('eth0', { rx: 1 });
    r.net.close();
  });

  it('XDP attach is refused while a queue is bound (EBUSY, extack); bind is refused while XDP is attached (EEXIST)', async () => {
    const r = await boundRig();
    assert.equal(r.dev.attachXdp({ frags: true }), -16);
    assert.equal(r.dev.extack, 'unable to install XDP to device using memory provider');
    assert.equal(r.dev.attachXdp(), -16, 'a single-buffer program: refused for tcp-data-split first');
    assert.equal(r.dev.extack, 'unable to install XDP to device using tcp-data-split');
    assert.equal(r.dev.xdpAttached, false);
    r.nl.close();
    assert.equal(r.dev.attachXdp({ frags: true }), 0, 'allowed once unbound');
    const nl = r.h.netlink();
    const e = await rejection(nl.netdev.bindRx({ ifindex: r.dev.ifindex, fd: r.h.allocDeviceMemory(4096).fd, queues: [{ id: 2, type: 'rx' }] }));
    assert.equal(e.code, 'EEXIST');
    r.dev.detachXdp();
    // single-buffer XDP and tcp-data-split exclude each other the other way round too
    r.h.ethtool.setRings('eth0', { tcpDataSplit: 'off' });
    assert.equal(r.dev.attachXdp(), 0);
    const s = thrown(() => r.h.ethtool.setRings('eth0', { tcpDataSplit: 'on' }));
    assert.equal(s.extack?.msg, 'tcp-data-split can not be enabled with single buffer XDP');
    nl.close();
    r.net.close();
  });
});
