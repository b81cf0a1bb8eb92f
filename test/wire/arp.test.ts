import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ArpView, WIRE_OK, WIRE_TRUNCATED, WIRE_UNSUPPORTED, arpPacketLen, dataViewOf,
  emitArp, parseArp, type ArpRepr,
} from '../../src/wire/index.js';
import { atOffset, hex, toHex } from './helpers.js';

// who-has 10.0.0.2 tell 10.0.0.1 (02:00:00:00:00:01)
const REQUEST = hex(`00 01 08 00 06 04 00 01 02 00 00 00 00 01 0a 00 00 01
                     00 00 00 00 00 00 0a 00 00 02`);
const REPR: ArpRepr = { op: ARPOP_REQUEST, senderMac: 0x020000000001, senderIp: 0x0a000001, targetMac: 0, targetIp: 0x0a000002 };

describe('arp', () => {
  it('deconstructs', () => {
    const b = atOffset(REQUEST);
    const v = new ArpView().rebind(b, dataViewOf(b), 0, b.length);
    assert.equal(v.check(), WIRE_OK);
    assert.equal(v.htype, 1);
    assert.equal(v.ptype, 0x0800);
    assert.equal(v.hlen, 6);
    assert.equal(v.plen, 4);
    assert.equal(v.op, ARPOP_REQUEST);
    assert.equal(v.senderMac, 0x020000000001);
    assert.equal(v.senderIp, 0x0a000001);
    assert.equal(v.targetMac, 0);
    assert.equal(v.targetIp, 0x0a000002);
  });

  it('constructs with emit and setters', () => {
    const b = new Uint8Array(arpPacketLen(REPR));
    emitArp(REPR, dataViewOf(b), 0);
    assert.equal(toHex(b), toHex(REQUEST));
    // Turn it into the reply in place with setters.
    const v = new ArpView().rebind(b, dataViewOf(b), 0, b.length);
    v.op = ARPOP_REPLY;
    v.targetMac = v.senderMac;
    v.targetIp = v.senderIp;
    v.senderMac = 0x020000000002;
    v.senderIp = 0x0a000002;
    assert.equal(toHex(b), toHex(hex(`00 01 08 00 06 04 00 02 02 00 00 00 00 02 0a 00 00 02
                                      02 00 00 00 00 01 0a 00 00 01`)));
  });

  it('parse -> emit round-trips the fixture', () => {
    const r = parseArp(new ArpView().rebind(REQUEST, dataViewOf(REQUEST), 0, REQUEST.length));
    assert.deepEqual(r, REPR);
    const b = new Uint8Array(ARP_LEN);
    emitArp(r, dataViewOf(b), 0);
    assert.equal(toHex(b), toHex(REQUEST));
  });

  it('rejects truncated and non-Ethernet/IPv4 packets', () => {
    const v = new ArpView();
    assert.equal(v.rebind(REQUEST, dataViewOf(REQUEST), 0, 27).check(), WIRE_TRUNCATED);
    assert.equal(v.rebind(REQUEST, dataViewOf(REQUEST), 0, 0).check(), WIRE_TRUNCATED);
    for (const [i, val] of [[1, 6], [2, 0x86], [4, 8], [5, 16]] as const) {
      const b = REQUEST.slice();
      b[i] = val;
      assert.equal(v.rebind(b, dataViewOf(b), 0, b.length).check(), WIRE_UNSUPPORTED, `byte ${i}`);
    }
  });

  it('round-trips random Reprs (property)', () => {
    const mac = fc.integer({ min: 0, max: 0xffffffffffff });
    const ip = fc.nat(0xffffffff);
    fc.assert(fc.property(fc.record({ op: fc.nat(0xffff), senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip }), (r) => {
      const b = new Uint8Array(ARP_LEN);
      emitArp(r, dataViewOf(b), 0);
      const v = new ArpView().rebind(b, dataViewOf(b), 0, b.length);
      assert.equal(v.check(), WIRE_OK);
      assert.deepEqual(parseArp(v), { ...r });
    }));
  });
});
