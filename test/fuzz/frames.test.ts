// Frame fuzz, IPv4 and IPv6. Frames are built from the wire Reprs with valid checksums and real
// addressing (ARP / NDP, IPv4 with options and fragments / IPv6 with extension headers and
// fragments, ICMP / ICMPv6, UDP, TCP to a listener, to an established connection's real 4-tuple
// near its real sequence numbers, to closed ports, raw junk), then mutated field by field (flags,
// lengths, offsets, options, ports, seq/ack; checksums mostly recomputed, sometimes left wrong)
// and byte by byte (flips, truncation, padding), and offered to the wire towards host B, so they
// arrive at B's NIC as real frames do. Each fast-check run is one batch on a fresh pair of hosts;
// after it: nothing threw, the established connection still carries bytes both ways (checked byte
// by byte: forged segments carry A's own stream bytes, so whatever B accepts is what A would
// have sent), the stack goes quiet (a bounded number of frames in the next virtual second, none
// at all once every socket is closed and the timers ran out), and no skb or devmem token is left
// behind. How many frames reached each layer is derived from B's counters (minus what host A
// itself sent) and a floor is asserted per layer. Segments that desynchronise B from A (new
// bytes, a FIN or a RST right at B's rcv_nxt, a TSval ahead of A's clock that B would take as
// ts_recent) are kept out of the batches, whose connection must survive; separate tests at the
// end inject them and check what a stack can still guarantee (TCP issue 6). FUZZ_RUNS=N sets the batches per family, FUZZ_SEED=S the seed; FUZZ_DEBUG=1 names the
// first frame after which the hosts keep talking and traces a transfer that stalls.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, NcdevmemPattern, type Socket, type DeviceMemory } from '../../src/index.js';
import { makePair, PORT, type Pair } from '../e2e/helpers.js';
import { ConnTrack, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, inject, l4ChecksumOk, nicRxPackets, patternBytes, rd16, rd32, sum16, tapWire, tcpOf, type Built, type Rig } from './kit.js';
import { build4, frameDesc4, STRADDLE, type FrameDesc4, type TcpDesc } from './gen4.js';
import { build6, frameDesc6, type FrameDesc6 } from './gen6.js';
import type { AddrWords } from '../../src/wire/ipv6.js';

const PERIOD = 7;
const UDP_PORT = 5353;
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const DEBUG = process.env.FUZZ_DEBUG !== undefined;
const dbg = (...a: unknown[]): void => {
  if (DEBUG) console.error(...a);
};
/** frames in the next virtual second after a batch, per injected frame (plus a constant) */
const QUIET_PER_FRAME = 1;
const QUIET_BASE = 40;
/** each layer must see at least this share of the frames aimed at it */
const FLOOR = 0.25;

type Counts = Record<string, number>;

interface Family<D> {
  name: string;
  /** the layers whose reach is counted, link first */
  layers: readonly string[];
  gen: fc.Arbitrary<D>;
  /** the layers each frame of this description is aimed at (besides link) */
  aims(d: D): readonly string[];
  /** the layers the description as a whole is aimed at once (the L4 of a fragmented datagram, ...) */
  innerAims(d: D): readonly string[];
  build(d: D, e: Env, allowDesync: boolean): Built[];
  /** B's counters per layer (except listener / estab / link, which are common) */
  counters(e: Env): Counts;
  /** counts a frame A sent against the layers it reaches at B */
  classify(c: Counts, track: ConnTrack, b: Uint8Array): void;
  /** sets up addresses (and devmem steering) on the pair; returns B's address text */
  configure(p: Pair): Promise<{ addrB: string; any: string; af: number }>;
}

interface Env {
  p: Pair;
  rig: Rig;
  track: ConnTrack;
  dmabuf: DeviceMemory;
  ls: Socket;
  udp: UdpSink;
  cs: Socket;
  conn: Socket;
  fromA: Counts;
  /** A's stream: bytes the application wrote; B's validation pattern (running) and bytes read */
  aWritten: number;
  bRead: number;
  bPattern: NcdevmemPattern;
  /** B's stream towards A */
  bWritten: number;
  aRead: number;
}

