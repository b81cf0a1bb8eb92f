import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import { MAX_HEADER, type RxMeta } from '../../../src/net/index.js';
import { EPROTO, PMTU_EXPIRES_US, icmpv6Errno, icmpv6Fatal } from '../../../src/net/ipv6/index.js';
import { skbFree, skbPut, type SkBuff } from '../../../src/skb/index.js';
import { ERRNO, ErrnoError } from '../../../src/uapi/index.js';
import {
  GA, GB, MAC_A, MAC_B, Recorder, concat, ethHeader, flushMicrotasks, hex, icmp6, inject, ip6, parseFrame, runFor, toHex,
  track, twoHosts6, udp6, type Host6, receiverB,
} from './harness6.js';

const A = '2001:db8::a';
const B = '2001:db8::b';
const FAR = '2001:db8:99::1';

const setup = (): ReturnType<typeof receiverB> => receiverB({ defaultViaA: true });

/** an ICMPv6 error from `from` to B quoting `inner` */
function errFrame(from: string, type: number, code: number, info: number, inner: Uint8Array): Uint8Array {
  const rest = concat(Uint8Array.of(info >>> 24, (info >>> 16) & 0xff, (info >>> 8) & 0xff, info & 0xff), inner);
  return concat(ethHeader(MAC_B, MAC_A), ip6({ src: from, dst: B, nh: 58 }, icmp6(from, B, type, code, rest)));
}

/** a UDP datagram B sent to `dst` (as it would be quoted) */
function ours(dst: string, n = 20, nh = 17, ext: Uint8Array = new Uint8Array(0)): Uint8Array {
  return ip6({ src: B, dst, nh }, concat(ext, udp6(B, dst, 4000, 53, new Uint8Array(n))));
}

/** sends a UDP datagram from B with `n` data bytes; returns output's result */
function sendUdp(b: Host6, dst: string, n: number, df: boolean): number {
  const skb = b.skbs.alloc(MAX_HEADER + 8 + n, MAX_HEADER)!;
  const at = skbPut(skb, 8 + n);
  skb.buf.set(udp6(B, dst, 4000, 53, new Uint8Array(n)), at);
  return b.v6.output(skb, GB, InetAddr.parse(dst), 17, { df });
}

