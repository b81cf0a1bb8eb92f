import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { FRAG_TRUESIZE_OVERHEAD, MAX_HEADER, REASM_DEFAULTS, type IcmpErr } from '../../src/net/index.js';
import { skbAddFrag, skbCopyBits, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { ERRNO } from '../../src/uapi/index.js';
import {
  MAC_A, MAC_B, concat, ethHeader, icmpMsg, inject, ipPacket, naiveCsum, netifReceive, pattern, runFor, toHex, twoHosts, type Host,
} from './harness.js';

/** records datagrams of protocol 253 delivered to `h` */
function recorder(h: Host): { t: number; src: string; bytes: Uint8Array }[] {
  const got: { t: number; src: string; bytes: Uint8Array }[] = [];
  h.protos.set(253, {
    rcv(skb: SkBuff, m) {
      const b = new Uint8Array(skb.len);
      assert.equal(skbCopyBits(skb, 0, b, 0, skb.len), 0);
      got.push({ t: h.v4.sched.now(), src: InetAddr.from(m.src).toString(), bytes: b });
      skbFree(skb);
    },
  });
  return got;
}

interface FragOpts {
  ident?: number;
  off: number;
  mf: boolean;
  src?: string;
  dst?: string;
  proto?: number;
  df?: boolean;
}

/** an Ethernet frame holding one IPv4 fragment B → A */
function fragFrame(o: FragOpts, payload: Uint8Array): Uint8Array {
  const frag = (o.mf ? 0x2000 : 0) | (o.df === true ? 0x4000 : 0) | (o.off >> 3);
  return concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: o.proto ?? 253, src: o.src ?? '10.0.0.2', dst: o.dst ?? '10.0.0.1', ident: o.ident ?? 0x4242, frag }, payload));
}

function l4(h: Host, payload: Uint8Array): SkBuff {
  const skb = h.skbs.alloc(MAX_HEADER + payload.length, MAX_HEADER)!;
  skb.buf.set(payload, skbPut(skb, payload.length));
  return skb;
}

function pairWithNeighbours(): ReturnType<typeof twoHosts> {
  const p = twoHosts(10);
  p.a.cfg.addNeighbour('eth0', '10.0.0.2', MAC_B);
  p.b.cfg.addNeighbour('eth0', '10.0.0.1', MAC_A);
  return p;
}

