import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr } from '../../../src/inet/index.js';
import { ERRNO, ErrnoError } from '../../../src/uapi/index.js';
import { linkLocalFromMac, solicitedNode, ipv6McastMac } from '../../../src/net/ipv6/index.js';
import { VirtualScheduler } from '../../../src/time/index.js';
import {
  GA, GB, Hub, LL_A, MAC_A, MAC_B, MAC_C, Rng, addrBytes, concat, ethHeader, flushMicrotasks, hex, icmp6, inject, ip6, makeHost6,
  parseFrame, runFor, toHex, track, twoHosts6, type Host6,
} from './harness6.js';

const A = '2001:db8::a';
const B = '2001:db8::b';
const C = '2001:db8::c';

function state(h: Host6, addr: string): string | undefined {
  return h.v6.neighbours().find((n) => n.addr === addr)?.state;
}

function mac(h: Host6, addr: string): number | undefined {
  return h.v6.neighbours().find((n) => n.addr === addr)?.mac;
}

/** an NA from B (MAC_B) to A with flags R/S/O and an optional TLLA */
function na(flags: number, tlla: number | null, o: { src?: string; dst?: string; target?: string; hlim?: number; ethDst?: number; from?: number } = {}): Uint8Array {
  const src = o.src ?? B;
  const dst = o.dst ?? A;
  const opt = tlla === null ? new Uint8Array(0) : concat(Uint8Array.of(2, 1), ethHeader(0, tlla).subarray(6, 12));
  const msg = icmp6(src, dst, 136, 0, concat(Uint8Array.of(flags, 0, 0, 0), addrBytes(o.target ?? src), opt));
  return concat(ethHeader(o.ethDst ?? MAC_A, o.from ?? MAC_B), ip6({ src, dst, nh: 58, hlim: o.hlim ?? 255 }, msg));
}

/** an NS to `dst` for `target` with an optional SLLA, from `src` (MAC `from`) */
function ns(src: string, dst: string, target: string, slla: number | null, o: { hlim?: number; code?: number; from?: number; ethDst?: number; optLen?: number } = {}): Uint8Array {
  const opt = slla === null ? new Uint8Array(0) : concat(Uint8Array.of(1, o.optLen ?? 1), ethHeader(0, slla).subarray(6, 12));
  const msg = icmp6(src, dst, 135, o.code ?? 0, concat(new Uint8Array(4), addrBytes(target), opt));
  const d = InetAddr.parse(dst);
  const ethDst = o.ethDst ?? (d.w0 >>> 24 === 0xff ? ipv6McastMac(d) : MAC_B);
  return concat(ethHeader(ethDst, o.from ?? MAC_C), ip6({ src, dst, nh: 58, hlim: o.hlim ?? 255 }, msg));
}

/** the NDP messages a host sent: [type, src, dst, ethDst] */
function ndp(hub: Hub, host: string): string[][] {
  return hub.from(host).map((f) => parseFrame(f.bytes)).filter((f) => f.nh === 58 && f.payload[0]! >= 133 && f.payload[0]! <= 137)
    .map((f) => [String(f.payload[0]), f.src, f.dst, f.ethDst]);
}

/** A and B resolved (A → B reachable) */
async function resolved(): Promise<ReturnType<typeof twoHosts6>> {
  const env = twoHosts6(10);
  const s = track(env.a.v6.ping6(GB));
  runFor(env.sched, 100_000);
  await flushMicrotasks();
  assert.ok(s.done && s.value !== undefined);
  assert.equal(state(env.a, B), 'reachable');
  env.hub.frames.length = 0;
  return env;
}

describe('NDP: link-local addresses and multicast', () => {
  it('modified EUI-64, solicited-node groups and their MACs', () => {
    assert.equal(linkLocalFromMac(0x02000000000a).toString(), 'fe80::ff:fe00:a');
    assert.equal(linkLocalFromMac(0x0050569a1234).toString(), 'fe80::250:56ff:fe9a:1234');
    assert.equal(solicitedNode(InetAddr.parse('2001:db8::1:2345:6789')).toString(), 'ff02::1:ff45:6789');
    assert.equal(ipv6McastMac(InetAddr.parse('ff02::1:ff45:6789')), 0x3333ff456789);
  });
});