function zero(layers: readonly string[]): Counts {
  const c: Counts = {};
  for (const l of layers) c[l] = 0;
  return c;
}

/** UDP datagrams that reached UDP's parser (the `Udp` MIB: delivered, no port, errors) */
function udpIn(e: Env): number {
  const m = e.p.b.kernel.udp.mib;
  return m.inDatagrams + m.noPorts + m.inErrors + m.ignoredMulti;
}


const aimsV4: Record<FrameDesc4['body']['aim'], readonly string[]> = {
  arp: ['arp'], ip4: ['ip4'], frag4: ['ip4', 'frag4'], icmp4: ['ip4', 'icmp4'], udp4: ['ip4', 'udp4'],
  tcpListen4: ['ip4', 'tcp4', 'listener'], tcpEstab4: ['ip4', 'tcp4', 'estab'], tcpClosed4: ['ip4', 'tcp4'], raw: [],
};

const V4: Family<FrameDesc4> = {
  name: 'IPv4',
  layers: ['link', 'arp', 'ip4', 'frag4', 'icmp4', 'udp4', 'tcp4', 'listener', 'estab'],
  gen: frameDesc4,
  aims: (d) => aimsV4[d.body.aim],
  innerAims: (d) => {
    const b = d.body;
    if (b.aim === 'frag4') return [b.frag.inner === 'udp' ? 'udp4' : 'icmp4'];
    if (b.aim === 'ip4') return b.l4 === 'icmp' ? ['icmp4'] : b.l4 === 'udp' ? ['udp4'] : b.l4 === 'tcpListen' ? ['tcp4', 'listener'] : [];
    return [];
  },
  build: (d, e, allowDesync) => build4(d, {
    macA: e.p.ea.mac, macB: e.p.eb.mac, ipA: 0x0a000001, ipB: 0x0a000002, bcastB: 0x0a0000ff, listenPort: PORT, udpPort: UDP_PORT,
    conn: e.track, period: PERIOD, allowDesync,
  }),
  counters(e) {
    const ip = e.p.b.ip.stats;
    return {
      arp: ip.arp.inRequests + ip.arp.inReplies + ip.arp.inErrors,
      ip4: ip.inReceives,
      frag4: ip.reasmReqds,
      icmp4: ip.icmp.inMsgs + ip.icmp.inErrors,
      udp4: udpIn(e),
      tcp4: e.p.b.kernel.tcp.stats.inSegs,
    };
  },
  classify(c, track, b) {
    const et = rd16(b, 12);
    if (et === ETH_P_ARP) c.arp!++;
    if (et !== ETH_P_IP || b.length < 34) return;
    c.ip4!++;
    if ((rd16(b, 20) & 0x3fff) !== 0) c.frag4!++;
    const proto = b[23];
    if (proto === 1) c.icmp4!++;
    if (proto === 17) c.udp4!++;
    if (proto === 6) {
      c.tcp4!++;
      const t = 14 + (b[14]! & 15) * 4;
      if (rd16(b, t) === track.aPort && rd16(b, t + 2) === PORT) c.estab!++;
    }
  },
  async configure(p) {
    await devmemOn(p, 'tcp4', '10.0.0.2');
    return { addrB: '10.0.0.2', any: '0.0.0.0', af: C.AF_INET };
  },
};

const aimsV6: Record<FrameDesc6['body']['aim'], readonly string[]> = {
  nd6: ['ip6', 'icmp6', 'nd6'], ip6: ['ip6'], frag6: ['ip6', 'frag6'], icmp6: ['ip6', 'icmp6'], udp6: ['ip6', 'udp6'],
  tcpListen6: ['ip6', 'tcp6', 'listener'], tcpEstab6: ['ip6', 'tcp6', 'estab'], tcpClosed6: ['ip6', 'tcp6'], raw6: [],
};

/** fe80::/64 + the modified EUI-64 of `mac` */
function linkLocal(mac: number): AddrWords {
  const hi = Math.floor(mac / 0x1000000);
  const lo = mac % 0x1000000;
  return { w0: 0xfe800000, w1: 0, w2: ((((hi >>> 16) ^ 0x02) << 24) | ((hi & 0xffff) << 8) | 0xff) >>> 0, w3: (0xfe000000 | lo) >>> 0 };
}

