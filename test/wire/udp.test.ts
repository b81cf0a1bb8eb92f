import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  UDP_HLEN, UdpView, WIRE_BAD_LENGTH, WIRE_OK, WIRE_TRUNCATED, dataViewOf, emitUdp, parseIpv4Addr, parseUdp,
  udpPacketLen, udpVerifyChecksum,
} from '../../src/wire/index.js';
import { atOffset, hex, toHex } from './helpers.js';

// smoltcp's UDP vector, 192.168.1.1 -> 192.168.1.2.
const SMOL = hex('bf 00 00 35 00 0c 12 4d aa 00 00 ff');
const SRC = parseIpv4Addr('192.168.1.1');
const DST = parseIpv4Addr('192.168.1.2');
// 10.0.0.1.5353 > 10.0.0.2.53, odd payload "abc" (checksum computed independently).
const ODD = hex('14 e9 00 35 00 0b 12 55 61 62 63');
const A = parseIpv4Addr('10.0.0.1');
const B = parseIpv4Addr('10.0.0.2');

function view(b: Uint8Array, len = b.length): UdpView {
  return new UdpView().rebind(b, dataViewOf(b), 0, len);
}

describe('udp', () => {
  it('deconstructs', () => {
    const v = view(atOffset(SMOL));
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.srcPort, 48896);
    assert.equal(v.dstPort, 53);
    assert.equal(v.length, 12);
    assert.equal(v.checksum, 0x124d);
    assert.equal(v.payloadLen, 4);
    assert.equal(v.verifyChecksum(SRC, DST), true);
    assert.equal(v.verifyChecksum(SRC, DST + 1), false);
    assert.equal(view(ODD).verifyChecksum(A, B), true);
  });

  it('constructs with setters and with emit', () => {
    const b = new Uint8Array(12);
    const v = view(b);
    v.srcPort = 48896;
    v.dstPort = 53;
    v.length = 12;
    v.checksum = 0x124d;
    b.set(hex('aa 00 00 ff'), 8);
    assert.equal(toHex(b), toHex(SMOL));
    const r = { srcPort: 48896, dstPort: 53, payload: hex('aa 00 00 ff') };
    const out = new Uint8Array(udpPacketLen(r));
    emitUdp(r, out, dataViewOf(out), 0, SRC, DST);
    assert.equal(toHex(out), toHex(SMOL));
    const r2 = { srcPort: 5353, dstPort: 53, payload: new TextEncoder().encode('abc') };
    const out2 = new Uint8Array(udpPacketLen(r2));
    emitUdp(r2, out2, dataViewOf(out2), 0, A, B);
    assert.equal(toHex(out2), toHex(ODD));
  });

  it('sends a computed zero checksum as 0xffff; zero on input means none', () => {
    const r = { srcPort: 1, dstPort: 2, payload: hex('eb d4') };
    const out = new Uint8Array(udpPacketLen(r));
    emitUdp(r, out, dataViewOf(out), 0, A, B);
    assert.equal(toHex(out), '00 01 00 02 00 0a ff ff eb d4');
    assert.equal(view(out).verifyChecksum(A, B), true);
    out[6] = 0;
    out[7] = 0;
    assert.equal(udpVerifyChecksum(out, dataViewOf(out), 0, out.length, 1, 2), true);
  });

  it('parse -> emit round-trips; payload stops at the length field', () => {
    const b = new Uint8Array(20);
    b.set(SMOL);
    const v = view(b);
    assert.equal(v.check(), WIRE_OK);
    const r = parseUdp(v);
    assert.equal(toHex(r.payload), 'aa 00 00 ff');
    assert.equal(r.payload.buffer, b.buffer);
    const out = new Uint8Array(udpPacketLen(r));
    emitUdp(r, out, dataViewOf(out), 0, SRC, DST);
    assert.equal(toHex(out), toHex(SMOL));
  });

  it('rejects truncated and impossible lengths', () => {
    for (let n = 0; n < UDP_HLEN; n++) assert.equal(view(SMOL, n).check(), WIRE_TRUNCATED);
    assert.equal(view(SMOL, 11).check(), WIRE_TRUNCATED, 'length 12 > len 11');
    const b = SMOL.slice();
    b[5] = 7;
    assert.equal(view(b).check(), WIRE_BAD_LENGTH, 'length 7');
    b[5] = 0;
    assert.equal(view(b).check(), WIRE_BAD_LENGTH, 'length 0');
    b[5] = 8;
    assert.equal(view(b).check(), WIRE_OK, 'length 8');
  });

  it('round-trips random Reprs (property)', () => {
    const arb = fc.record({ srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), payload: fc.uint8Array({ maxLength: 100 }) });
    fc.assert(fc.property(arb, fc.nat(0xffffffff), fc.nat(0xffffffff), (r, src, dst) => {
      const b = new Uint8Array(udpPacketLen(r));
      emitUdp(r, b, dataViewOf(b), 0, src, dst);
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      assert.notEqual(v.checksum, 0);
      assert.equal(v.verifyChecksum(src, dst), true);
      const p = parseUdp(v);
      assert.deepEqual({ ...p, payload: Array.from(p.payload) }, { ...r, payload: Array.from(r.payload) });
    }));
  });
});
