// Adversarial review of the IPv4 layer against Linux behaviour (ip_fragment.c, icmp.c, arp.c,
// neighbour.c): each case failed before its fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
// eslint-disable-next-line
import { InetAddr } from '../../src/inet/index.js';
import { MAX_HEADER, type IcmpErr } from '../../src/net/index.js';
import { skbCopyBits, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import {
  MAC_A, MAC_B, concat, ethHeader, icmpMsg, inject, ipPacket, naiveCsum, pattern, runFor, toHex, twoHosts, type Host,
} from './harness.js';

function recorder(h: Host): { bytes: Uint8Array }[] {
  const got: { bytes: Uint8Array }[] = [];
  h.protos.set(253, {
    rcv(skb: SkBuff) {
      const b = new Uint8Array(skb.len);
      assert.equal(skbCopyBits(skb, 0, b, 0, skb.len), 0);
      got.push({ bytes: b });
      skbFree(skb);
    },
  });
  return got;
}

function pair(): ReturnType<typeof twoHosts> {
  const p = twoHosts(10);
  p.a.cfg.addNeighbour('eth0', '10.0.0.2', MAC_B);
  p.b.cfg.addNeighbour('eth0', '10.0.0.1', MAC_A);
  return p;
}

interface FragOpts { ident?: number; off: number; mf: boolean; src?: string; dst?: string; proto?: number; options?: Uint8Array; ethDst?: number }

function fragFrame(o: FragOpts, payload: Uint8Array): Uint8Array {
  const frag = (o.mf ? 0x2000 : 0) | (o.off >> 3);
  return concat(ethHeader(o.ethDst ?? MAC_A, MAC_B, 0x0800),
    ipPacket({ proto: o.proto ?? 253, src: o.src ?? '10.0.0.2', dst: o.dst ?? '10.0.0.1', ident: o.ident ?? 0x4242, frag, options: o.options }, payload));
}

function l4(h: Host, payload: Uint8Array): SkBuff {
  const skb = h.skbs.alloc(MAX_HEADER + payload.length, MAX_HEADER)!;
  skb.buf.set(payload, skbPut(skb, payload.length));
  return skb;
}

describe('review: IPv4 reassembly', () => {
  it('a first fragment with IP options and later ones without: the transport gets the payload at the right offset', () => {
    const { sched, a } = pair();
    const got = recorder(a);
    const data = pattern(64);
    // NOP x4: not copied into later fragments (Linux ip_options_fragment)
    inject(a, fragFrame({ off: 0, mf: true, options: Uint8Array.of(1, 1, 1, 1) }, data.subarray(0, 32)));
    inject(a, fragFrame({ off: 32, mf: false }, data.subarray(32)));
    runFor(sched, 10);
    assert.equal(got.length, 1);
    assert.equal(toHex(got[0]!.bytes), toHex(data));
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: ICMP error rate limits (icmp_ratelimit, icmp_msgs_per_sec / burst)', () => {
  const unknownProto = (src: string, ident: number): Uint8Array =>
    concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 254, src, dst: '10.0.0.1', ident }, pattern(16)));

  it('per destination: a burst of 6, then one per second (inet_peer_xrlim_allow, XRLIM_BURST_FACTOR 6)', () => {
    const { sched, a } = pair();
    const st = a.v4.stats.icmp;
    for (let i = 0; i < 20; i++) inject(a, unknownProto('10.0.0.2', i));
    assert.deepEqual([a.v4.stats.inUnknownProtos, st.outDestUnreachs, st.rateLimitHost, st.rateLimitGlobal], [20, 6, 14, 0]);
    runFor(sched, 999_000);
    inject(a, unknownProto('10.0.0.2', 100));
    assert.equal(st.outDestUnreachs, 6, 'no token yet');
    runFor(sched, 1_000);
    inject(a, unknownProto('10.0.0.2', 101));
    inject(a, unknownProto('10.0.0.2', 102));
    assert.equal(st.outDestUnreachs, 7, 'one more after a second');
    runFor(sched, 10_000_000);
    for (let i = 0; i < 10; i++) inject(a, unknownProto('10.0.0.2', 200 + i));
    assert.equal(st.outDestUnreachs, 13, 'the bucket refills to 6, no more');
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });

  it('globally: 50 at once across destinations, then 1000 per second; echo replies are not limited', () => {
    const { sched, a } = pair();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const st = a.v4.stats.icmp;
    for (let i = 0; i < 200; i++) inject(a, unknownProto(`10.0.${1 + (i >> 8)}.${i & 0xff}`, i));
    assert.deepEqual([st.outDestUnreachs, st.rateLimitGlobal], [50, 150]);
    runFor(sched, 10_000);
    inject(a, unknownProto('10.0.9.1', 1));
    assert.equal(st.outDestUnreachs, 50, 'refilled at most every 20 ms');
    runFor(sched, 10_000);
    for (let i = 0; i < 100; i++) inject(a, unknownProto(`10.0.7.${i}`, i));
    assert.equal(st.outDestUnreachs, 70, '20 ms earn 20');
    for (let i = 0; i < 30; i++) inject(a, concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1', ident: i }, icmpMsg(8, 0, i, pattern(8)))));
    assert.equal(st.outEchoReps, 30);
    assert.ok(a.v4.icmp.rateLimit.size <= 4096);
    runFor(sched, 5_000_000);
    assert.equal(a.skbs.live, 0);
  });

  it('errors about datagrams that came in on lo are not limited', () => {
    const { sched, a } = pair();
    for (let i = 0; i < 20; i++) {
      assert.equal(a.inet.output(l4(a, pattern(8)), InetAddr.ANY4, InetAddr.parse('127.0.0.1'), 254), 0);
    }
    runFor(sched, 10);
    assert.equal(a.v4.stats.icmp.outDestUnreachs, 20);
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });
});