const V6: Family<FrameDesc6> = {
  name: 'IPv6',
  layers: ['link', 'nd6', 'ip6', 'frag6', 'icmp6', 'udp6', 'tcp6', 'listener', 'estab'],
  gen: frameDesc6,
  aims: (d) => aimsV6[d.body.aim],
  innerAims: (d) => {
    const b = d.body;
    if (b.aim === 'frag6') return [b.frag.inner === 'udp' ? 'udp6' : 'icmp6'];
    if (b.aim === 'ip6') return b.l4 === 'icmp' ? ['icmp6'] : b.l4 === 'udp' ? ['udp6'] : b.l4 === 'tcpListen' ? ['tcp6', 'listener'] : [];
    return [];
  },
  build: (d, e, allowDesync) => build6(d, {
    macA: e.p.ea.mac, macB: e.p.eb.mac, ipA: { w0: 0xfd000000, w1: 0, w2: 0, w3: 1 }, ipB: { w0: 0xfd000000, w1: 0, w2: 0, w3: 2 },
    llA: linkLocal(e.p.ea.mac), llB: linkLocal(e.p.eb.mac), listenPort: PORT, udpPort: UDP_PORT, conn: e.track, period: PERIOD, allowDesync,
  }),
  counters(e) {
    const s = e.p.b.kernel.ipv6.stats;
    const i = s.icmp;
    return {
      nd6: i.inNeighborSolicits + i.inNeighborAdvertisements + i.inRouterSolicits + i.inRouterAdvertisements + i.inRedirects + s.ndisc.invalid,
      ip6: s.inReceives,
      frag6: s.reasmReqds,
      icmp6: i.inMsgs + i.inErrors,
      udp6: udpIn(e),
      tcp6: e.p.b.kernel.tcp.stats.inSegs,
    };
  },
  classify(c, track, b) {
    if (rd16(b, 12) !== ETH_P_IPV6 || b.length < 54) return;
    c.ip6!++;
    const nh = b[20];
    if (nh === 44) c.frag6!++;
    if (nh === 58) {
      c.icmp6!++;
      if (b.length > 54 && b[54]! >= 133 && b[54]! <= 137) c.nd6!++;
    }
    if (nh === 17) c.udp6!++;
    if (nh === 6) {
      c.tcp6!++;
      if (rd16(b, 54) === track.aPort && rd16(b, 56) === PORT) c.estab!++;
    }
  },
  async configure(p) {
    p.a.ip.addAddress('eth0', 'fd00::1/64');
    p.b.ip.addAddress('eth0', 'fd00::2/64');
    // duplicate address detection
    await p.net.sleep(3_000_000);
    await devmemOn(p, 'tcp6', 'fd00::2');
    return { addrB: 'fd00::2', any: '::', af: C.AF_INET6 };
  },
};

/** B's NIC set up the way ncdevmem does it, port PORT steered to a queue bound to a dma-buf */
async function devmemOn(p: Pair, flowType: 'tcp4' | 'tcp6', dstIp: string): Promise<DeviceMemory> {
  p.b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  p.b.ethtool.setRss('eth0', { equal: p.devq });
  p.b.ethtool.addNtupleRule('eth0', { flowType, dstIp, dstPort: PORT, action: p.devq });
  const dmabuf = p.b.allocDeviceMemory(2 << 20);
  await p.b.netlink().netdev.bindRx({ ifindex: p.eb.ifindex, fd: dmabuf.fd, queues: [{ id: p.devq, type: 'rx' }] });
  dmabufs.set(p, dmabuf);
  return dmabuf;
}
const dmabufs = new Map<Pair, DeviceMemory>();

/** B's UDP socket: `drain` reads every queued datagram (the Udp MIB counts them when read) */
interface UdpSink {
  drain(): Promise<number>;
  close(): void;
}

/** a UDP socket bound on B */
function bindUdp(p: Pair, af: number, any: string, port: number): UdpSink {
  const s = p.b.socket(af, C.SOCK_DGRAM);
  s.bind(any, port);
  return {
    async drain() {
      let n = 0;
      for (;;) {
        try {
          await s.recvfrom(65536, C.MSG_DONTWAIT);
          n++;
        } catch (err) {
          if ((err as { code?: string }).code !== 'EAGAIN') throw err;
          return n;
        }
      }
    },
    close: () => s.close(),
  };
}

