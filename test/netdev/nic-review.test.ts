/**
 * Review findings on the NIC model, each a case that failed before its fix: GRO flushes where
 * Linux flushes (IPv4 ID and DF rules of `inet_gro_flush`, a bad IPv4 header checksum, CWR on a
 * joining segment), TSO puts CWR on the first frame only, rx checksum offload leaves UDP whose
 * length field disagrees with the IP length to the stack. Frames are built byte by byte
 * (test/netdev/frames.ts). Virtual time only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemSpace, PAGE_SIZE } from '../../src/mem/index.js';
import { NetDevice, type LinkPort } from '../../src/netdev/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_UNNECESSARY, SkbCache, SkbPieceIter, skbAddFrag, skbCopyBits, skbFree, skbPut, type SkBuff,
} from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import {
  MAC_NIC, cat, ipv4Frame, ipv6Frame, l4ChecksumOk, payloadOf, pseudo4, pseudo6, refSum, tcp4, tcp6, u16,
} from './frames.js';

class TxCapture implements LinkPort {
  readonly frames: Uint8Array[] = [];
  transmit(skb: SkBuff): void {
    const out = new Uint8Array(skb.len);
    assert.equal(skbCopyBits(skb, 0, out, 0, skb.len), 0);
    this.frames.push(out);
    skbFree(skb);
  }
}

function rig(opts: { rxQueues?: number; mtu?: number } = {}) {
  const sched = new VirtualScheduler();
  const mem = new MemSpace();
  const skbs = new SkbCache(mem, 4096);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { rxQueues: opts.rxQueues ?? 1, mtu: opts.mtu ?? 1500, mac: MAC_NIC });
  assert.equal(dev.setRings({ tcpDataSplit: 'on', hdsThresh: 0 }), 0);
  const got: SkBuff[] = [];
  dev.rxHandler = { netifReceive: (skb: SkBuff) => void got.push(skb) };
  const link = new TxCapture();
  dev.link = link;
  const inject = (bytes: Uint8Array): void => {
    const f = skbs.wrap(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    dev.receiveFrame(f);
    skbFree(f);
  };
  /** injects the frames as one rx batch and returns the delivered skb lengths */
  const batch = (frames: Uint8Array[]): number[] => {
    for (const f of frames) inject(f);
    while (sched.step()) { /* the NAPI-end timer */ }
    return got.map((s) => s.len);
  };
  const release = (): void => {
    for (const s of got.splice(0)) skbFree(s);
  };
  return { sched, mem, skbs, dev, got, link, inject, batch, release };
}

function bytesOf(skb: SkBuff): Uint8Array {
  const out = new Uint8Array(skb.len);
  const it = new SkbPieceIter().reset(skb);
  let o = 0;
  while (it.next()) {
    out.set(it.buf.subarray(it.off, it.off + it.len), o);
    o += it.len;
  }
  return out;
}

const seg4 = (i: number, extra: Parameters<typeof tcp4>[0] = {}): Uint8Array =>
  tcp4({ seq: 1000 + i * 500, payload: payloadOf(500, i), ...extra });

describe('NIC review: GRO flushes where Linux does', () => {
  it('IPv4 without DF: the IP ID must increase by one per segment (a jump starts a new train)', () => {
    const r = rig();
    assert.deepEqual(r.batch([seg4(0, { id: 5, frag: 0 }), seg4(1, { id: 6, frag: 0 }), seg4(2, { id: 7, frag: 0 })]), [54 + 1500]);
    r.release();
    assert.deepEqual(r.batch([seg4(0, { id: 5, frag: 0 }), seg4(1, { id: 99, frag: 0 }), seg4(2, { id: 100, frag: 0 })]), [554, 54 + 1000]);
    r.release();
    // a fixed ID without DF is not an atomic flow: no merge
    assert.deepEqual(r.batch([seg4(0, { id: 5, frag: 0 }), seg4(1, { id: 5, frag: 0 })]), [554, 554]);
    r.release();
    // the ID wraps
    assert.deepEqual(r.batch([seg4(0, { id: 0xffff, frag: 0 }), seg4(1, { id: 0, frag: 0 })]), [54 + 1000]);
    r.release();
  });

  it('IPv4 with DF: a fixed ID or an incrementing ID merges, decided by the second segment; anything else flushes', () => {
    const r = rig();
    assert.deepEqual(r.batch([seg4(0, { id: 9 }), seg4(1, { id: 9 }), seg4(2, { id: 9 })]), [54 + 1500]);
    r.release();
    assert.deepEqual(r.batch([seg4(0, { id: 9 }), seg4(1, { id: 10 }), seg4(2, { id: 11 })]), [54 + 1500]);
    r.release();
    // incrementing, then a repeat: the train was incrementing
    assert.deepEqual(r.batch([seg4(0, { id: 9 }), seg4(1, { id: 10 }), seg4(2, { id: 10 })]), [54 + 1000, 554]);
    r.release();
    // fixed, then an increment
    assert.deepEqual(r.batch([seg4(0, { id: 9 }), seg4(1, { id: 9 }), seg4(2, { id: 11 })]), [54 + 1000, 554]);
    r.release();
    // a skipped ID
    assert.deepEqual(r.batch([seg4(0, { id: 5 }), seg4(1, { id: 6 }), seg4(2, { id: 8 })]), [54 + 1000, 554]);
    r.release();
  });

  it('IPv4: a DF change flushes (the merged header could not describe both)', () => {
    const r = rig();
    assert.deepEqual(r.batch([seg4(0, { id: 5 }), seg4(1, { id: 6, frag: 0 })]), [554, 554]);
    r.release();
  });

  it('IPv4: a segment with a bad header checksum is never merged (or repaired) and keeps its bad checksum', () => {
    const r = rig();
    const bad1 = seg4(1);
    bad1[24] = bad1[24]! ^ 0x55;
    assert.deepEqual(r.batch([seg4(0), bad1, seg4(2)]), [554, 554, 554]);
    assert.deepEqual(bytesOf(r.got[1]!), bad1, 'delivered as received, for the IP layer to drop');
    r.release();
    const bad0 = seg4(0);
    bad0[24] = bad0[24]! ^ 0x55;
    assert.deepEqual(r.batch([bad0, seg4(1)]), [554, 554]);
    const first = bytesOf(r.got[0]!);
    assert.notEqual(refSum([first.subarray(14, 34)]), 0xffff, 'the bad header checksum is not recomputed by a flush');
    r.release();
  });

  it('a segment with CWR never joins a train (tcp_gro_receive); the segments after it may join its own', () => {
    const r = rig();
    assert.deepEqual(r.batch([seg4(0, { flags: 0x90 }), seg4(1, { flags: 0x90 })]), [554, 554]);
    r.release();
    assert.deepEqual(r.batch([seg4(0), seg4(1, { flags: 0x90 }), seg4(2), seg4(3)]), [554, 54 + 1500]);
    const merged = bytesOf(r.got[1]!);
    assert.equal(merged[14 + 20 + 13], 0x90, 'the train keeps the CWR of its first segment');
    r.release();
  });

  it('IPv6 trains are not subject to the IPv4 ID rules', () => {
    const r = rig();
    const s6 = (i: number) => tcp6({ seq: 1000 + i * 500, payload: payloadOf(500, i) });
    assert.deepEqual(r.batch([s6(0), s6(1), s6(2)]), [74 + 1500]);
    r.release();
  });
});

