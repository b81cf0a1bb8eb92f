import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO } from '../../src/uapi/index.js';
import { MAX_HEADER, type IcmpErr } from '../../src/net/index.js';
import { pskbMayPull, skbAddFrag, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { concat, ethHeader, flushMicrotasks, hex, icmpMsg, ipPacket, MAC_A, MAC_B, naiveCsum, netifReceive, runFor, toHex, track, twoHosts, type Host } from './harness.js';

const ip = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);

function datagram(h: Host, payload: Uint8Array): SkBuff {
  const skb = h.skbs.alloc(MAX_HEADER + payload.length, MAX_HEADER)!;
  skb.buf.set(payload, skbPut(skb, payload.length));
  return skb;
}

describe('local delivery and protocol demultiplexing', () => {
  it('delivers to our own address through the loopback timer, not synchronously', () => {
    const { sched, link, a } = twoHosts();
    const got: { src: number; dst: number; len: number; first: number; nh: number; th: number; data: number }[] = [];
    a.stack.registerProtocol(253, {
      ipRcv(skb, src, dst) {
        got.push({ src, dst, len: skb.len, first: skb.buf[skb.data]!, nh: skb.networkHeader, th: skb.transportHeader, data: skb.data });
        skbFree(skb);
      },
    });
    assert.equal(a.stack.output(datagram(a, hex('c0 ff ee 00 11')), 0, ip('10.0.0.1'), 253), 0);
    assert.equal(got.length, 0, 'not delivered inside output');
    assert.ok(sched.step());
    assert.equal(got.length, 1);
    const g = got[0]!;
    assert.deepEqual({ src: g.src, dst: g.dst, len: g.len, first: g.first }, { src: ip('10.0.0.1'), dst: ip('10.0.0.1'), len: 5, first: 0xc0 });
    assert.equal(g.th, g.nh + 20);
    assert.equal(g.data, g.th);
    assert.equal(link.frames.length, 0);
    assert.equal(a.stack.stats.inDelivers, 1);
    assert.equal(a.stack.stats.outRequests, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('a handler that sends locally again is served by a later timer run (no recursion)', () => {
    const { sched, a } = twoHosts();
    const depth: number[] = [];
    let inHandler = 0;
    a.stack.registerProtocol(253, {
      ipRcv(skb) {
        inHandler++;
        depth.push(inHandler);
        const n = skb.buf[skb.data]!;
        skbFree(skb);
        if (n < 5) a.stack.output(datagram(a, Uint8Array.of(n + 1)), 0, ip('10.0.0.1'), 253);
        inHandler--;
      },
    });
    a.stack.output(datagram(a, Uint8Array.of(0)), 0, ip('10.0.0.1'), 253);
    let steps = 0;
    while (sched.step()) steps++;
    assert.deepEqual(depth, [1, 1, 1, 1, 1, 1]);
    assert.equal(steps, 6);
    assert.equal(a.skbs.live, 0);
  });

  it('pings its own address without touching the link', async () => {
    const { sched, link, a } = twoHosts();
    const s = track(a.stack.ping('10.0.0.1'));
    runFor(sched, 100);
    await flushMicrotasks();
    assert.deepEqual(s.value, { rttUs: 0, bytes: 64, ttl: 64 });
    assert.equal(link.frames.length, 0);
    assert.equal(a.stack.stats.icmp.inEchos, 1);
    assert.equal(a.stack.stats.icmp.outEchoReps, 1);
    assert.equal(a.skbs.live, 0);
  });

  it('unknown protocol: counted and answered with ICMP protocol unreachable (byte-exact)', () => {
    const { sched, link, a, b } = twoHosts();
    const errs: { errno: number; fatal: boolean; local: boolean; type: number; code: number; src: number; dst: number; l4: string }[] = [];
    b.stack.registerProtocol(253, {
      ipRcv: skbFree,
      ipErr(e: IcmpErr) {
        errs.push({
          errno: e.errno, fatal: e.fatal, local: e.local, type: e.type, code: e.code, src: e.src.w3, dst: e.dst.w3,
          l4: toHex(e.buf.subarray(e.l4Off, e.l4Off + e.l4Len)),
        });
      },
    });
    const payload = hex('a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab');
    assert.equal(b.stack.output(datagram(b, payload), 0, ip('10.0.0.1'), 253), 0);
    runFor(sched, 1000);
    assert.equal(a.stack.stats.inUnknownProtos, 1);
    assert.equal(a.stack.stats.inDelivers, 0);
    const sent = link.from('B').filter((f) => f.bytes[13] === 0)[0]!.bytes;
    const bIp = hex('45 00 00 20 00 00 40 00 40 fd 25 df 0a 00 00 02 0a 00 00 01');
    assert.equal(toHex(sent.subarray(14)), toHex(concat(bIp, payload)));
    const fromA = link.from('A').filter((f) => f.bytes[13] === 0);
    assert.equal(fromA.length, 1);
    const expected = concat(
      hex('02 00 00 00 00 0b 02 00 00 00 00 0a 08 00'),
      hex('45 c0 00 3c 00 00 00 00 40 01 65 ff 0a 00 00 01 0a 00 00 02'),
      icmpMsg(3, 2, 0, concat(bIp, payload)),
    );
    assert.equal(naiveCsum(expected, 14, 20), 0);
    assert.equal(toHex(fromA[0]!.bytes), toHex(expected));
    assert.equal(a.stack.stats.icmp.outDestUnreachs, 1);
    assert.equal(b.stack.stats.icmp.inDestUnreachs, 1);
    assert.deepEqual(errs, [{
      errno: ERRNO.ENOPROTOOPT, fatal: true, local: false, type: 3, code: 2, src: ip('10.0.0.2'), dst: ip('10.0.0.1'), l4: toHex(payload),
    }]);
    assert.equal(a.skbs.live, 0);
    assert.equal(b.skbs.live, 0);
  });

  it('no ICMP error for broadcast, for ICMP errors, or for later fragments', () => {
    const { sched, link, a } = twoHosts();
    const inj = (frame: Uint8Array): void => {
      const buf = new Uint8Array(frame);
      const skb = a.skbs.wrap(buf, new DataView(buf.buffer));
      a.dev.receiveFrame(skb);
      skbFree(skb);
    };
    inj(concat(ethHeader(0xffffffffffff, MAC_B, 0x0800), ipPacket({ proto: 253, src: '10.0.0.2', dst: '10.0.0.255' }, new Uint8Array(8))));
    inj(concat(ethHeader(0xffffffffffff, MAC_B, 0x0800), ipPacket({ proto: 253, src: '10.0.0.2', dst: '10.0.0.1' }, new Uint8Array(8))));
    runFor(sched, 1000);
    assert.equal(a.stack.stats.inUnknownProtos, 2);
    assert.equal(link.frames.length, 0);
    // an ICMP error is never answered with one: an unknown ICMP error type quoting garbage is just consumed
    inj(concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1' }, icmpMsg(12, 0, 0, new Uint8Array(28)))));
    runFor(sched, 1000);
    assert.equal(link.frames.length, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('an ICMP error about unreadable data quotes only the readable bytes', () => {
    const { sched, link, a } = twoHosts();
    a.stack.addNeighbour('eth0', '10.0.0.2', MAC_B);
    const frame = concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 253, src: '10.0.0.2', dst: '10.0.0.1' }, new Uint8Array(100).fill(0x42)));
    const skb = a.skbs.alloc(256, 0)!;
    skb.buf.set(frame.subarray(0, 34), skbPut(skb, 34));
    const ref = a.mem.allocPage();
    a.mem.buf(ref).set(frame.subarray(34), a.mem.offset(ref));
    skbAddFrag(skb, ref, 0, 100);
    skb.unreadable = true;
    netifReceive(a, skb);
    runFor(sched, 1000);
    const out = link.from('A');
    assert.equal(out.length, 1);
    const f = out[0]!.bytes;
    assert.equal(f.length, 14 + 20 + 8 + 20);
    assert.equal(toHex(f.subarray(34, 36)), '03 02');
    assert.equal(toHex(f.subarray(42)), toHex(frame.subarray(14, 34)));
    assert.equal(naiveCsum(f, 34), 0);
    assert.equal(a.skbs.live, 0);
  });

  it('a protocol handler can read its payload from frags with skb helpers', () => {
    const { sched, a, b } = twoHosts();
    let seen = '';
    b.stack.registerProtocol(253, {
      ipRcv(skb) {
        assert.ok(pskbMayPull(skb, skb.len));
        seen = toHex(skb.buf.subarray(skb.data, skb.data + skb.len));
        skbFree(skb);
      },
    });
    a.stack.output(datagram(a, hex('01 02 03 04 05 06 07 08 09')), 0, ip('10.0.0.2'), 253);
    runFor(sched, 1000);
    assert.equal(seen, '01 02 03 04 05 06 07 08 09');
  });
});
