import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimWire, PcapWriter, type SimWireOptions } from '../../src/link/index.js';
import { BindingTable, DeviceMemory, DmabufBinding, PAGE_SIZE } from '../../src/mem/index.js';
import { Rng } from '../../src/rand/index.js';
import { CHECKSUM_PARTIAL, skbAddFrag } from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { ETH_HLEN, IPPROTO_TCP, IPV4_HLEN, TCP_HLEN, csumFold, pseudoHeaderSumV4 } from '../../src/wire/index.js';
import {
  IP_A, IP_B, MAC_A, MAC_B, frameIndex, frameSkb, makeHost, modelDraws, runAll, tcpFrame, testFrame, type Host,
} from './helpers.js';

interface Rig {
  sched: VirtualScheduler;
  a: Host;
  b: Host;
  wire: SimWire;
}

function rig(seed: number, opts: SimWireOptions = {}): Rig {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const wire = new SimWire(sched, new Rng(seed), a.dev, b.dev, opts);
  return { sched, a, b, wire };
}

/** sends frames index 0..n-1 of `len` bytes from a at the current time */
function sendBurst(r: Rig, n: number, len: number, from: Host = r.a): void {
  for (let i = 0; i < n; i++) {
    const dst = from === r.a ? MAC_B : MAC_A;
    const src = from === r.a ? MAC_A : MAC_B;
    from.dev.xmit(frameSkb(from.skbs, testFrame(i, len, dst, src)));
  }
}

function indices(h: Host): number[] {
  return h.rx.frames.map((f) => frameIndex(f.bytes));
}

function assertNoLeaks(r: Rig): void {
  assert.equal(r.a.skbs.live, 0, 'sender skbs all freed');
  assert.equal(r.b.skbs.live, 0, 'receiver skbs all freed');
  assert.equal(r.wire.inFlight, 0);
}

test('delivery time = serialization + propagation delay, exact µs', () => {
  const r = rig(1, { gbps: 1, delayUs: 5 });
  sendBurst(r, 3, 1000); // 8000 bits at 1 Gbit/s = 8 µs each, back to back
  runAll(r.sched);
  assert.deepEqual(r.b.rx.frames.map((f) => f.t), [13, 21, 29]);
  assert.deepEqual(indices(r.b), [0, 1, 2]);
  // an idle link restarts serialization at "now"
  r.sched.advanceTo(100);
  sendBurst(r, 1, 500); // 4 µs
  runAll(r.sched);
  assert.equal(r.b.rx.frames[3]!.t, 109);
  assert.equal(r.wire.stats.aToB.delivered, 4);
  assert.equal(r.wire.stats.aToB.bytes, 3500);
  assertNoLeaks(r);
});

test('high rates accumulate fractional serialization time instead of rounding per frame', () => {
  const r = rig(1, { gbps: 100, delayUs: 5 });
  sendBurst(r, 1000, 125); // 1000 bits = 10 ns each; frame k ends at (k+1)·10 ns
  runAll(r.sched);
  const t = r.b.rx.frames.map((f) => f.t);
  assert.equal(t.length, 1000);
  assert.equal(t[0], 6); // ceil(0.01 + 5)
  assert.equal(t[99], 6); // ends at exactly 1.000 µs
  assert.equal(t[100], 7);
  assert.equal(t[999], 15); // ends at exactly 10 µs
  assert.deepEqual(indices(r.b), Array.from({ length: 1000 }, (_, i) => i));
  assertNoLeaks(r);
});

test('fractional propagation delay and non-integer rates', () => {
  const r = rig(1, { gbps: 3, delayUs: 0.5 });
  sendBurst(r, 2, 1000); // 8000 bits / 3 Gbit/s = 2.6667 µs
  runAll(r.sched);
  assert.deepEqual(r.b.rx.frames.map((f) => f.t), [4, 6]); // ceil(3.1667), ceil(5.8333)
});

