import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemSpace } from '../../src/mem/index.js';
import { NetDevice } from '../../src/netdev/index.js';
import { LOOPBACK_BACKLOG, Netif, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, type PacketHandler } from '../../src/netif/index.js';
import { CHECKSUM_NONE, CHECKSUM_UNNECESSARY, SkbCache, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { RealtimeScheduler, VirtualScheduler, type Scheduler } from '../../src/time/index.js';
import { ERRNO, ErrnoError } from '../../src/uapi/index.js';

const MAC = 0x02000000000a;

function setup(sched: Scheduler = new VirtualScheduler()): { sched: Scheduler; mem: MemSpace; skbs: SkbCache; netif: Netif; dev: NetDevice } {
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const netif = new Netif(mem, skbs, sched);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { mac: MAC });
  netif.addDevice(dev);
  return { sched, mem, skbs, netif, dev };
}

/** an skb holding an Ethernet frame: dst, src, type, then `payload` bytes of 0xab */
function frame(skbs: SkbCache, dst: number, type: number, payload = 4, headroom = 0): SkBuff {
  const skb = skbs.alloc(headroom + 14 + payload, headroom)!;
  const at = skbPut(skb, 14 + payload);
  const dv = skb.dv;
  dv.setUint16(at, Math.floor(dst / 2 ** 32));
  dv.setUint32(at + 2, dst % 2 ** 32);
  dv.setUint16(at + 6, 0x0200);
  dv.setUint32(at + 8, 0x0000000b);
  dv.setUint16(at + 12, type);
  skb.buf.fill(0xab, at + 14, at + 14 + payload);
  return skb;
}

class Recorder implements PacketHandler {
  readonly got: { dev: string; pktType: number; len: number; first: number; mac: number; proto: number }[] = [];
  rcv(skb: SkBuff, dev: NetDevice, pktType: number): void {
    this.got.push({ dev: dev.name, pktType, len: skb.len, first: skb.buf[skb.data]!, mac: skb.data - skb.macHeader, proto: skb.protocol });
    skbFree(skb);
  }
}

describe('netif: link-layer dispatch', () => {
  it('hands frames to the handler of their ethertype with the packet type; counts what it drops', () => {
    const { skbs, netif, dev } = setup();
    const ip = new Recorder();
    const other = new Recorder();
    netif.register(0x0800, ip);
    netif.register(0x88b5, other);
    netif.netifReceive(frame(skbs, MAC, 0x0800), dev);
    netif.netifReceive(frame(skbs, 0xffffffffffff, 0x0800), dev);
    netif.netifReceive(frame(skbs, 0x333300000001, 0x0800), dev);
    netif.netifReceive(frame(skbs, MAC, 0x88b5, 9), dev);
    assert.deepEqual(ip.got, [
      { dev: 'eth0', pktType: PACKET_HOST, len: 4, first: 0xab, mac: 14, proto: 0x0800 },
      { dev: 'eth0', pktType: PACKET_BROADCAST, len: 4, first: 0xab, mac: 14, proto: 0x0800 },
      { dev: 'eth0', pktType: PACKET_MULTICAST, len: 4, first: 0xab, mac: 14, proto: 0x0800 },
    ]);
    assert.deepEqual(other.got.map((g) => g.len), [9]);
    // another host's unicast, IPv4 multicast MAC (not joined), unknown ethertype, runt
    netif.netifReceive(frame(skbs, 0x02000000000c, 0x0800), dev);
    netif.netifReceive(frame(skbs, 0x01005e000001, 0x0800), dev);
    netif.netifReceive(frame(skbs, MAC, 0x86dd), dev);
    const runt = skbs.alloc(64, 0)!;
    skbPut(runt, 13);
    netif.netifReceive(runt, dev);
    assert.deepEqual(netif.stats, { rxOtherHost: 2, rxUnknownEtherType: 1, rxLengthErrors: 1 });
    assert.equal(ip.got.length, 3);
    assert.equal(skbs.live, 0);
    // unregistering stops delivery
    netif.unregister(0x88b5);
    netif.netifReceive(frame(skbs, MAC, 0x88b5), dev);
    assert.equal(netif.stats.rxUnknownEtherType, 2);
    assert.equal(skbs.live, 0);
  });

  it('one handler per ethertype; device names and ifindexes are unique; lo is ifindex 1', () => {
    const { mem, skbs, sched, netif, dev } = setup();
    netif.register(0x0800, new Recorder());
    assert.throws(() => netif.register(0x0800, new Recorder()), (e: unknown) => e instanceof ErrnoError && e.errno === ERRNO.EEXIST);
    assert.throws(() => netif.addDevice(new NetDevice(mem, skbs, sched, 'eth0', 5)), (e: unknown) => e instanceof ErrnoError && e.errno === ERRNO.EEXIST);
    assert.throws(() => netif.addDevice(new NetDevice(mem, skbs, sched, 'eth1', 1)), (e: unknown) => e instanceof ErrnoError && e.errno === ERRNO.EEXIST);
    assert.deepEqual(netif.devices().map((d) => [d.name, d.ifindex]), [['lo', 1], ['eth0', 2]]);
    assert.equal(netif.lo.mtu, 65536);
    assert.equal(netif.lo.mac, 0);
    assert.equal(netif.deviceByIndex(2), dev);
    assert.equal(netif.device('lo'), netif.lo);
    assert.equal(netif.device('nope'), null);
    assert.equal(dev.rxHandler, netif);
  });
});

