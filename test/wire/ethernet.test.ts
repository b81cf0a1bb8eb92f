import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ETH_BROADCAST, ETH_HLEN, ETH_P_ARP, ETH_P_IP, EthernetView, WIRE_OK, WIRE_TRUNCATED, dataViewOf, emitEthernet,
  ethernetHeaderLen, parseEthernet,
} from '../../src/wire/index.js';
import { SYN_FRAME, atOffset, toHex } from './helpers.js';

const HDR = SYN_FRAME.subarray(0, ETH_HLEN);

describe('ethernet', () => {
  it('deconstructs', () => {
    const b = atOffset(SYN_FRAME);
    const v = new EthernetView().rebind(b, dataViewOf(b), 0, b.length);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.dst, 0x020000000002);
    assert.equal(v.src, 0x020000000001);
    assert.equal(v.etherType, ETH_P_IP);
    assert.equal(v.payloadOff, 14);
    assert.equal(v.payloadLen, SYN_FRAME.length - 14);
  });

  it('constructs with setters and with emit', () => {
    const b = new Uint8Array(ETH_HLEN);
    const v = new EthernetView().rebind(b, dataViewOf(b), 0, b.length);
    v.dst = 0x020000000002;
    v.src = 0x020000000001;
    v.etherType = ETH_P_IP;
    assert.equal(toHex(b), toHex(HDR));
    const c = new Uint8Array(ETH_HLEN + 2);
    emitEthernet({ dst: 0x020000000002, src: 0x020000000001, etherType: ETH_P_IP }, dataViewOf(c), 1);
    assert.equal(toHex(c.subarray(1, 15)), toHex(HDR));
    assert.equal(c[0], 0);
    assert.equal(c[15], 0);
  });

  it('parse -> emit round-trips the fixture', () => {
    const v = new EthernetView().rebind(SYN_FRAME, dataViewOf(SYN_FRAME), 0, SYN_FRAME.length);
    const r = parseEthernet(v);
    assert.deepEqual(r, { dst: 0x020000000002, src: 0x020000000001, etherType: ETH_P_IP });
    const out = new Uint8Array(ethernetHeaderLen(r));
    emitEthernet(r, dataViewOf(out), 0);
    assert.equal(toHex(out), toHex(HDR));
  });

  it('rejects truncated input', () => {
    const v = new EthernetView();
    for (let n = 0; n < ETH_HLEN; n++) assert.equal(v.rebind(SYN_FRAME, dataViewOf(SYN_FRAME), 0, n).check(), WIRE_TRUNCATED);
    assert.equal(v.rebind(SYN_FRAME, dataViewOf(SYN_FRAME), 0, ETH_HLEN).check(), WIRE_OK);
    // A window that runs past the buffer is caught too.
    assert.equal(v.rebind(HDR, dataViewOf(HDR), 1, ETH_HLEN).check(), WIRE_TRUNCATED);
  });

  it('round-trips random Reprs (property)', () => {
    const mac = fc.integer({ min: 0, max: ETH_BROADCAST });
    fc.assert(fc.property(mac, mac, fc.constantFrom(ETH_P_IP, ETH_P_ARP, 0x86dd, 0x1234), (dst, src, etherType) => {
      const b = new Uint8Array(ETH_HLEN);
      const dv = dataViewOf(b);
      emitEthernet({ dst, src, etherType }, dv, 0);
      const v = new EthernetView().rebind(b, dv, 0, b.length);
      assert.equal(v.check(), WIRE_OK);
      assert.deepEqual(parseEthernet(v), { dst, src, etherType });
    }));
  });
});