async function setup<D>(f: Family<D>, seed: number): Promise<Env> {
  const p = makePair({ seed });
  const track = new ConnTrack(PORT);
  const fromA = zero(f.layers);
  const rig = tapWire(p.net, p.a, p.b, p.ea, p.eb, p.net.wires[0]!, (b) => {
    track.fromA(b);
    fromA.link!++;
    if (b.length >= 14) f.classify(fromA, track, b);
    if (DEBUG) trace('A', b);
  }, (b) => {
    track.fromB(b);
    if (DEBUG) trace('B', b);
  });
  const { addrB, any, af } = await f.configure(p);
  const dmabuf = dmabufs.get(p)!;
  dmabufs.delete(p);
  const ls = p.b.socket(af, C.SOCK_STREAM);
  ls.bind(any, PORT);
  ls.listen(8);
  const udp = bindUdp(p, af, any, UDP_PORT);
  const cs = p.a.socket(af, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect(addrB, PORT);
  const conn = await acc;
  const e: Env = { p, rig, track, dmabuf, ls, udp, cs, conn, fromA, aWritten: 0, bRead: 0, bPattern: new NcdevmemPattern(PERIOD), bWritten: 0, aRead: 0 };
  // some traffic both ways first, so that the connection is mid-stream
  await transfer(e, 3000, 2000);
  return e;
}

/** all counters of B for family `f` */
function counters<D>(f: Family<D>, e: Env): Counts {
  return { ...f.counters(e), link: nicRxPackets(e.p.eb), listener: e.ls.tcpInfo().segsIn, estab: e.conn.tcpInfo().segsIn };
}

/** rejects when `p` has not settled after `us` of virtual time */
function within<T>(e: Env, us: number, p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, e.p.net.sleep(us).then(() => { throw new Error(`${what}: no progress in ${us} µs of virtual time`); })]);
}

/**
 * A writes `ab` more bytes of its stream and B reads at least up to there (B may have accepted
 * forged bytes beyond: they are A's stream bytes too); B writes `ba` bytes and A reads them. Every
 * byte is checked against its stream offset. Throws on a reset / EOF (the caller decides whether
 * the batch explains it).
 */
async function transfer(e: Env, ab: number, ba: number): Promise<void> {
  const sendA = (async () => {
    const data = patternBytes(e.aWritten, ab, PERIOD);
    let off = 0;
    while (off < ab) off += await e.cs.send(data.subarray(off));
    e.aWritten += ab;
  })();
  const targetB = e.aWritten + ab;
  const readB = (async () => {
    while (e.bRead < targetB) {
      const m = await e.conn.recvmsg({ iovLen: 1 << 16, controlLen: 8192, flags: C.MSG_SOCK_DEVMEM });
      if (m.length === 0) throw new Error('B: EOF on the established connection');
      let linear = 0;
      let bad = 0;
      if (m.cmsgs.length === 0) bad += e.bPattern.check(m.bytes, 0, m.length);
      for (const c of m.cmsgs) {
        if (c.kind === 'linear') {
          bad += e.bPattern.check(m.bytes, linear, c.fragSize);
          linear += c.fragSize;
        } else if (c.kind === 'dmabuf') {
          bad += e.dmabuf.validate(c.fragOffset, c.fragSize, e.bPattern);
          e.conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
        }
      }
      assert.equal(bad, 0, `B read ${bad} wrong bytes at stream offset ${e.bRead}..${e.bRead + m.length}`);
      e.bRead += m.length;
    }
  })();
  const sendB = (async () => {
    const data = patternBytes(1_000_000 + e.bWritten, ba, 251);
    let off = 0;
    while (off < ba) off += await e.conn.send(data.subarray(off));
    e.bWritten += ba;
  })();
  const readA = (async () => {
    const want = e.aRead + ba;
    while (e.aRead < want) {
      const got = await e.cs.recv(want - e.aRead);
      if (got.length === 0) throw new Error('A: EOF on the established connection');
      assert.deepEqual(got, patternBytes(1_000_000 + e.aRead, got.length, 251), `A read wrong bytes at ${e.aRead}`);
      e.aRead += got.length;
    }
  })();
  try {
    await within(e, 30_000_000, Promise.all([sendA, readB, sendB, readA]), 'transfer');
  } catch (err) {
    dbg('transfer failed', e.aWritten, e.bRead, e.bWritten, e.aRead, JSON.stringify(e.cs.tcpInfo()), JSON.stringify(e.conn.tcpInfo()), 'A', JSON.stringify(e.p.a.kernel.tcp.stats), 'B', JSON.stringify(e.p.b.kernel.tcp.stats), traceLog.join('\n'));
    throw err;
  }
}

