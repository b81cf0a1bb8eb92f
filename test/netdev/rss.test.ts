import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowDissect, ToeplitzHasher, NtupleTable, fillIndirEqual } from '../../src/netdev/index.js';
import { InetAddr } from '../../src/inet/index.js';
import { ERRNO } from '../../src/uapi/index.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';

/** a dissector result for a TCP/UDP flow (what the NIC fills from a frame) */
function flow(proto: number, src: string, dst: string, sport: number, dport: number, fragment = false): FlowDissect {
  const fd = new FlowDissect();
  const s = InetAddr.parse(src);
  fd.family = s.family;
  fd.proto = proto;
  fd.src.set(s);
  fd.dst.set(InetAddr.parse(dst));
  fd.sport = sport;
  fd.dport = dport;
  fd.hasPorts = true;
  fd.isFragment = fragment;
  return fd;
}

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

  // the IPv6 rows of the same suite (source, source port, destination, destination port)
  const vectors6: [string, number, string, number, number, number][] = [
    ['3ffe:2501:200:1fff::7', 2794, '3ffe:2501:200:3::1', 1766, 0x40207d3d, 0x2cc18cd5],
    ['3ffe:501:8::260:97ff:fe40:efab', 14230, 'ff02::1', 4739, 0xdde51bbf, 0x0f0c461c],
    ['3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 'fe80::200:f8ff:fe21:67cf', 38024, 0x02d1feef, 0x4b61e985],
  ];
  it('matches the IPv6 Toeplitz verification vectors (4-tuple and 2-tuple)', () => {
    const h = new ToeplitzHasher();
    for (const [src, sport, dst, dport, withPorts, noPorts] of vectors6) {
      const s = InetAddr.parse(src);
      const d = InetAddr.parse(dst);
      assert.equal(h.hashV6(s, d, sport, dport, true), withPorts);
      assert.equal(h.hashV6(s, d, sport, dport, false), noPorts);
      assert.equal(h.hash(6, s, d, sport, dport, true), withPorts);
    }
    // by family: IPv4 addresses in their v4-mapped form hash as 4-byte addresses
    assert.equal(h.hash(4, InetAddr.parse('66.9.149.187'), InetAddr.parse('161.142.100.80'), 2794, 1766, true), 0x51ccc178);
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
    assert.equal(n.add({ flowType: 'udp4', dstPort: 5201, action: 2, loc: 5 }), -ERRNO.EEXIST, 'location taken');
    assert.equal(n.match(flow(6, '0.0.0.1', '0.0.0.2', 9, 5201)), 3);
    assert.equal(n.match(flow(17, '0.0.0.1', '0.0.0.2', 9, 5201)), -2);
    assert.equal(n.match(flow(6, '::1', '::2', 9, 5201)), -2, 'a tcp4 rule never matches IPv6');
    assert.ok(n.delete(0));
    assert.equal(n.match(flow(6, '0.0.0.1', '0.0.0.2', 9, 5201)), 1);
    assert.equal(n.match(flow(6, '0.0.0.1', '0.0.0.2', 9, 5201, true)), -2, 'fragments never match');
    n.enabled = false;
    assert.equal(n.match(flow(6, '0.0.0.1', '0.0.0.2', 9, 5201)), -2);
  });

  it('tcp6/udp6 rules match IPv6 addresses and prefixes; the family of each address is checked', () => {
    const n = new NtupleTable();
    const A = InetAddr.parse('2001:db8::2');
    assert.equal(n.add({ flowType: 'tcp6', dstIp: A, dstPort: 5201, action: 3 }), 0);
    assert.equal(n.add({ flowType: 'udp6', srcIp: InetAddr.parse('2001:db8:1::'), srcPrefix: 48, action: 2 }), 1);
    assert.equal(n.add({ flowType: 'tcp4', dstIp: InetAddr.parse('10.1.0.0'), dstPrefix: 16, action: 1 }), 2);
    assert.equal(n.match(flow(6, '2001:db8::1', '2001:db8::2', 40000, 5201)), 3);
    assert.equal(n.match(flow(6, '2001:db8::1', '2001:db8::3', 40000, 5201)), -2, 'other destination');
    assert.equal(n.match(flow(6, '2001:db8::1', '2001:db8::2', 40000, 5202)), -2, 'other port');
    assert.equal(n.match(flow(17, '2001:db8:1:ffff::9', '2001:db8::2', 1, 2)), 2, 'inside the /48');
    assert.equal(n.match(flow(17, '2001:db8:2::9', '2001:db8::2', 1, 2)), -2, 'outside the /48');
    assert.equal(n.match(flow(6, '10.0.0.1', '10.1.200.3', 1, 2)), 1, 'inside the IPv4 /16');
    assert.equal(n.match(flow(6, '10.0.0.1', '10.2.0.3', 1, 2)), -2);
    assert.equal(n.match(flow(6, '::ffff:10.0.0.1', '::ffff:10.1.0.1', 1, 2)), 1, 'v4-mapped text is IPv4');
    // validation
    assert.equal(n.add({ flowType: 'tcp6', dstIp: InetAddr.parse('10.0.0.1'), action: 1 }), -ERRNO.EINVAL, 'IPv4 address in a tcp6 rule');
    assert.equal(n.add({ flowType: 'tcp4', dstIp: A, action: 1 }), -ERRNO.EINVAL, 'IPv6 address in a tcp4 rule');
    assert.equal(n.add({ flowType: 'tcp4', dstIp: InetAddr.parse('10.0.0.1'), dstPrefix: 33, action: 1 }), -ERRNO.EINVAL);
    assert.equal(n.add({ flowType: 'tcp6', dstPrefix: 64, action: 1 }), -ERRNO.EINVAL, 'a prefix without an address');
    assert.equal(n.add({ flowType: 'tcp6', dstPort: 70000, action: 1 }), -ERRNO.EINVAL);
    assert.equal(n.rules.length, 3);
  });
});
