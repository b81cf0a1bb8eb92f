import { it } from 'node:test';
import assert from 'node:assert/strict';
import { skbFree } from '../../src/skb/index.js';
import { MAC_A, MAC_B, concat, ethHeader, inject, ipPacket, naiveCsum, pattern, runFor, toHex, twoHosts } from './harness.js';

it('sendPortUnreach: ICMP port unreachable quoting the datagram; none for link-layer broadcasts', () => {
  const { sched, link, a } = twoHosts();
  a.cfg.addNeighbour('eth0', '10.0.0.2', MAC_B);
  a.protos.set(17, {
    rcv(skb, meta) {
      a.inet.sendPortUnreach(skb, meta);
      skbFree(skb);
    },
  });
  const dgram = ipPacket({ proto: 17, src: '10.0.0.2', dst: '10.0.0.1', frag: 0 }, pattern(12));
  inject(a, concat(ethHeader(MAC_A, MAC_B, 0x0800), dgram));
  inject(a, concat(ethHeader(0xffffffffffff, MAC_B, 0x0800), dgram));
  runFor(sched, 100);
  const out = link.from('A');
  assert.equal(out.length, 1);
  const f = out[0]!.bytes;
  assert.equal(toHex(f.subarray(34, 36)), '03 03', 'destination unreachable, port unreachable');
  assert.equal(naiveCsum(f, 34), 0);
  assert.equal(toHex(f.subarray(42)), toHex(dgram), 'quotes the datagram');
  assert.equal(toHex(f.subarray(30, 34)), '0a 00 00 02');
  assert.equal(a.v4.stats.icmp.outDestUnreachs, 1);
  assert.equal(a.skbs.live, 0);
});