/**
 * Runs the network for up to `us` of virtual time and returns the frames both hosts sent, or
 * stops early (returning what it counted) once more than `cap` were sent.
 */
function framesWithin(e: Env, us: number, cap: number): number {
  const tx0 = e.rig.txA.frames + e.rig.txB.frames;
  for (let t = 0; t < us; t += 1000) {
    e.p.net.runFor(1000);
    if (e.rig.txA.frames + e.rig.txB.frames - tx0 > cap) break;
  }
  return e.rig.txA.frames + e.rig.txB.frames - tx0;
}

/** FUZZ_DEBUG: the last frames the hosts sent, as TCP summaries */
const traceLog: string[] = [];
function trace(who: string, b: Uint8Array): void {
  const t = tcpOf(b);
  traceLog.push(t < 0 ? `${who} et=${rd16(b, 12).toString(16)} len=${b.length}` : `${who} ${rd16(b, t)}>${rd16(b, t + 2)} f=${b[t + 13]!.toString(16)} seq=${rd32(b, t + 4)} ack=${rd32(b, t + 8)} len=${b.length}`);
  if (traceLog.length > 60) traceLog.shift();
}

/** per-family totals over every batch: frames aimed at each layer, and frames that reached it */
interface Totals {
  aimed: Counts;
  reached: Counts;
  frames: number;
  batches: number;
  maxQuiet: number;
}

async function batch<D>(f: Family<D>, tot: Totals, descs: D[]): Promise<void> {
  const e = await setup(f, SEED ^ descs.length);
  try {
    await batchOn(f, tot, descs, e);
  } finally {
    e.p.net.close();
  }
}

async function batchOn<D>(f: Family<D>, tot: Totals, descs: D[], e: Env): Promise<void> {
  const net = e.p.net;
  net.runFor(1000);
  const before = counters(f, e);
  const aBefore = { ...e.fromA };
  const aim = zero(f.layers);
  let n = 0;
  for (const d of descs) {
    for (const b of f.build(d, e, false)) {
      inject(e.rig, b.bytes);
      n++;
      aim.link!++;
      for (const l of f.aims(d)) aim[l]!++;
      net.runFor(30);
    }
    for (const l of f.innerAims(d)) aim[l]!++;
    if (DEBUG) {
      // FUZZ_DEBUG: name the first frame after which the hosts keep talking
      const t0 = e.rig.txA.frames + e.rig.txB.frames;
      net.runFor(2000);
      const dt = e.rig.txA.frames + e.rig.txB.frames - t0;
      if (dt > 20) dbg('busy after', JSON.stringify(d), 'aSndNxt', e.track.aSndNxt, 'bSndNxt', e.track.bSndNxt, 'frames', dt, traceLog.join('\n'));
    }
  }
  net.runFor(5000);
  await e.udp.drain();
  dbg(f.name, 'batch', tot.batches, 'injected', n, 'tx', e.rig.txA.frames, e.rig.txB.frames);
  assert.equal(net.error, null);
  const after = counters(f, e);
  for (const l of f.layers) {
    tot.aimed[l]! += aim[l]!;
    tot.reached[l]! += after[l]! - before[l]! - (e.fromA[l]! - aBefore[l]!);
  }
  tot.frames += n;
  tot.batches++;

  // the stack goes quiet: no endless exchange
  const bound = QUIET_BASE + QUIET_PER_FRAME * n;
  const quiet = framesWithin(e, 1_000_000, bound);
  tot.maxQuiet = Math.max(tot.maxQuiet, quiet);
  assert.ok(quiet <= bound, `${quiet} frames in the virtual second after a batch of ${n}`);

  // the established connection still carries bytes both ways, every byte where it belongs:
  // first a short write, so that forged out-of-order bytes straddling its end are delivered
  // (a long one arrives GRO-merged and covers them all), then enough for A's sequence numbers
  // to pass every forged one (see ConnTrack.forgedAhead)
  await transfer(e, STRADDLE, 0);
  await transfer(e, 20_000 + e.track.forgedAhead, 10_000);
  dbg('quiet', quiet);
  assert.equal(e.conn.state, 'ESTABLISHED');
  assert.equal(e.conn.tcpInfo().devmemTokens, 0, 'every devmem token returned');

  // close everything; once the timers ran out nothing more is sent and nothing is held
  e.cs.close();
  e.conn.close();
  e.ls.close();
  e.udp.close();
  net.runFor(300_000_000);
  const tx1 = e.rig.txA.frames + e.rig.txB.frames;
  net.runFor(10_000_000);
  assert.equal(e.rig.txA.frames + e.rig.txB.frames, tx1, 'frames sent long after every socket closed');
  assert.equal(net.error, null);
  assert.equal(e.p.b.kernel.skbs.live, 0, 'skbs still held by B');
  assert.equal(e.p.a.kernel.skbs.live, 0, 'skbs still held by A');
}