test('ordering without faults; bytes arrive unchanged; both directions are independent', () => {
  const r = rig(7, { gbps: 10, delayUs: 2 });
  const sizes: number[] = [];
  for (let i = 0; i < 50; i++) sizes.push(60 + ((i * 379) % 1400));
  for (let i = 0; i < 50; i++) {
    r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(i, sizes[i]!)));
    r.b.dev.xmit(frameSkb(r.b.skbs, testFrame(1000 + i, sizes[49 - i]!, MAC_A, MAC_B)));
  }
  runAll(r.sched);
  assert.deepEqual(indices(r.b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(indices(r.a), Array.from({ length: 50 }, (_, i) => 1000 + i));
  for (let i = 0; i < 50; i++) assert.deepEqual(r.b.rx.frames[i]!.bytes, testFrame(i, sizes[i]!));
  // full duplex: the first frame each way arrives after its own serialization only
  assert.equal(r.b.rx.frames[0]!.t, Math.ceil((sizes[0]! * 8) / 10_000 + 2));
  assert.equal(r.a.rx.frames[0]!.t, Math.ceil((sizes[49]! * 8) / 10_000 + 2));
  for (const s of [r.wire.stats.aToB, r.wire.stats.bToA]) {
    assert.deepEqual(s, {
      frames: 50, bytes: sizes.reduce((x, y) => x + y, 0), delivered: 50, lost: 0, queueDrops: 0, mtuDrops: 0,
      duplicated: 0, reordered: 0, corrupted: 0,
    });
  }
  assertNoLeaks(r);
});

test('loss: exact frames lost for a fixed seed', () => {
  const seed = 42;
  const r = rig(seed, { loss: 0.25 });
  sendBurst(r, 200, 100);
  runAll(r.sched);
  const model = modelDraws(seed, 'aToB', 200);
  const expected = model.flatMap((d, i) => (d.loss < 0.25 ? [] : [i]));
  assert.deepEqual(indices(r.b), expected);
  assert.equal(r.wire.stats.aToB.lost, 200 - expected.length);
  assert.equal(r.wire.stats.aToB.lost, 52); // pinned: a change in the draw order shows up here
  assert.equal(r.wire.stats.aToB.delivered, expected.length);
  assertNoLeaks(r);
});

test('duplicate: duplicated frames arrive twice, back to back', () => {
  const seed = 3;
  const r = rig(seed, { duplicate: 0.2 });
  sendBurst(r, 100, 100);
  runAll(r.sched);
  const model = modelDraws(seed, 'aToB', 100);
  const expected = model.flatMap((d, i) => (d.dup < 0.2 ? [i, i] : [i]));
  assert.deepEqual(indices(r.b), expected);
  const dups = expected.length - 100;
  assert.equal(r.wire.stats.aToB.duplicated, dups);
  assert.equal(dups, 24); // pinned
  assert.equal(r.wire.stats.aToB.delivered, 100 + dups);
  assertNoLeaks(r);
});

test('reorder: held-back frames are overtaken by later ones', () => {
  const seed = 11;
  const r = rig(seed, { gbps: 1, delayUs: 5, reorder: 0.1, reorderUs: 50 });
  sendBurst(r, 100, 1000); // one every 8 µs
  runAll(r.sched);
  const model = modelDraws(seed, 'aToB', 100);
  const sched = model.map((d, i) => ({ i, at: 8 * (i + 1) + 5 + (d.reorder < 0.1 ? 50 : 0) }));
  sched.sort((x, y) => x.at - y.at || x.i - y.i);
  assert.deepEqual(indices(r.b), sched.map((s) => s.i));
  assert.deepEqual(r.b.rx.frames.map((f) => f.t), sched.map((s) => s.at));
  const reordered = model.filter((d) => d.reorder < 0.1).length;
  assert.equal(r.wire.stats.aToB.reordered, reordered);
  assert.equal(reordered, 7); // pinned
  assert.notDeepEqual(indices(r.b), Array.from({ length: 100 }, (_, i) => i));
  assertNoLeaks(r);
});

