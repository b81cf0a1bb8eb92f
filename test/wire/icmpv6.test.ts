import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_HLEN, ICMPV6_PKT_TOOBIG, Icmpv6View, NDISC_NEIGHBOUR_SOLICITATION, NdOptIter,
  WIRE_BAD_OPTION, WIRE_OK, WIRE_TRUNCATED, WIRE_UNSUPPORTED, dataViewOf, emitIcmpv6Echo, emitIcmpv6Error, emitNdisc,
  icmpv6EchoLen, icmpv6ErrorLen, icmpv6IsError, ndiscLen, parseIcmpv6Echo, parseIcmpv6Error, parseNdisc, type NdiscRepr,
} from '../../src/wire/index.js';
import { InetAddr, pseudoHeaderSum, type Addr } from '../../src/inet/index.js';
import { atOffset, hex, naiveFoldedSum, toHex } from './helpers.js';

// Checksums below were computed by an independent implementation over pseudo-header + message.
// NS fe80::1 > ff02::1:ff00:2, who has fe80::2, SLLA 02:00:00:00:00:0a
const NS = hex('87 00 7a 8e 00 00 00 00 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02 01 01 02 00 00 00 00 0a');
// NA fe80::2 > fe80::1, solicited + override, target fe80::2, TLLA 02:00:00:00:00:0b
const NA = hex('88 00 18 11 60 00 00 00 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02 02 01 02 00 00 00 00 0b');
// DAD probe :: > ff02::1:ff00:2 for fe80::2 (no SLLA)
const DAD = hex('87 00 7c 23 00 00 00 00 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02');
// echo request 2001:db8::1 > 2001:db8::2 id 0x1234 seq 1 "abcdefgh"
const ECHO = hex('80 00 80 75 12 34 00 01 61 62 63 64 65 66 67 68');
// packet too big 2001:db8::ff > 2001:db8::1, MTU 1280, 48 quoted bytes 00..2f
const PTB = hex(`02 00 71 d9 00 00 05 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b
  1c 1d 1e 1f 20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f`);
// RA fe80::c > ff02::1: hop limit 64, O flag, lifetime 1800, reachable 30000, retrans 1000, SLLA, MTU 1500,
// prefix 2001:db8:1::/64 L+A valid 3600 preferred 1800
const RA = hex(`86 00 27 13 40 40 07 08 00 00 75 30 00 00 03 e8 01 01 02 00 00 00 00 0c 05 01 00 00 00 00 05 dc
  03 04 40 c0 00 00 0e 10 00 00 07 08 00 00 00 00 20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 00`);

const P = (s: string): InetAddr => InetAddr.parse(s);
function ps(src: string, dst: string, len: number): number {
  return pseudoHeaderSum(P(src), P(dst), 58, len);
}
function view(b: Uint8Array, len = b.length): Icmpv6View {
  return new Icmpv6View().rebind(b, dataViewOf(b), 0, len);
}
function words(a: Addr): string {
  return InetAddr.from(a).toString();
}