async function fuzz<D>(f: Family<D>, t: { diagnostic(m: string): void }, seed: number): Promise<void> {
  const tot: Totals = { aimed: zero(f.layers), reached: zero(f.layers), frames: 0, batches: 0, maxQuiet: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(f.gen, { minLength: 20, maxLength: 60 }), async (descs) => batch(f, tot, descs)),
    { seed, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
  );
  t.diagnostic(`${f.name}: ${tot.batches} batches, ${tot.frames} frames; most frames in a quiet second: ${tot.maxQuiet}`);
  for (const l of f.layers) {
    const a = tot.aimed[l]!;
    const r = tot.reached[l]!;
    t.diagnostic(`${l.padEnd(9)} aimed ${String(a).padStart(5)}  reached ${String(r).padStart(5)}  (${a > 0 ? ((100 * r) / a).toFixed(0) : '-'}%)`);
  }
  for (const l of f.layers) {
    assert.ok(tot.aimed[l]! > 0, `no frame aimed at ${l}`);
    assert.ok(tot.reached[l]! >= FLOOR * tot.aimed[l]!, `${l}: ${tot.reached[l]} of ${tot.aimed[l]} aimed frames reached it`);
  }
}

// The builders themselves: without mutations, every frame carries valid IPv4 header and L4
// checksums over the right pseudo-header (else the reach floors below would measure nothing).
it('the frame builders emit valid checksums before mutation', () => {
  const none = { flips: [], fix: false, keep: 1, pad: 0, badL4: false, badIp: false };
  const p = makePair();
  const e = { p, track: new ConnTrack(PORT) } as unknown as Env;
  e.track.aPort = 40000;
  e.track.aIss = 1000;
  e.track.aSndNxt = 5000;
  e.track.bSndNxt = 9000;
  let checked = 0;
  for (const d of fc.sample(frameDesc4, { seed: SEED, numRuns: 300 })) {
    const ip = { ...d.ip, proto: null, totalLenDelta: 0, ihl: null };
    const body = d.body.aim === 'udp4' ? { ...d.body, udp: { ...d.body.udp, lenDelta: 0 } } : d.body;
    for (const b of V4.build({ ...d, ip, body, raw: none }, e, false)) {
      if (b.l4 < 0 || ![1, 6, 17].includes(b.proto) || b.bytes[b.l3]! !== 0x45 + (b.l4 - b.l3 - 20) / 4) continue;
      assert.equal(sum16(b.bytes, b.l3, b.l4 - b.l3), 0xffff, 'IPv4 header checksum');
      assert.ok(l4ChecksumOk(b), `L4 checksum of ${d.body.aim}`);
      checked++;
    }
  }
  for (const d of fc.sample(frameDesc6, { seed: SEED, numRuns: 300 })) {
    const ip = { ...d.ip, payloadLenDelta: 0, nextHeader: null, version: null };
    const body = d.body.aim === 'udp6' ? { ...d.body, lenDelta: 0, zeroCsum: false } : d.body;
    for (const b of V6.build({ ...d, ip, body, raw: none }, e, false)) {
      if (b.l4 < 0 || ![6, 17, 58].includes(b.proto)) continue;
      assert.ok(l4ChecksumOk(b), `L4 checksum of ${d.body.aim}`);
      checked++;
    }
  }
  assert.ok(checked > 300, `${checked} frames checked`);
  p.net.close();
});