test("corrupt 'fcs': the NIC counts rxCrcErrors and delivers nothing for those frames", () => {
  const seed = 5;
  const r = rig(seed, { corrupt: 0.3 });
  sendBurst(r, 100, 200);
  runAll(r.sched);
  const model = modelDraws(seed, 'aToB', 100);
  const good = model.flatMap((d, i) => (d.corrupt < 0.3 ? [] : [i]));
  const bad = 100 - good.length;
  assert.equal(bad, 25); // pinned
  assert.equal(r.wire.stats.aToB.corrupted, bad);
  assert.equal(r.b.dev.counters.rxCrcErrors, bad);
  assert.equal(r.wire.stats.aToB.delivered, 100); // handed to the NIC, which dropped them
  assert.deepEqual(indices(r.b), good);
  for (const f of r.b.rx.frames) assert.deepEqual(f.bytes, testFrame(frameIndex(f.bytes), 200));
  assertNoLeaks(r);
});

test("corrupt 'payload': each frame arrives with exactly one bit flipped past the Ethernet header", () => {
  const seed = 9;
  const r = rig(seed, { corrupt: 1, corruptMode: 'payload' });
  const n = 40;
  const sent: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const f = testFrame(i, 300);
    f.fill(0xaa, ETH_HLEN + 4); // keep the index readable; flips land anywhere past the header
    sent.push(f);
    r.a.dev.xmit(frameSkb(r.a.skbs, f));
  }
  runAll(r.sched);
  assert.equal(r.b.rx.frames.length, n);
  assert.equal(r.b.dev.counters.rxCrcErrors, 0);
  assert.equal(r.wire.stats.aToB.corrupted, n);
  const model = modelDraws(seed, 'aToB', n);
  for (let k = 0; k < n; k++) {
    const got = r.b.rx.frames[k]!.bytes;
    const bit = Math.floor(model[k]!.bit * (300 - ETH_HLEN) * 8);
    // frames stay in order (the flip may hit the index: match by position)
    const want = sent[k]!;
    let diffBits = 0;
    let at = -1;
    for (let j = 0; j < want.length; j++) {
      const x = want[j]! ^ got[j]!;
      if (x !== 0) at = j;
      for (let v = x; v !== 0; v &= v - 1) diffBits++;
    }
    assert.equal(diffBits, 1, `frame ${k}: exactly one bit differs`);
    assert.ok(at >= ETH_HLEN);
    assert.equal(at, ETH_HLEN + (bit >> 3));
    assert.equal(got[at]! ^ want[at]!, 1 << (bit & 7));
  }
  // the sender's frame was copied, not modified in place: originals freed, copies freed
  assertNoLeaks(r);
});

test("corrupt 'payload' on TCP/IPv4: the flip stays inside the datagram and checksums catch it", () => {
  const seed = 123;
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const wire = new SimWire(sched, new Rng(seed), a.dev, b.dev, { corrupt: 1, corruptMode: 'payload' });
  const frame = tcpFrame(new Uint8Array(400).fill(0x5a));
  // trailing Ethernet padding that is not part of the IPv4 datagram: never the target of a flip
  const padded = new Uint8Array(frame.length + 16);
  padded.set(frame);
  const n = 60;
  for (let i = 0; i < n; i++) a.dev.xmit(frameSkb(a.skbs, padded));
  runAll(sched);
  const model = modelDraws(seed, 'aToB', n);
  const flipByte = model.map((d) => ETH_HLEN + (Math.floor(d.bit * (frame.length - ETH_HLEN) * 8) >> 3));
  assert.ok(flipByte.every((x) => x >= ETH_HLEN && x < frame.length));
  const inSegment = flipByte.filter((x) => x >= ETH_HLEN + IPV4_HLEN).length;
  const st = b.dev.rxQueues[0]!.stats;
  assert.equal(wire.stats.aToB.corrupted, n);
  // a flip in the TCP segment always fails the L4 checksum; only some IPv4 header fields
  // (TTL, ident, TOS, header checksum) are invisible to it: the IP layer checks those
  assert.ok(inSegment > 40);
  assert.ok(st.rxCsumBad >= inSegment, `${st.rxCsumBad} >= ${inSegment}`);
  assert.ok(st.rxCsumUnnecessary <= n - inSegment);
  wire.close();
});

