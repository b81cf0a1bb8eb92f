import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../src/inet/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { NetDevice, type LinkPort } from '../../src/netdev/index.js';
import {
  MAX_HEADER, NEIGH_DEFAULTS, NEIGH_UPDATE_F_ADMIN, NEIGH_UPDATE_F_OVERRIDE, NEIGH_UPDATE_F_WEAK_OVERRIDE, NUD_FAILED, NUD_PERMANENT,
  NUD_REACHABLE, NUD_STALE, NeighTable, neighStateName, type IcmpErr, type NeighProto, type Neighbour,
} from '../../src/net/index.js';
import { SkbCache, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { VirtualScheduler } from '../../src/time/index.js';
import { ERRNO } from '../../src/uapi/index.js';
import {
  MAC_A, concat, ethHeader, icmpMsg, inject, ipPacket, macBytes, makeHost, pattern, runFor, u16, TestLink,
} from './harness.js';

// ---- a NeighTable on a fake protocol and a capturing device ----

class FakeProto implements NeighProto {
  readonly family = 4 as const;
  readonly solicits: { t: number; addr: string; unicast: number | null }[] = [];
  readonly failed: number[] = [];
  constructor(readonly sched: VirtualScheduler) {}
  solicit(n: Neighbour, unicastMac: number | null): void {
    this.solicits.push({ t: this.sched.now(), addr: n.addr.toString(), unicast: unicastMac });
  }
  resolutionFailed(skb: SkBuff): void {
    this.failed.push(skb.buf[skb.networkHeader]!);
  }
}

class Capture implements LinkPort {
  readonly sent: { t: number; dst: number; mark: number }[] = [];
  constructor(readonly sched: VirtualScheduler) {}
  transmit(skb: SkBuff): void {
    const dv = skb.dv;
    this.sent.push({ t: this.sched.now(), dst: dv.getUint16(skb.data) * 2 ** 32 + dv.getUint32(skb.data + 2), mark: skb.buf[skb.data + 14]! });
    skbFree(skb);
  }
}

function unitSetup(): { sched: VirtualScheduler; skbs: SkbCache; dev: NetDevice; proto: FakeProto; cap: Capture; tbl: NeighTable } {
  const sched = new VirtualScheduler();
  const mem = new MemSpace();
  const skbs = new SkbCache(mem);
  const dev = new NetDevice(mem, skbs, sched, 'eth0', 2, { mac: MAC_A });
  const cap = new Capture(sched);
  dev.link = cap;
  const proto = new FakeProto(sched);
  const tbl = new NeighTable({ sched, rng: null }, proto);
  return { sched, skbs, dev, proto, cap, tbl };
}

const X = InetAddr.parse('10.0.0.2');
const MAC_X = 0x02000000000b;
const MAC_X2 = 0x0200000000bb;

function l3(skbs: SkbCache, mark: number): SkBuff {
  const skb = skbs.alloc(MAX_HEADER + 20, MAX_HEADER)!;
  const at = skbPut(skb, 20);
  skb.buf.fill(0, at, at + 20);
  skb.buf[at] = mark;
  skb.networkHeader = at;
  return skb;
}

function state(tbl: NeighTable, dev: NetDevice, a: InetAddr = X): string {
  const n = tbl.lookup(dev, a);
  return n === null ? 'absent' : neighStateName(n.state);
}

describe('neighbour table: NUD state machine (Linux neigh_timer_handler / neigh_update)', () => {
  it('NONE → INCOMPLETE → REACHABLE → (timer) STALE → DELAY → (confirmed) REACHABLE', () => {
    const { sched, skbs, dev, proto, cap, tbl } = unitSetup();
    tbl.output(l3(skbs, 1), dev, X, 0x0800);
    tbl.output(l3(skbs, 2), dev, X, 0x0800);
    assert.equal(state(tbl, dev), 'incomplete');
    assert.deepEqual(proto.solicits, [{ t: 0, addr: '10.0.0.2', unicast: null }], 'one solicitation, not one per packet');
    assert.equal(cap.sent.length, 0);
    runFor(sched, 500_000);
    tbl.update(dev, X, MAC_X, NUD_REACHABLE, NEIGH_UPDATE_F_OVERRIDE);
    assert.equal(state(tbl, dev), 'reachable');
    assert.deepEqual(cap.sent, [{ t: 500_000, dst: MAC_X, mark: 1 }, { t: 500_000, dst: MAC_X, mark: 2 }], 'queue flushed in order');
    // reachable_time (30 s, not randomised without an rng) after the confirmation, unused: STALE
    runFor(sched, 30_000_000);
    assert.equal(state(tbl, dev), 'stale');
    assert.equal(sched.pending, 0, 'STALE runs no timer');
    tbl.output(l3(skbs, 3), dev, X, 0x0800);
    assert.equal(state(tbl, dev), 'delay');
    assert.equal(cap.sent.at(-1)!.mark, 3, 'a STALE entry is used at once');
    runFor(sched, 1_000_000);
    tbl.confirm(dev, X);
    runFor(sched, 4_000_000);
    assert.equal(state(tbl, dev), 'reachable');
    assert.equal(proto.solicits.length, 1, 'no probe');
    assert.equal(skbs.live, 0);
  });

  it('REACHABLE used within delay_first_probe_time goes to DELAY, then PROBE (unicast) → REACHABLE', () => {
    const { sched, skbs, dev, proto, tbl } = unitSetup();
    tbl.update(dev, X, MAC_X, NUD_REACHABLE, NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE);
    runFor(sched, 28_000_000);
    tbl.output(l3(skbs, 1), dev, X, 0x0800);
    runFor(sched, 2_000_000);
    assert.equal(state(tbl, dev), 'delay');
    runFor(sched, 5_000_000);
    assert.equal(state(tbl, dev), 'probe');
    assert.deepEqual(proto.solicits, [{ t: 35_000_000, addr: '10.0.0.2', unicast: MAC_X }]);
    runFor(sched, 300_000);
    tbl.update(dev, X, MAC_X, NUD_REACHABLE, 0);
    assert.equal(state(tbl, dev), 'reachable');
    runFor(sched, 5_000_000);
    assert.equal(proto.solicits.length, 1);
    assert.equal(skbs.live, 0);
  });

  it('PROBE → FAILED after ucast_solicit unicast probes; FAILED → INCOMPLETE on the next packet; INCOMPLETE → FAILED after 3 broadcasts', () => {
    const { sched, skbs, dev, proto, tbl } = unitSetup();
    tbl.update(dev, X, MAC_X, NUD_STALE, NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE);
    tbl.output(l3(skbs, 1), dev, X, 0x0800);
    runFor(sched, 5_000_000);
    assert.equal(state(tbl, dev), 'probe');
    runFor(sched, 3_000_000);
    assert.equal(state(tbl, dev), 'failed');
    assert.deepEqual(proto.solicits.map((s) => [s.t, s.unicast]), [[5_000_000, MAC_X], [6_000_000, MAC_X], [7_000_000, MAC_X]]);
    assert.equal(tbl.stats.resFailed, 1);
    proto.solicits.length = 0;
    tbl.output(l3(skbs, 7), dev, X, 0x0800);
    assert.equal(state(tbl, dev), 'incomplete');
    runFor(sched, 2_999_999);
    assert.equal(state(tbl, dev), 'incomplete');
    runFor(sched, 1);
    assert.equal(state(tbl, dev), 'failed');
    assert.deepEqual(proto.solicits.map((s) => [s.t - 8_000_000, s.unicast]), [[0, null], [1_000_000, null], [2_000_000, null]]);
    assert.deepEqual(proto.failed, [7], 'the queued packet is reported');
    assert.equal(tbl.stats.unresDiscards, 1);
    assert.equal(sched.pending, 0, 'quiet once failed');
    assert.equal(skbs.live, 0);
  });

  it('neigh_update flags: no override keeps the MAC, WEAK_OVERRIDE makes a connected entry STALE, ADMIN alone changes PERMANENT', () => {
    const { dev, tbl } = unitSetup();
    tbl.update(dev, X, MAC_X, NUD_REACHABLE, NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE);
    tbl.update(dev, X, MAC_X2, NUD_REACHABLE, 0);
    assert.equal(tbl.lookup(dev, X)!.mac, MAC_X);
    assert.equal(state(tbl, dev), 'reachable');
    tbl.update(dev, X, MAC_X2, NUD_REACHABLE, NEIGH_UPDATE_F_WEAK_OVERRIDE);
    assert.equal(tbl.lookup(dev, X)!.mac, MAC_X);
    assert.equal(state(tbl, dev), 'stale');
    tbl.update(dev, X, MAC_X2, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE);
    assert.equal(tbl.lookup(dev, X)!.mac, MAC_X2);
    // an event_ns from a new host creates STALE; absent entries are not created without CREATE/ADMIN
    const Y = InetAddr.parse('10.0.0.3');
    assert.equal(tbl.update(dev, Y, MAC_X, NUD_REACHABLE, 0), null);
    assert.equal(neighStateName(tbl.eventSolicit(dev, Y, MAC_X)!.state), 'stale');
    tbl.addPermanent(dev, Y, 0x02000000cccc);
    tbl.update(dev, Y, MAC_X, NUD_REACHABLE, NEIGH_UPDATE_F_OVERRIDE);
    tbl.eventSolicit(dev, Y, MAC_X);
    assert.equal(tbl.lookup(dev, Y)!.state, NUD_PERMANENT);
    assert.equal(tbl.lookup(dev, Y)!.mac, 0x02000000cccc);
    tbl.update(dev, Y, null, NUD_FAILED, NEIGH_UPDATE_F_ADMIN);
    assert.equal(state(tbl, dev, Y), 'failed');
    assert.deepEqual(tbl.list().map((n) => [n.addr, n.state]), [['10.0.0.2', 'stale'], ['10.0.0.3', 'failed']]);
  });

  it('reachable_time is randomised in [0.5, 1.5) × base from the seeded rng', async () => {
    const { Rng } = await import('../../src/rand/index.js');
    const { dev } = unitSetup();
    const seen = new Set<number>();
    for (let s = 1; s <= 20; s++) {
      const t = new NeighTable({ sched: new VirtualScheduler(), rng: new Rng(s) }, new FakeProto(new VirtualScheduler()));
      assert.ok(t.reachableTime >= 15_000_000 && t.reachableTime < 45_000_000, String(t.reachableTime));
      seen.add(t.reachableTime);
      assert.equal(new NeighTable({ sched: new VirtualScheduler(), rng: new Rng(s) }, new FakeProto(new VirtualScheduler())).reachableTime, t.reachableTime);
    }
    assert.ok(seen.size > 10);
    assert.ok(dev.ifindex > 0);
  });
});

describe('neighbour table: bounds and garbage collection', () => {
  it('forced GC at gc_thresh3 collects only unreferenced entries older than 5 s; none collectable → creation fails', () => {
    const { sched, skbs, dev, tbl } = unitSetup();
    const addr = (i: number): InetAddr => InetAddr.v4(0x0a010000 + i);
    for (let i = 0; i < 1024; i++) assert.ok(tbl.eventSolicit(dev, addr(i), 0x020000100000 + i) !== null);
    assert.equal(tbl.size, 1024);
    // all fresh (updated < 5 s ago): the 1025th cannot be created, its packet is dropped
    assert.equal(tbl.eventSolicit(dev, addr(5000), 1), null);
    tbl.output(l3(skbs, 1), dev, addr(5001), 0x0800);
    assert.equal(tbl.size, 1024);
    assert.equal(tbl.stats.tableFulls, 2);
    assert.equal(tbl.stats.unresDiscards, 1);
    runFor(sched, 5_000_001);
    // now STALE entries are collectable: forced GC shrinks to gc_thresh2, oldest first
    assert.ok(tbl.eventSolicit(dev, addr(6000), 1) !== null);
    assert.equal(tbl.size, NEIGH_DEFAULTS.gcThresh2 + 1);
    assert.equal(tbl.lookup(dev, addr(0)), null, 'the oldest went first');
    assert.ok(tbl.lookup(dev, addr(1023)) !== null);
    assert.equal(skbs.live, 0);
  });

  it('INCOMPLETE entries (timer running, packets queued) are never forced out', () => {
    const { sched, skbs, dev, tbl } = unitSetup();
    for (let i = 0; i < 1024; i++) tbl.output(l3(skbs, i & 0xff), dev, InetAddr.v4(0x0a020000 + i), 0x0800);
    runFor(sched, 2_000_000);
    tbl.output(l3(skbs, 0), dev, InetAddr.v4(0x0a030000), 0x0800);
    assert.equal(tbl.size, 1024);
    assert.equal(tbl.stats.tableFulls, 1);
    // they fail at 3 s; FAILED entries are collectable at once
    runFor(sched, 1_000_000);
    tbl.output(l3(skbs, 0), dev, InetAddr.v4(0x0a030000), 0x0800);
    assert.equal(tbl.size, NEIGH_DEFAULTS.gcThresh2 + 1);
    runFor(sched, 10_000_000);
    assert.equal(skbs.live, 0);
  });

  it('periodic GC (gc_interval) removes FAILED entries while ≥ gc_thresh1; below it the table is left alone and no timer runs', () => {
    const { sched, skbs, dev, tbl } = unitSetup();
    for (let i = 0; i < 200; i++) tbl.output(l3(skbs, 1), dev, InetAddr.v4(0x0a040000 + i), 0x0800);
    runFor(sched, 3_000_000);
    assert.equal(tbl.list().filter((n) => n.state === 'failed').length, 200);
    runFor(sched, 27_000_000);
    assert.equal(tbl.size, 0, 'collected at the first periodic run (30 s)');
    assert.equal(tbl.stats.periodicGcRuns, 1);
    assert.equal(sched.pending, 0, 'GC timer stopped: the stack is quiet');
    for (let i = 0; i < 5; i++) tbl.output(l3(skbs, 1), dev, InetAddr.v4(0x0a050000 + i), 0x0800);
    runFor(sched, 100_000_000);
    assert.equal(tbl.size, 5, 'Linux keeps entries below gc_thresh1');
    assert.equal(sched.pending, 0);
    // stale entries unused for gc_stale_time (60 s) go too once over thresh1; permanent ones stay
    for (let i = 0; i < 130; i++) tbl.eventSolicit(dev, InetAddr.v4(0x0a060000 + i), 0x020000200000 + i);
    tbl.addPermanent(dev, InetAddr.v4(0x0a070001), 0x02000000cccc);
    runFor(sched, 90_000_000);
    assert.equal(tbl.size, 1);
    assert.equal(tbl.list()[0]!.state, 'permanent');
    assert.equal(skbs.live, 0);
  });
});

// ---- ARP over a link, adversarial sources ----

const ARP_SRC_BASE = 0x0a000000;

function arpRequest(sha: number, sip: number, tip: number): Uint8Array {
  const ip4 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  return concat(ethHeader(0xffffffffffff, sha, 0x0806), u16(1), u16(0x0800), Uint8Array.of(6, 4), u16(1), macBytes(sha), ip4(sip), new Uint8Array(6), ip4(tip));
}

function ipStr(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

describe('ARP: spoofed on-subnet sources stay bounded', () => {
  it('100 000 ARP requests from distinct sources: table ≤ gc_thresh3, replies bounded, no broadcast storm', () => {
    const sched = new VirtualScheduler();
    const link = new TestLink(sched, 1);
    const a = makeHost(sched, 'A', MAC_A, '10.0.0.1/8', link);
    const heap0 = process.memoryUsage().heapUsed;
    let maxSize = 0;
    for (let i = 0; i < 100_000; i++) {
      const sip = ARP_SRC_BASE + 0x10000 + i;
      inject(a, arpRequest(0x020000100000 + i, sip, 0x0a000001));
      if ((i & 63) === 0) runFor(sched, 64 * 20);
      if (a.v4.neigh.size > maxSize) maxSize = a.v4.neigh.size;
    }
    runFor(sched, 1_000_000);
    assert.ok(maxSize <= NEIGH_DEFAULTS.gcThresh3, `max ${maxSize}`);
    const arp = a.v4.stats.arp;
    assert.equal(arp.inRequests, 100_000);
    assert.equal(arp.outRequests, 0, 'learning from requests sends no broadcasts');
    // replies only while the sender could be recorded (Linux: neigh_event_ns failed → no reply)
    assert.equal(arp.outReplies + a.v4.neigh.stats.tableFulls, 100_000);
    assert.ok(a.v4.neigh.stats.tableFulls > 0);
    runFor(sched, 200_000_000);
    assert.ok(a.v4.neigh.size < NEIGH_DEFAULTS.gcThresh1, `collected to ${a.v4.neigh.size}`);
    assert.equal(sched.pending, 0, 'quiet');
    assert.equal(a.skbs.live, 0);
    link.frames.length = 0;
    const grown = process.memoryUsage().heapUsed - heap0;
    assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown} bytes`);
  });

  it('100 000 echo requests from spoofed on-subnet sources: entries ≤ gc_thresh3, ≤ 3 broadcasts per entry, failures collected', () => {
    const sched = new VirtualScheduler();
    const link = new TestLink(sched, 1);
    link.cut = true; // nobody answers the ARP requests (the sources do not exist)
    const a = makeHost(sched, 'A', MAC_A, '10.0.0.1/8', link);
    const heap0 = process.memoryUsage().heapUsed;
    const icmp = icmpMsg(8, 0, 0x00010001, pattern(8));
    let maxSize = 0;
    for (let i = 0; i < 100_000; i++) {
      const src = ARP_SRC_BASE + 0x20000 + i;
      inject(a, concat(ethHeader(MAC_A, 0x020000000077, 0x0800), ipPacket({ proto: 1, src: ipStr(src), dst: '10.0.0.1' }, icmp)));
      if ((i & 63) === 0) runFor(sched, 64 * 20);
      if (a.v4.neigh.size > maxSize) maxSize = a.v4.neigh.size;
    }
    runFor(sched, 10_000_000);
    const ns = a.v4.neigh.stats;
    assert.ok(maxSize <= NEIGH_DEFAULTS.gcThresh3, `max ${maxSize}`);
    assert.equal(a.v4.stats.icmp.inEchos, 100_000);
    const bcasts = a.v4.stats.arp.outRequests;
    assert.equal(bcasts, 3 * ns.allocs, 'three requests per entry, none per packet');
    assert.ok(ns.allocs < 100_000 / 10, `${ns.allocs} entries were created`);
    assert.equal(ns.resFailed, ns.allocs);
    assert.ok(ns.tableFulls > 0);
    runFor(sched, 100_000_000);
    assert.ok(a.v4.neigh.size < NEIGH_DEFAULTS.gcThresh1, `FAILED entries collected (${a.v4.neigh.size} left)`);
    assert.equal(sched.pending, 0, 'quiet');
    assert.equal(a.skbs.live, 0);
    link.frames.length = 0;
    const grown = process.memoryUsage().heapUsed - heap0;
    assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown} bytes`);
  });

  it('a datagram to an absent on-subnet host reports EHOSTUNREACH (local) to its transport after 3 s', () => {
    const sched = new VirtualScheduler();
    const link = new TestLink(sched, 10);
    const a = makeHost(sched, 'A', MAC_A, '10.0.0.1/24', link);
    const errs: { t: number; errno: number; local: boolean; dst: string; proto: number }[] = [];
    a.protos.set(253, {
      rcv: skbFree,
      err: (e: IcmpErr) => { errs.push({ t: sched.now(), errno: e.errno, local: e.local, dst: InetAddr.from(e.dst).toString(), proto: e.proto }); },
    });
    const skb = a.skbs.alloc(MAX_HEADER + 8, MAX_HEADER)!;
    const at = skbPut(skb, 8);
    skb.buf.fill(0x11, at, at + 8);
    assert.equal(a.inet.output(skb, InetAddr.ANY4, InetAddr.parse('10.0.0.99'), 253), 0);
    runFor(sched, 10_000_000);
    assert.deepEqual(errs, [{ t: 3_000_000, errno: ERRNO.EHOSTUNREACH, local: true, dst: '10.0.0.99', proto: 253 }]);
    assert.equal(a.skbs.live, 0);
  });
});
