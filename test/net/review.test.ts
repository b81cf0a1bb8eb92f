// Adversarial review of the IPv4 layer against Linux behaviour (ip_fragment.c, icmp.c, arp.c,
// neighbour.c): each case failed before its fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrnoError, Network } from '../../src/index.js';
import { InetAddr } from '../../src/inet/index.js';
import { MAX_HEADER, type IcmpErr } from '../../src/net/index.js';
import { skbCopyBits, skbFree, skbPut, type SkBuff } from '../../src/skb/index.js';
import { TcpProto } from '../../src/tcp/index.js';
import { Rng } from '../../src/rand/index.js';
import {
  MAC_A, MAC_B, concat, ethHeader, icmpMsg, inject, ipBytes, ipPacket, macBytes, pattern, runFor, toHex, twoHosts, type Host,
} from './harness.js';

function recorder(h: Host): { bytes: Uint8Array }[] {
  const got: { bytes: Uint8Array }[] = [];
  h.protos.set(253, {
    rcv(skb: SkBuff) {
      const b = new Uint8Array(skb.len);
      assert.equal(skbCopyBits(skb, 0, b, 0, skb.len), 0);
      got.push({ bytes: b });
      skbFree(skb);
    },
  });
  return got;
}

function pair(): ReturnType<typeof twoHosts> {
  const p = twoHosts(10);
  p.a.cfg.addNeighbour('eth0', '10.0.0.2', MAC_B);
  p.b.cfg.addNeighbour('eth0', '10.0.0.1', MAC_A);
  return p;
}

interface FragOpts { ident?: number; off: number; mf: boolean; src?: string; dst?: string; proto?: number; options?: Uint8Array; ethDst?: number }

function fragFrame(o: FragOpts, payload: Uint8Array): Uint8Array {
  const frag = (o.mf ? 0x2000 : 0) | (o.off >> 3);
  return concat(ethHeader(o.ethDst ?? MAC_A, MAC_B, 0x0800),
    ipPacket({ proto: o.proto ?? 253, src: o.src ?? '10.0.0.2', dst: o.dst ?? '10.0.0.1', ident: o.ident ?? 0x4242, frag, options: o.options }, payload));
}

function l4(h: Host, payload: Uint8Array): SkBuff {
  const skb = h.skbs.alloc(MAX_HEADER + payload.length, MAX_HEADER)!;
  skb.buf.set(payload, skbPut(skb, payload.length));
  return skb;
}