test('same seed → identical deliveries and pcap bytes; different seed → different', () => {
  const opts: SimWireOptions = { gbps: 1, delayUs: 3, loss: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, corruptMode: 'payload' };
  function once(seed: number): { seq: string; pcap: Uint8Array } {
    const w = PcapWriter.memory();
    const r = rig(seed, { ...opts, pcap: w });
    sendBurst(r, 150, 700);
    sendBurst(r, 150, 300, r.b);
    runAll(r.sched);
    const seq = [...r.b.rx.frames, ...r.a.rx.frames].map((f) => `${f.t}:${Buffer.from(f.bytes).toString('hex')}`).join('\n');
    r.wire.close();
    return { seq, pcap: w.bytes() };
  }
  const x = once(2024);
  const y = once(2024);
  const z = once(2025);
  assert.equal(x.seq, y.seq);
  assert.deepEqual(x.pcap, y.pcap);
  assert.notEqual(x.seq, z.seq);
  assert.notDeepEqual(x.pcap, z.pcap);
});

test('enabling one fault does not shift another fault\'s pattern', () => {
  const a = rig(77, { loss: 0.3 });
  sendBurst(a, 100, 100);
  runAll(a.sched);
  const b = rig(77, { loss: 0.3, reorder: 0.2, reorderUs: 1 });
  sendBurst(b, 100, 100);
  runAll(b.sched);
  assert.deepEqual([...new Set(indices(b.b))].sort((x, y) => x - y), indices(a.b));
  assert.equal(a.wire.stats.aToB.lost, b.wire.stats.aToB.lost);
});

test('MTU: frames longer than mtu + 14 are dropped and counted', () => {
  const r = rig(1, { mtu: 1000 });
  r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(0, 1014)));
  r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(1, 1015)));
  r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(2, 60)));
  runAll(r.sched);
  assert.deepEqual(indices(r.b), [0, 2]);
  assert.equal(r.wire.stats.aToB.mtuDrops, 1);
  assert.equal(r.wire.stats.aToB.frames, 3);
  assertNoLeaks(r);
});

test('queue limit: tail drop once the backlog exceeds queueLimitUs of serialization', () => {
  const r = rig(1, { gbps: 1, delayUs: 0, queueLimitUs: 100 });
  sendBurst(r, 20, 1000); // 8 µs each; frame k finds 8k µs of backlog: accepted while 8k ≤ 100
  runAll(r.sched);
  assert.deepEqual(indices(r.b), Array.from({ length: 13 }, (_, i) => i));
  assert.equal(r.wire.stats.aToB.queueDrops, 7);
  // once drained, the link accepts again
  sendBurst(r, 2, 1000);
  runAll(r.sched);
  assert.equal(r.b.rx.frames.length, 15);
  assertNoLeaks(r);
});

