// FramePort: the adapter between a NetDevice and a user FrameLink. Raw-device tests in virtual
// time (rx rings, NAPI poll with budget, GRO flushed at the poll's end, virtio-net meta on both
// sides, busy/drain backpressure, the shared linearization of device memory, close), then
// whole hosts over an in-memory FrameLink pair in virtual time (determinism, offloads).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { constants as C, Network, type FrameLink, type FrameMeta, type Host, type LinkOffloads, type LinkReceiver } from '../../src/index.js';
import { FramePort } from '../../src/link/index.js';
import { isBatchReceiver } from '../../src/link/frame-port.js';
import { DmabufBinding, PAGE_SIZE } from '../../src/mem/index.js';
import type { NetDevice, RxHandler } from '../../src/netdev/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, skbAddFrag, skbCopyBits, skbFree, skbPut, type SkBuff, type SkbCache,
} from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, TCP_HLEN, csumFinish, csumFold, csumPartial, emitEthernet, emitIpv4, emitUdp,
  pseudoHeaderSumV4, tcpVerifyChecksum,
} from '../../src/wire/index.js';
import { IP_A, IP_B, MAC_A, MAC_B, frameIndex, makeHost, runAll, tcpFrame, testFrame } from './helpers.js';
import { memLinkPair, type MemLinkEnd } from './helpers-framelink.js';

/** a FrameLink driven by hand: records what it is given, refuses while `busy` */
class ManualLink implements FrameLink {
  readonly kind = 'manual';
  rx: LinkReceiver | null = null;
  busy = false;
  readonly sent: { bytes: Uint8Array; meta: FrameMeta | null }[] = [];
  closeCalls = 0;
  constructor(readonly mtu = 1500, readonly offloads: LinkOffloads = {}) {}
  attach(rx: LinkReceiver): void {
    this.rx = rx;
  }
  send(frame: Uint8Array, meta?: FrameMeta | null): boolean {
    if (this.busy) return false;
    this.sent.push({ bytes: frame.slice(), meta: meta ? { ...meta } : null });
    return true;
  }
  close(): Promise<void> {
    this.closeCalls++;
    return Promise.resolve();
  }
}

interface Got {
  bytes: Uint8Array;
  gsoSize: number;
  ipSummed: number;
  queue: number;
}

class Rec implements RxHandler {
  readonly got: Got[] = [];
  netifReceive(skb: SkBuff, _dev: NetDevice): void {
    const b = new Uint8Array(skb.len);
    if (skbCopyBits(skb, 0, b, 0, skb.len) !== 0) throw new Error('unreadable');
    this.got.push({ bytes: b, gsoSize: skb.gsoSize, ipSummed: skb.ipSummed, queue: skb.queueMapping });
    skbFree(skb);
  }
}

function rawRig(opts: { rxQueues?: number; mtu?: number; offloads?: LinkOffloads; ring?: number; budget?: number; txQueueLen?: number } = {}) {
  const sched = new VirtualScheduler();
  const h = makeHost(sched, 'a', 2, MAC_B, { rxQueues: opts.rxQueues ?? 1, mtu: opts.mtu ?? 1500 });
  const rec = new Rec();
  h.dev.rxHandler = rec;
  const link = new ManualLink(opts.mtu ?? 1500, opts.offloads ?? {});
  const port = new FramePort(h.dev, link, sched, { rxRingSize: opts.ring, budget: opts.budget, txQueueLen: opts.txQueueLen });
  return { sched, ...h, rec, link, port, rx: link.rx! };
}