describe('ICMPv6 errors → transports (Linux icmpv6_err_convert)', () => {
  it('maps type/code to errno and fatality as Linux', () => {
    const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((c) => [icmpv6Errno(1, c), icmpv6Fatal(1, c)]);
    assert.deepEqual(rows, [
      [ERRNO.ENETUNREACH, false], [ERRNO.EACCES, true], [ERRNO.EHOSTUNREACH, false], [ERRNO.EHOSTUNREACH, false],
      [ERRNO.ECONNREFUSED, true], [ERRNO.EACCES, true], [ERRNO.EACCES, true], [EPROTO, true],
    ]);
    assert.deepEqual([icmpv6Errno(2, 0), icmpv6Fatal(2, 0)], [ERRNO.EMSGSIZE, false]);
    assert.deepEqual([icmpv6Errno(3, 0), icmpv6Fatal(3, 1)], [ERRNO.EHOSTUNREACH, false]);
    assert.deepEqual([icmpv6Errno(4, 1), icmpv6Fatal(4, 1)], [EPROTO, true]);
  });

  it('a port unreachable about our UDP datagram reaches UDP as ECONNREFUSED, fatal; through extension headers too', () => {
    const { b, rec } = setup();
    inject(b, errFrame(FAR, 1, 4, 0, ours(FAR)));
    assert.equal(rec.errs.length, 1);
    const e = rec.errs[0]!;
    assert.deepEqual({ ...e, l4: toHex(e.l4) }, {
      errno: ERRNO.ECONNREFUSED, fatal: true, type: 1, code: 4, info: 0, local: false, src: B, dst: FAR, proto: 17,
      l4: toHex(udp6(B, FAR, 4000, 53, new Uint8Array(20)).subarray(0, 8)),
    });
    inject(b, errFrame(FAR, 3, 0, 0, ours(FAR, 20, 60, hex('11 00 01 04 00 00 00 00'))));
    assert.deepEqual([rec.errs[1]!.errno, rec.errs[1]!.proto], [ERRNO.EHOSTUNREACH, 17]);
    assert.equal(b.v6.stats.icmp.inDestUnreachs, 1);
    assert.equal(b.v6.stats.icmp.inTimeExcds, 1);
  });

  it('errors quoting a non-first fragment, too little of the datagram, or with a bad checksum are not delivered', () => {
    const { b, rec } = setup();
    inject(b, errFrame(FAR, 1, 4, 0, ours(FAR, 20, 44, hex('11 00 00 08 00 00 00 01'))));
    inject(b, errFrame(FAR, 1, 4, 0, ours(FAR).subarray(0, 44)));
    const bad = errFrame(FAR, 1, 4, 0, ours(FAR));
    bad[bad.length - 1] ^= 0xff;
    inject(b, bad);
    assert.equal(rec.errs.length, 0);
    assert.equal(b.v6.stats.icmp.inCsumErrors, 1);
  });

  it('packet too big lowers the path MTU (never below 1280), fragments UDP to it, and expires after 600 s', () => {
    const { sched, hub, b, rec } = setup();
    assert.equal(b.v6.route(InetAddr.parse(FAR))!.mtu, 1500);
    inject(b, errFrame('2001:db8::1', 2, 0, 1400, ours(FAR)));
    assert.deepEqual([rec.errs[0]!.errno, rec.errs[0]!.fatal, rec.errs[0]!.info], [ERRNO.EMSGSIZE, false, 1400]);
    assert.equal(b.v6.route(InetAddr.parse(FAR))!.mtu, 1400);
    inject(b, errFrame('2001:db8::1', 2, 0, 1600, ours(FAR)));
    assert.equal(b.v6.route(InetAddr.parse(FAR))!.mtu, 1400);
    inject(b, errFrame('2001:db8::1', 2, 0, 600, ours(FAR)));
    assert.equal(b.v6.route(InetAddr.parse(FAR))!.mtu, 1280);
    assert.equal(b.v6.route(InetAddr.parse('2001:db8:99::2'))!.mtu, 1500);
    // over the path MTU: EMSGSIZE when fragmentation is not allowed, fragments otherwise
    assert.equal(sendUdp(b, FAR, 1300, true), -ERRNO.EMSGSIZE);
    assert.equal(sendUdp(b, FAR, 1300, false), 0);
    const frags = hub.from('B').map((f) => parseFrame(f.bytes));
    assert.deepEqual(frags.map((f) => [f.nh, 40 + f.payload.length, f.ethDst]), [[44, 1280, '02:00:00:00:00:0a'], [44, 40 + 8 + 1308 - 1232, '02:00:00:00:00:0a']]);
    runFor(sched, PMTU_EXPIRES_US);
    assert.equal(b.v6.route(InetAddr.parse(FAR))!.mtu, 1500);
    assert.equal(b.v6.pmtu.size, 0);
  });
});

describe('ICMPv6 errors out', () => {
  class Refuser extends Recorder {
    constructor(readonly h: Host6) {
      super();
    }
    override rcv(skb: SkBuff, meta: RxMeta): void {
      this.h.v6.sendPortUnreach(skb, meta);
      skbFree(skb);
    }
  }

  it('port unreachable quotes the datagram (byte-exact); none for multicast destinations', () => {
    const { hub, b } = setup();
    b.protos.delete(17);
    b.protos.set(17, new Refuser(b));
    const dgram = ip6({ src: A, dst: B, nh: 17 }, udp6(A, B, 5, 6, hex('01 02 03')));
    inject(b, concat(ethHeader(MAC_B, MAC_A), dgram));
    const msg = icmp6(B, A, 1, 4, concat(new Uint8Array(4), dgram));
    assert.equal(toHex(hub.from('B')[0]!.bytes), toHex(concat(ethHeader(MAC_A, MAC_B), ip6({ src: B, dst: A, nh: 58 }, msg))));
    inject(b, concat(ethHeader(0x333300000001, MAC_A), ip6({ src: A, dst: 'ff02::1', nh: 17 }, udp6(A, 'ff02::1', 5, 6, hex('01')))));
    assert.equal(hub.from('B').length, 1);
    assert.equal(b.v6.stats.icmp.outDestUnreachs, 1);
  });

  it('an error quote stops at 1280 bytes of error message', () => {
    const { hub, b } = setup();
    b.protos.delete(17);
    b.protos.set(17, new Refuser(b));
    inject(b, concat(ethHeader(MAC_B, MAC_A), ip6({ src: A, dst: B, nh: 17 }, udp6(A, B, 5, 6, new Uint8Array(1400)))));
    const f = parseFrame(hub.from('B')[0]!.bytes);
    assert.equal(40 + f.payload.length, 1280);
  });
});

