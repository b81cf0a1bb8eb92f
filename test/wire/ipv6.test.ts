import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPV6_HLEN, IPV6_TLV_PAD1, IPV6_TLV_PADN,
  Ipv6ExtView, Ipv6FragView, Ipv6OptIter, Ipv6View, WIRE_BAD_LENGTH, WIRE_BAD_OPTION, WIRE_BAD_VERSION, WIRE_OK,
  WIRE_TRUNCATED, dataViewOf, emitIpv6, emitIpv6Frag, emitIpv6Options, emitIpv6Routing, ipv6OptAction, ipv6OptionsLen,
  ipv6OptMayChange, isIpv6ExtHeader, parseIpv6Frag, parseIpv6Header, parseIpv6Options, parseIpv6Routing, type Ipv6Repr,
} from '../../src/wire/index.js';
import { InetAddr } from '../../src/inet/index.js';
import { atOffset, hex, naiveFoldedSum, toHex } from './helpers.js';

// smoltcp's IPv6 vector: fe80::1 > ff02::1, UDP (17), hop limit 64, 12 bytes of payload
// (a UDP header 1 > 2, length 12, checksum 0x024e, then ff ff ff ff).
const SMOL = hex(`60 00 00 00 00 0c 11 40
  fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01
  00 01 00 02 00 0c 02 4e ff ff ff ff`);

function view(b: Uint8Array, off = 0, len = b.length - off): Ipv6View {
  return new Ipv6View().rebind(b, dataViewOf(b), off, len);
}

const A1 = InetAddr.parse('fe80::1');
const MC1 = InetAddr.parse('ff02::1');

describe('ipv6 header', () => {
  it('deconstructs the smoltcp vector and its UDP checksum verifies independently', () => {
    const b = atOffset(SMOL);
    const v = view(b);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.version, 6);
    assert.equal(v.trafficClass, 0);
    assert.equal(v.flowLabel, 0);
    assert.equal(v.payloadLen, 12);
    assert.equal(v.nextHeader, 17);
    assert.equal(v.hopLimit, 64);
    assert.deepEqual([v.srcWord(0), v.srcWord(1), v.srcWord(2), v.srcWord(3)], [0xfe800000, 0, 0, 1]);
    assert.deepEqual([v.dstWord(0), v.dstWord(3)], [0xff020000, 1]);
    assert.equal(v.payloadOff, v.off + 40);
    // pseudo-header (src, dst, len, nxt) + UDP, summed naively
    const pseudo = new Uint8Array(40 + 12);
    pseudo.set(SMOL.subarray(8, 40), 0);
    pseudo.set([0, 0, 0, 12, 0, 0, 0, 17], 32);
    pseudo.set(SMOL.subarray(40), 40);
    assert.equal(naiveFoldedSum(pseudo, 0, pseudo.length), 0xffff);
  });

  it('emits the vector byte-exact; parse -> emit round-trips', () => {
    const r: Ipv6Repr = { src: A1, dst: MC1, nextHeader: 17, hopLimit: 64, payloadLen: 12, trafficClass: 0, flowLabel: 0 };
    const out = new Uint8Array(52);
    emitIpv6(r, dataViewOf(out), 0);
    out.set(SMOL.subarray(40), 40);
    assert.equal(toHex(out), toHex(SMOL));
    const p = parseIpv6Header(view(SMOL));
    assert.deepEqual({ ...p, src: InetAddr.from(p.src).toString(), dst: InetAddr.from(p.dst).toString() },
      { ...r, src: 'fe80::1', dst: 'ff02::1' });
  });

  it('traffic class and flow label setters keep the other fields', () => {
    const b = SMOL.slice();
    const v = view(b);
    v.trafficClass = 0xb8;
    v.flowLabel = 0xabcde;
    assert.equal(toHex(b.subarray(0, 4)), '6b 8a bc de');
    assert.equal(v.trafficClass, 0xb8);
    assert.equal(v.flowLabel, 0xabcde);
    v.setVtf(0x01, 0x00002);
    assert.equal(toHex(b.subarray(0, 4)), '60 10 00 02');
  });

  it('rejects truncated input, a wrong version and a payload length beyond the buffer', () => {
    for (let n = 0; n < IPV6_HLEN; n++) assert.equal(view(SMOL, 0, n).check(), WIRE_TRUNCATED);
    assert.equal(view(SMOL, 0, 51).check(), WIRE_TRUNCATED);
    const b = SMOL.slice();
    b[0] = 0x45;
    assert.equal(view(b).check(), WIRE_BAD_VERSION);
    // padding after the payload is fine
    const padded = new Uint8Array(60);
    padded.set(SMOL);
    assert.equal(view(padded).check(), WIRE_OK);
    // a bad rebind cannot read past the buffer
    assert.equal(new Ipv6View().rebind(SMOL, dataViewOf(SMOL), 20, 40).check(), WIRE_TRUNCATED);
  });

  it('round-trips random headers (property)', () => {
    const w = fc.nat(0xffffffff);
    const addr = fc.tuple(w, w, w, w).map(([a, b, c, d]) => InetAddr.of(a, b, c, d));
    const arb = fc.record({
      src: addr, dst: addr, nextHeader: fc.nat(255), hopLimit: fc.nat(255), payloadLen: fc.nat(64),
      trafficClass: fc.nat(255), flowLabel: fc.nat(0xfffff),
    });
    fc.assert(fc.property(arb, (r) => {
      const b = new Uint8Array(40 + r.payloadLen);
      emitIpv6(r, dataViewOf(b), 0);
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      const p = parseIpv6Header(v);
      assert.ok(InetAddr.from(p.src).equals(r.src) && InetAddr.from(p.dst).equals(r.dst));
      assert.deepEqual({ ...p, src: 0, dst: 0 }, { ...r, src: 0, dst: 0 });
    }));
  });
});

