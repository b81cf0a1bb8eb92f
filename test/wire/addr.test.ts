import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  dataViewOf, ipv4AddrToString, ipv4ToString, macToString, parseIpv4Addr, parseMac, readMac, writeMac,
} from '../../src/wire/index.js';
import { hex, toHex } from './helpers.js';

describe('addresses', () => {
  it('parses and formats IPv4 text', () => {
    assert.equal(parseIpv4Addr('10.0.0.1'), 0x0a000001);
    assert.equal(parseIpv4Addr('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4Addr('0.0.0.0'), 0);
    assert.equal(parseIpv4Addr('192.168.1.2'), 0xc0a80102);
    assert.equal(ipv4AddrToString(0xc0a80102), '192.168.1.2');
    assert.equal(ipv4AddrToString(0xffffffff), '255.255.255.255');
    assert.equal(ipv4ToString(0x0a000001), '10.0.0.1');
  });

  it('rejects bad IPv4 text with TypeError', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-1', '01.2.3.4', 'a.b.c.d', '1..2.3', ' 1.2.3.4', '1.2.3.4 ']) {
      assert.throws(() => parseIpv4Addr(s), TypeError, s);
    }
  });

  it('parses and formats MAC text', () => {
    assert.equal(parseMac('02:00:00:00:00:01'), 0x020000000001);
    assert.equal(parseMac('FF-FF-FF-FF-FF-FF'), 0xffffffffffff);
    assert.equal(macToString(0x525400abcdef), '52:54:00:ab:cd:ef');
    assert.equal(macToString(0), '00:00:00:00:00:00');
    for (const s of ['', '02:00:00:00:00', '02:00:00:00:00:01:02', '2:00:00:00:00:01', '02:00-00:00:00:01', 'gg:00:00:00:00:01']) {
      assert.throws(() => parseMac(s), TypeError, s);
    }
  });

  it('reads and writes MACs big-endian', () => {
    const b = hex('ee 52 54 00 ab cd ef ee');
    const dv = dataViewOf(b);
    assert.equal(readMac(dv, 1), 0x525400abcdef);
    writeMac(dv, 1, 0xfedcba987654);
    assert.equal(toHex(b), 'ee fe dc ba 98 76 54 ee');
  });

  it('round-trips (property)', () => {
    fc.assert(fc.property(fc.nat(0xffffffff), (a) => {
      assert.equal(parseIpv4Addr(ipv4AddrToString(a)), a);
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffffffff }), (m) => {
      assert.equal(parseMac(macToString(m)), m);
      const b = new Uint8Array(8);
      const dv = dataViewOf(b);
      writeMac(dv, 1, m);
      assert.equal(readMac(dv, 1), m);
      assert.equal(b[0], 0);
      assert.equal(b[7], 0);
    }));
  });
});