describe('ping6 results and failures', () => {
  it('ENETUNREACH without a route; an ICMPv6 error about the echo rejects with its errno', async () => {
    const { sched, a } = twoHosts6(10);
    await assert.rejects(a.v6.ping6(InetAddr.parse('2001:db9::1')), (e: unknown) => e instanceof ErrnoError && e.errno === ERRNO.ENETUNREACH);
    a.v6.addRoute(InetAddr.ANY6, 0, GB, null);
    const s = track(a.v6.ping6(InetAddr.parse(FAR), { ident: 7, seq: 9 }));
    runFor(sched, 1000);
    const req = ip6({ src: A, dst: FAR, nh: 58 }, icmp6(A, FAR, 128, 0, concat(hex('00 07 00 09'), Uint8Array.from({ length: 56 }, (_, i) => i))));
    const err = icmp6(B, A, 1, 1, concat(new Uint8Array(4), req));
    inject(a, concat(ethHeader(MAC_A, MAC_B), ip6({ src: B, dst: A, nh: 58 }, err)));
    await flushMicrotasks();
    assert.ok(s.error instanceof ErrnoError);
    assert.equal(s.error.errno, ERRNO.EACCES);
    assert.equal(a.v6.icmp.pendingPings, 0);
  });

  it('off-link destinations go to the gateway\'s MAC; the gateway without forwarding drops them', async () => {
    const { sched, hub, a, b } = twoHosts6(10);
    a.v6.addRoute(InetAddr.ANY6, 0, InetAddr.parse('fe80::ff:fe00:b'), a.dev);
    const s = track(a.v6.ping6(InetAddr.parse(FAR), { timeoutUs: 1_000_000 }));
    runFor(sched, 2_000_000);
    await flushMicrotasks();
    const echo = hub.from('A').map((f) => parseFrame(f.bytes)).find((f) => f.dst === FAR)!;
    assert.equal(echo.ethDst, '02:00:00:00:00:0b');
    assert.equal(echo.src, A);
    assert.ok(s.error instanceof ErrnoError && s.error.errno === ERRNO.ETIMEDOUT);
    assert.equal(b.v6.stats.inAddrErrors, 1);
    assert.deepEqual(a.v6.routes().map((r) => [r.dst, r.via ?? '', r.dev]), [
      ['fe80::/64', '', 'eth0'], ['2001:db8::/64', '', 'eth0'], ['::/0', 'fe80::ff:fe00:b', 'eth0'],
    ]);
  });

  it('an echo to all-nodes is answered by B from a unicast address', async () => {
    const { sched, hub, a } = twoHosts6(10);
    const s = track(a.v6.ping6(InetAddr.parse('ff02::1')));
    runFor(sched, 1000);
    await flushMicrotasks();
    assert.equal(s.value?.bytes, 64);
    const req = parseFrame(hub.from('A')[0]!.bytes);
    assert.deepEqual([req.ethDst, req.hlim, req.src], ['33:33:00:00:00:01', 1, 'fe80::ff:fe00:a']);
    const rep = hub.from('B').map((f) => parseFrame(f.bytes)).find((f) => f.nh === 58 && f.payload[0] === 129)!;
    assert.deepEqual([rep.src, rep.dst], ['fe80::ff:fe00:b', 'fe80::ff:fe00:a']);
  });

  it('routes and addresses reject bad configuration', () => {
    const { a } = twoHosts6(10);
    assert.throws(() => a.v6.addAddress(a.dev, GA, 64), (e: unknown) => e instanceof ErrnoError && e.code === 'EEXIST');
    assert.throws(() => a.v6.addAddress(a.dev, InetAddr.parse('ff02::5'), 64), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => a.v6.addAddress(a.dev, InetAddr.parse('10.0.0.1'), 24), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => a.v6.addRoute(InetAddr.parse('2001:db8:1::1'), 64, GB, null), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => a.v6.addRoute(InetAddr.parse('2001:db8:1::'), 64, InetAddr.parse('2001:db9::1'), null), (e: unknown) => e instanceof ErrnoError && e.code === 'ENETUNREACH');
    assert.throws(() => a.v6.addRoute(InetAddr.parse('2001:db8:1::'), 64, InetAddr.parse('fe80::1'), null), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    a.v6.addRoute(InetAddr.parse('2001:db8:1::'), 64, GB, null);
    assert.throws(() => a.v6.addRoute(InetAddr.parse('2001:db8:1::'), 64, GB, null), (e: unknown) => e instanceof ErrnoError && e.code === 'EEXIST');
    assert.equal(a.v6.route(InetAddr.parse('2001:db8:1::5'))!.nexthop.toString(), B);
    assert.equal(a.v6.route(InetAddr.parse('2001:db8:1::5'))!.src.toString(), A);
    assert.equal(a.v6.route(GA)!.local, true);
    assert.equal(a.v6.route(InetAddr.parse('fe80::ff:fe00:b'))!.src.toString(), 'fe80::ff:fe00:a');
  });
});