/** a UDP datagram whose length field says `ulen` while `body` is all carried; checksum valid over all of it with the IP length */
function udpLying(pseudoOf: (n: number) => Uint8Array, body: Uint8Array, ulen: number): Uint8Array {
  const h = cat(u16(4000), u16(5000), u16(ulen), u16(0));
  const c = ~refSum([pseudoOf(8 + body.length), h, body]) & 0xffff;
  return cat(h.subarray(0, 6), u16(c === 0 ? 0xffff : c), body);
}

describe('NIC review: rx checksum offload', () => {
  it('UDP whose length field disagrees with the IP payload is left to the stack (CHECKSUM_NONE), IPv4 and IPv6', () => {
    const r = rig();
    const body = payloadOf(20, 4);
    const frames = [
      ipv4Frame(17, udpLying(pseudo4('10.0.0.1', '10.0.0.2', 17), body, 8 + 12)),
      ipv4Frame(17, udpLying(pseudo4('10.0.0.1', '10.0.0.2', 17), body, 8 + 30)),
      ipv6Frame(17, udpLying(pseudo6('2001:db8::1', '2001:db8::2', 17), body, 8 + 12)),
      // the controls: the same bytes with a truthful length are verified
      ipv4Frame(17, udpLying(pseudo4('10.0.0.1', '10.0.0.2', 17), body, 8 + 20)),
      ipv6Frame(17, udpLying(pseudo6('2001:db8::1', '2001:db8::2', 17), body, 8 + 20)),
    ];
    r.batch(frames);
    assert.deepEqual(r.got.map((s) => s.ipSummed), [CHECKSUM_NONE, CHECKSUM_NONE, CHECKSUM_NONE, CHECKSUM_UNNECESSARY, CHECKSUM_UNNECESSARY]);
    assert.equal(r.dev.rxQueues[0]!.stats.rxCsumBad, 0);
    r.release();
  });
});

describe('NIC review: TSO', () => {
  it('CWR goes out on the first frame only (tcp_gso_segment); ECE on every frame; FIN/PSH on the last', () => {
    const r = rig();
    const payload = payloadOf(4000, 3);
    for (const v6 of [false, true]) {
      r.link.frames.length = 0;
      const hdr = v6
        ? tcp6({ flags: 0x80 | 0x40 | 0x10 | 0x08 | 0x01, seq: 77 }).subarray(0, 74)
        : tcp4({ flags: 0x80 | 0x40 | 0x10 | 0x08 | 0x01, seq: 77 }).subarray(0, 54);
      const skb = r.skbs.alloc(hdr.length, 0)!;
      skb.buf.set(hdr, skbPut(skb, hdr.length));
      const p = r.mem.allocPage();
      r.mem.buf(p).set(payload, r.mem.offset(p));
      assert.ok(skbAddFrag(skb, p, 0, Math.min(PAGE_SIZE, payload.length)));
      skb.gsoSize = 1400;
      r.dev.xmit(skb);
      const fr = r.link.frames;
      assert.equal(fr.length, 3);
      const l4 = hdr.length - 20;
      assert.deepEqual(fr.map((f) => f[l4 + 13]), [0xd0, 0x50, 0x59], v6 ? 'IPv6' : 'IPv4');
      for (const f of fr) assert.ok(l4ChecksumOk(f));
      assert.deepEqual(cat(...fr.map((f) => f.subarray(hdr.length))), payload);
    }
    assert.equal(r.skbs.live, 0);
  });
});