describe('NDP: the NUD state machine (RFC 4861 §7.3)', () => {
  it('INCOMPLETE while resolving, then REACHABLE on a solicited NA', () => {
    const { sched, a } = twoHosts6(10);
    void a.v6.ping6(GB);
    assert.equal(state(a, B), 'incomplete');
    runFor(sched, 100);
    assert.equal(state(a, B), 'reachable');
  });

  it('REACHABLE → STALE after the reachable time; a packet → DELAY; no confirmation → PROBE (unicast NS) → REACHABLE', async () => {
    const { sched, hub, a } = await resolved();
    runFor(sched, 30_000_000);
    assert.equal(state(a, B), 'stale');
    void a.v6.ping6(GB);
    assert.equal(state(a, B), 'delay');
    runFor(sched, 4_999_000);
    assert.equal(state(a, B), 'delay');
    hub.frames.length = 0;
    runFor(sched, 1_000);
    // the probe is a unicast NS to B's address and MAC
    assert.deepEqual(ndp(hub, 'A')[0], ['135', A, B, '02:00:00:00:00:0b']);
    assert.equal(state(a, B), 'probe');
    runFor(sched, 100);
    assert.equal(state(a, B), 'reachable');
  });

  it('DELAY → REACHABLE without probing when an upper layer confirmed the neighbour', async () => {
    const { sched, hub, a } = await resolved();
    runFor(sched, 30_000_000);
    void a.v6.ping6(GB);
    assert.equal(state(a, B), 'delay');
    runFor(sched, 1_000_000);
    a.v6.confirmNeighbour(a.dev, GB);
    hub.frames.length = 0;
    runFor(sched, 4_000_000);
    assert.equal(state(a, B), 'reachable');
    assert.deepEqual(ndp(hub, 'A'), []);
  });

  it('PROBE → FAILED after 3 unanswered unicast probes', async () => {
    const { sched, hub, a } = await resolved();
    runFor(sched, 30_000_000);
    void a.v6.ping6(GB, { timeoutUs: 100_000_000 });
    hub.cut = true;
    hub.frames.length = 0;
    runFor(sched, 5_000_000);
    assert.equal(state(a, B), 'probe');
    runFor(sched, 3_000_000);
    assert.equal(state(a, B), 'failed');
    assert.deepEqual(ndp(hub, 'A').map((x) => x[3]), ['02:00:00:00:00:0b', '02:00:00:00:00:0b', '02:00:00:00:00:0b']);
  });

  it('INCOMPLETE → FAILED after 3 multicast NS 1 s apart: the transport gets EHOSTUNREACH (local)', async () => {
    const { sched, hub, a } = twoHosts6(10);
    const s = track(a.v6.ping6(InetAddr.parse('2001:db8::99')));
    runFor(sched, 2_999_999);
    await flushMicrotasks();
    assert.equal(s.done, false);
    runFor(sched, 1);
    await flushMicrotasks();
    assert.ok(s.error instanceof ErrnoError);
    assert.equal(s.error.errno, ERRNO.EHOSTUNREACH);
    const sent = ndp(hub, 'A');
    assert.deepEqual(sent.map((x) => x[2]), ['ff02::1:ff00:99', 'ff02::1:ff00:99', 'ff02::1:ff00:99']);
    assert.deepEqual(hub.from('A').map((f) => f.t - 2_000_000), [0, 1_000_000, 2_000_000]);
    assert.equal(state(a, '2001:db8::99'), 'failed');
  });

  it('§7.2.5: O=0 with another address makes REACHABLE STALE and keeps the address; O=1 replaces it', async () => {
    const { a } = await resolved();
    inject(a, na(0x00, MAC_C));
    assert.deepEqual([state(a, B), mac(a, B)], ['stale', MAC_B]);
    inject(a, na(0x40, MAC_B));
    assert.equal(state(a, B), 'reachable');
    inject(a, na(0x20, MAC_C));
    assert.deepEqual([state(a, B), mac(a, B)], ['stale', MAC_C]);
    inject(a, na(0x60, MAC_B));
    assert.deepEqual([state(a, B), mac(a, B)], ['reachable', MAC_B]);
    // S=1, O=0 with another address while not REACHABLE: ignored
    inject(a, na(0x00, MAC_C));
    assert.deepEqual([state(a, B), mac(a, B)], ['stale', MAC_B]);
    inject(a, na(0x40, MAC_C));
    assert.deepEqual([state(a, B), mac(a, B)], ['stale', MAC_B]);
    inject(a, na(0x40, MAC_B));
    assert.deepEqual([state(a, B), mac(a, B)], ['reachable', MAC_B]);
  });

  it('§7.2.5: an unsolicited NA with the same address keeps REACHABLE', async () => {
    const { a } = await resolved();
    inject(a, na(0x20, MAC_B));
    assert.equal(state(a, B), 'reachable');
    inject(a, na(0x20, null));
    assert.equal(state(a, B), 'reachable');
  });

  it('§7.2.5: an NA without a target address option cannot complete INCOMPLETE; unknown targets create nothing', () => {
    const { a } = twoHosts6(10);
    a.v6.ping6(InetAddr.parse(C)).catch(() => undefined);
    assert.equal(state(a, C), 'incomplete');
    inject(a, na(0x60, null, { src: C }));
    assert.equal(state(a, C), 'incomplete');
    inject(a, na(0x60, MAC_C, { src: '2001:db8::77' }));
    assert.equal(state(a, '2001:db8::77'), undefined);
    inject(a, na(0x60, MAC_C, { src: C }));
    assert.deepEqual([state(a, C), mac(a, C)], ['reachable', MAC_C]);
  });
  it('PERMANENT (ip -6 neigh replace ... nud permanent) is used at once and never changed by NDP', async () => {
    const { sched, hub, a } = twoHosts6(10);
    a.v6.addNeighbour(a.dev, GB, MAC_C);
    assert.equal(state(a, B), 'permanent');
    inject(a, na(0x60, MAC_B));
    assert.deepEqual([state(a, B), mac(a, B)], ['permanent', MAC_C]);
    a.v6.ping6(GB, { timeoutUs: 1000 }).catch(() => undefined);
    runFor(sched, 40_000_000);
    await flushMicrotasks();
    assert.equal(state(a, B), 'permanent');
    assert.deepEqual(ndp(hub, 'A'), []);
    assert.equal(parseFrame(hub.from('A')[0]!.bytes).ethDst, '02:00:00:00:00:0c');
  });
});