describe('review: IPv4 reassembly', () => {
  it('a first fragment with IP options and later ones without: the transport gets the payload at the right offset', () => {
    const { sched, a } = pair();
    const got = recorder(a);
    const data = pattern(64);
    // NOP x4: not copied into later fragments (Linux ip_options_fragment)
    inject(a, fragFrame({ off: 0, mf: true, options: Uint8Array.of(1, 1, 1, 1) }, data.subarray(0, 32)));
    inject(a, fragFrame({ off: 32, mf: false }, data.subarray(32)));
    runFor(sched, 10);
    assert.equal(got.length, 1);
    assert.equal(toHex(got[0]!.bytes), toHex(data));
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: ICMP time exceeded on reassembly timeout (ip_expire → icmp_send)', () => {
  it('the inner ICMP type is read wherever it sits: fragment 0 of an echo request gets time exceeded, of an ICMP error nothing', () => {
    const { sched, link, a } = pair();
    const echo = icmpMsg(8, 0, 0x00050001, pattern(64));
    inject(a, fragFrame({ ident: 1, off: 0, mf: true, proto: 1 }, echo.subarray(0, 32)));
    const unreach = icmpMsg(3, 1, 0, pattern(64));
    inject(a, fragFrame({ ident: 2, off: 0, mf: true, proto: 1 }, unreach.subarray(0, 32)));
    runFor(sched, 31_000_000);
    const out = link.from('A');
    assert.equal(out.length, 1);
    assert.equal(toHex(out[0]!.bytes.subarray(34, 36)), '0b 01');
    assert.equal(toHex(out[0]!.bytes.subarray(42 + 20, 42 + 24)), toHex(echo.subarray(0, 4)), 'quotes the echo request');
    assert.deepEqual([a.v4.stats.reasmTimeout, a.v4.stats.icmp.outTimeExcds], [2, 1]);
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });

  it('no time exceeded about a fragment 0 that came in a link-layer broadcast frame (icmp_send: pkt_type)', () => {
    const { sched, link, a } = pair();
    recorder(a);
    inject(a, fragFrame({ off: 0, mf: true, ethDst: 0xffffffffffff }, pattern(32)));
    runFor(sched, 31_000_000);
    assert.equal(a.v4.stats.reasmTimeout, 1);
    assert.equal(link.from('A').length, 0);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: reassembly duplicates and overlaps by run (inet_frag_queue_insert)', () => {
  it('in order, a fragment inside the run of two earlier ones is a duplicate: dropped alone, the datagram completes', () => {
    const { sched, a } = pair();
    const got = recorder(a);
    const data = pattern(24);
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 8)));
    inject(a, fragFrame({ off: 8, mf: true }, data.subarray(8, 16)));
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 16)));
    inject(a, fragFrame({ off: 4, mf: true }, data.subarray(4, 12)));
    assert.deepEqual([a.v4.stats.reasmOverlaps, a.v4.stats.reasmFails, a.v4.reasm.queues], [0, 0, 1]);
    inject(a, fragFrame({ off: 16, mf: false }, data.subarray(16)));
    runFor(sched, 10);
    assert.equal(got.length, 1);
    assert.equal(toHex(got[0]!.bytes), toHex(data));
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.skbs.live, 0);
  });

  it('out of order, the same fragment spans two runs: an overlap, the queue is dropped', () => {
    const { a } = pair();
    recorder(a);
    const data = pattern(24);
    inject(a, fragFrame({ off: 8, mf: true }, data.subarray(8, 16)));
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 8)));
    inject(a, fragFrame({ off: 0, mf: true }, data.subarray(0, 16)));
    assert.deepEqual([a.v4.stats.reasmOverlaps, a.v4.stats.reasmFails, a.v4.reasm.queues], [1, 1, 0]);
    assert.equal(a.v4.reasm.mem, 0);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: ICMP error rate limits (icmp_ratelimit, icmp_msgs_per_sec / burst)', () => {
  const unknownProto = (src: string, ident: number): Uint8Array =>
    concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 254, src, dst: '10.0.0.1', ident }, pattern(16)));

  it('per destination: a burst of 6, then one per second (inet_peer_xrlim_allow, XRLIM_BURST_FACTOR 6)', () => {
    const { sched, a } = pair();
    const st = a.v4.stats.icmp;
    for (let i = 0; i < 20; i++) inject(a, unknownProto('10.0.0.2', i));
    assert.deepEqual([a.v4.stats.inUnknownProtos, st.outDestUnreachs, st.rateLimitHost, st.rateLimitGlobal], [20, 6, 14, 0]);
    runFor(sched, 999_000);
    inject(a, unknownProto('10.0.0.2', 100));
    assert.equal(st.outDestUnreachs, 6, 'no token yet');
    runFor(sched, 1_000);
    inject(a, unknownProto('10.0.0.2', 101));
    inject(a, unknownProto('10.0.0.2', 102));
    assert.equal(st.outDestUnreachs, 7, 'one more after a second');
    runFor(sched, 10_000_000);
    for (let i = 0; i < 10; i++) inject(a, unknownProto('10.0.0.2', 200 + i));
    assert.equal(st.outDestUnreachs, 13, 'the bucket refills to 6, no more');
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });

  it('globally: 50 at once across destinations, then 1000 per second; echo replies are not limited', () => {
    const { sched, a } = pair();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const st = a.v4.stats.icmp;
    for (let i = 0; i < 200; i++) inject(a, unknownProto(`10.0.${1 + (i >> 8)}.${i & 0xff}`, i));
    assert.deepEqual([st.outDestUnreachs, st.rateLimitGlobal], [50, 150]);
    runFor(sched, 10_000);
    inject(a, unknownProto('10.0.9.1', 1));
    assert.equal(st.outDestUnreachs, 50, 'refilled at most every 20 ms');
    runFor(sched, 10_000);
    for (let i = 0; i < 100; i++) inject(a, unknownProto(`10.0.7.${i}`, i));
    assert.equal(st.outDestUnreachs, 70, '20 ms earn 20');
    for (let i = 0; i < 30; i++) inject(a, concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1', ident: i }, icmpMsg(8, 0, i, pattern(8)))));
    assert.equal(st.outEchoReps, 30);
    assert.ok(a.v4.icmp.rateLimit.size <= 4096);
    runFor(sched, 5_000_000);
    assert.equal(a.skbs.live, 0);
  });

  it('errors about datagrams that came in on lo are not limited', () => {
    const { sched, a } = pair();
    for (let i = 0; i < 20; i++) {
      assert.equal(a.inet.output(l4(a, pattern(8)), InetAddr.ANY4, InetAddr.parse('127.0.0.1'), 254), 0);
    }
    runFor(sched, 10);
    assert.equal(a.v4.stats.icmp.outDestUnreachs, 20);
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: ICMP errors in (icmp_rcv, icmp_unreach)', () => {
  function setup(): { a: Host; errs: { type: number; code: number; errno: number; fatal: boolean; info: number }[]; quoted: Uint8Array } {
    const { a } = pair();
    const errs: { type: number; code: number; errno: number; fatal: boolean; info: number }[] = [];
    a.protos.set(253, { rcv: skbFree, err: (e: IcmpErr) => { errs.push({ type: e.type, code: e.code, errno: e.errno, fatal: e.fatal, info: e.info }); } });
    const quoted = ipPacket({ proto: 253, src: '10.0.0.1', dst: '10.0.0.2' }, pattern(8));
    return { a, errs, quoted };
  }
  const icmpTo = (dst: string, ethDst: number, m: Uint8Array): Uint8Array =>
    concat(ethHeader(ethDst, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst }, m));

  it('an error sent to a broadcast or multicast address reaches no transport', () => {
    const { a, errs, quoted } = setup();
    inject(a, icmpTo('10.0.0.255', 0xffffffffffff, icmpMsg(3, 3, 0, quoted)));
    inject(a, icmpTo('255.255.255.255', 0xffffffffffff, icmpMsg(3, 1, 0, quoted)));
    assert.deepEqual(errs, []);
    assert.equal(a.v4.stats.icmp.inErrors, 2);
    inject(a, icmpTo('10.0.0.1', MAC_A, icmpMsg(3, 3, 0, quoted)));
    assert.deepEqual(errs, [{ type: 3, code: 3, errno: 111, fatal: true, info: 0 }]);
    assert.equal(a.skbs.live, 0);
  });

  it('unreachable codes over 15 are ignored; a parameter problem is EPROTO, fatal, with its pointer', () => {
    const { a, errs, quoted } = setup();
    inject(a, icmpTo('10.0.0.1', MAC_A, icmpMsg(3, 16, 0, quoted)));
    assert.deepEqual(errs, []);
    inject(a, icmpTo('10.0.0.1', MAC_A, icmpMsg(12, 0, 0x09000000, quoted)));
    assert.deepEqual(errs, [{ type: 12, code: 0, errno: 71, fatal: true, info: 9 }]);
    inject(a, icmpTo('10.0.0.1', MAC_A, icmpMsg(19, 0, 0, quoted)));
    assert.equal(a.v4.stats.icmp.inErrors, 1, 'type 19: unknown');
    assert.equal(a.skbs.live, 0);
  });
});