test('close() frees frames in flight, detaches from the devices and cancels the timers', () => {
  const r = rig(1, { gbps: 1 });
  sendBurst(r, 5, 1000);
  sendBurst(r, 5, 1000, r.b);
  assert.equal(r.wire.inFlight, 10);
  assert.equal(r.a.dev.link, r.wire.aToB);
  assert.equal(r.b.dev.link, r.wire.bToA);
  r.wire.close();
  assert.equal(r.wire.inFlight, 0);
  assert.equal(r.a.dev.link, null);
  assert.equal(r.b.dev.link, null);
  assert.equal(r.sched.pending, 0);
  assert.equal(r.a.skbs.live, 0);
  assert.equal(r.b.skbs.live, 0);
  // the device now drops what it sends; a stale port frees what it is given
  sendBurst(r, 1, 100);
  assert.equal(r.a.dev.counters.txDropped, 1);
  r.wire.aToB.transmit(frameSkb(r.a.skbs, testFrame(9, 100)), r.a.dev);
  runAll(r.sched);
  assert.equal(r.b.rx.frames.length, 0);
  assert.equal(r.a.skbs.live, 0);
  r.wire.close(); // idempotent
});

test('the in-order FIFO keeps order past its initial ring, across wraparound and growth, and close() frees it', () => {
  // 1 µs of serialization per 125-byte frame at 1 Gbit/s, 2 ms of propagation: every frame
  // of a burst is in flight at once (the ring starts at 256 records)
  const r = rig(3, { gbps: 1, delayUs: 2000, queueLimitUs: 100_000 });
  const wire = r.wire.aToB;
  for (let i = 0; i < 600; i++) r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(i, 125)));
  assert.equal(wire.inFlight, 600);
  // deliver the first 400, then queue 900 more: the ring's head is mid-array when it grows
  while (r.sched.step(2400)) {
    // deliver what is due by t = 2400 µs
  }
  assert.equal(r.b.rx.frames.length, 400);
  assert.equal(wire.inFlight, 200);
  for (let i = 600; i < 1500; i++) r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(i, 125)));
  assert.equal(wire.inFlight, 1100);
  runAll(r.sched);
  assert.deepEqual(indices(r.b), Array.from({ length: 1500 }, (_, i) => i));
  // delivery times never decrease (the FIFO's premise)
  const ts = r.b.rx.frames.map((f) => f.t);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! >= ts[i - 1]!, `frame ${i} before frame ${i - 1}`);
  assertNoLeaks(r);
  // a full ring closed mid-flight frees every frame
  for (let i = 0; i < 700; i++) r.a.dev.xmit(frameSkb(r.a.skbs, testFrame(i, 125)));
  const until = r.sched.now() + 2300;
  while (r.sched.step(until)) {
    // deliver the first ~300
  }
  assert.ok(wire.inFlight > 300 && wire.inFlight < 700, `in flight ${wire.inFlight}`);
  r.wire.close();
  assert.equal(wire.inFlight, 0);
  assert.equal(r.a.skbs.live, 0);
  assert.equal(r.b.skbs.live, 0);
});

test('the receiver can answer synchronously from its rx handler (re-entrant transmit)', () => {
  const r = rig(1, { gbps: 1, delayUs: 5 });
  let echoes = 0;
  r.b.dev.rxHandler = {
    netifReceive(skb, dev) {
      r.b.rx.netifReceive(skb, dev);
      if (echoes < 3) {
        echoes++;
        dev.xmit(frameSkb(r.b.skbs, testFrame(100 + echoes, 1000, MAC_A, MAC_B)));
      }
    },
  };
  sendBurst(r, 3, 1000);
  runAll(r.sched);
  assert.deepEqual(r.b.rx.frames.map((f) => f.t), [13, 21, 29]);
  assert.deepEqual(r.a.rx.frames.map((f) => f.t), [26, 34, 42]);
  assertNoLeaks(r);
});

test('options are validated', () => {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  assert.throws(() => new SimWire(sched, new Rng(1), a.dev, b.dev, { gbps: 0 }), RangeError);
  assert.throws(() => new SimWire(sched, new Rng(1), a.dev, b.dev, { loss: 1.5 }), RangeError);
  assert.throws(() => new SimWire(sched, new Rng(1), a.dev, b.dev, { delayUs: -1 }), RangeError);
  assert.throws(() => new SimWire(sched, new Rng(1), a.dev, a.dev), RangeError);
});