describe('netif: loopback device', () => {
  it('delivers later, never inside the sender; one drain takes what was queued when it started', () => {
    const { sched, skbs, netif } = setup();
    const v = sched as VirtualScheduler;
    const lo = netif.lo;
    const got: number[] = [];
    let depth = 0;
    netif.register(0x88b5, {
      rcv(skb: SkBuff, dev: NetDevice, pktType: number): void {
        depth++;
        assert.equal(depth, 1, 'no recursion');
        assert.equal(dev, lo);
        assert.equal(pktType, PACKET_HOST);
        assert.equal(skb.ipSummed, CHECKSUM_UNNECESSARY);
        const n = skb.buf[skb.data]!;
        got.push(n);
        skbFree(skb);
        if (n < 3) {
          const f = frame(skbs, 0, 0x88b5, 4);
          f.buf[f.data + 14] = n + 1;
          lo.xmit(f);
        }
        depth--;
      },
    });
    const f = frame(skbs, 0, 0x88b5, 4);
    f.buf[f.data + 14] = 0;
    f.ipSummed = CHECKSUM_NONE;
    lo.xmit(f);
    assert.deepEqual(got, [], 'not delivered inside xmit');
    assert.equal(v.pending, 1);
    assert.ok(v.step());
    assert.deepEqual(got, [0], 'the frame sent during delivery waits for the next drain');
    let steps = 1;
    while (v.step()) steps++;
    assert.deepEqual(got, [0, 1, 2, 3]);
    assert.equal(steps, 4);
    assert.equal(v.now(), 0, 'no virtual time passes');
    assert.equal(netif.loopback.delivered, 4);
    assert.equal(lo.txQueues[0]!.stats.txPackets, 4);
    assert.equal(lo.rxQueues[0]!.stats.rxPackets, 4);
    assert.equal(skbs.live, 0);
  });

  it('the queue is bounded (netdev_max_backlog): overflow is dropped and counted', () => {
    const { sched, skbs, netif } = setup();
    const rec = new Recorder();
    netif.register(0x88b5, rec);
    for (let i = 0; i < LOOPBACK_BACKLOG + 5; i++) netif.lo.xmit(frame(skbs, 0, 0x88b5));
    assert.equal(netif.lo.counters.rxDropped, 5);
    while ((sched as VirtualScheduler).step()) { /* drain */ }
    assert.equal(rec.got.length, LOOPBACK_BACKLOG);
    assert.equal(skbs.live, 0);
  });

  it('device memory never crosses lo (no netmem TX)', () => {
    const { skbs, netif, mem } = setup();
    const rec = new Recorder();
    netif.register(0x88b5, rec);
    const f = frame(skbs, 0, 0x88b5);
    f.unreadable = true; // as a devmem TX skb would be
    const pagesBefore = mem.host.inUse;
    netif.lo.xmit(f);
    // Linux validate_xmit_unreadable_skb: dropped before the driver, counted in tx_dropped
    assert.equal(netif.lo.counters.txUnreadableDrops, 1);
    assert.equal(netif.lo.counters.txDropped, 1);
    assert.equal(rec.got.length, 0);
    assert.equal(skbs.live, 0);
    assert.ok(mem.host.inUse <= pagesBefore);
  });

  it('real mode: delivery in the next setImmediate turn (no 0 ms timer)', async () => {
    const rs = new RealtimeScheduler();
    try {
      const { skbs, netif } = setup(rs);
      const rec = new Recorder();
      netif.register(0x88b5, rec);
      netif.lo.xmit(frame(skbs, 0, 0x88b5));
      netif.lo.xmit(frame(skbs, 0, 0x88b5));
      assert.equal(rec.got.length, 0);
      await new Promise((r) => setImmediate(r));
      assert.equal(rec.got.length, 2);
      assert.equal(skbs.live, 0);
    } finally {
      rs.close();
    }
  });
});
