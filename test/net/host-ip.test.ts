import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError, Network } from '../../src/index.js';
import { InetAddr } from '../../src/inet/index.js';
import { InetLayer, MAX_HEADER, ProtocolTable, RxMeta, type FamilyStack } from '../../src/net/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { SkbCache, skbFree, type SkBuff } from '../../src/skb/index.js';
import { ERRNO } from '../../src/uapi/index.js';

function twoHostNet(): { net: Network; a: ReturnType<Network['addHost']>; b: ReturnType<Network['addHost']> } {
  const net = new Network({ seed: 9 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  net.connect(a.addDevice('eth0'), b.addDevice('eth0'), { gbps: 10, delayUs: 5 });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  return { net, a, b };
}

function errno(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ErrnoError, String(e));
    return e.code;
  }
  return 'ok';
}

describe('host.ip: configuration facade (text addresses, both families)', () => {
  it('addresses, routes and neighbours come back as strings; lo holds 127.0.0.1/8 and ::1', async () => {
    const { net, a } = twoHostNet();
    a.ip.addAddress('eth0', '2001:db8::1/64');
    a.ip.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.254' });
    const addrs = a.ip.addresses().map((x) => `${x.dev} ${x.family} ${x.address}/${x.prefixLen}`);
    for (const want of ['lo 4 127.0.0.1/8', 'eth0 4 10.0.0.1/24', 'lo 6 ::1/128', 'eth0 6 2001:db8::1/64']) assert.ok(addrs.includes(want), `${want} in ${addrs.join(', ')}`);
    const v4routes = a.ip.routes().filter((r) => r.family === 4);
    assert.deepEqual(v4routes, [
      { dst: '10.0.0.0/24', dev: 'eth0', src: '10.0.0.1', family: 4 },
      { dst: '0.0.0.0/0', dev: 'eth0', src: '', via: '10.0.0.254', family: 4 },
    ]);
    a.ip.addNeighbour('eth0', '10.0.0.7', '02:00:00:00:00:77');
    assert.deepEqual(a.ip.neighbours().filter((n) => n.family === 4), [{ dev: 'eth0', addr: '10.0.0.7', mac: 0x020000000077, state: 'permanent', family: 4 }]);
    assert.equal(errno(() => a.ip.addAddress('eth9', '10.0.0.5/24')), 'ENODEV');
    assert.equal(errno(() => a.ip.addAddress('eth0', '10.0.0.300/24')), 'EINVAL');
    assert.equal(errno(() => a.ip.addAddress('eth0', '10.0.0.1/24')), 'EEXIST');
    assert.equal(errno(() => a.ip.addRoute({ dst: '10.9.0.0/16', via: '2001:db8::9' })), 'EINVAL');
    assert.equal(errno(() => a.ip.addNeighbour('eth0', '10.0.0.8', 'zz:00')), 'EINVAL');
    net.close();
  });

  it('ping: a peer, our own address and 127.0.0.1 (over lo, nothing on the wire), ::1', async () => {
    const { net, a } = twoHostNet();
    const r = await a.ip.ping('10.0.0.2');
    assert.equal(r.bytes, 64);
    const wire0 = a.devices()[0]!.txQueues[0]!.stats.txPackets;
    await a.ip.ping('10.0.0.1');
    await a.ip.ping('127.0.0.1');
    await a.ip.ping('127.1.2.3');
    assert.equal(a.devices()[0]!.txQueues[0]!.stats.txPackets, wire0, 'local pings stay off the wire');
    const six = await a.ip.ping('::1');
    assert.equal(six.ttl, 64);
    await assert.rejects(a.ip.ping('not-an-address'), TypeError);
    net.close();
  });

  it('connect() to an absent on-subnet host fails with EHOSTUNREACH after 3 s of virtual time', async () => {
    const { net, a } = twoHostNet();
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    const t0 = net.now;
    await assert.rejects(cs.connect('10.0.0.9', 80), (e: unknown) => e instanceof ErrnoError && e.code === 'EHOSTUNREACH');
    assert.equal(net.now - t0, 3_000_000);
    const arp = a.ip.stats.arp.outRequests;
    assert.equal(arp, 3, 'three broadcasts, then the failure');
    net.close();
  });

  it('TCP over 127.0.0.1, our own address and ::1 goes through lo, byte-exact', async () => {
    const net = new Network({ seed: 3 });
    const a = net.addHost('a');
    a.addDevice('eth0');
    a.ip.addAddress('eth0', '10.0.0.1/24');
    let port = 7000;
    for (const [fam, any, dst] of [[C.AF_INET, '0.0.0.0', '127.0.0.1'], [C.AF_INET, '0.0.0.0', '10.0.0.1'], [C.AF_INET6, '::', '::1']] as const) {
      port++;
      const ls = a.socket(fam, C.SOCK_STREAM);
      ls.bind(any, port);
      ls.listen(4);
      const cs = a.socket(fam, C.SOCK_STREAM);
      const acc = ls.accept();
      await cs.connect(dst, port);
      const conn = await acc;
      const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
      const sent = cs.send(data).then(() => cs.close());
      let got = 0;
      let bad = 0;
      for (;;) {
        const c = await conn.recv(1 << 20);
        if (c.length === 0) break;
        for (const x of c) if (x !== ((got++) * 7) % 251) bad++;
      }
      await sent;
      assert.equal(got, data.length, dst);
      assert.equal(bad, 0, dst);
      conn.close();
      ls.close();
    }
    assert.equal(a.devices()[0]!.txQueues[0]!.stats.txPackets, 0, 'nothing left through eth0');
    net.close();
  });
});