describe('NDP: solicitations and validity (RFC 4861 §7.1, §7.2.3)', () => {
  it('a multicast NS with SLLA creates a STALE entry and gets a solicited NA with TLLA, O set (byte-exact)', () => {
    const { hub, b } = twoHosts6(10);
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C));
    // created STALE, then DELAY as the answer went out through it
    assert.equal(state(b, C), 'delay');
    const msg = icmp6(B, C, 136, 0, concat(Uint8Array.of(0x60, 0, 0, 0), addrBytes(B), Uint8Array.of(2, 1), ethHeader(0, MAC_B).subarray(6, 12)));
    assert.equal(toHex(hub.from('B')[0]!.bytes), toHex(concat(ethHeader(MAC_C, MAC_B), ip6({ src: B, dst: C, nh: 58, hlim: 255 }, msg))));
  });

  it('a unicast NS without SLLA is answered after resolving the sender, with S set, O clear, no TLLA', () => {
    const { sched, hub, b } = twoHosts6(10);
    inject(b, ns(C, B, B, null));
    assert.deepEqual(ndp(hub, 'B'), [['135', B, 'ff02::1:ff00:c', '33:33:ff:00:00:0c']]);
    inject(b, na(0x60, MAC_C, { src: C, dst: B, ethDst: MAC_B }));
    runFor(sched, 100);
    const out = hub.from('B').map((f) => parseFrame(f.bytes)).filter((f) => f.payload[0] === 136);
    assert.equal(out.length, 1);
    assert.equal(toHex(out[0]!.payload.subarray(4, 8)), '40 00 00 00');
    assert.equal(out[0]!.payload.length, 24);
  });

  it('invalid messages are counted and ignored', () => {
    const { hub, b } = twoHosts6(10);
    const nd = b.v6.stats.ndisc;
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C, { hlim: 254 }));
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C, { code: 1 }));
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C, { optLen: 0 }));
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C, { optLen: 2 }));
    inject(b, ns(C, 'ff02::1:ff00:b', 'ff02::1', MAC_C));
    inject(b, ns('::', 'ff02::1', B, null, { ethDst: 0x333300000001 }));
    inject(b, ns('::', 'ff02::1:ff00:b', B, MAC_C));
    inject(b, na(0x40, MAC_C, { src: C, dst: 'ff02::1', ethDst: 0x333300000001 }));
    inject(b, na(0x40, MAC_C, { src: C, dst: B, ethDst: MAC_B, hlim: 64 }));
    assert.equal(nd.invalid, 9);
    // a truncated NS
    const short = icmp6(C, B, 135, 0, new Uint8Array(12));
    inject(b, concat(ethHeader(MAC_B, MAC_C), ip6({ src: C, dst: B, nh: 58, hlim: 255 }, short)));
    assert.equal(nd.invalid, 10);
    assert.deepEqual(hub.from('B'), []);
    assert.equal(state(b, C), undefined);
    // an NS for an address that is not ours is ignored
    inject(b, ns(C, 'ff02::1:ff00:b', '2001:db8::1:b', MAC_C, { ethDst: 0x3333ff00000b }));
    assert.deepEqual(hub.from('B'), []);
  });
});