it('IPv4: mutated frames built from Reprs reach ARP, IPv4 (options, fragments), ICMP, UDP and TCP (listener, established); the stack survives, keeps its connection and goes quiet', async (t) => {
  await fuzz(V4, t, SEED);
});

it('IPv6: mutated frames built from Reprs reach NDP, IPv6 (extension headers, fragments), ICMPv6, UDP and TCP (listener, established); the stack survives, keeps its connection and goes quiet', async (t) => {
  await fuzz(V6, t, SEED + 6);
});

/**
 * Injects `descs` (built with desynchronising segments allowed) into a fresh IPv4 pair, then
 * asserts that both hosts go quiet and (when `carries`) that the connection still carries data.
 */
async function desync(tweaks: Partial<TcpDesc>[], carries: boolean): Promise<void> {
  const e = await setup(V4, SEED);
  try {
    const [d] = fc.sample(frameDesc4.filter((x) => x.body.aim === 'tcpEstab4'), { seed: SEED, numRuns: 1 });
    assert.ok(d !== undefined && d.body.aim === 'tcpEstab4');
    e.p.net.runFor(1000);
    for (const tw of tweaks) {
      const desc: FrameDesc4 = {
        ...d,
        body: { aim: 'tcpEstab4', tcp: { ...d.body.tcp, seqRandom: null, ackDelta: 0, ackRandom: null, rawOpts: null, ...tw } },
        raw: { flips: [], fix: false, keep: 1, pad: 0, badL4: false, badIp: false },
      };
      for (const b of V4.build(desc, e, true)) inject(e.rig, b.bytes);
      e.p.net.runFor(100);
    }
    const bound = QUIET_BASE + QUIET_PER_FRAME * tweaks.length;
    e.p.net.runFor(5000);
    const quiet = framesWithin(e, 1_000_000, bound);
    assert.ok(quiet <= bound, `${quiet} frames in the virtual second after ${tweaks.length} forged segment(s) (stopped counting past ${bound})`);
    if (carries) await transfer(e, 20_000, 10_000);
  } finally {
    e.p.net.close();
  }
}

// The two ways the main fuzz keeps out of its established-connection frames. Both once started
// an endless ACK exchange (TCP issue 6); like Linux, TCP now drops ACKs of unsent data, resets
// a request whose ACK is not for its SYN-ACK, and rate limits its answers to out-of-window
// segments and invalid SYNs / RSTs (tcp_invalid_ratelimit, also for a request socket).

// One forged segment from A's real 4-tuple whose bytes (A's own stream bytes) start before B's
// rcv_nxt and end past it: B accepts them and acknowledges bytes A has not sent yet.
it('a forged in-window segment carrying new bytes past rcv_nxt: both hosts go quiet and the connection still carries data', async () => {
  await desync([{ seqDelta: -100, flags: 0x18, payloadLen: 500 }], true);
});

// A forged RST at rcv_nxt resets B's side; a forged SYN from A's 4-tuple then opens a half-open
// connection on B whose sequence space is not A's: each answers the other's ACKs. (The
// connection itself is legitimately gone: only the quiet part of the check is meant here.)
it('a forged RST at rcv_nxt, then a forged SYN on the same 4-tuple: both hosts go quiet', async () => {
  await desync([{ seqDelta: 0, flags: 0x04, payloadLen: 0 }, { seqDelta: 90, flags: 0x02, payloadLen: 0 }], false);
});