function skbOf(skbs: SkbCache, bytes: Uint8Array): SkBuff {
  const skb = skbs.alloc(bytes.length, 0)!;
  skb.buf.set(bytes, skbPut(skb, bytes.length));
  return skb;
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** a TCP/IPv4 frame A→B with the checksum field holding only the pseudo-header sum (CHECKSUM_PARTIAL) */
function partialTcp(payload: Uint8Array, seq = 1000): Uint8Array {
  const f = tcpFrame(payload, seq);
  const dv = new DataView(f.buffer);
  dv.setUint16(ETH_HLEN + IPV4_HLEN + 16, csumFold(pseudoHeaderSumV4(IP_A, IP_B, IPPROTO_TCP, TCP_HLEN + payload.length)));
  return f;
}

const TH = ETH_HLEN + IPV4_HLEN;

/** clears PSH (which would close a GRO train) and refreshes the TCP checksum */
function ackOnly(f: Uint8Array): Uint8Array {
  const dv = new DataView(f.buffer);
  f[TH + 13] = f[TH + 13]! & ~0x08;
  dv.setUint16(TH + 16, 0);
  dv.setUint16(TH + 16, csumFinish(csumPartial(f, dv, TH, f.length - TH, pseudoHeaderSumV4(IP_A, IP_B, IPPROTO_TCP, f.length - TH))));
  return f;
}

describe('FramePort rx: rings, NAPI poll, GRO', () => {
  it('queues received frames and delivers them only from the poll, which flushes GRO and leaves no timer', () => {
    const r = rawRig();
    const pay = pattern(1000, 1);
    for (let i = 0; i < 8; i++) r.rx.receive(ackOnly(tcpFrame(pay.subarray(i * 125, (i + 1) * 125), 1000 + i * 125)));
    assert.equal(r.rec.got.length, 0, 'nothing runs inside receive()');
    assert.equal(r.port.rxPending, 8);
    runAll(r.sched);
    assert.equal(r.rec.got.length, 1, 'one GRO train');
    const g = r.rec.got[0]!;
    assert.equal(g.gsoSize, 125);
    assert.equal(g.ipSummed, CHECKSUM_UNNECESSARY);
    assert.deepEqual(g.bytes.subarray(TH + TCP_HLEN), pay, 'payload byte-exact, in order');
    assert.equal(new DataView(g.bytes.buffer).getUint16(ETH_HLEN + 2), IPV4_HLEN + TCP_HLEN + 1000, 'merged IP length');
    assert.equal(r.sched.pending, 0, 'the GRO flush timer is never armed on a polled device');
    assert.equal(r.port.stats.polls, 1);
    assert.equal(r.port.rxPending, 0);
  });

  it('a poll takes at most `budget` frames per ring, in order, and polls again for the rest', () => {
    const r = rawRig({ budget: 64 });
    for (let i = 0; i < 200; i++) r.rx.receive(testFrame(i, 60));
    assert.ok(r.sched.step());
    assert.equal(r.rec.got.length, 64);
    runAll(r.sched);
    assert.equal(r.rec.got.length, 200);
    assert.deepEqual(r.rec.got.map((g) => frameIndex(g.bytes)), Array.from({ length: 200 }, (_, i) => i));
    assert.equal(r.port.stats.polls, 4);
    assert.equal(r.port.stats.pollsRepolled, 3);
  });

  it('flush() runs the poll at once; a full ring drops and counts (rx overruns)', () => {
    const r = rawRig({ ring: 8 });
    for (let i = 0; i < 20; i++) r.rx.receive(testFrame(i, 64));
    assert.equal(r.port.stats.rxRingDrops, 12);
    assert.equal(r.dev.rxQueues[0]!.stats.rxHwDropOverruns, 12);
    r.rx.flush();
    assert.equal(r.rec.got.length, 8);
    assert.deepEqual(r.rec.got.map((g) => frameIndex(g.bytes)), [0, 1, 2, 3, 4, 5, 6, 7]);
    runAll(r.sched);
    assert.equal(r.rec.got.length, 8, 'the scheduled poll finds nothing more');
  });

  it('the queue argument picks the rx queue unless an n-tuple rule steers the flow; a bad index falls back to RSS and is counted', () => {
    const r = rawRig({ rxQueues: 4 });
    r.rx.receive(tcpFrame(pattern(10, 2)), null, 2);
    r.rx.receive(testFrame(1, 60), null, 3);
    r.rx.receive(testFrame(2, 60), null, 7);
    r.rx.receive(testFrame(3, 60), null, Number.NaN);
    runAll(r.sched);
    assert.deepEqual(r.rec.got.map((g) => g.queue), [0, 0, 2, 3], 'ring 0 (no valid hint: RSS over one flow-less frame) first, then rings 2 and 3');
    assert.equal(r.port.stats.rxBadQueue, 2);
    r.dev.ntuple.add({ flowType: 'tcp4', dstPort: 5201, action: 1 });
    r.rx.receive(tcpFrame(pattern(10, 2)), null, 2);
    runAll(r.sched);
    assert.equal(r.rec.got[4]!.queue, 1, 'the n-tuple rule wins over the link queue');
  });
});

describe('FramePort rx: receiveInBatch (our links: no ring copy, GRO until the batch ends)', () => {
  it('frames go through the NIC inside the call; a GRO train waits for flush(), which is the one poll of the batch', () => {
    const r = rawRig();
    assert.ok(isBatchReceiver(r.rx));
    const pay = pattern(1000, 3);
    r.port.receiveInBatch(testFrame(0, 60));
    assert.equal(r.rec.got.length, 1, 'a non-TCP frame goes up at once (a ping is answered inside the link callback)');
    for (let i = 0; i < 8; i++) r.port.receiveInBatch(ackOnly(tcpFrame(pay.subarray(i * 125, (i + 1) * 125), 1000 + i * 125)));
    assert.equal(r.rec.got.length, 1, 'GRO holds the train');
    assert.equal(r.port.rxPending, 0, 'nothing was copied into a ring');
    assert.equal(r.port.stats.rxDirect, 9);
    assert.equal(r.port.stats.rxFrames, 9);
    assert.equal(r.port.stats.polls, 0);
    r.rx.flush();
    assert.equal(r.rec.got.length, 2, 'the batch end flushed one GRO train');
    assert.equal(r.rec.got[1]!.gsoSize, 125);
    assert.deepEqual(r.rec.got[1]!.bytes.subarray(TH + TCP_HLEN), pay);
    assert.equal(r.port.stats.polls, 1, 'one poll per batch');
    assert.equal(r.sched.pending, 0, 'the flush cancelled the poll the batch had scheduled');
    runAll(r.sched);
    assert.equal(r.port.stats.polls, 1);
  });

  it('frames at several places of one link buffer (receive slots): one view per place, built once, each frame read from its own place', () => {
    const r = rawRig();
    const SLOT = 200;
    const SLOTS = 8;
    const area = new Uint8Array(SLOT * SLOTS);
    for (let round = 0; round < 50; round++) {
      for (let s = 0; s < SLOTS; s++) {
        const f = testFrame(round * SLOTS + s, 60);
        area.set(f, s * SLOT);
        r.port.receiveInBatch(area.subarray(s * SLOT, s * SLOT + f.length), null, undefined, true);
      }
      r.rx.flush();
    }
    assert.equal(r.rec.got.length, 50 * SLOTS);
    for (let i = 0; i < r.rec.got.length; i++) assert.deepEqual(r.rec.got[i]!.bytes, testFrame(i, 60), `frame ${i}`);
    assert.equal(r.port.stats.rxDirectViews, SLOTS, 'a view per slot, none per frame');
    // another buffer: the cache starts over for it
    const other = new Uint8Array(SLOT);
    other.set(testFrame(9999, 60));
    r.port.receiveInBatch(other.subarray(0, 60), null, undefined, true);
    assert.equal(r.port.stats.rxDirectViews, SLOTS + 1);
    assert.deepEqual(r.rec.got.at(-1)!.bytes, testFrame(9999, 60));
  });

  it('a link that never calls flush(): the scheduled poll ends the batch and flushes GRO', () => {
    const r = rawRig();
    const pay = pattern(500, 4);
    for (let i = 0; i < 4; i++) r.port.receiveInBatch(ackOnly(tcpFrame(pay.subarray(i * 125, (i + 1) * 125), 1000 + i * 125)));
    assert.equal(r.rec.got.length, 0);
    assert.equal(r.sched.pending, 1, 'one poll scheduled for the whole batch');
    runAll(r.sched);
    assert.equal(r.rec.got.length, 1);
    assert.deepEqual(r.rec.got[0]!.bytes.subarray(TH + TCP_HLEN), pay);
    assert.equal(r.port.stats.polls, 1);
  });

  it('flushFollows: no poll is scheduled for frames that went through; the link\'s flush() ends the batch', () => {
    const r = rawRig();
    const pay = pattern(500, 5);
    r.port.receiveInBatch(testFrame(0, 60), null, undefined, true);
    for (let i = 0; i < 4; i++) r.port.receiveInBatch(ackOnly(tcpFrame(pay.subarray(i * 125, (i + 1) * 125), 1000 + i * 125)), null, undefined, true);
    assert.equal(r.sched.pending, 0, 'no poll scheduled: the link promised the flush');
    assert.equal(r.rec.got.length, 1, 'the non-TCP frame went up at once; GRO holds the train');
    r.rx.flush();
    assert.equal(r.rec.got.length, 2);
    assert.deepEqual(r.rec.got[1]!.bytes.subarray(TH + TCP_HLEN), pay);
    assert.equal(r.port.stats.polls, 1);
    // a frame that has to wait behind the ring is still polled by the port itself
    r.rx.receive(testFrame(1, 60));
    r.port.receiveInBatch(testFrame(2, 60), null, undefined, true);
    assert.equal(r.sched.pending, 1, 'the ring needs its poll');
    runAll(r.sched);
    assert.deepEqual(r.rec.got.slice(2).map((g) => frameIndex(g.bytes)), [1, 2]);
    assert.equal(r.sched.pending, 0);
  });

  it('keeps order with frames already in the ring, and a re-entrant call (from inside the stack) is queued, not nested', () => {
    const r = rawRig();
    r.rx.receive(testFrame(0, 60));
    r.port.receiveInBatch(testFrame(1, 60));
    assert.equal(r.rec.got.length, 0, 'ring not empty: the frame waits behind the earlier one');
    assert.equal(r.port.rxPending, 2);
    r.rx.flush();
    assert.deepEqual(r.rec.got.map((g) => frameIndex(g.bytes)), [0, 1]);
    let nested = 0;
    const inner = r.rec.netifReceive.bind(r.rec);
    r.rec.netifReceive = (skb, dev) => {
      inner(skb, dev);
      if (nested++ === 0) {
        r.port.receiveInBatch(testFrame(3, 60));
        assert.equal(r.rec.got.length, 3, 'not delivered from inside the delivery');
      }
    };
    r.port.receiveInBatch(testFrame(2, 60));
    assert.equal(r.port.rxPending, 1, 'the nested frame went to the ring');
    runAll(r.sched);
    assert.deepEqual(r.rec.got.map((g) => frameIndex(g.bytes)), [0, 1, 2, 3]);
    assert.equal(r.port.rxPending, 0);
  });

  it('the link buffer is only borrowed; bad meta, oversize frames and calls after close are counted, nothing leaks', async () => {
    const r = rawRig();
    const live = r.skbs.live;
    const buf = new Uint8Array(200);
    buf.set(testFrame(7, 60), 12);
    r.port.receiveInBatch(buf.subarray(12, 72));
    buf.fill(0xee);
    assert.equal(frameIndex(r.rec.got[0]!.bytes), 7, 'the NIC copied the frame during the call');
    const f = testFrame(8, 60);
    r.port.receiveInBatch(f, { gsoType: 'tcpv4', gsoSize: 0, hdrLen: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: false });
    r.port.receiveInBatch(f, { gsoType: 'none', gsoSize: 0, hdrLen: 0, needsCsum: true, csumStart: 2, csumOffset: 0, dataValid: false });
    r.port.receiveInBatch(new Uint8Array(ETH_HLEN + 40 + 65536));
    assert.equal(r.port.stats.rxBadMeta, 2);
    assert.equal(r.port.stats.rxTooLong, 1);
    assert.equal(r.port.stats.rxFrames, 1);
    runAll(r.sched);
    for (const g of r.rec.got) void g;
    assert.equal(r.skbs.live, live, 'no skb left behind');
    await r.port.close();
    r.port.receiveInBatch(testFrame(9, 60));
    assert.equal(r.port.stats.afterClose, 1);
    assert.equal(r.rec.got.length, 1);
  });
});

describe('FramePort rx: virtio-net meta', () => {
  it('a TCP GSO super-frame with NEEDS_CSUM goes up as one skb with its gso size, checksum trusted, bytes exact', () => {
    const r = rawRig();
    const pay = pattern(4000, 3);
    const f = partialTcp(pay);
    r.rx.receive(f, { gsoType: 'tcpv4', gsoSize: 1448, hdrLen: TH + TCP_HLEN, needsCsum: true, csumStart: TH, csumOffset: 16, dataValid: false });
    runAll(r.sched);
    assert.equal(r.rec.got.length, 1);
    const g = r.rec.got[0]!;
    assert.equal(g.gsoSize, 1448);
    assert.equal(g.ipSummed, CHECKSUM_UNNECESSARY);
    assert.deepEqual(g.bytes, f);
    // the same bytes without meta: longer than the MTU allows
    r.rx.receive(f);
    runAll(r.sched);
    assert.equal(r.rec.got.length, 1);
    assert.equal(r.dev.counters.rxLengthErrors, 1);
  });

  it('a UDP GSO frame goes up as one large datagram (no segment size); a TCP GSO frame of one segment takes the normal path', () => {
    const r = rawRig();
    const pay = pattern(3000, 13);
    const f = new Uint8Array(TH + 8 + pay.length);
    const dv = new DataView(f.buffer);
    emitEthernet({ dst: MAC_B, src: MAC_A, etherType: ETH_P_IP }, dv, 0);
    emitIpv4({ src: IP_A, dst: IP_B, protocol: IPPROTO_UDP, ttl: 64, payloadLen: 8 + pay.length, ident: 9, dontFrag: false, tos: 0 }, dv, ETH_HLEN);
    emitUdp({ srcPort: 4000, dstPort: 4001, payload: pay }, f, dv, TH, IP_A, IP_B);
    const meta: FrameMeta = { gsoType: 'udp', gsoSize: 1000, hdrLen: TH + 8, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: true };
    r.rx.receive(f, meta);
    const one = tcpFrame(pattern(500, 14));
    r.rx.receive(one, { ...meta, gsoType: 'tcpv4', gsoSize: 1448 });
    runAll(r.sched);
    assert.equal(r.rec.got.length, 2);
    assert.deepEqual(r.rec.got[0]!.bytes, f);
    assert.equal(r.rec.got[0]!.gsoSize, 0);
    assert.deepEqual(r.rec.got[1]!.bytes, one);
    assert.equal(r.rec.got[1]!.gsoSize, 0, 'one segment: nothing to describe');
  });

  it('DATA_VALID trusts a checksum the NIC would reject; without it the frame is CHECKSUM_NONE (bad csum counted)', () => {
    const r = rawRig();
    const f = partialTcp(pattern(100, 4));
    r.rx.receive(f, { gsoType: 'none', gsoSize: 0, hdrLen: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: true });
    r.rx.receive(f);
    runAll(r.sched);
    assert.deepEqual(r.rec.got.map((g) => g.ipSummed), [CHECKSUM_UNNECESSARY, CHECKSUM_NONE]);
    assert.equal(r.dev.rxQueues[0]!.stats.rxCsumBad, 1);
  });

  it('malformed meta is counted and the frame dropped; nothing is delivered and nothing leaks', () => {
    const r = rawRig();
    const live = r.skbs.live;
    const f = partialTcp(pattern(3000, 5));
    const base: FrameMeta = { gsoType: 'tcpv4', gsoSize: 1000, hdrLen: 54, needsCsum: true, csumStart: TH, csumOffset: 16, dataValid: false };
    const bad: FrameMeta[] = [
      { ...base, gsoType: 'sctp' as unknown as FrameMeta['gsoType'] },
      { ...base, gsoSize: 0 },
      { ...base, gsoSize: 1.5 },
      { ...base, csumStart: f.length },
      { ...base, csumStart: 4 },
      { ...base, csumOffset: -2 },
    ];
    for (const m of bad) r.rx.receive(f, m);
    r.rx.receive(new Uint8Array(ETH_HLEN + 40 + 65536));
    runAll(r.sched);
    assert.equal(r.rec.got.length, 0);
    assert.equal(r.port.stats.rxBadMeta, bad.length);
    assert.equal(r.port.stats.rxTooLong, 1);
    assert.equal(r.skbs.live, live);
  });
});

describe('FramePort tx', () => {
  it('a plain frame goes out byte-exact with no meta; the tx buffer is reused', () => {
    const r = rawRig();
    const a = testFrame(1, 100, MAC_A, MAC_B);
    const b = testFrame(2, 1514, MAC_A, MAC_B);
    r.dev.xmit(skbOf(r.skbs, a));
    r.dev.xmit(skbOf(r.skbs, b));
    assert.equal(r.link.sent.length, 2);
    assert.deepEqual(r.link.sent[0]!.bytes, a);
    assert.deepEqual(r.link.sent[1]!.bytes, b);
    assert.equal(r.link.sent[0]!.meta, null);
    assert.equal(r.port.stats.txFrames, 2);
    assert.equal(r.port.stats.txBytes, 1614);
  });

  function gsoSkb(skbs: SkbCache, payload: Uint8Array, mss: number): SkBuff {
    const f = partialTcp(payload);
    const skb = skbOf(skbs, f.subarray(0, TH + TCP_HLEN));
    const page = skbs.mem.allocPage();
    skbs.mem.buf(page).set(payload, skbs.mem.offset(page));
    assert.ok(skbAddFrag(skb, page, 0, payload.length));
    skb.gsoSize = mss;
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.csumStart = skb.data + TH;
    skb.csumOffset = 16;
    skb.protocol = ETH_P_IP;
    return skb;
  }

  it('without offloads the NIC segments a GSO skb and completes checksums: plain MSS frames', () => {
    const r = rawRig();
    const pay = pattern(3000, 6);
    r.dev.xmit(gsoSkb(r.skbs, pay, 1000));
    assert.equal(r.link.sent.length, 3);
    for (const s of r.link.sent) {
      assert.equal(s.meta, null);
      assert.equal(s.bytes.length, TH + TCP_HLEN + 1000);
      assert.ok(tcpVerifyChecksum(s.bytes, new DataView(s.bytes.buffer), TH, s.bytes.length - TH, IP_A, IP_B));
    }
    assert.deepEqual(Buffer.concat(r.link.sent.map((s) => s.bytes.subarray(TH + TCP_HLEN))), Buffer.from(pay));
  });

  it('with txCsum + tso4 the super-frame goes out whole with virtio-net GSO meta and the partial checksum', () => {
    const r = rawRig({ offloads: { txCsum: true, tso4: true } });
    const pay = pattern(3000, 7);
    r.dev.xmit(gsoSkb(r.skbs, pay, 1000));
    assert.equal(r.link.sent.length, 1);
    const s = r.link.sent[0]!;
    assert.deepEqual(s.meta, { gsoType: 'tcpv4', gsoSize: 1000, hdrLen: TH + TCP_HLEN, needsCsum: true, csumStart: TH, csumOffset: 16, dataValid: false });
    assert.deepEqual(s.bytes, partialTcp(pay), 'bytes as built, checksum field left for the link');
    assert.equal(r.port.stats.txGso, 1);
    assert.equal(r.dev.txQueues[0]!.stats.txNeedsCsum, 1);
  });

  it('busy: send() → false stops every tx queue, frames wait in order; drain() resends them and wakes the queues', () => {
    const r = rawRig({ rxQueues: 2 });
    r.dev.xmit(skbOf(r.skbs, testFrame(0, 60)));
    r.link.busy = true;
    for (let i = 1; i < 5; i++) r.dev.xmit(skbOf(r.skbs, testFrame(i, 60)));
    assert.equal(r.link.sent.length, 1);
    assert.equal(r.port.stats.txBusy, 1, 'only the first refusal is tried; later frames queue behind it');
    assert.equal(r.port.txQueueLength, 4);
    assert.ok(r.dev.txQueues.every((q) => q.stopped && q.stats.txStop === 1));
    r.rx.drain();
    assert.equal(r.port.stats.txBusy, 2, 'still busy: nothing sent, still stopped');
    assert.ok(r.port.stopped);
    r.link.busy = false;
    r.rx.drain();
    assert.deepEqual(r.link.sent.map((s) => frameIndex(s.bytes)), [0, 1, 2, 3, 4]);
    assert.ok(r.dev.txQueues.every((q) => !q.stopped && q.stats.txWake === 1));
    assert.equal(r.port.txQueueLength, 0);
  });

  it('the wait queue is bounded (txqueuelen): beyond it frames are dropped and counted; close frees the rest', async () => {
    const r = rawRig({ txQueueLen: 3 });
    const live = r.skbs.live;
    r.link.busy = true;
    for (let i = 0; i < 10; i++) r.dev.xmit(skbOf(r.skbs, testFrame(i, 60)));
    assert.equal(r.port.txQueueLength, 3);
    assert.equal(r.port.stats.txQueueDrops, 7);
    assert.equal(r.dev.counters.txDropped, 7);
    await r.port.close();
    assert.equal(r.port.stats.txQueueDrops, 10);
    assert.equal(r.skbs.live, live, 'every skb freed');
    assert.equal(r.link.closeCalls, 1);
  });

  it('device-memory frags are linearized once, by counted DMA: with txCsum the NIC reads nothing else', async () => {
    for (const offload of [true, false]) {
      const net = new Network({ seed: 3 });
      const h = net.addHost('h');
      const link = new ManualLink(1500, { txCsum: offload });
      const dev = h.addDevice('eth0', { link });
      const pay = pattern(1446, 8);
      const dm = h.allocDeviceMemory(4 * PAGE_SIZE);
      dm.writeFromHost(0, pay);
      const binding = new DmabufBinding(h.kernel.mem, h.kernel.bindings, dm, dev, 'eth0', 'tx');
      const ref = binding.txVec![0]!;
      h.kernel.mem.get(ref);
      h.kernel.mem.get(ref);
      const f = partialTcp(pay);
      const skb = skbOf(h.kernel.skbs, f.subarray(0, TH + TCP_HLEN));
      assert.ok(skbAddFrag(skb, ref, 0, pay.length));
      assert.equal(skb.unreadable, true);
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = skb.data + TH;
      skb.csumOffset = 16;
      const before = dm.stats.dmaBytesRead;
      const hostBefore = dm.stats.hostBytesRead;
      dev.xmit(skb);
      assert.equal(link.sent.length, 1);
      const out = link.sent[0]!.bytes;
      assert.deepEqual(out.subarray(TH + TCP_HLEN), pay, 'the device bytes went out');
      // the NIC reads the device bytes once at transmit time (the checksum is summed over that read)
      assert.equal(dm.stats.dmaBytesRead - before, pay.length, 'one DMA read per byte sent');
      assert.equal(dm.stats.hostBytesRead, hostBefore, 'no host read of device memory');
      if (offload) assert.equal(link.sent[0]!.meta!.needsCsum, true);
      else assert.ok(tcpVerifyChecksum(out, new DataView(out.buffer), TH, out.length - TH, IP_A, IP_B));
      await net.close();
    }
  });
});

describe('FramePort close', () => {
  it('error() is counted and kept; the device stays up and keeps receiving', () => {
    const r = rawRig();
    r.rx.error(new Error('ENOBUFS on the socket'));
    r.rx.error(new Error('EIO'));
    assert.equal(r.port.stats.linkErrors, 2);
    assert.equal(r.port.lastError?.message, 'EIO');
    r.rx.receive(testFrame(5, 60));
    runAll(r.sched);
    assert.equal(r.rec.got.length, 1);
  });

  it('after close the link port ignores and counts link calls, detaches from the device and cancels the poll', async () => {
    const r = rawRig();
    r.rx.receive(testFrame(1, 60));
    const p1 = r.port.close();
    const p2 = r.port.close();
    assert.equal(p1, p2, 'idempotent');
    await p1;
    assert.equal(r.link.closeCalls, 1);
    assert.equal(r.dev.link, null);
    assert.equal(r.dev.napiPoll, false);
    assert.equal(r.sched.pending, 0, 'the scheduled poll was cancelled');
    r.rx.receive(testFrame(2, 60));
    r.rx.flush();
    r.rx.drain();
    runAll(r.sched);
    assert.equal(r.rec.got.length, 0, 'frames pending at close are discarded');
    assert.equal(r.port.stats.afterClose, 3);
    const live = r.skbs.live;
    r.dev.xmit(skbOf(r.skbs, testFrame(3, 60)));
    assert.equal(r.skbs.live, live, 'a device without a link frees what it is given');
  });

  it('a link whose close() rejects: the error is recorded, network.close() still resolves', async () => {
    const net = new Network({ seed: 4 });
    const h = net.addHost('h');
    const link = new ManualLink();
    link.close = () => Promise.reject(new Error('boom'));
    h.addDevice('eth0', { link });
    await net.close();
    const port = net.links[0] as FramePort;
    assert.equal(port.lastError?.message, 'boom');
    assert.equal(port.stats.linkErrors, 1);
  });
});

// ---- whole hosts over an in-memory FrameLink pair, virtual time ----

function hostsOver(seed: number, ends: [MemLinkEnd, MemLinkEnd], mtu?: number): { net: Network; a: Host; b: Host } {
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  a.addDevice('eth0', { link: ends[0], mtu });
  b.addDevice('eth0', { link: ends[1], mtu });
  a.ip.addAddress('eth0', '10.9.0.1/24');
  b.ip.addAddress('eth0', '10.9.0.2/24');
  a.ip.addAddress('eth0', 'fd09::1/64', { nodad: true });
  b.ip.addAddress('eth0', 'fd09::2/64', { nodad: true });
  return { net, a, b };
}

/** A sends `toB` to B and B sends `toA` to A over one connection; returns what each side read */
async function exchange(a: Host, b: Host, toB: Uint8Array, toA: Uint8Array, port = 7100, v6 = false): Promise<{ atB: Uint8Array; atA: Uint8Array }> {
  const fam = v6 ? C.AF_INET6 : C.AF_INET;
  const ls = b.socket(fam, C.SOCK_STREAM);
  ls.bind(v6 ? '::' : '0.0.0.0', port);
  ls.listen(4);
  const acc = ls.accept();
  const cs = a.socket(fam, C.SOCK_STREAM);
  await cs.connect(v6 ? 'fd09::2' : '10.9.0.2', port);
  const ss = await acc;
  const readAll = async (s: typeof cs): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for (;;) {
      const c = await s.recv(65536);
      if (c.length === 0) return new Uint8Array(Buffer.concat(parts));
      parts.push(c);
    }
  };
  const [atB, atA] = await Promise.all([
    readAll(ss),
    readAll(cs),
    cs.send(toB).then(() => cs.shutdown(C.SHUT_WR)),
    ss.send(toA).then(() => ss.shutdown(C.SHUT_WR)),
  ]);
  cs.close();
  ss.close();
  ls.close();
  return { atB, atA };
}

