import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Hub, MAC_A, MAC_B, concat, ethHeader, hex, inject, ip6, parseFrame, runFor, toHex, udp6, type Host6, receiverB,
} from './harness6.js';
import { IP6FRAG_HIGH_THRESH, IP6FRAG_LOW_THRESH, IP6FRAG_TIME_US } from '../../../src/net/ipv6/index.js';

const A = '2001:db8::a';
const B = '2001:db8::b';

const setup = (): ReturnType<typeof receiverB> => receiverB();

function data(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

/** a UDP datagram of `n` data bytes from A to B */
function datagram(n: number): Uint8Array {
  return udp6(A, B, 1000, 2000, data(n));
}

/** the fragment [off, off + len) of `whole` with identification `ident` */
function frag(whole: Uint8Array, ident: number, off: number, len: number, more: boolean, next = 17): Uint8Array {
  const fh = Uint8Array.of(next, 0, (off >>> 8) & 0xff, (off & 0xf8) | (more ? 1 : 0), ident >>> 24, (ident >>> 16) & 0xff, (ident >>> 8) & 0xff, ident & 0xff);
  return concat(fh, whole.subarray(off, off + len));
}

function send(h: Host6, payload: Uint8Array, nh = 44, src = A): void {
  inject(h, concat(ethHeader(MAC_B, MAC_A), ip6({ src, dst: B, nh }, payload)));
}

function errors(hub: Hub): { type: number; code: number; info: number; quote: Uint8Array }[] {
  return hub.from('B').map((f) => parseFrame(f.bytes)).filter((f) => f.nh === 58 && f.payload[0]! < 128).map((f) => ({
    type: f.payload[0]!, code: f.payload[1]!, info: new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(4), quote: f.payload.subarray(8),
  }));
}

describe('IPv6 reassembly (RFC 8200 §4.5, RFC 5722)', () => {
  it('uses Linux thresholds and timeout', () => {
    assert.deepEqual([IP6FRAG_HIGH_THRESH, IP6FRAG_LOW_THRESH, IP6FRAG_TIME_US], [4 << 20, 3 << 20, 60_000_000]);
  });

  it('reassembles in order and out of order; nothing is held afterwards', () => {
    const { b, rec } = setup();
    const d = datagram(3000);
    send(b, frag(d, 1, 0, 1448, true));
    send(b, frag(d, 1, 1448, 1448, true));
    send(b, frag(d, 1, 2896, d.length - 2896, false));
    send(b, frag(d, 2, 2896, d.length - 2896, false));
    send(b, frag(d, 2, 1448, 1448, true));
    assert.equal(b.v6.reasm.count, 1);
    send(b, frag(d, 2, 0, 1448, true));
    assert.equal(rec.got.length, 2);
    assert.equal(toHex(rec.got[0]!.bytes), toHex(d));
    assert.equal(toHex(rec.got[1]!.bytes), toHex(d));
    const st = b.v6.stats;
    assert.deepEqual([st.reasmReqds, st.reasmOKs, st.reasmFails], [6, 2, 0]);
    assert.deepEqual([b.v6.reasm.count, b.v6.reasm.mem, b.skbs.live], [0, 0, 0]);
  });

  it('continues the header chain: hop-by-hop before the fragment header, destination options after', () => {
    const { b, rec } = setup();
    const inner = concat(hex('11 00 01 04 00 00 00 00'), datagram(100));
    const hbh = hex('2c 00 01 04 00 00 00 00');
    send(b, concat(hbh, frag(inner, 7, 0, 64, true, 60)), 0);
    send(b, concat(hbh, frag(inner, 7, 64, inner.length - 64, false, 60)), 0);
    assert.equal(rec.got.length, 1);
    assert.equal(toHex(rec.got[0]!.bytes), toHex(datagram(100)));
  });

  it('a duplicate fragment is dropped and the queue kept; an overlap drops the whole datagram', () => {
    const { b, rec } = setup();
    const st = b.v6.stats;
    const d = datagram(200);
    send(b, frag(d, 3, 0, 64, true));
    send(b, frag(d, 3, 0, 64, true));
    send(b, frag(d, 3, 64, 64, true));
    send(b, frag(d, 3, 8, 112, true));
    assert.equal(st.reasmDuplicates, 2);
    send(b, frag(d, 3, 128, d.length - 128, false));
    assert.equal(rec.got.length, 1);
    // overlap: [0,64) then [56,120)
    send(b, frag(d, 4, 0, 64, true));
    send(b, frag(d, 4, 56, 64, true));
    assert.equal(st.reasmOverlaps, 1);
    assert.equal(b.v6.reasm.count, 0);
    // the rest of that datagram cannot complete it any more
    send(b, frag(d, 4, 120, d.length - 120, false));
    send(b, frag(d, 4, 64, 56, true));
    assert.equal(rec.got.length, 1);
    // overlap with a fragment that arrives before: [64,128) then [0,72)
    send(b, frag(d, 5, 64, 64, true));
    send(b, frag(d, 5, 0, 72, true));
    assert.equal(st.reasmOverlaps, 2);
  });

  it('inconsistent ends drop the datagram', () => {
    const { b, rec } = setup();
    const d = datagram(200);
    send(b, frag(d, 6, 64, 64, false));
    send(b, frag(d, 6, 128, 64, true));
    assert.equal(b.v6.reasm.count, 0);
    send(b, frag(d, 8, 0, 64, true));
    send(b, frag(d, 8, 128, 80, false));
    send(b, frag(d, 8, 64, 80, false));
    assert.equal(b.v6.reasm.count, 0);
    assert.equal(rec.got.length, 0);
    assert.equal(b.v6.stats.reasmFails, 2);
  });

  it('length errors: non-last fragment not a multiple of 8 (pointer 4), end past 65535 (pointer at the offset), empty', () => {
    const { hub, b } = setup();
    const d = datagram(200);
    send(b, frag(d, 9, 0, 60, true));
    send(b, frag(new Uint8Array(70000), 9, 65528, 16, false));
    send(b, frag(d, 9, 64, 0, true));
    const e = errors(hub);
    assert.deepEqual(e.map((x) => [x.type, x.code, x.info]), [[4, 0, 4], [4, 0, 42]]);
    assert.equal(b.v6.stats.inHdrErrors, 2);
    assert.equal(b.v6.reasm.count, 0);
  });

  it('a first fragment without the whole header chain gets parameter problem code 3, pointer 0 (RFC 7112)', () => {
    const { hub, b } = setup();
    const inner = concat(hex('11 00 01 04 00 00 00 00'), datagram(100));
    send(b, frag(inner, 10, 0, 8, true, 60));
    assert.deepEqual(errors(hub).map((x) => [x.type, x.code, x.info]), [[4, 3, 0]]);
    assert.equal(b.v6.reasm.count, 0);
  });

  it('times out after 60 s: time exceeded code 1 quoting the first fragment, only if it arrived', () => {
    const { sched, hub, b } = setup();
    const d = datagram(200);
    send(b, frag(d, 11, 0, 64, true));
    send(b, frag(d, 12, 64, 64, true));
    runFor(sched, IP6FRAG_TIME_US - 1);
    assert.equal(b.v6.reasm.count, 2);
    runFor(sched, 1);
    assert.equal(b.v6.reasm.count, 0);
    const e = errors(hub);
    assert.equal(e.length, 1);
    assert.deepEqual([e[0]!.type, e[0]!.code], [3, 1]);
    const first = ip6({ src: A, dst: B, nh: 44 }, frag(d, 11, 0, 64, true));
    assert.equal(toHex(e[0]!.quote), toHex(first));
    assert.deepEqual([b.v6.stats.reasmTimeout, b.v6.stats.reasmFails], [2, 2]);
    runFor(sched, 1000);
    assert.deepEqual([b.v6.reasm.mem, b.skbs.live], [0, 0]);
  });

  it('memory stays bounded: over the high threshold the oldest queues go until under the low one', () => {
    const { sched, b } = setup();
    const r = b.v6.reasm;
    r.highThresh = 256 * 1024;
    r.lowThresh = 192 * 1024;
    const d = datagram(2000);
    let peak = 0;
    let maxStep = 0;
    for (let i = 0; i < 400; i++) {
      const before = r.mem;
      send(b, frag(d, 1000 + i, 0, 1024, true));
      maxStep = Math.max(maxStep, r.mem - before);
      peak = Math.max(peak, r.mem);
    }
    assert.ok(b.v6.stats.reasmEvictions > 0);
    assert.ok(peak <= r.highThresh + maxStep, `peak ${peak}`);
    assert.ok(r.mem <= r.highThresh + maxStep);
    // the newest queue survived eviction and still completes
    send(b, frag(d, 1399, 1024, d.length - 1024, false));
    assert.equal(b.v6.stats.reasmOKs, 1);
    runFor(sched, IP6FRAG_TIME_US + 1000);
    assert.deepEqual([r.count, r.mem, b.skbs.live], [0, 0, 0]);
  });

  it('the reassembled datagram of a 64 KiB UDP payload arrives whole', () => {
    const { b, rec } = setup();
    const d = datagram(65_000);
    for (let off = 0; off < d.length; off += 1448) send(b, frag(d, 77, off, Math.min(1448, d.length - off), off + 1448 < d.length));
    assert.equal(rec.got.length, 1);
    assert.equal(rec.got[0]!.bytes.length, d.length);
    assert.equal(toHex(rec.got[0]!.bytes.subarray(-16)), toHex(d.subarray(-16)));
    assert.ok(rec.got[0]!.bytes.every((x, i) => x === d[i]));
  });
});
