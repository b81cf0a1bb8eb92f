import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO, ErrnoError } from '../../src/uapi/index.js';
import { MAX_HEADER } from '../../src/net/index.js';
import { NetDevice } from '../../src/netdev/index.js';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import {
  MAC_B, concat, flushMicrotasks, hex, naiveCsum, runFor, toHex, track, twoHosts, type Host,
} from './harness.js';

const ip = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);

function l4(h: Host, len: number, fill = 0x5a): SkBuff {
  const skb = h.skbs.alloc(MAX_HEADER + len, MAX_HEADER)!;
  const at = skbPut(skb, len);
  skb.buf.fill(fill, at, at + len);
  return skb;
}

function errnoOf(fn: () => void): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ErrnoError, String(e));
    return e.errno;
  }
  return 0;
}

function brief(r: { dev: NetDevice; src: number; nexthop: number; mtu: number; local: boolean } | null): unknown {
  return r === null ? null : { dev: r.dev.name, src: r.src, nexthop: r.nexthop, mtu: r.mtu, local: r.local };
}

describe('routing and output', () => {
  it('longest prefix match, preferred sources, local addresses, device state', () => {
    const { sched, a } = twoHosts();
    const eth1 = new NetDevice(a.mem, a.skbs, sched, 'eth1', 3, { mac: 0x02000000001a, mtu: 9000 });
    a.stack.addDevice(eth1);
    a.stack.addAddress('eth1', '10.1.0.1/16');
    a.stack.addRoute({ dst: '10.1.2.0/24', via: '10.0.0.3' });
    a.stack.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const r = (d: string): unknown => brief(a.stack.routeOutput(ip(d)));
    assert.deepEqual(r('10.0.0.7'), { dev: 'eth0', src: ip('10.0.0.1'), nexthop: ip('10.0.0.7'), mtu: 1500, local: false });
    assert.deepEqual(r('10.1.5.5'), { dev: 'eth1', src: ip('10.1.0.1'), nexthop: ip('10.1.5.5'), mtu: 9000, local: false });
    assert.deepEqual(r('10.1.2.9'), { dev: 'eth0', src: ip('10.0.0.1'), nexthop: ip('10.0.0.3'), mtu: 1500, local: false });
    assert.deepEqual(r('8.8.8.8'), { dev: 'eth0', src: ip('10.0.0.1'), nexthop: ip('10.0.0.2'), mtu: 1500, local: false });
    // local destinations go over lo (MTU 65536; the IPv4 route MTU is capped at IP_MAX_MTU 65520), as Linux routes them
    assert.deepEqual(r('10.1.0.1'), { dev: 'lo', src: ip('10.1.0.1'), nexthop: ip('10.1.0.1'), mtu: 65520, local: true });
    assert.deepEqual(r('127.0.0.9'), { dev: 'lo', src: ip('127.0.0.9'), nexthop: ip('127.0.0.9'), mtu: 65520, local: true });
    assert.deepEqual(a.stack.routes(), [
      { dst: '10.0.0.0/24', dev: 'eth0', src: '10.0.0.1' },
      { dst: '10.1.2.0/24', dev: 'eth0', src: '', via: '10.0.0.3' },
      { dst: '10.1.0.0/16', dev: 'eth1', src: '10.1.0.1' },
      { dst: '0.0.0.0/0', dev: 'eth0', src: '', via: '10.0.0.2' },
    ]);
    assert.deepEqual(a.stack.addresses(), [
      { dev: 'eth0', address: ip('10.0.0.1'), prefixLen: 24 },
      { dev: 'eth1', address: ip('10.1.0.1'), prefixLen: 16 },
    ]);
    assert.equal(a.stack.isLocalAddress(ip('10.1.0.1')), true);
    assert.equal(a.stack.isLocalAddress(ip('10.1.0.2')), false);
    eth1.up = false;
    assert.deepEqual(r('10.1.5.5'), { dev: 'eth0', src: ip('10.0.0.1'), nexthop: ip('10.0.0.2'), mtu: 1500, local: false });
  });

  it('rejects bad configuration with errno', () => {
    const { a } = twoHosts();
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '0.0.0.0/0', via: '192.168.1.1' })), ERRNO.ENETUNREACH);
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '10.9.0.1/16', via: '10.0.0.2' })), ERRNO.EINVAL);
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '10.9.0.0/33', via: '10.0.0.2' })), ERRNO.EINVAL);
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '10.9.0.0/16' })), ERRNO.EINVAL);
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '10.9.0.0/16', dev: 'eth7' })), ERRNO.ENODEV);
    assert.equal(errnoOf(() => a.stack.addRoute({ dst: '10.0.0.0/24', dev: 'eth0' })), ERRNO.EEXIST);
    assert.equal(errnoOf(() => a.stack.addAddress('eth0', '10.0.0.1/24')), ERRNO.EEXIST);
    assert.equal(errnoOf(() => a.stack.addAddress('eth0', '10.0.0.300/24')), ERRNO.EINVAL);
    assert.equal(errnoOf(() => a.stack.addAddress('eth9', '10.0.0.5/24')), ERRNO.ENODEV);
    a.stack.registerProtocol(253, { ipRcv: skbFree });
    assert.throws(() => a.stack.registerProtocol(253, { ipRcv: skbFree }), /already registered/);
    a.stack.addRoute({ dst: '10.9.0.0/16', dev: 'eth0' });
    assert.equal(a.stack.routeOutput(ip('10.9.3.3'))?.nexthop, ip('10.9.3.3'));
  });

  it('no route: -ENETUNREACH, counted, skb freed', () => {
    const { sched, link, a } = twoHosts();
    assert.equal(a.stack.routeOutput(ip('8.8.8.8')), null);
    assert.equal(a.stack.output(l4(a, 16), 0, ip('8.8.8.8'), 253), -ERRNO.ENETUNREACH);
    assert.equal(a.stack.stats.outNoRoutes, 1);
    a.dev.up = false;
    assert.equal(a.stack.output(l4(a, 16), 0, ip('10.0.0.2'), 253), -ERRNO.ENETUNREACH);
    assert.equal(a.stack.stats.outNoRoutes, 2);
    runFor(sched, 1000);
    assert.equal(link.frames.length, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('a default route sends to the gateway MAC; header fields follow the options', () => {
    const { sched, link, a } = twoHosts();
    a.stack.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    assert.equal(a.stack.output(l4(a, 16, 0x77), 0, ip('8.8.8.8'), 253, { tos: 0x10, ttl: 7, df: false }), 0);
    runFor(sched, 1000);
    const fa = link.from('A');
    assert.equal(fa.length, 2);
    assert.equal(toHex(fa[0]!.bytes.subarray(38, 42)), '0a 00 00 02', 'ARP asks for the gateway');
    const expected = concat(
      hex('02 00 00 00 00 0b 02 00 00 00 00 0a 08 00'),
      hex('45 10 00 24 00 00 00 00 07 fd 98 bd 0a 00 00 01 08 08 08 08'),
      new Uint8Array(16).fill(0x77),
    );
    assert.equal(naiveCsum(expected, 14, 20), 0);
    assert.equal(toHex(fa[1]!.bytes), toHex(expected));
    assert.equal(a.stack.stats.outRequests, 1);
  });

  it('broadcast and multicast next hops need no ARP', () => {
    const { sched, link, a } = twoHosts();
    a.stack.addRoute({ dst: '224.0.0.0/4', dev: 'eth0' });
    assert.equal(a.stack.output(l4(a, 8), 0, ip('10.0.0.255'), 253, { df: false }), 0);
    assert.equal(a.stack.output(l4(a, 8), 0, ip('224.0.0.251'), 253, { ttl: 1 }), 0);
    runFor(sched, 1000);
    const f = link.from('A');
    assert.equal(f.length, 2);
    assert.equal(toHex(f[0]!.bytes.subarray(0, 14)), 'ff ff ff ff ff ff 02 00 00 00 00 0a 08 00');
    assert.equal(toHex(f[0]!.bytes.subarray(26, 34)), '0a 00 00 01 0a 00 00 ff');
    assert.equal(toHex(f[1]!.bytes.subarray(0, 14)), '01 00 5e 00 00 fb 02 00 00 00 00 0a 08 00');
    assert.equal(f[1]!.bytes[22], 1, 'ttl');
    assert.equal(a.stack.stats.arp.outRequests, 0);
  });

  it('MTU: a packet over the route MTU fails with EMSGSIZE when DF is set, is fragmented when not', async () => {
    const { sched, link, a } = twoHosts();
    a.stack.addNeighbour('eth0', '10.0.0.2', MAC_B);
    assert.equal(a.stack.output(l4(a, 1480), 0, ip('10.0.0.2'), 253), 0);
    assert.equal(a.stack.output(l4(a, 1481), 0, ip('10.0.0.2'), 253), -ERRNO.EMSGSIZE);
    assert.equal(a.stack.output(l4(a, 1481), 0, ip('10.0.0.2'), 253, { df: false }), 0, 'DF clear: fragmented');
    assert.deepEqual([a.stack.stats.fragFails, a.stack.stats.fragOKs, a.stack.stats.fragCreates], [1, 1, 2]);
    const big = track(a.stack.ping('10.0.0.2', { size: 1473 }));
    const ok = track(a.stack.ping('10.0.0.2', { size: 1472 }));
    runFor(sched, 1000);
    await flushMicrotasks();
    assert.equal((big.error as ErrnoError).errno, ERRNO.EMSGSIZE);
    assert.deepEqual(link.from('A').slice(0, 3).map((f) => f.bytes.length), [1514, 1514, 35]);
    assert.equal(ok.value?.bytes, 1480);
    assert.equal(link.from('A')[0]!.bytes.length, 1514);
    assert.equal(a.skbs.live, 0);
  });

  it('not enough headroom: -ENOBUFS', () => {
    const { a } = twoHosts();
    const skb = a.skbs.alloc(64, 20)!;
    skbPut(skb, 16);
    assert.equal(a.stack.output(skb, 0, ip('10.0.0.2'), 253), -ERRNO.ENOBUFS);
    assert.equal(a.stack.stats.outDiscards, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('CHECKSUM_PARTIAL is finished by the NIC on the wire and in software on loopback', () => {
    const { sched, link, a, b } = twoHosts();
    const got: { host: string; summed: number; sum: number }[] = [];
    const handler = (host: Host) => ({
      ipRcv(skb: SkBuff, src: number, dst: number) {
        const bytes = new Uint8Array(skb.len);
        for (let i = 0; i < skb.tail - skb.data; i++) bytes[i] = skb.buf[skb.data + i]!;
        const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + skb.len;
        got.push({ host: host.name, summed: skb.ipSummed, sum: skb.tail - skb.data === skb.len ? naiveCsum(bytes, 0, bytes.length, pseudo) : -1 });
        skbFree(skb);
      },
    });
    a.stack.registerProtocol(17, handler(a));
    b.stack.registerProtocol(17, handler(b));
    const udp = (dst: string): SkBuff => {
      const skb = l4(a, 18, 0x33);
      const d = skb.data;
      skb.dv.setUint16(d, 1234);
      skb.dv.setUint16(d + 2, 5678);
      skb.dv.setUint16(d + 4, 18);
      const s = ip('10.0.0.1');
      const t = ip(dst);
      let p = (s >>> 16) + (s & 0xffff) + (t >>> 16) + (t & 0xffff) + 17 + 18;
      while (p > 0xffff) p = (p & 0xffff) + (p >>> 16);
      skb.dv.setUint16(d + 6, p);
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = d;
      skb.csumOffset = 6;
      return skb;
    };
    a.stack.addNeighbour('eth0', '10.0.0.2', MAC_B);
    assert.equal(a.stack.output(udp('10.0.0.2'), ip('10.0.0.1'), ip('10.0.0.2'), 17), 0);
    assert.equal(a.stack.output(udp('10.0.0.1'), ip('10.0.0.1'), ip('10.0.0.1'), 17), 0);
    runFor(sched, 1000);
    const wire = link.from('A')[0]!.bytes;
    const pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 18;
    assert.equal(naiveCsum(wire, 34, 18, pseudo), 0, 'UDP checksum valid on the wire');
    assert.deepEqual(got.map((g) => g.host).sort(), ['A', 'B']);
    for (const g of got) assert.equal(g.summed, CHECKSUM_UNNECESSARY, g.host);
    assert.equal(got.find((g) => g.host === 'A')!.sum, 0, 'loopback checksum completed');
    assert.equal(b.dev.rxQueues[0]!.stats.rxCsumUnnecessary, 1);
    assert.equal(a.skbs.live, 0);
  });
});