// The third way: a forged pure ACK at B's rcv_nxt with an acceptable ACK and a TSval far ahead of
// A's clock. B takes it as ts_recent — so does Linux (tcp_replace_ts_recent: RFC 7323 offers no
// defence, TSecr is not checked on a synchronized connection) — and PAWS then drops every real
// segment of A until ts_recent is TCP_PAWS_WRAP (about 35.8 minutes) old, longer than A keeps
// retransmitting: no peer recovers from it. What a stack can still guarantee, and this test
// asserts: nothing throws, B counts the PAWS rejects, B delivers no byte that is not A's (the
// reader checks each one), each rejected segment draws at most one duplicate ACK (both hosts
// stay quiet), A gives up with ETIMEDOUT after tcp_retries2, and after close nothing is sent and
// nothing is held.
it('a forged TSval far ahead of A\'s clock poisons ts_recent (as in Linux): PAWS rejects counted, no wrong byte, quiet, A times out, nothing held', async () => {
  const e = await setup(V4, SEED);
  try {
    const [d] = fc.sample(frameDesc4.filter((x) => x.body.aim === 'tcpEstab4'), { seed: SEED, numRuns: 1 });
    assert.ok(d !== undefined && d.body.aim === 'tcpEstab4');
    e.p.net.runFor(1000);
    assert.ok(e.track.aTsVal >= 0, 'the connection uses timestamps');
    const far = (e.track.aTsVal + 0x40000000) >>> 0;
    const tcp: TcpDesc = {
      ...d.body.tcp, seqDelta: 0, seqRandom: null, ackDelta: 0, ackRandom: null, flags: 0x10, window: 65535, urgent: 0,
      mss: -1, wscale: -1, sackPerm: false, ts: [far, 0], sack: [], rawOpts: null, payloadLen: 0,
    };
    const desc: FrameDesc4 = { ...d, ip: { ...d.ip, options: [], proto: null, totalLenDelta: 0, ihl: null, fragWord: 0, src: { k: 'a' }, dst: { k: 'b' } },
      body: { aim: 'tcpEstab4', tcp }, raw: { flips: [], fix: false, keep: 1, pad: 0, badL4: false, badIp: false } };
    const bTcp = e.p.b.kernel.tcp.stats;
    const paws0 = bTcp.pawsEstabRejected;
    const bRead0 = e.bRead;
    for (const b of V4.build(desc, e, true)) inject(e.rig, b.bytes);
    e.p.net.runFor(100_000);
    // A's next data never gets through; whatever B hands its reader is checked byte by byte
    const stalled = await transfer(e, 5000, 0).then(() => null, (err: unknown) => err as Error);
    assert.ok(stalled !== null && /no progress/.test(stalled.message), `the transfer stalls (${stalled?.message ?? 'it completed'})`);
    assert.equal(e.bRead, bRead0, 'B delivered nothing of the rejected data');
    const rejected = bTcp.pawsEstabRejected - paws0;
    assert.ok(rejected >= 3, `${rejected} PAWS rejects at B`);
    const quiet = framesWithin(e, 1_000_000, QUIET_BASE);
    assert.ok(quiet <= QUIET_BASE, `${quiet} frames in a virtual second while A retransmits`);
    // A's retransmissions back off to tcp_retries2, then A gives up
    e.p.net.runFor(30 * 60 * 1_000_000);
    assert.equal(e.cs.state, 'CLOSE');
    await assert.rejects(e.cs.recv(1), (err: { code?: string }) => err.code === 'ETIMEDOUT');
    assert.ok(bTcp.pawsEstabRejected - paws0 <= 20, 'one reject per retransmission (tcp_retries2 + probes)');
    e.cs.close();
    e.conn.close();
    e.ls.close();
    e.udp.close();
    e.p.net.runFor(300_000_000);
    const tx1 = e.rig.txA.frames + e.rig.txB.frames;
    e.p.net.runFor(10_000_000);
    assert.equal(e.rig.txA.frames + e.rig.txB.frames, tx1, 'frames sent long after every socket closed');
    assert.equal(e.p.net.error, null);
    assert.equal(e.p.b.kernel.skbs.live, 0, 'skbs still held by B');
    assert.equal(e.p.a.kernel.skbs.live, 0, 'skbs still held by A');
  } finally {
    e.p.net.close();
  }
});