describe('ipv6 extension headers', () => {
  it('knows the extension header numbers', () => {
    assert.deepEqual([0, 43, 44, 60, 6, 17, 58, 59].map(isIpv6ExtHeader), [true, true, true, true, false, false, false, false]);
    assert.deepEqual([IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS], [0, 43, 44, 60]);
  });

  it('emits options padded with Pad1 / PadN, byte-exact, and parses them back', () => {
    // router alert (5, 2 bytes) = 2 + 4 = 6 bytes -> PadN of 2 (type 1, len 0)
    const r1 = { nextHeader: 58, options: [{ type: 5, data: hex('00 00') }] };
    assert.equal(ipv6OptionsLen(r1), 8);
    const b1 = new Uint8Array(8).fill(0xee);
    emitIpv6Options(r1, b1, 0);
    assert.equal(toHex(b1), '3a 00 05 02 00 00 01 00');
    // 2 + 3 + 2 = 7 bytes -> one Pad1
    const r2 = { nextHeader: 6, options: [{ type: 0x3e, data: hex('ab') }, { type: 0x1e, data: new Uint8Array(0) }] };
    const b2 = new Uint8Array(8).fill(0xee);
    emitIpv6Options(r2, b2, 0);
    assert.equal(toHex(b2), '06 00 3e 01 ab 1e 00 00');
    // nothing but padding: PadN of 4 data bytes
    const b3 = new Uint8Array(8).fill(0xee);
    emitIpv6Options({ nextHeader: 17, options: [] }, b3, 0);
    assert.equal(toHex(b3), '11 00 01 04 00 00 00 00');
    // 2 + 12 = 14 -> 16 bytes (hdr ext len 1), PadN with 0 data bytes
    const r4 = { nextHeader: 17, options: [{ type: 0xc9, data: hex('01 02 03 04 05 06 07 08 09 0a') }] };
    const b4 = new Uint8Array(16);
    emitIpv6Options(r4, b4, 0);
    assert.equal(toHex(b4), '11 01 c9 0a 01 02 03 04 05 06 07 08 09 0a 01 00');
    const v = new Ipv6ExtView().rebind(b4, dataViewOf(b4), 0, 16);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.headerLen, 16);
    const p = parseIpv6Options(v);
    assert.ok(typeof p !== 'number');
    assert.deepEqual({ ...p, options: p.options.map((o) => [o.type, toHex(o.data)]) },
      { nextHeader: 17, options: [[0xc9, '01 02 03 04 05 06 07 08 09 0a']] });
  });

  it('the option iterator walks Pad1, PadN and data options and stops at an overrun', () => {
    const b = hex('3a 00 00 01 01 00 07 01');
    const it = new Ipv6OptIter().rebind(b, 2, 6);
    const seen: number[][] = [];
    for (;;) {
      const rc = it.next();
      if (rc !== WIRE_OK) { seen.push([rc]); break; }
      seen.push([it.type, it.dataLen, it.dataOff]);
    }
    // Pad1 at 2, PadN(1) at 3 with data at 5, then type 7 at 6 claims 1 byte but only 0 remain after it
    assert.deepEqual(seen, [[IPV6_TLV_PAD1, 0, 3], [IPV6_TLV_PADN, 1, 5], [WIRE_BAD_OPTION]]);
    // a lone type byte at the end (no length byte) is also malformed
    assert.equal(new Ipv6OptIter().rebind(hex('05'), 0, 1).next(), WIRE_BAD_OPTION);
    // an option that fits ends the walk cleanly
    const ok = new Ipv6OptIter().rebind(hex('05 02 00 00'), 0, 4);
    assert.equal(ok.next(), WIRE_OK);
    assert.equal(ok.next(), -1);
  });

  it('option action bits and the may-change bit', () => {
    assert.deepEqual([0x05, 0x45, 0x85, 0xc5].map(ipv6OptAction), [0, 1, 2, 3]);
    assert.deepEqual([0x05, 0x25].map(ipv6OptMayChange), [false, true]);
  });

  it('ext header check: truncated headers and lengths beyond the buffer', () => {
    const b = hex('3a 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    const v = new Ipv6ExtView();
    for (let n = 0; n < 8; n++) assert.equal(v.rebind(b, dataViewOf(b), 0, n).check(), WIRE_TRUNCATED);
    assert.equal(v.rebind(b, dataViewOf(b), 0, 15).check(), WIRE_TRUNCATED);
    assert.equal(v.rebind(b, dataViewOf(b), 0, 16).check(), WIRE_OK);
    assert.equal(v.hdrExtLen, 1);
    // a malformed option inside a well-sized header is reported by the parser
    const bad = hex('3a 00 05 09 00 00 00 00');
    assert.equal(parseIpv6Options(new Ipv6ExtView().rebind(bad, dataViewOf(bad), 0, 8)), WIRE_BAD_OPTION);
  });

  it('routing header: emit, parse, and reject a length that is not a multiple of 8', () => {
    const r = { nextHeader: 6, routingType: 253, segmentsLeft: 2, data: hex('00 00 00 00') };
    const b = new Uint8Array(8);
    assert.equal(emitIpv6Routing(r, b, 0), WIRE_OK);
    assert.equal(toHex(b), '06 00 fd 02 00 00 00 00');
    const v = new Ipv6ExtView().rebind(b, dataViewOf(b), 0, 8);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.routingType, 253);
    assert.equal(v.segmentsLeft, 2);
    const p = parseIpv6Routing(v);
    assert.deepEqual({ ...p, data: toHex(p.data) }, { ...r, data: '00 00 00 00' });
    const long = { nextHeader: 17, routingType: 0, segmentsLeft: 1, data: new Uint8Array(20) };
    const lb = new Uint8Array(24);
    assert.equal(emitIpv6Routing(long, lb, 0), WIRE_OK);
    assert.equal(toHex(lb.subarray(0, 4)), '11 02 00 01');
    assert.equal(emitIpv6Routing({ ...r, data: new Uint8Array(3) }, new Uint8Array(8), 0), WIRE_BAD_LENGTH);
  });

  it('fragment header: byte-exact emit and parse', () => {
    const b = new Uint8Array(8);
    emitIpv6Frag({ nextHeader: 17, offset: 1448, more: true, ident: 0xdeadbeef }, dataViewOf(b), 0);
    assert.equal(toHex(b), '11 00 05 a9 de ad be ef');
    const v = new Ipv6FragView().rebind(b, dataViewOf(b), 0, 8);
    assert.equal(v.check(), WIRE_OK);
    assert.deepEqual(parseIpv6Frag(v), { nextHeader: 17, offset: 1448, more: true, ident: 0xdeadbeef });
    emitIpv6Frag({ nextHeader: 58, offset: 0, more: false, ident: 1 }, dataViewOf(b), 0);
    assert.equal(toHex(b), '3a 00 00 00 00 00 00 01');
    assert.equal(v.moreFrags, false);
    // reserved bits are ignored by the getters
    b[3] = 0x06;
    assert.equal(v.fragOffset, 0);
    assert.equal(v.moreFrags, false);
    for (let n = 0; n < 8; n++) assert.equal(v.rebind(b, dataViewOf(b), 0, n).check(), WIRE_TRUNCATED);
  });
});