describe('icmpv6', () => {
  it('verifies the vectors against the pseudo-header, and an independent sum agrees', () => {
    assert.equal(view(NS).verifyChecksum(ps('fe80::1', 'ff02::1:ff00:2', NS.length)), true);
    assert.equal(view(NA).verifyChecksum(ps('fe80::2', 'fe80::1', NA.length)), true);
    assert.equal(view(DAD).verifyChecksum(ps('::', 'ff02::1:ff00:2', DAD.length)), true);
    assert.equal(view(atOffset(ECHO)).verifyChecksum(ps('2001:db8::1', '2001:db8::2', ECHO.length)), true);
    assert.equal(view(PTB).verifyChecksum(ps('2001:db8::ff', '2001:db8::1', PTB.length)), true);
    assert.equal(view(RA).verifyChecksum(ps('fe80::c', 'ff02::1', RA.length)), true);
    // wrong pseudo-header (other destination) fails
    assert.equal(view(NS).verifyChecksum(ps('fe80::1', 'ff02::1:ff00:3', NS.length)), false);
    // the pseudo-header sum matches a byte-level one
    const b = new Uint8Array(40);
    b.set(P('fe80::1').toBytes(), 0);
    b.set(P('ff02::1:ff00:2').toBytes(), 16);
    b.set([0, 0, 0, 32, 0, 0, 0, 58], 32);
    const naive = naiveFoldedSum(b, 0, 40);
    let s = ps('fe80::1', 'ff02::1:ff00:2', 32);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    assert.equal(s, naive);
  });

  it('echo: deconstructs, emits byte-exact, round-trips', () => {
    const v = view(ECHO);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.type, ICMPV6_ECHO_REQUEST);
    assert.equal(v.ident, 0x1234);
    assert.equal(v.seq, 1);
    const r = parseIcmpv6Echo(v);
    assert.equal(new TextDecoder().decode(r.payload), 'abcdefgh');
    const out = new Uint8Array(icmpv6EchoLen(r));
    emitIcmpv6Echo(r, out, dataViewOf(out), 0, ps('2001:db8::1', '2001:db8::2', out.length));
    assert.equal(toHex(out), toHex(ECHO));
    // reply in place, addresses swapped
    const b = ECHO.slice();
    emitIcmpv6Echo({ ...parseIcmpv6Echo(view(b)), type: ICMPV6_ECHO_REPLY }, b, dataViewOf(b), 0, ps('2001:db8::2', '2001:db8::1', b.length));
    assert.equal(b[0], 129);
    assert.equal(view(b).verifyChecksum(ps('2001:db8::2', '2001:db8::1', b.length)), true);
  });

  it('errors: packet too big emits byte-exact with its MTU, parse aliases the quote', () => {
    const quote = new Uint8Array(48).map((_, i) => i);
    const r = { type: ICMPV6_PKT_TOOBIG, code: 0, info: 1280, quote };
    const out = new Uint8Array(icmpv6ErrorLen(r));
    emitIcmpv6Error(r, out, dataViewOf(out), 0, ps('2001:db8::ff', '2001:db8::1', out.length));
    assert.equal(toHex(out), toHex(PTB));
    const p = parseIcmpv6Error(view(out));
    assert.equal(p.info, 1280);
    assert.equal(p.quote.buffer, out.buffer);
    assert.deepEqual([1, 2, 3, 4, 127, 128, 129, 135].map(icmpv6IsError), [true, true, true, true, true, false, false, false]);
  });

  it('errors: destination unreachable, time exceeded and parameter problem carry code and pointer (byte-exact checksums)', () => {
    const quote = new Uint8Array(40).map((_, i) => 0x40 + i);
    // checksums computed independently over the pseudo-header 2001:db8::2 > 2001:db8::1
    const cases: [number, number, number, number][] = [[1, 4, 0, 0x2086], [3, 1, 0, 0x1e89], [4, 1, 6, 0x1d83], [4, 2, 42, 0x1d5e]];
    for (const [type, code, info, csum] of cases) {
      const r = { type, code, info, quote };
      const out = new Uint8Array(icmpv6ErrorLen(r));
      emitIcmpv6Error(r, out, dataViewOf(out), 0, ps('2001:db8::2', '2001:db8::1', out.length));
      assert.equal(toHex(out.subarray(0, 8)), toHex(Uint8Array.of(type, code, csum >> 8, csum & 0xff, 0, 0, 0, info)));
      const v = view(out);
      assert.equal(v.info, info);
      assert.deepEqual([parseIcmpv6Error(v).type, parseIcmpv6Error(v).code, parseIcmpv6Error(v).quote.length], [type, code, 40]);
    }
  });

  it('neighbour solicitation / advertisement / DAD: parse and emit byte-exact', () => {
    const ns = parseNdisc(view(NS));
    assert.deepEqual(typeof ns === 'object' && ns.kind === 'ns' ? [words(ns.target), ns.sourceLl] : ns, ['fe80::2', 0x02000000000a]);
    const na = parseNdisc(view(NA));
    assert.ok(typeof na === 'object' && na.kind === 'na');
    assert.deepEqual([words(na.target), na.router, na.solicited, na.override, na.targetLl], ['fe80::2', false, true, true, 0x02000000000b]);
    const dad = parseNdisc(view(DAD));
    assert.ok(typeof dad === 'object' && dad.kind === 'ns' && dad.sourceLl === null);
    const cases: [NdiscRepr, Uint8Array, string, string][] = [
      [{ kind: 'ns', target: P('fe80::2'), sourceLl: 0x02000000000a }, NS, 'fe80::1', 'ff02::1:ff00:2'],
      [{ kind: 'na', target: P('fe80::2'), router: false, solicited: true, override: true, targetLl: 0x02000000000b }, NA, 'fe80::2', 'fe80::1'],
      [{ kind: 'ns', target: P('fe80::2'), sourceLl: null }, DAD, '::', 'ff02::1:ff00:2'],
      [{
        kind: 'ra', curHopLimit: 64, managed: false, other: true, routerLifetime: 1800, reachableTime: 30000, retransTimer: 1000,
        sourceLl: 0x02000000000c, mtu: 1500,
        prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 3600, preferredLifetime: 1800, prefix: P('2001:db8:1::') }],
      }, RA, 'fe80::c', 'ff02::1'],
    ];
    for (const [r, bytes, s, d] of cases) {
      assert.equal(ndiscLen(r), bytes.length);
      const out = new Uint8Array(ndiscLen(r)).fill(0xee);
      emitNdisc(r, out, dataViewOf(out), 0, ps(s, d, out.length));
      assert.equal(toHex(out), toHex(bytes));
    }
    const ra = parseNdisc(view(RA));
    assert.ok(typeof ra === 'object' && ra.kind === 'ra');
    assert.equal(ra.mtu, 1500);
    assert.equal(words(ra.prefixes[0]!.prefix), '2001:db8:1::');
    const rs: NdiscRepr = { kind: 'rs', sourceLl: 0x020000000001 };
    const rb = new Uint8Array(ndiscLen(rs));
    emitNdisc(rs, rb, dataViewOf(rb), 0, ps('fe80::1', 'ff02::2', rb.length));
    assert.equal(toHex(rb.subarray(0, 2)), '85 00');
    assert.deepEqual(parseNdisc(view(rb)), rs);
  });

  it('malformed NDP: truncated fixed part, zero-length option, overrun, short link-layer option, other types', () => {
    assert.equal(parseNdisc(view(NS, 23)), WIRE_TRUNCATED);
    assert.equal(parseNdisc(view(NA, 20)), WIRE_TRUNCATED);
    assert.equal(parseNdisc(view(RA, 15)), WIRE_TRUNCATED);
    const zero = NS.slice();
    zero[25] = 0;
    assert.equal(parseNdisc(view(zero)), WIRE_BAD_OPTION);
    const over = NS.slice();
    over[25] = 2;
    assert.equal(parseNdisc(view(over)), WIRE_BAD_OPTION);
    // a trailing single byte of option
    const tail = new Uint8Array(25);
    tail.set(DAD);
    tail[24] = 1;
    assert.equal(parseNdisc(view(tail)), WIRE_BAD_OPTION);
    // unknown options are skipped
    const unk = NS.slice();
    unk[24] = 99;
    const p = parseNdisc(view(unk));
    assert.ok(typeof p === 'object' && p.kind === 'ns' && p.sourceLl === null);
    assert.equal(parseNdisc(view(ECHO)), WIRE_UNSUPPORTED);
    assert.equal(view(NS).type, NDISC_NEIGHBOUR_SOLICITATION);
    for (let n = 0; n < ICMPV6_HLEN; n++) assert.equal(view(NS, n).check(), WIRE_TRUNCATED);
  });

  it('the option iterator never reads past its area (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const it = new NdOptIter().rebind(dataViewOf(b), 0, b.length);
      let end = 0;
      for (let i = 0; i < 64; i++) {
        const rc = it.next();
        if (rc !== WIRE_OK) break;
        assert.ok(it.optOff + it.optLen <= b.length);
        end = it.optOff + it.optLen;
      }
      assert.ok(end <= b.length);
    }));
  });
});
