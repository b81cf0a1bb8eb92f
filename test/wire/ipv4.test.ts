import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IPPROTO_ICMP, IPPROTO_TCP, IPV4_HLEN, IP_DF, IP_MF, Ipv4View, WIRE_BAD_LENGTH, WIRE_BAD_VERSION, WIRE_OK,
  WIRE_TRUNCATED, dataViewOf, emitIpv4, ipv4HeaderLen, parseIpv4Addr, parseIpv4Header, type Ipv4Repr,
} from '../../src/wire/index.js';
import { SYN_FRAME, atOffset, hex, toHex } from './helpers.js';

// smoltcp's IPv4 vector: DF and MF set, fragment offset 0x203 * 8, 10 payload bytes.
const SMOL = hex(`45 00 00 1e 01 02 62 03 1a 01 d5 6e 11 12 13 14 21 22 23 24
                  aa 00 00 00 00 00 00 00 00 ff`);
const SYN_IP = SYN_FRAME.subarray(14);

function view(b: Uint8Array, off = 0, len = b.length - off): Ipv4View {
  return new Ipv4View().rebind(b, dataViewOf(b), off, len);
}

describe('ipv4', () => {
  it('deconstructs the smoltcp vector', () => {
    const v = view(atOffset(SMOL));
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.version, 4);
    assert.equal(v.headerLen, 20);
    assert.equal(v.tos, 0);
    assert.equal(v.totalLen, 30);
    assert.equal(v.ident, 0x102);
    assert.equal(v.flags, IP_DF | IP_MF);
    assert.equal(v.dontFrag, true);
    assert.equal(v.moreFrags, true);
    assert.equal(v.fragOffset, 0x203 * 8);
    assert.equal(v.ttl, 0x1a);
    assert.equal(v.protocol, IPPROTO_ICMP);
    assert.equal(v.checksum, 0xd56e);
    assert.equal(v.src, 0x11121314);
    assert.equal(v.dst, 0x21222324);
    assert.equal(v.payloadOff, 20);
    assert.equal(v.payloadLen, 10);
    assert.equal(v.verifyChecksum(), true);
  });

  it('constructs the smoltcp vector with setters + fillChecksum', () => {
    const b = new Uint8Array(30);
    const v = view(b);
    v.headerLen = 20;
    v.tos = 0;
    v.totalLen = 30;
    v.ident = 0x102;
    v.fragWord = 0x6203;
    v.ttl = 0x1a;
    v.protocol = IPPROTO_ICMP;
    v.checksum = 0xeeee;
    v.src = 0x11121314;
    v.dst = 0x21222324;
    b.set(SMOL.subarray(20), 20);
    v.fillChecksum();
    assert.equal(toHex(b), toHex(SMOL));
  });

  it('deconstructs and emits the SYN fixture header', () => {
    const v = view(SYN_IP);
    assert.equal(v.check(), WIRE_OK);
    const r = parseIpv4Header(v);
    const want: Ipv4Repr = {
      src: parseIpv4Addr('10.0.0.1'), dst: parseIpv4Addr('10.0.0.2'), protocol: IPPROTO_TCP, ttl: 64,
      payloadLen: 40, ident: 0xbeef, dontFrag: true, tos: 0,
    };
    assert.deepEqual(r, want);
    assert.equal(v.checksum, 0x67ca);
    assert.equal(v.verifyChecksum(), true);
    const out = new Uint8Array(ipv4HeaderLen(want) + 1);
    emitIpv4(want, dataViewOf(out), 1);
    assert.equal(toHex(out.subarray(1)), toHex(SYN_IP.subarray(0, 20)));
    assert.equal(out[0], 0);
  });

  it('detects a corrupted checksum', () => {
    const b = SMOL.slice();
    b[15] ^= 0x01;
    assert.equal(view(b).check(), WIRE_OK);
    assert.equal(view(b).verifyChecksum(), false);
  });

  it('accepts link-layer padding after totalLen', () => {
    const b = new Uint8Array(46);
    b.set(SMOL);
    const v = view(b);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.payloadLen, 10);
  });

  it('handles options (IHL 6)', () => {
    const b = hex('46 00 00 18 00 00 00 00 40 06 00 00 0a 00 00 01 0a 00 00 02 01 01 01 00');
    const v = view(b);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.headerLen, 24);
    assert.equal(v.payloadLen, 0);
    v.fillChecksum();
    assert.equal(v.verifyChecksum(), true);
    assert.equal(view(b, 0, 23).check(), WIRE_TRUNCATED);
  });

  it('rejects truncated, wrong-version and impossible-length headers', () => {
    for (let n = 0; n < IPV4_HLEN; n++) assert.equal(view(SMOL, 0, n).check(), WIRE_TRUNCATED, `len ${n}`);
    assert.equal(view(SMOL, 0, 29).check(), WIRE_TRUNCATED, 'totalLen > len');
    const mut = (i: number, v: number): Uint8Array => { const b = SMOL.slice(); b[i] = v; return b; };
    assert.equal(view(mut(0, 0x65)).check(), WIRE_BAD_VERSION);
    assert.equal(view(mut(0, 0x44)).check(), WIRE_BAD_LENGTH, 'IHL 4');
    assert.equal(view(mut(0, 0x40)).check(), WIRE_BAD_LENGTH, 'IHL 0');
    assert.equal(view(mut(0, 0x4f)).check(), WIRE_TRUNCATED, 'IHL 15 > len');
    assert.equal(view(mut(3, 0x13)).check(), WIRE_BAD_LENGTH, 'totalLen 19 < headerLen');
    assert.equal(view(mut(3, 0x00)).check(), WIRE_BAD_LENGTH, 'totalLen 0');
    assert.equal(view(mut(2, 0xff)).check(), WIRE_TRUNCATED, 'totalLen 65310');
  });

  it('never throws on random bytes, and getters are in bounds after check() (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (data, force4) => {
      if (force4 && data.length > 0) data[0] = (data[0] & 0x0f) | 0x40;
      const v = view(data);
      if (v.check() !== WIRE_OK) return;
      assert.ok(v.headerLen >= 20 && v.headerLen <= v.totalLen && v.totalLen <= data.length);
      parseIpv4Header(v);
      v.verifyChecksum();
      void [v.flags, v.fragOffset, v.moreFrags, v.checksum];
    }), { numRuns: 2000 });
  });

  it('round-trips random Reprs (property)', () => {
    const arb = fc.record({
      src: fc.nat(0xffffffff), dst: fc.nat(0xffffffff), protocol: fc.nat(255), ttl: fc.nat(255),
      payloadLen: fc.nat(100), ident: fc.nat(0xffff), dontFrag: fc.boolean(), tos: fc.nat(255),
    });
    fc.assert(fc.property(arb, (r) => {
      const b = new Uint8Array(IPV4_HLEN + r.payloadLen);
      emitIpv4(r, dataViewOf(b), 0);
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      assert.equal(v.verifyChecksum(), true);
      assert.deepEqual(parseIpv4Header(v), { ...r });
      const again = new Uint8Array(b.length);
      emitIpv4(parseIpv4Header(v), dataViewOf(again), 0);
      assert.equal(toHex(again), toHex(b));
    }));
  });
});