describe('Duplicate address detection (RFC 4862 §5.4)', () => {
  function oneHost(rng: Rng | null = null): { sched: VirtualScheduler; hub: Hub; b: Host6 } {
    const sched = new VirtualScheduler();
    const hub = new Hub(sched, 10);
    const b = makeHost6(sched, 'B', MAC_B, hub, { rng });
    return { sched, hub, b };
  }

  function flags(h: Host6, addr: string): string[] | undefined {
    return h.v6.addresses().find((x) => x.address.toString() === addr)?.flags;
  }

  it('sends one probe from :: after a random delay below 1 s, then the address is usable 1 s later (byte-exact probe)', () => {
    const { sched, hub, b } = oneHost(new Rng(7));
    b.v6.addAddress(b.dev, GB, 64);
    assert.deepEqual(flags(b, B), ['tentative', 'permanent']);
    runFor(sched, 1_000_000);
    // the link-local fe80::ff:fe00:b shares the solicited-node group: pick the probe by target
    const probes = hub.from('B').map((f) => ({ t: f.t, f: parseFrame(f.bytes), bytes: f.bytes }))
      .filter((x) => x.f.dst === 'ff02::1:ff00:b' && InetAddr.fromBytes(x.f.payload, 8).equals(GB));
    assert.equal(probes.length, 1);
    const t0 = probes[0]!.t;
    assert.ok(t0 >= 0 && t0 < 1_000_000);
    const msg = icmp6('::', 'ff02::1:ff00:b', 135, 0, concat(new Uint8Array(4), addrBytes(B)));
    assert.equal(toHex(probes[0]!.bytes),
      toHex(concat(ethHeader(0x3333ff00000b, MAC_B), ip6({ src: '::', dst: 'ff02::1:ff00:b', nh: 58, hlim: 255 }, msg))));
    runFor(sched, t0 + 1_000_000 - sched.now() - 1);
    assert.deepEqual(flags(b, B), ['tentative', 'permanent']);
    runFor(sched, 1);
    assert.deepEqual(flags(b, B), ['permanent']);
  });

  it('a tentative address is not a source, not answered for, and not a destination', () => {
    const { sched, hub, b } = oneHost();
    runFor(sched, 2_000_000);
    b.v6.addAddress(b.dev, GB, 64);
    assert.equal(b.v6.selectSource(b.dev, InetAddr.parse(C))?.toString(), 'fe80::ff:fe00:b');
    assert.equal(b.v6.isLocalAddress(GB), false);
    hub.frames.length = 0;
    inject(b, ns(C, 'ff02::1:ff00:b', B, MAC_C));
    const echo = icmp6(C, B, 128, 0, hex('00 01 00 01'));
    inject(b, concat(ethHeader(MAC_B, MAC_C), ip6({ src: C, dst: B, nh: 58 }, echo)));
    runFor(sched, 10);
    // only the DAD probe (from ::) went out: no NA, no echo reply
    assert.deepEqual(hub.from('B').map((f) => parseFrame(f.bytes).src), ['::']);
    assert.equal(state(b, C), undefined);
  });

  it('another node\'s probe for our tentative address marks it dadfailed; our own looped probe does not', () => {
    const { sched, b } = oneHost();
    b.v6.addAddress(b.dev, GB, 64);
    inject(b, ns('::', 'ff02::1:ff00:b', B, null, { from: MAC_B }));
    assert.deepEqual(flags(b, B), ['tentative', 'permanent']);
    inject(b, ns('::', 'ff02::1:ff00:b', B, null, { from: MAC_C }));
    assert.deepEqual(flags(b, B), ['tentative', 'dadfailed', 'permanent']);
    runFor(sched, 5_000_000);
    assert.deepEqual(flags(b, B), ['tentative', 'dadfailed', 'permanent']);
    assert.equal(b.v6.isLocalAddress(GB), false);
    assert.equal(b.v6.stats.ndisc.dadFailures, 1);
  });

  it('an NA for our tentative address marks it dadfailed', () => {
    const { b } = oneHost();
    b.v6.addAddress(b.dev, GB, 64);
    inject(b, na(0x20, MAC_C, { src: B, dst: 'ff02::1', ethDst: 0x333300000001, from: MAC_B }));
    assert.deepEqual(flags(b, B), ['tentative', 'permanent'], 'our own NA looped back is no conflict');
    inject(b, na(0x20, MAC_C, { src: B, dst: 'ff02::1', ethDst: 0x333300000001, from: MAC_C }));
    assert.deepEqual(flags(b, B), ['tentative', 'dadfailed', 'permanent']);
  });

  it('a host that owns the address answers a newcomer\'s probe with an NA to all-nodes; the newcomer fails DAD', () => {
    const { sched, hub, a } = twoHosts6(10);
    const c = makeHost6(sched, 'C', MAC_C, hub);
    runFor(sched, 2_000_000);
    hub.frames.length = 0;
    c.v6.addAddress(c.dev, GA, 64);
    runFor(sched, 100);
    const ans = ndp(hub, 'A');
    assert.deepEqual(ans, [['136', A, 'ff02::1', '33:33:00:00:00:01']]);
    assert.deepEqual(c.v6.addresses().find((x) => x.address.equals(GA))?.flags, ['tentative', 'dadfailed', 'permanent']);
    assert.deepEqual(a.v6.addresses().find((x) => x.address.equals(GA))?.flags, ['permanent']);
  });

  it('two hosts probing the same address at once both fail', () => {
    const sched = new VirtualScheduler();
    const hub = new Hub(sched, 10);
    const x = makeHost6(sched, 'X', MAC_A, hub);
    const y = makeHost6(sched, 'Y', MAC_B, hub);
    const same = InetAddr.parse('2001:db8::5');
    x.v6.addAddress(x.dev, same, 64);
    y.v6.addAddress(y.dev, same, 64);
    runFor(sched, 3_000_000);
    assert.ok(x.v6.addresses().find((v) => v.address.equals(same))!.flags.includes('dadfailed'));
    assert.ok(y.v6.addresses().find((v) => v.address.equals(same))!.flags.includes('dadfailed'));
    // the link-local addresses differ and passed
    assert.equal(x.v6.addresses().find((v) => v.address.equals(LL_A))?.flags.join(), 'permanent');
  });
});