test('an unreadable (devmem TX) frame is linearized by DMA read and arrives intact', () => {
  const sched = new VirtualScheduler();
  const a = makeHost(sched, 'eth0', 1, MAC_A);
  const b = makeHost(sched, 'eth0', 2, MAC_B);
  const wire = new SimWire(sched, new Rng(1), a.dev, b.dev, { gbps: 10 });
  const dm = new DeviceMemory(1 << 20);
  const binding = new DmabufBinding(a.mem, new BindingTable(), dm, a.dev, 'eth0', 'tx');
  const payload = new Uint8Array(3000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13 + 1) & 0xff;
  dm.writeFromHost(PAGE_SIZE, payload);
  const frame = tcpFrame(payload);
  const hlen = ETH_HLEN + IPV4_HLEN + TCP_HLEN;
  const skb = frameSkb(a.skbs, frame.subarray(0, hlen));
  const ref = binding.txVec![1]!;
  a.mem.setPpRef(ref, 1); // the binding's own hold, so that freeing the skb does not recycle it
  a.mem.get(ref);
  assert.ok(skbAddFrag(skb, ref, 0, payload.length));
  assert.ok(skb.unreadable);
  a.dev.xmit(skb);
  runAll(sched);
  assert.equal(b.rx.frames.length, 1);
  assert.deepEqual(b.rx.frames[0]!.bytes, frame);
  assert.equal(dm.stats.dmaBytesRead, payload.length);
  assert.equal(dm.stats.hostBytesRead, 0);
  assert.equal(a.mem.refCount(ref), 1);
  assert.equal(a.skbs.live, 0);
  wire.close();
});

/** an skb A→B: TCP headers in the head, the payload in a host-page frag, CHECKSUM_PARTIAL */
function partialTcpSkb(h: Host, payload: Uint8Array): ReturnType<typeof frameSkb> {
  const f = tcpFrame(payload);
  const th = ETH_HLEN + IPV4_HLEN;
  const dv = new DataView(f.buffer);
  dv.setUint16(th + 16, csumFold(pseudoHeaderSumV4(IP_A, IP_B, IPPROTO_TCP, TCP_HLEN + payload.length)));
  const skb = frameSkb(h.skbs, f.subarray(0, th + TCP_HLEN));
  const page = h.mem.allocPage();
  h.mem.buf(page).set(payload, h.mem.offset(page));
  assert.ok(skbAddFrag(skb, page, 0, payload.length));
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = skb.data + th;
  skb.csumOffset = 16;
  return skb;
}

test('the sender NIC frag-checksum memo rides in the wire record, not on the skb, and only for frames the wire left intact', () => {
  for (const corrupt of [0, 1]) {
    const r = rig(5, { corrupt, corruptMode: 'payload' });
    const seen: number[] = [];
    const orig = r.b.dev.receiveFrame.bind(r.b.dev);
    r.b.dev.receiveFrame = (frame, fcsOk = true, fragCsum = -1) => {
      seen.push(fragCsum);
      orig(frame, fcsOk, fragCsum);
    };
    const payload = new Uint8Array(1000).map((_, i) => (i * 7 + 1) & 0xff);
    r.a.dev.xmit(partialTcpSkb(r.a, payload));
    assert.equal(r.a.dev.txFragCsum, -1, 'the memo is offered only while the link takes the frame');
    runAll(r.sched);
    assert.equal(seen.length, 1);
    const st = r.b.dev.rxQueues[0]!.stats;
    if (corrupt === 0) {
      assert.ok(seen[0]! >= 0, 'an untouched frame carries the memo');
      assert.equal(st.rxCsumUnnecessary, 1);
    } else {
      assert.equal(seen[0], -1, 'a rewritten frame carries no memo');
      assert.equal(st.rxCsumBad, 1, 'with this seed the flipped bit lands in the TCP segment: the receiver sums the bytes and catches it');
      assert.equal(st.rxCsumUnnecessary, 0);
    }
  }
});
