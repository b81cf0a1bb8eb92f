import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ToeplitzHasher, NtupleTable, fillIndirEqual } from '../../src/netdev/index.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';

describe('RSS', () => {
  // Microsoft's RSS verification suite (the default key), IPv4 with TCP ports
  const vectors: [string, number, string, number, number, number][] = [
    ['66.9.149.187', 2794, '161.142.100.80', 1766, 0x51ccc178, 0x323e8fc2],
    ['199.92.111.2', 14230, '65.69.140.83', 4739, 0xc626b0ea, 0xd718262a],
    ['24.19.198.95', 12898, '12.22.207.184', 38024, 0x5c2b394a, 0xd2d0a5de],
    ['38.27.205.30', 48228, '209.142.163.6', 2217, 0xafc7327f, 0x82989176],
    ['153.39.163.191', 44251, '202.188.127.2', 1303, 0x10e828a2, 0x5d1809c5],
  ];
  it('matches the Toeplitz verification vectors', () => {
    const h = new ToeplitzHasher();
    for (const [src, sport, dst, dport, withPorts, noPorts] of vectors) {
      assert.equal(h.hashV4(parseIpv4Addr(src), parseIpv4Addr(dst), sport, dport, true), withPorts);
      assert.equal(h.hashV4(parseIpv4Addr(src), parseIpv4Addr(dst), 0, 0, false), noPorts);
    }
  });

  it('equal N spreads the indirection table over queues 0..N-1', () => {
    const t = new Int32Array(128);
    fillIndirEqual(t, 3);
    assert.deepEqual([...new Set(t)].sort(), [0, 1, 2]);
  });

  it('n-tuple rules match on any subset, lowest location first', () => {
    const n = new NtupleTable();
    assert.equal(n.add({ flowType: 'tcp4', dstPort: 5201, action: 3 }), 0);
    assert.equal(n.add({ flowType: 'tcp4', dstPort: 5201, srcPort: 9, action: 1, loc: 5 }), 5);
    assert.equal(n.add({ flowType: 'udp4', dstPort: 5201, action: 2, loc: 5 }), -1, 'location taken');
    assert.equal(n.match(6, 1, 2, 9, 5201), 3);
    assert.equal(n.match(17, 1, 2, 9, 5201), -2);
    assert.ok(n.delete(0));
    assert.equal(n.match(6, 1, 2, 9, 5201), 1);
    n.enabled = false;
    assert.equal(n.match(6, 1, 2, 9, 5201), -2);
  });
});
