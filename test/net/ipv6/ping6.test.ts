import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import {
  GA, GB, LL_A, LL_B, MAC_A, MAC_B, addrBytes, concat, ethHeader, flushMicrotasks, icmp6, ip6, naiveCsum, parseFrame, pseudo,
  runFor, toHex, track, twoHosts6,
} from './harness6.js';

function pat(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
}

describe('ping6 between two simulated hosts', () => {
  it('link-local addresses come from the modified EUI-64 and pass DAD', () => {
    const { a, b } = twoHosts6();
    const la = a.v6.addresses().map((x) => `${x.dev} ${x.address.toString()}/${x.prefixLen} ${x.scope} ${x.flags.join(',')}`);
    assert.deepEqual(la.sort(), ['eth0 2001:db8::a/64 global permanent', 'eth0 fe80::ff:fe00:a/64 link permanent', 'lo ::1/128 host nodad,permanent'].sort());
    assert.equal(b.v6.addresses().filter((x) => x.flags.includes('tentative')).length, 0);
    assert.equal(a.v6.stats.ndisc.dadCompleted, 2);
  });

  it('resolves B with NS/NA and pings it; every frame is byte-exact', async () => {
    const { sched, hub, a } = twoHosts6(10);
    const s = track(a.v6.ping6(GB, { ident: 0x1234, seq: 1 }));
    runFor(sched, 1_000_000);
    await flushMicrotasks();
    assert.equal(hub.frames.length, 4, hub.frames.map((f) => `${f.from} ${toHex(f.bytes)}`).join('\n'));
    const [ns, na, echo, rep] = hub.frames;
    // NS 2001:db8::a > ff02::1:ff00:b, who has 2001:db8::b, SLLA MAC_A
    const nsMsg = icmp6('2001:db8::a', 'ff02::1:ff00:b', 135, 0, concat(new Uint8Array(4), addrBytes(GB), Uint8Array.of(1, 1), ethHeader(0, MAC_A).subarray(6, 12)));
    const nsFrame = concat(ethHeader(0x3333ff00000b, MAC_A), ip6({ src: '2001:db8::a', dst: 'ff02::1:ff00:b', nh: 58, hlim: 255 }, nsMsg));
    assert.equal(toHex(ns!.bytes), toHex(nsFrame));
    // NA 2001:db8::b > 2001:db8::a, solicited + override, TLLA MAC_B
    const naMsg = icmp6('2001:db8::b', '2001:db8::a', 136, 0, concat(Uint8Array.of(0x60, 0, 0, 0), addrBytes(GB), Uint8Array.of(2, 1), ethHeader(0, MAC_B).subarray(6, 12)));
    const naFrame = concat(ethHeader(MAC_A, MAC_B), ip6({ src: '2001:db8::b', dst: '2001:db8::a', nh: 58, hlim: 255 }, naMsg));
    assert.equal(toHex(na!.bytes), toHex(naFrame));
    const req = icmp6('2001:db8::a', '2001:db8::b', 128, 0, concat(Uint8Array.of(0x12, 0x34, 0, 1), pat(56)));
    assert.equal(toHex(echo!.bytes), toHex(concat(ethHeader(MAC_B, MAC_A), ip6({ src: '2001:db8::a', dst: '2001:db8::b', nh: 58 }, req))));
    const reply = icmp6('2001:db8::b', '2001:db8::a', 129, 0, concat(Uint8Array.of(0x12, 0x34, 0, 1), pat(56)));
    assert.equal(toHex(rep!.bytes), toHex(concat(ethHeader(MAC_A, MAC_B), ip6({ src: '2001:db8::b', dst: '2001:db8::a', nh: 58 }, reply))));
    assert.equal(naiveCsum(pseudo('2001:db8::b', '2001:db8::a', 58, reply.length), reply), 0);
    assert.deepEqual(s.value, { rttUs: 40, bytes: 64, ttl: 64 });
    assert.deepEqual(a.v6.neighbours().map((n) => [n.addr, n.state, n.mac]), [['2001:db8::b', 'reachable', MAC_B]]);
  });

  it('pings over link-local addresses and its own addresses (loopback)', async () => {
    const { sched, hub, a } = twoHosts6(10);
    const ll = track(a.v6.ping6(LL_B));
    const self = track(a.v6.ping6(GA));
    const lo = track(a.v6.ping6(InetAddr.LOOPBACK6));
    runFor(sched, 1_000_000);
    await flushMicrotasks();
    assert.equal(ll.value?.bytes, 64);
    assert.equal(self.value?.bytes, 64);
    assert.equal(lo.value?.bytes, 64);
    // link-local echo went out with link-local addresses on both ends
    const ll6 = hub.frames.map((f) => parseFrame(f.bytes)).filter((f) => f.nh === 58 && f.payload[0] === 128);
    assert.deepEqual(ll6.map((f) => [f.src, f.dst]), [[LL_A.toString(), LL_B.toString()]]);
  });

  it('a large ping is fragmented at the MTU and reassembled on both sides', async () => {
    const { sched, hub, a, b } = twoHosts6(10);
    const s = track(a.v6.ping6(GB, { size: 3000 }));
    runFor(sched, 1_000_000);
    await flushMicrotasks();
    assert.equal(s.value?.bytes, 3008);
    const frags = hub.from('A').map((f) => parseFrame(f.bytes)).filter((f) => f.nh === 44);
    assert.equal(frags.length, 3);
    // (1500 - 40 - 8) & ~7 = 1448 bytes per fragment: 1448 + 1448 + 112 = 3008
    assert.deepEqual(frags.map((f) => f.payload.length), [8 + 1448, 8 + 1448, 8 + 112]);
    assert.deepEqual(frags.map((f) => (f.payload[2]! << 8) | f.payload[3]!), [0x0001, 1448 | 1, 2896]);
    assert.equal(b.v6.stats.reasmOKs, 1);
    assert.equal(a.v6.stats.reasmOKs, 1);
    assert.equal(a.v6.stats.fragCreates, 3);
    assert.equal(b.v6.reasm.count, 0);
    assert.equal(b.v6.reasm.mem, 0);
  });
});