function arpFrame(op: number, ethDst: number, sha: number, sip: string, tha: number, tip: string): Uint8Array {
  return concat(ethHeader(ethDst, sha, 0x0806), Uint8Array.of(0, 1, 8, 0, 6, 4, 0, op), macBytes(sha), ipBytes(sip), macBytes(tha), ipBytes(tip));
}

describe('review: neighbour updates', () => {
  it('STALE → DELAY on use refreshes `updated`: a different MAC in a reply within locktime does not override', () => {
    const { sched, a } = twoHosts(10);
    const MAC_EVIL = 0x0200000000ee;
    inject(a, arpFrame(1, 0xffffffffffff, MAC_B, '10.0.0.2', 0, '10.0.0.1'));
    assert.deepEqual(a.v4.neighbours().map((n) => [n.addr, n.mac, n.state]), [['10.0.0.2', MAC_B, 'stale']]);
    runFor(sched, 10_000_000);
    assert.equal(a.inet.output(l4(a, pattern(8)), InetAddr.ANY4, InetAddr.parse('10.0.0.2'), 253), 0);
    assert.equal(a.v4.neighbours()[0]!.state, 'delay');
    runFor(sched, 500_000);
    inject(a, arpFrame(2, MAC_A, MAC_EVIL, '10.0.0.2', MAC_A, '10.0.0.1'));
    assert.deepEqual(a.v4.neighbours().map((n) => [n.addr, n.mac]), [['10.0.0.2', MAC_B]], 'first answer wins within locktime');
    runFor(sched, 100_000_000);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: IPv4 options on input (ip_options_compile, ip_rcv_options)', () => {
  const echoWith = (options: number[]): Uint8Array =>
    concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1', options: Uint8Array.from(options) }, icmpMsg(8, 0, 0x00070001, pattern(8))));

  it('a well-formed record route is accepted; malformed options are a header error answered with a parameter problem pointing at the bad byte', () => {
    const { sched, link, a } = pair();
    inject(a, echoWith([7, 7, 4, 0, 0, 0, 0, 0]));
    runFor(sched, 10);
    assert.equal(a.v4.stats.icmp.outEchoReps, 1, 'control');
    for (const [opts, ptr] of [[[7, 1, 0, 0], 20], [[1, 7, 7, 3, 0, 0, 0, 0], 23], [[68, 8, 5, 1, 0, 0, 0, 0], 22], [[148, 2, 0, 0], 21]] as const) {
      link.frames.length = 0;
      const frame = echoWith([...opts]);
      inject(a, frame);
      runFor(sched, 10);
      const out = link.from('A');
      assert.equal(out.length, 1, `options ${opts.join(',')}`);
      const f = out[0]!.bytes;
      assert.equal(toHex(f.subarray(34, 35)), '0c', 'parameter problem');
      assert.equal(f[35], 0);
      assert.equal(f[38], ptr, `pointer for ${opts.join(',')}`);
      assert.equal(toHex(f.subarray(42)), toHex(frame.subarray(14)), 'quotes the datagram');
    }
    assert.deepEqual([a.v4.stats.inHdrErrors, a.v4.stats.icmp.outEchoReps], [4, 1]);
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });

  it('source-routed datagrams (LSRR / SSRR) are dropped silently (accept_source_route 0)', () => {
    const { sched, link, a } = pair();
    inject(a, echoWith([0x83, 7, 4, 10, 0, 0, 9, 0]));
    inject(a, echoWith([0x89, 7, 4, 10, 0, 0, 9, 0]));
    runFor(sched, 10);
    assert.equal(link.from('A').length, 0);
    assert.deepEqual([a.v4.stats.inDiscards, a.v4.stats.icmp.inEchos], [2, 0]);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: martian sources on input (fib_validate_source)', () => {
  it('a datagram from a directed broadcast or from one of our own addresses is dropped: no broadcast echo reply (smurf), no self-talk', () => {
    const { sched, link, a } = pair();
    const echo = (src: string): Uint8Array =>
      concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src, dst: '10.0.0.1' }, icmpMsg(8, 0, 0x00070001, pattern(8))));
    inject(a, echo('10.0.0.255'));
    inject(a, echo('10.0.0.1'));
    runFor(sched, 10);
    assert.equal(link.from('A').length, 0);
    assert.deepEqual([a.v4.stats.inDiscards, a.v4.stats.icmp.inEchos], [2, 0]);
    inject(a, echo('10.0.0.2'));
    runFor(sched, 10);
    assert.equal(link.from('A').length, 1, 'control');
    runFor(sched, 1000);
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: neighbour table bounds (gc_entries)', () => {
  it('permanent entries do not count towards gc_thresh2/3: dynamic entries are still created next to 1024 static ones', () => {
    const { a } = twoHosts(10);
    const tbl = a.v4.neigh;
    for (let i = 0; i < 1024; i++) a.v4.addNeighbour(a.dev, 0x0a010000 + i, 0x020000300000 + i);
    assert.equal(tbl.size, 1024);
    assert.ok(tbl.eventSolicit(a.dev, InetAddr.parse('10.0.0.2'), MAC_B) !== null);
    assert.deepEqual([tbl.size, tbl.stats.tableFulls], [1025, 0]);
  });
});

describe('review: closing the IPv4 stack', () => {
  it('close() rejects pings in flight with ENETDOWN and drops reassembly queues and their timers', async () => {
    const { sched, link, a } = pair();
    link.cut = true;
    recorder(a);
    const p = a.v4.ping('10.0.0.2');
    const st = { err: null as unknown };
    p.catch((e: unknown) => { st.err = e; });
    inject(a, fragFrame({ off: 0, mf: true }, pattern(32)));
    assert.equal(a.v4.reasm.queues, 1);
    a.v4.close();
    await new Promise((r) => setImmediate(r));
    assert.equal((st.err as { code?: string } | null)?.code, 'ENETDOWN');
    assert.deepEqual([a.v4.reasm.queues, a.v4.reasm.mem, a.v4.icmp.pendingPings], [0, 0, 0]);
    assert.equal(sched.pending, 0, 'quiet');
    assert.equal(a.skbs.live, 0);
  });
});

describe('review: a ping never outlives Network.close()', () => {
  it('a ping in flight rejects with ENETDOWN when the network closes', async () => {
    const net = new Network({ seed: 3 });
    const a = net.addHost('a');
    const b = net.addHost('b');
    net.connect(a.addDevice('eth0'), b.addDevice('eth0'), { gbps: 10, delayUs: 5 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    const p4 = a.ip.ping('10.0.0.9', { timeoutUs: 60_000_000 });
    const seen: string[] = [];
    const done = p4.then(() => seen.push('resolved'), (e: unknown) => seen.push(e instanceof ErrnoError ? e.code : String(e)));
    assert.equal(net.now, 0);
    net.close(); // before the ARP resolution could fail
    await done;
    assert.deepEqual(seen, ['ENETDOWN']);
    assert.equal(net.now, 0);
  });
});

describe('review: path MTU lowered only when a socket takes the report (Linux: from the err handler)', () => {
  const fragNeeded = (mtu: number, quoted: Uint8Array): Uint8Array =>
    concat(ethHeader(MAC_A, MAC_B, 0x0800), ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1' }, icmpMsg(3, 4, mtu, quoted)));
  const quote = (proto: number, dst: string): Uint8Array =>
    ipPacket({ proto, src: '10.0.0.1', dst }, pattern(8)).subarray(0, 28);

  it('forged reports about a protocol nobody runs, or that the protocol rejects, change nothing; a taken one lowers it', () => {
    const { a } = pair();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const far = InetAddr.parse('8.8.8.8');
    inject(a, fragNeeded(600, quote(254, '8.8.8.8')));
    assert.equal(a.inet.route(far)!.mtu, 1500, 'no transport for protocol 254');
    let verdict: boolean | undefined = false;
    const infos: number[] = [];
    a.protos.set(253, { rcv: skbFree, err: (e: IcmpErr) => { infos.push(e.info); return verdict; } });
    inject(a, fragNeeded(600, quote(253, '8.8.8.8')));
    assert.equal(a.inet.route(far)!.mtu, 1500, 'the transport found no socket');
    verdict = undefined;
    inject(a, fragNeeded(600, quote(253, '8.8.8.8')));
    assert.equal(a.inet.route(far)!.mtu, 600);
    assert.deepEqual(infos, [600, 600]);
    inject(a, fragNeeded(1000, quote(1, '8.8.8.8')));
    assert.equal(a.inet.route(far)!.mtu, 600, 'no echo request of ours was quoted');
    assert.equal(a.skbs.live, 0);
  });
  it('TCP takes a report only for one of its connections: a forged frag-needed quoting a TCP segment of no connection leaves the path MTU', () => {
    const { a, sched } = pair();
    a.cfg.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const tcp = new TcpProto(a.inet, a.skbs, a.mem, sched, new Rng(7));
    const far = InetAddr.parse('8.8.8.8');
    // a TCP header (ports 40000 → 443, seq 1) of a connection that does not exist
    const seg = new Uint8Array(8);
    seg[0] = 40000 >> 8; seg[1] = 40000 & 0xff; seg[2] = 443 >> 8; seg[3] = 443 & 0xff; seg[7] = 1;
    const q = ipPacket({ proto: 6, src: '10.0.0.1', dst: '8.8.8.8' }, seg).subarray(0, 28);
    const before = tcp.stats.icmpNoSock;
    inject(a, fragNeeded(600, q));
    assert.equal(tcp.stats.icmpNoSock, before + 1, 'TCP saw the report');
    assert.equal(a.inet.route(far)!.mtu, 1500, 'and did not take it');
    assert.equal(a.skbs.live, 0);
  });
});
