import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HLEN, IcmpView, WIRE_OK, WIRE_TRUNCATED, dataViewOf, emitIcmpEcho, icmpEchoLen,
  parseIcmpEcho,
} from '../../src/wire/index.js';
import { atOffset, hex, toHex } from './helpers.js';

// smoltcp's ICMPv4 echo vector.
const ECHO = hex('08 00 8e fe 12 34 ab cd aa 00 00 ff');
// Echo request id 0x1234 seq 1 with an odd-length payload "ping!" (checksum computed independently).
const ECHO_ODD = hex('08 00 e5 f9 12 34 00 01 70 69 6e 67 21');

function view(b: Uint8Array, len = b.length): IcmpView {
  return new IcmpView().rebind(b, dataViewOf(b), 0, len);
}

describe('icmp', () => {
  it('deconstructs', () => {
    const v = view(atOffset(ECHO));
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.type, ICMP_ECHO);
    assert.equal(v.code, 0);
    assert.equal(v.checksum, 0x8efe);
    assert.equal(v.ident, 0x1234);
    assert.equal(v.seq, 0xabcd);
    assert.equal(v.payloadLen, 4);
    assert.equal(v.verifyChecksum(), true);
    assert.equal(view(ECHO_ODD).verifyChecksum(), true);
  });

  it('constructs with setters + fillChecksum and with emit', () => {
    const b = new Uint8Array(12);
    b.set(hex('aa 00 00 ff'), 8);
    const v = view(b);
    v.type = ICMP_ECHO;
    v.code = 0;
    v.ident = 0x1234;
    v.seq = 0xabcd;
    v.checksum = 0xeeee;
    v.fillChecksum();
    assert.equal(toHex(b), toHex(ECHO));
    const r = { type: ICMP_ECHO, code: 0, ident: 0x1234, seq: 1, payload: new TextEncoder().encode('ping!') };
    const out = new Uint8Array(icmpEchoLen(r));
    emitIcmpEcho(r, out, dataViewOf(out), 0);
    assert.equal(toHex(out), toHex(ECHO_ODD));
  });

  it('parse -> emit round-trips; the payload aliases the buffer', () => {
    const b = ECHO.slice();
    const r = parseIcmpEcho(view(b));
    assert.deepEqual({ ...r, payload: Array.from(r.payload) }, { type: 8, code: 0, ident: 0x1234, seq: 0xabcd, payload: [0xaa, 0, 0, 0xff] });
    assert.equal(r.payload.buffer, b.buffer);
    const out = new Uint8Array(icmpEchoLen(r));
    emitIcmpEcho(r, out, dataViewOf(out), 0);
    assert.equal(toHex(out), toHex(ECHO));
    // Turn the request into a reply in place (payload aliasing its own destination).
    emitIcmpEcho({ ...r, type: ICMP_ECHOREPLY }, b, dataViewOf(b), 0);
    assert.equal(toHex(b), '00 00 96 fe 12 34 ab cd aa 00 00 ff');
    assert.equal(view(b).verifyChecksum(), true);
  });

  it('rejects truncated input and detects corruption', () => {
    for (let n = 0; n < ICMP_HLEN; n++) assert.equal(view(ECHO, n).check(), WIRE_TRUNCATED);
    const b = ECHO.slice();
    b[9] = 1;
    assert.equal(view(b).verifyChecksum(), false);
  });

  it('round-trips random echo Reprs (property)', () => {
    const arb = fc.record({
      type: fc.constantFrom(ICMP_ECHO, ICMP_ECHOREPLY), code: fc.constant(0), ident: fc.nat(0xffff), seq: fc.nat(0xffff),
      payload: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(fc.property(arb, (r) => {
      const b = new Uint8Array(icmpEchoLen(r));
      emitIcmpEcho(r, b, dataViewOf(b), 0);
      const v = view(b);
      assert.equal(v.check(), WIRE_OK);
      assert.equal(v.verifyChecksum(), true);
      const p = parseIcmpEcho(v);
      assert.deepEqual({ ...p, payload: Array.from(p.payload) }, { ...r, payload: Array.from(r.payload) });
    }));
  });
});