describe('InetLayer: one face for both families', () => {
  class FakeStack implements FamilyStack {
    readonly calls: string[] = [];
    constructor(readonly family: 4 | 6) {}
    route(): null {
      this.calls.push('route');
      return null;
    }
    output(skb: SkBuff): number {
      this.calls.push('output');
      skbFree(skb);
      return 0;
    }
    isLocalAddress(): boolean {
      this.calls.push('local');
      return true;
    }
    sendPortUnreach(): void {
      this.calls.push('unreach');
    }
  }

  it('dispatches by the destination family; a family without a stack has no route', () => {
    const skbs = new SkbCache(new MemSpace());
    const inet = new InetLayer(new ProtocolTable());
    const v4 = new FakeStack(4);
    inet.attach(v4);
    const v6dst = InetAddr.parse('2001:db8::1');
    const v4dst = InetAddr.parse('10.0.0.1');
    assert.equal(inet.route(v6dst), null);
    assert.equal(inet.isLocalAddress(v6dst), false);
    assert.equal(inet.output(skbs.alloc(MAX_HEADER, MAX_HEADER)!, InetAddr.ANY6, v6dst, 17), -ERRNO.ENETUNREACH);
    assert.equal(skbs.live, 0, 'skb freed');
    inet.route(v4dst);
    inet.isLocalAddress(v4dst);
    inet.output(skbs.alloc(MAX_HEADER, MAX_HEADER)!, InetAddr.ANY4, v4dst, 17);
    const m = new RxMeta();
    m.family = 4;
    inet.sendPortUnreach(skbs.alloc(64, 0)!, m);
    assert.deepEqual(v4.calls, ['route', 'local', 'output', 'unreach']);
    const v6 = new FakeStack(6);
    inet.attach(v6);
    inet.route(v6dst);
    assert.deepEqual(v6.calls, ['route']);
    const t = { rcv: skbFree };
    inet.register(17, t);
    assert.equal(inet.protos.get(17), t);
    assert.throws(() => inet.register(17, t), /already registered/);
    assert.throws(() => inet.register(256, t), RangeError);
    inet.unregister(17);
    assert.equal(inet.protos.get(17), null);
  });
});