describe('NDP: the stack goes quiet', () => {
  it('after a ping both neighbour entries settle (STALE) and no timer or frame remains', async () => {
    const { sched, hub, a, b } = await resolved();
    runFor(sched, 40_000_000);
    assert.equal(state(a, B), 'stale');
    assert.equal(state(b, A), 'stale');
    hub.frames.length = 0;
    runFor(sched, 600_000_000);
    assert.equal(hub.frames.length, 0);
    assert.equal(sched.pending, 0);
    assert.deepEqual([a.skbs.live, b.skbs.live], [0, 0]);
  });
});

describe('NDP: spoofed solicitations leave the neighbour table bounded', () => {
  it('3000 NS from distinct spoofed sources: at most gc_thresh3 entries, collected afterwards', () => {
    const { sched, hub, b } = twoHosts6(10);
    for (let i = 0; i < 3000; i++) {
      const src = `2001:db8::1:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}`;
      inject(b, ns(src, 'ff02::1:ff00:b', B, 0x020000100000 + i));
      assert.ok(b.v6.neigh.size <= 1024);
      if (i % 500 === 0) runFor(sched, 1000);
    }
    assert.ok(b.v6.neigh.stats.tableFulls > 0 || b.v6.neigh.stats.forcedGcRuns > 0);
    runFor(sched, 200_000_000);
    assert.ok(b.v6.neigh.size < 128, `size ${b.v6.neigh.size}`);
    hub.frames.length = 0;
    runFor(sched, 100_000_000);
    assert.equal(b.skbs.live, 0);
  });
});
