import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapWriter, SimSwitch, type SimWireOptions } from '../../src/link/index.js';
import { Rng } from '../../src/rand/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { ETH_BROADCAST, readPcap } from '../../src/wire/index.js';
import { frameIndex, frameSkb, makeHost, runAll, testFrame, type Host } from './helpers.js';

const MACS = [0x020000000011, 0x020000000012, 0x020000000013];

interface Lan {
  sched: VirtualScheduler;
  sw: SimSwitch;
  h: Host[];
}

function lan(seed: number, wire: SimWireOptions = { gbps: 1, delayUs: 5 }, ageUs?: number, pcap?: PcapWriter): Lan {
  const sched = new VirtualScheduler();
  const sw = new SimSwitch(sched, new Rng(seed), { ...(ageUs === undefined ? {} : { ageUs }), ...(pcap === undefined ? {} : { pcap }) });
  const h = MACS.map((mac, i) => makeHost(sched, `eth${i}`, i + 1, mac));
  for (const x of h) sw.connect(x.dev, wire);
  return { sched, sw, h };
}

function send(l: Lan, from: number, to: number, index: number, len = 1000): void {
  const dst = to < 0 ? ETH_BROADCAST : MACS[to]!;
  l.h[from]!.dev.xmit(frameSkb(l.h[from]!.skbs, testFrame(index, len, dst, MACS[from]!)));
}

function got(h: Host): number[] {
  return h.rx.frames.map((f) => frameIndex(f.bytes));
}

function assertNoLeaks(l: Lan): void {
  for (const x of l.h) assert.equal(x.skbs.live, 0);
  assert.equal(l.sw.skbs.live, 0);
}

test('learning: unknown destination floods, then known destinations are forwarded', () => {
  const l = lan(1);
  send(l, 0, 1, 1); // B unknown: flooded to B and C
  runAll(l.sched);
  assert.deepEqual([got(l.h[0]!), got(l.h[1]!), got(l.h[2]!)], [[], [1], [1]]);
  // store and forward: 8 µs + 5 µs to the switch, again 8 µs + 5 µs to the host
  assert.equal(l.h[1]!.rx.frames[0]!.t, 26);
  assert.equal(l.sw.lookup(MACS[0]!), 0);
  send(l, 1, 0, 2); // A known: forwarded to A only
  runAll(l.sched);
  send(l, 0, 1, 3); // B learned from frame 2
  runAll(l.sched);
  assert.deepEqual([got(l.h[0]!), got(l.h[1]!), got(l.h[2]!)], [[2], [1, 3], [1]]);
  assert.deepEqual(l.sw.stats, { received: 3, forwarded: 2, flooded: 1, filtered: 0, fcsDrops: 0, runts: 0 });
  assert.equal(l.sw.fdbEntries, 2);
  assert.equal(l.sw.ports[1]!.stats.toDevice.delivered, 2);
  l.sw.close();
  assertNoLeaks(l);
});

test('broadcast floods to every other port; frames to the ingress port are filtered', () => {
  const l = lan(1);
  send(l, 2, -1, 7);
  runAll(l.sched);
  assert.deepEqual([got(l.h[0]!), got(l.h[1]!), got(l.h[2]!)], [[7], [7], []]);
  send(l, 0, 0, 8); // to itself: A was learned on port 0 by this very frame
  runAll(l.sched);
  assert.equal(l.sw.stats.filtered, 1);
  assert.deepEqual(got(l.h[0]!), [7]);
  l.sw.close();
  assertNoLeaks(l);
});

test('entries age out and the destination is flooded again', () => {
  const l = lan(1, { gbps: 1, delayUs: 5 }, 1000);
  send(l, 1, 0, 1); // learn B
  runAll(l.sched);
  send(l, 0, 1, 2);
  runAll(l.sched);
  assert.deepEqual(got(l.h[2]!), [1]); // only the first (flooded) frame reached C
  l.sched.advanceTo(l.sched.now() + 2000);
  assert.equal(l.sw.lookup(MACS[1]!), -1);
  send(l, 0, 1, 3); // B aged out: flooded
  runAll(l.sched);
  assert.deepEqual(got(l.h[2]!), [1, 3]);
  assert.equal(l.sw.stats.flooded, 2);
  l.sw.close();
});

test('bad-FCS frames are dropped by the switch; faults are per cable and seeded', () => {
  function once(seed: number): string {
    const l = lan(seed, { gbps: 10, delayUs: 1, corrupt: 0.2, loss: 0.1 });
    for (let i = 0; i < 50; i++) send(l, 0, -1, i, 200);
    runAll(l.sched);
    const up = l.sw.ports[0]!.stats.toSwitch;
    assert.equal(l.sw.stats.fcsDrops, up.corrupted);
    assert.equal(l.sw.stats.received, 50 - up.lost);
    const seq = l.h.map((x) => got(x).join(',')).join('|');
    l.sw.close();
    assertNoLeaks(l);
    return seq;
  }
  assert.equal(once(5), once(5));
  assert.notEqual(once(5), once(6));
});

test('close() frees frames in flight on every cable and detaches the devices', () => {
  const w = PcapWriter.memory();
  const l = lan(1, { gbps: 1, delayUs: 5 }, undefined, w);
  send(l, 0, -1, 1);
  runAll(l.sched);
  assert.equal(readPcap(w.bytes()).records.length, 2); // once per receiving device
  send(l, 0, -1, 2);
  send(l, 1, -1, 3);
  l.sched.step(); // some frames at the switch, some still on the uplinks
  l.sw.close();
  for (const x of l.h) {
    assert.equal(x.dev.link, null);
    assert.equal(x.dev.taps.length, 0);
  }
  assert.equal(l.sched.pending, 0);
  assertNoLeaks(l);
  assert.equal(w.isClosed, false);
  assert.throws(() => l.sw.connect(l.h[0]!.dev));
});
