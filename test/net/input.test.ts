import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skbAddFrag, skbPut } from '../../src/skb/index.js';
import {
  MAC_A, MAC_B, concat, ethHeader, hex, icmpMsg, inject, ipPacket, naiveCsum, netifReceive, pattern, runFor, toHex, twoHosts, type Host,
  type IpOpts, type TestLink,
} from './harness.js';

const ECHO_B_TO_A: IpOpts = { proto: 1, src: '10.0.0.2', dst: '10.0.0.1' };

function echoFrame(ip: Partial<IpOpts> = {}, payload = pattern(16), ethDst = MAC_A): Uint8Array {
  return concat(ethHeader(ethDst, MAC_B, 0x0800), ipPacket({ ...ECHO_B_TO_A, ...ip }, icmpMsg(8, 0, 0x00420007, payload)));
}

/** IPv4 frames A sent (ARP excluded) */
function ipFramesFromA(link: TestLink): Uint8Array[] {
  return link.from('A').filter((f) => f.bytes[12] === 0x08 && f.bytes[13] === 0x00).map((f) => f.bytes);
}

type Counter = (h: Host) => number;

interface BadCase {
  name: string;
  frame: Uint8Array;
  counters: [Counter, string][];
}

const truncatedIp = echoFrame().subarray(0, 14 + 10);
const badCases: BadCase[] = [
  { name: 'IPv4 header shorter than 20 bytes', frame: truncatedIp, counters: [[(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']] },
  { name: 'bad version', frame: echoFrame({ vihl: 0x65 }), counters: [[(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']] },
  { name: 'IHL < 5', frame: echoFrame({ vihl: 0x44 }), counters: [[(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']] },
  { name: 'IHL past the packet', frame: echoFrame({ vihl: 0x4f }), counters: [[(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']] },
  {
    name: 'bad header checksum', frame: echoFrame({ csum: 0x1234 }),
    counters: [[(h) => h.stack.stats.inCsumErrors, 'inCsumErrors'], [(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']],
  },
  { name: 'total length > frame', frame: echoFrame({ totalLen: 20 + 24 + 10 }), counters: [[(h) => h.stack.stats.inTruncatedPkts, 'inTruncatedPkts']] },
  { name: 'total length < IHL', frame: echoFrame({ totalLen: 16 }), counters: [[(h) => h.stack.stats.inHdrErrors, 'inHdrErrors']] },
  { name: 'not our address', frame: echoFrame({ dst: '10.0.0.9' }), counters: [[(h) => h.stack.stats.inAddrErrors, 'inAddrErrors']] },
  { name: 'multicast source', frame: echoFrame({ src: '224.0.0.1' }), counters: [[(h) => h.stack.stats.inDiscards, 'inDiscards']] },
  { name: 'zero source', frame: echoFrame({ src: '0.0.0.0' }), counters: [[(h) => h.stack.stats.inDiscards, 'inDiscards']] },
  {
    name: 'bad ICMP checksum',
    frame: (() => { const f = echoFrame(); f[36] = f[36]! ^ 0xff; return f; })(),
    counters: [[(h) => h.stack.stats.icmp.inCsumErrors, 'icmp.inCsumErrors'], [(h) => h.stack.stats.icmp.inErrors, 'icmp.inErrors']],
  },
  { name: 'Ethernet frame for another host', frame: echoFrame({}, pattern(16), 0x020000000077), counters: [[(h) => h.netif.stats.rxOtherHost, 'rxOtherHost']] },
  {
    name: 'unknown ethertype', frame: concat(ethHeader(MAC_A, MAC_B, 0x88b5), new Uint8Array(40)),
    counters: [[(h) => h.netif.stats.rxUnknownEtherType, 'rxUnknownEtherType']],
  },
  { name: 'runt Ethernet frame', frame: hex('02 00 00 00 00 0a 02 00 00 00'), counters: [[(h) => h.dev.counters.rxLengthErrors, 'dev rxLengthErrors']] },
];

describe('IPv4 input validation', () => {
  it('a well-formed echo request is answered (control for the cases below)', () => {
    const { sched, link, a } = twoHosts();
    inject(a, echoFrame());
    runFor(sched, 1000);
    const replies = ipFramesFromA(link);
    assert.equal(replies.length, 1);
    assert.equal(a.stack.stats.inReceives, 1);
    assert.equal(a.stack.stats.inDelivers, 1);
    assert.equal(toHex(replies[0]!.subarray(34, 36)), '00 00', 'echo reply, code 0');
    assert.equal(toHex(replies[0]!.subarray(38, 42)), '00 42 00 07', 'ident and seq copied');
    assert.equal(naiveCsum(replies[0]!, 34), 0);
    assert.equal(toHex(replies[0]!.subarray(42)), toHex(pattern(16)));
    assert.equal(a.skbs.live, 0);
  });

  for (const c of badCases) {
    it(`drops and counts: ${c.name}`, () => {
      const { sched, link, a } = twoHosts();
      const before = c.counters.map(([f]) => f(a));
      inject(a, c.frame);
      runFor(sched, 1000);
      c.counters.forEach(([f, name], i) => assert.equal(f(a) - before[i]!, 1, name));
      assert.equal(ipFramesFromA(link).length, 0, 'nothing sent back');
      assert.equal(a.stack.stats.icmp.inEchos, 0);
      assert.equal(a.skbs.live, 0, 'skb freed');
    });
  }

  it('counts a runt frame handed straight to the stack', () => {
    const { a } = twoHosts();
    const skb = a.skbs.alloc(64, 0)!;
    skbPut(skb, 10);
    netifReceive(a, skb);
    assert.equal(a.netif.stats.rxLengthErrors, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('trims Ethernet padding to the IP total length', () => {
    const { sched, link, a } = twoHosts();
    const f = concat(echoFrame({}, new Uint8Array(0)), new Uint8Array(18).fill(0xee));
    assert.equal(f.length, 60);
    inject(a, f);
    runFor(sched, 1000);
    const r = ipFramesFromA(link);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.length, 14 + 28);
    assert.equal(toHex(r[0]!.subarray(16, 18)), '00 1c');
    assert.equal(naiveCsum(r[0]!, 34), 0);
  });

  it('accepts IP options and answers a request whose ICMP part landed in frags', () => {
    const { sched, link, a } = twoHosts();
    const payload = pattern(1000);
    inject(a, echoFrame({ options: hex('01 01 01 00') }, payload));
    runFor(sched, 1000);
    const r = ipFramesFromA(link);
    assert.equal(r.length, 1);
    assert.equal(toHex(r[0]!.subarray(14, 18)), '45 00 04 04', '20 + 8 + 1000, no options echoed');
    assert.equal(naiveCsum(r[0]!, 14, 20), 0);
    assert.equal(naiveCsum(r[0]!, 34), 0);
    assert.deepEqual(r[0]!.subarray(42), payload);
    assert.equal(a.skbs.live, 0);
  });

  it('answers a jumbo echo request in place (longer than one linear buffer)', () => {
    const { sched, link, a } = twoHosts(10, { mtu: 9000 });
    const payload = pattern(5000);
    inject(a, echoFrame({}, payload));
    runFor(sched, 1000);
    const r = ipFramesFromA(link);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.length, 14 + 20 + 8 + 5000);
    assert.equal(toHex(r[0]!.subarray(0, 14)), toHex(ethHeader(MAC_B, MAC_A, 0x0800)));
    assert.equal(toHex(r[0]!.subarray(26, 34)), '0a 00 00 01 0a 00 00 02');
    assert.equal(r[0]![34], 0);
    assert.equal(naiveCsum(r[0]!, 14, 20), 0);
    assert.equal(naiveCsum(r[0]!, 34), 0);
    assert.deepEqual(r[0]!.subarray(42), payload);
    assert.equal(a.stack.stats.icmp.outEchoReps, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('ignores echo requests to a broadcast address', () => {
    const { sched, link, a } = twoHosts();
    inject(a, echoFrame({ dst: '10.0.0.255' }, pattern(8), 0xffffffffffff));
    runFor(sched, 1000);
    assert.equal(ipFramesFromA(link).length, 0);
    assert.equal(a.stack.stats.icmp.inEchos, 1);
    assert.equal(a.stack.stats.icmp.inErrors, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('drops ICMP whose bytes are in unreadable (device-memory) frags', () => {
    const { sched, link, a } = twoHosts();
    const frame = echoFrame();
    const skb = a.skbs.alloc(256, 0)!;
    const at = skbPut(skb, 34);
    skb.buf.set(frame.subarray(0, 34), at);
    const pagesBefore = a.mem.host.inUse;
    const ref = a.mem.allocPage();
    a.mem.buf(ref).set(frame.subarray(34), a.mem.offset(ref));
    assert.ok(skbAddFrag(skb, ref, 0, frame.length - 34));
    skb.unreadable = true; // as if the payload pool were bound to device memory
    netifReceive(a, skb);
    runFor(sched, 1000);
    assert.equal(a.stack.stats.inDelivers, 1);
    assert.equal(a.stack.stats.icmp.inErrors, 1);
    assert.equal(a.stack.stats.icmp.inEchos, 0);
    assert.equal(ipFramesFromA(link).length, 0);
    assert.equal(a.skbs.live, 0);
    assert.equal(a.mem.host.inUse, pagesBefore, 'frag page released');
  });
});