describe('hosts over a user FrameLink pair (virtual time)', () => {
  it('ping and TCP both ways; the same seed gives the same frames, byte for byte', async () => {
    const digests: string[] = [];
    for (let run = 0; run < 2; run++) {
      const ends = memLinkPair({ record: true });
      const { net, a, b } = hostsOver(21, ends);
      const pong = await a.ping('10.9.0.2');
      assert.ok(pong.bytes > 0);
      const toB = pattern(300_000, 9);
      const toA = pattern(200_000, 10);
      const { atB, atA } = await exchange(a, b, toB, toA);
      assert.deepEqual(atB, toB);
      assert.deepEqual(atA, toA);
      const h = createHash('sha256');
      for (const e of ends) for (const s of e.sent) h.update(s.bytes);
      digests.push(h.digest('hex'));
      assert.ok(ends[0].sent.every((s) => s.meta === null && s.bytes.length <= 1514), 'no offloads: plain frames only');
      await net.close();
      assert.deepEqual(ends.map((e) => e.closeCalls), [1, 1]);
    }
    assert.equal(digests[0], digests[1]);
  });

  it('offloads on both ends: GSO super-frames and partial checksums cross the link, every byte arrives', async () => {
    const off: LinkOffloads = { txCsum: true, tso4: true, tso6: true, rxGso: true };
    const ends = memLinkPair({ record: true, offloads: off });
    const { net, a, b } = hostsOver(22, ends);
    const toB = pattern(500_000, 11);
    const toA = pattern(100_000, 12);
    const { atB, atA } = await exchange(a, b, toB, toA);
    assert.deepEqual(atB, toB);
    assert.deepEqual(atA, toA);
    const gso = ends[0].sent.filter((s) => s.meta?.gsoType === 'tcpv4');
    assert.ok(gso.length > 0, 'super-frames were sent');
    assert.ok(gso.every((s) => s.bytes.length > 1514 && s.meta!.needsCsum && s.meta!.hdrLen >= TH + TCP_HLEN));
    // IPv6: tcpv6 super-frames
    const six = await exchange(a, b, toA, toB, 7101, true);
    assert.deepEqual(six.atB, toA);
    assert.deepEqual(six.atA, toB);
    const gso6 = ends[0].sent.filter((s) => s.meta?.gsoType === 'tcpv6');
    assert.ok(gso6.length > 0, 'IPv6 super-frames were sent');
    assert.ok(gso6.every((s) => s.bytes.length > 1514 && s.meta!.csumStart === ETH_HLEN + 40 && s.meta!.hdrLen >= ETH_HLEN + 40 + TCP_HLEN));
    const rxq = b.device('eth0')!.rxQueues[0]!.stats;
    assert.equal(rxq.rxCsumBad, 0, 'partial checksums were trusted, never verified as bad');
    await net.close();
  });

  it('the device MTU is clamped to the link MTU; an impossible link MTU is refused', async () => {
    const net = new Network({ seed: 5 });
    const h = net.addHost('h');
    const [x, y] = memLinkPair({ mtu: 9000 });
    assert.equal(h.addDevice('eth0', { link: x, mtu: 65000 }).mtu, 9000);
    assert.equal(h.addDevice('eth1', { link: y }).mtu, 9000);
    const [bad] = memLinkPair({ mtu: 20 });
    assert.throws(() => h.addDevice('eth2', { link: bad }), /EINVAL/);
    assert.throws(() => h.addDevice('eth4', { link: x }), /EBUSY/);
    assert.equal(h.device('eth4'), null, 'no half-made device');
    assert.throws(() => net.attachLink(h.device('eth0')!, x), /already has a link/);
    const eth3 = h.addDevice('eth3');
    assert.throws(() => net.attachLink(eth3, x), /link already attached/);
    await net.close();
  });
});