describe('IPv4 fragmentation on output (ip_do_fragment)', () => {
  it('DF clear: 8-byte aligned fragments with MF, offsets and one id; the peer reassembles the datagram', () => {
    const { sched, link, a, b } = pairWithNeighbours();
    const got = recorder(b);
    const data = pattern(3000);
    assert.equal(a.inet.output(l4(a, data), InetAddr.ANY4, InetAddr.parse('10.0.0.2'), 253, { df: false }), 0);
    const fr = link.from('A').map((f) => f.bytes);
    assert.deepEqual(fr.map((f) => f.length), [14 + 1500, 14 + 1500, 14 + 20 + 40]);
    const id = toHex(fr[0]!.subarray(18, 20));
    assert.deepEqual(fr.map((f) => toHex(f.subarray(16, 18))), ['05 dc', '05 dc', '00 3c'], 'total lengths');
    assert.deepEqual(fr.map((f) => toHex(f.subarray(18, 20))), [id, id, id], 'one IP id');
    assert.deepEqual(fr.map((f) => toHex(f.subarray(20, 22))), ['20 00', '20 b9', '01 72'], 'MF and offsets 0, 1480, 2960');
    for (const f of fr) assert.equal(naiveCsum(f, 14, 20), 0, 'header checksum');
    assert.equal(toHex(concat(fr[0]!.subarray(34), fr[1]!.subarray(34), fr[2]!.subarray(34))), toHex(data));
    assert.deepEqual([a.v4.stats.fragOKs, a.v4.stats.fragCreates, a.v4.stats.fragFails], [1, 3, 0]);
    runFor(sched, 1000);
    assert.equal(got.length, 1);
    assert.equal(toHex(got[0]!.bytes), toHex(data));
    assert.deepEqual([b.v4.stats.reasmReqds, b.v4.stats.reasmOKs, b.v4.stats.reasmFails], [3, 1, 0]);
    assert.equal(b.v4.reasm.mem, 0);
    assert.equal(b.v4.reasm.queues, 0);
    assert.equal(a.skbs.live, 0);
    assert.equal(b.skbs.live, 0);
  });

  it('payload in page frags is referenced, not copied; pages return when the fragments are gone', () => {
    const { sched, a, b } = pairWithNeighbours();
    const got = recorder(b);
    const skb = a.skbs.alloc(MAX_HEADER + 8, MAX_HEADER)!;
    skb.buf.set(pattern(8), skbPut(skb, 8));
    const expect: number[] = Array.from(pattern(8));
    for (let p = 0; p < 3; p++) {
      const ref = a.mem.allocPage();
      const o = a.mem.offset(ref);
      for (let i = 0; i < 1000; i++) a.mem.buf(ref)[o + i] = (p * 7 + i) & 0xff;
      assert.ok(skbAddFrag(skb, ref, 0, 1000));
      for (let i = 0; i < 1000; i++) expect.push((p * 7 + i) & 0xff);
    }
    const pages0 = a.mem.host.inUse;
    assert.equal(a.inet.output(skb, InetAddr.ANY4, InetAddr.parse('10.0.0.2'), 253, { df: false }), 0);
    runFor(sched, 1000);
    assert.equal(got.length, 1);
    assert.deepEqual(Array.from(got[0]!.bytes), expect);
    assert.equal(a.v4.stats.fragCreates, 3);
    assert.ok(a.mem.host.inUse <= pages0, 'frag pages released');
    assert.equal(a.skbs.live, 0);
    assert.equal(b.skbs.live, 0);
  });

  it('DF set (the default) over the MTU: EMSGSIZE, counted; CHECKSUM_PARTIAL is completed before fragmenting', () => {
    const { sched, a, b } = pairWithNeighbours();
    assert.equal(a.inet.output(l4(a, pattern(1481)), InetAddr.ANY4, InetAddr.parse('10.0.0.2'), 253), -ERRNO.EMSGSIZE);
    assert.equal(a.v4.stats.fragFails, 1);
    const got = recorder(b);
    const skb = l4(a, concat(new Uint8Array(8), pattern(2000)));
    skb.ipSummed = 3; // CHECKSUM_PARTIAL: checksum of everything, stored at offset 2
    skb.csumStart = skb.data;
    skb.csumOffset = 2;
    assert.equal(a.inet.output(skb, InetAddr.ANY4, InetAddr.parse('10.0.0.2'), 253, { df: false }), 0);
    runFor(sched, 1000);
    assert.equal(got.length, 1);
    assert.equal(naiveCsum(got[0]!.bytes), 0, 'the checksum covers every fragment');
    assert.equal(a.skbs.live, 0);
  });
});

describe('IPv4 reassembly (ip_defrag)', () => {
  it('out of order with a duplicate: reassembled once; the result is one skb with a frag list', () => {
    const { sched, a } = pairWithNeighbours();
    const got = recorder(a);
    const data = pattern(64);
    inject(a, fragFrame({ off: 48, mf: false }, data.subarray(48)));
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 24)));
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 16)));
    assert.equal(got.length, 0);
    inject(a, fragFrame({ off: 24, mf: true }, data.subarray(24, 48)));
    runFor(sched, 10);
    assert.equal(got.length, 1);
    assert.equal(toHex(got[0]!.bytes), toHex(data));
    assert.deepEqual([a.v4.stats.reasmReqds, a.v4.stats.reasmOKs, a.v4.stats.reasmFails, a.v4.stats.reasmOverlaps], [4, 1, 0, 0]);
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('an overlapping fragment drops the whole queue (RFC 5722 as Linux applies it)', () => {
    const { sched, a } = pairWithNeighbours();
    const got = recorder(a);
    inject(a, fragFrame({ off: 0, mf: true }, pattern(16)));
    inject(a, fragFrame({ off: 8, mf: true }, pattern(16)));
    assert.deepEqual([a.v4.stats.reasmOverlaps, a.v4.stats.reasmFails, a.v4.reasm.queues], [1, 1, 0]);
    inject(a, fragFrame({ off: 16, mf: false }, pattern(8)));
    assert.equal(a.v4.reasm.queues, 1, 'a new queue for the rest');
    runFor(sched, 40_000_000);
    assert.equal(got.length, 0);
    assert.equal(a.v4.stats.reasmTimeout, 1);
    assert.equal(a.v4.stats.icmp.outTimeExcds, 0, 'no ICMP: fragment 0 of that queue never arrived');
    assert.equal(a.skbs.live, 0);
    assert.equal(a.v4.reasm.mem, 0);
  });

  it('ipfrag_time: after 30 s the queue is dropped and ICMP time exceeded (code 1) quotes fragment 0', () => {
    const { sched, link, a } = pairWithNeighbours();
    recorder(a);
    const first = fragFrame({ off: 0, mf: true }, pattern(32));
    inject(a, first);
    runFor(sched, 29_999_999);
    assert.equal(link.from('A').length, 0);
    assert.equal(a.v4.reasm.queues, 1);
    runFor(sched, 1);
    const out = link.from('A');
    assert.equal(out.length, 1);
    const f = out[0]!.bytes;
    assert.equal(out[0]!.t, 30_000_000);
    assert.equal(toHex(f.subarray(0, 14)), toHex(ethHeader(MAC_B, MAC_A, 0x0800)));
    assert.equal(toHex(f.subarray(26, 34)), '0a 00 00 01 0a 00 00 02', 'A → B');
    assert.equal(f[23], 1, 'ICMP');
    assert.equal(toHex(f.subarray(34, 36)), '0b 01', 'time exceeded, fragment reassembly time exceeded');
    assert.equal(naiveCsum(f, 34), 0);
    assert.equal(toHex(f.subarray(42)), toHex(first.subarray(14)), 'quotes the whole (short) fragment 0');
    assert.deepEqual([a.v4.stats.reasmTimeout, a.v4.stats.reasmFails, a.v4.stats.icmp.outTimeExcds], [1, 1, 1]);
    assert.equal(a.v4.reasm.queues, 0);
    assert.equal(a.v4.reasm.mem, 0);
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
    assert.equal(sched.pending, 0, 'quiet');
  });

  it('length rules drop the queue: last fragments that disagree, data past the end, empty fragments, over 65535 bytes', () => {
    const { a } = pairWithNeighbours();
    recorder(a);
    const st = a.v4.stats;
    inject(a, fragFrame({ ident: 1, off: 16, mf: false }, pattern(8)));
    inject(a, fragFrame({ ident: 1, off: 16, mf: false }, pattern(16)));
    assert.deepEqual([st.reasmFails, a.v4.reasm.queues], [1, 0], 'two different ends');
    inject(a, fragFrame({ ident: 2, off: 16, mf: false }, pattern(8)));
    inject(a, fragFrame({ ident: 2, off: 24, mf: true }, pattern(8)));
    assert.deepEqual([st.reasmFails, a.v4.reasm.queues], [2, 0], 'data past the end');
    inject(a, fragFrame({ ident: 3, off: 0, mf: true }, pattern(8)));
    inject(a, fragFrame({ ident: 3, off: 8, mf: true }, pattern(7)));
    assert.deepEqual([st.reasmFails, a.v4.reasm.queues], [3, 0], 'MF fragment trimmed to 0 bytes');
    inject(a, fragFrame({ ident: 4, off: 65528, mf: false }, pattern(16)));
    assert.deepEqual([st.reasmFails, a.v4.reasm.queues], [4, 0], 'over 65535');
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('ipfrag_high_thresh / low_thresh: memory stays bounded, the oldest queues are evicted', () => {
    const { sched, a } = pairWithNeighbours();
    const got = recorder(a);
    const charge = 1500 + FRAG_TRUESIZE_OVERHEAD;
    const n = Math.ceil(REASM_DEFAULTS.highThresh / charge) + 10;
    let maxMem = 0;
    for (let i = 0; i < n; i++) {
      inject(a, fragFrame({ ident: i, off: 0, mf: true }, pattern(1480)));
      maxMem = Math.max(maxMem, a.v4.reasm.mem);
    }
    assert.ok(maxMem <= REASM_DEFAULTS.highThresh, `peak ${maxMem}`);
    assert.ok(a.v4.reasm.mem <= REASM_DEFAULTS.highThresh);
    const evicted = a.v4.stats.reasmFails;
    assert.ok(evicted > 0);
    assert.equal(a.v4.reasm.queues, n - evicted);
    // the oldest (ident 0) was evicted: its last fragment starts a new, incomplete queue
    inject(a, fragFrame({ ident: 0, off: 1480, mf: false }, pattern(8)));
    // the newest is still there and completes
    inject(a, fragFrame({ ident: n - 1, off: 1480, mf: false }, pattern(8)));
    assert.equal(got.length, 1);
    runFor(sched, 31_000_000);
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.v4.reasm.queues, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('ipfrag_max_dist: a distance over 64 fragments from the same source since the queue last grew restarts it', () => {
    const { sched, a } = pairWithNeighbours();
    const got = recorder(a);
    inject(a, fragFrame({ ident: 7, off: 0, mf: true }, pattern(8)));
    for (let i = 0; i < 63; i++) inject(a, fragFrame({ ident: 1000 + i, off: 8, mf: true }, pattern(8)));
    inject(a, fragFrame({ ident: 7, off: 8, mf: false }, pattern(8)));
    assert.equal(got.length, 1, '63 in between: a distance of 64, still allowed');
    inject(a, fragFrame({ ident: 8, off: 0, mf: true }, pattern(8)));
    for (let i = 0; i < 64; i++) inject(a, fragFrame({ ident: 2000 + i, off: 8, mf: true }, pattern(8)));
    const fails = a.v4.stats.reasmFails;
    inject(a, fragFrame({ ident: 8, off: 8, mf: false }, pattern(8)));
    assert.equal(got.length, 1, 'fragment 0 of ident 8 was dropped');
    assert.equal(a.v4.stats.reasmFails, fails + 1);
    // other sources have their own distance
    inject(a, fragFrame({ ident: 9, off: 0, mf: true, src: '10.0.0.3' }, pattern(8)));
    for (let i = 0; i < 100; i++) inject(a, fragFrame({ ident: 3000 + i, off: 8, mf: true }, pattern(8)));
    inject(a, fragFrame({ ident: 9, off: 8, mf: false, src: '10.0.0.3' }, pattern(8)));
    assert.equal(got.length, 2);
    runFor(sched, 31_000_000);
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('unreadable (device-memory) fragment payloads are chained, never read; pages return with the datagram', () => {
    const { sched, a } = pairWithNeighbours();
    const seen: { unreadable: boolean; len: number; chained: boolean; copy: number; head: number }[] = [];
    a.protos.set(253, {
      rcv(skb: SkBuff) {
        const b = new Uint8Array(skb.len);
        seen.push({ unreadable: skb.unreadable, len: skb.len, chained: skb.fragList !== null, copy: skbCopyBits(skb, 0, b, 0, skb.len), head: skb.tail - skb.data });
        skbFree(skb);
      },
    });
    const pages0 = a.mem.host.inUse;
    const frames = [fragFrame({ off: 0, mf: true }, pattern(800)), fragFrame({ off: 800, mf: false }, pattern(200))];
    for (const f of frames) {
      const skb = a.skbs.alloc(256, 0)!;
      skb.buf.set(f.subarray(0, 34), skbPut(skb, 34));
      const ref = a.mem.allocPage();
      a.mem.buf(ref).set(f.subarray(34), a.mem.offset(ref));
      assert.ok(skbAddFrag(skb, ref, 0, f.length - 34));
      skb.unreadable = true; // as if the payload pool were bound to device memory
      netifReceive(a, skb);
    }
    runFor(sched, 10);
    assert.deepEqual(seen, [{ unreadable: true, len: 1000, chained: true, copy: -ERRNO.EFAULT, head: 0 }]);
    assert.equal(a.v4.stats.reasmOKs, 1);
    assert.equal(a.skbs.live, 0);
    assert.ok(a.mem.host.inUse <= pages0 + 1, 'payload pages released');
  });

  it('fragments of an ICMP echo request are reassembled and answered (the reply fragmented back)', () => {
    const { sched, link, a } = pairWithNeighbours();
    const echo = icmpMsg(8, 0, 0x00050001, pattern(2000));
    inject(a, fragFrame({ off: 0, mf: true, proto: 1 }, echo.subarray(0, 1480)));
    inject(a, fragFrame({ off: 1480, mf: false, proto: 1 }, echo.subarray(1480)));
    runFor(sched, 10);
    assert.equal(a.v4.stats.icmp.inEchos, 1);
    assert.equal(a.v4.stats.icmp.outEchoReps, 1);
    assert.deepEqual(link.from('A').map((f) => f.bytes.length), [1514, 14 + 20 + 528]);
    assert.equal(a.skbs.live, 0);
  });
});

describe('path MTU discovery', () => {
  function fragNeeded(mtu: number, quoted: Uint8Array): Uint8Array {
    return concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1' }, icmpMsg(3, 4, mtu, quoted)));
  }

  it('ICMP fragmentation needed lowers the route MTU, reaches the transport as EMSGSIZE with the MTU, and expires after 600 s', () => {
    const { sched, link, a } = pairWithNeighbours();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const errs: { errno: number; fatal: boolean; info: number; local: boolean; dst: string }[] = [];
    a.protos.set(253, {
      rcv: skbFree,
      err: (e: IcmpErr) => { errs.push({ errno: e.errno, fatal: e.fatal, info: e.info, local: e.local, dst: InetAddr.from(e.dst).toString() }); },
    });
    const far = InetAddr.parse('8.8.8.8');
    assert.equal(a.inet.route(far)!.mtu, 1500);
    assert.equal(a.inet.output(l4(a, pattern(1400)), InetAddr.ANY4, far, 253), 0);
    const sent = link.from('A')[0]!.bytes;
    inject(a, fragNeeded(1400, sent.subarray(14, 14 + 28)));
    assert.deepEqual(errs, [{ errno: ERRNO.EMSGSIZE, fatal: false, info: 1400, local: false, dst: '8.8.8.8' }]);
    assert.equal(a.inet.route(far)!.mtu, 1400);
    assert.equal(a.inet.route(InetAddr.parse('9.9.9.9'))!.mtu, 1500, 'per destination');
    assert.equal(a.inet.output(l4(a, pattern(1381)), InetAddr.ANY4, far, 253), -ERRNO.EMSGSIZE);
    assert.equal(a.inet.output(l4(a, pattern(1380)), InetAddr.ANY4, far, 253), 0);
    // a larger value does not raise it
    inject(a, fragNeeded(1450, sent.subarray(14, 14 + 28)));
    assert.equal(a.inet.route(far)!.mtu, 1400);
    runFor(sched, 600_000_000);
    assert.equal(a.inet.route(far)!.mtu, 1500, 'expired (ip_rt_mtu_expires)');
    assert.equal(a.skbs.live, 0);
  });

  it('below ip_rt_min_pmtu (552) the path MTU is clamped and locked: DF is no longer set, datagrams are fragmented', () => {
    const { sched, link, a } = pairWithNeighbours();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    a.protos.set(253, { rcv: skbFree, err: () => true }); // a socket takes the report
    const far = InetAddr.parse('8.8.8.8');
    a.inet.output(l4(a, pattern(100)), InetAddr.ANY4, far, 253);
    inject(a, fragNeeded(300, link.from('A')[0]!.bytes.subarray(14, 14 + 28)));
    assert.equal(a.inet.route(far)!.mtu, 552);
    link.frames.length = 0;
    assert.equal(a.inet.output(l4(a, pattern(1000)), InetAddr.ANY4, far, 253), 0);
    const fr = link.from('A').map((f) => f.bytes);
    assert.deepEqual(fr.map((f) => f.length - 14), [548, 20 + 1000 - 528]);
    assert.equal(toHex(fr[0]!.subarray(20, 22)), '20 00', 'MF, no DF');
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });

  it('forged "fragmentation needed" for many destinations cannot grow the cache without bound', () => {
    const { a } = pairWithNeighbours();
    a.protos.set(253, { rcv: skbFree, err: () => true }); // even when a protocol takes every report
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    for (let i = 0; i < 6000; i++) {
      const quoted = ipPacket({ proto: 253, src: '10.0.0.1', dst: `11.${(i >> 8) & 0xff}.${i & 0xff}.1` }, new Uint8Array(8));
      inject(a, fragNeeded(1300, quoted.subarray(0, 28)));
    }
    assert.ok(a.v4.pmtu.size <= 4096, String(a.v4.pmtu.size));
    assert.equal(a.skbs.live, 0);
  });
});
