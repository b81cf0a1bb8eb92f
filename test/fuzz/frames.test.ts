// Frame fuzz. Frames are built from the wire Reprs with valid checksums and real addressing
// (ARP, IPv4 with options and fragments, ICMP, UDP, TCP to a listener, to an established
// connection's real 4-tuple near its real sequence numbers, to closed ports, raw junk), then
// mutated field by field (flags, lengths, offsets, options, ports, seq/ack, checksums mostly
// recomputed, sometimes left wrong) and byte by byte (flips, truncation, padding), and offered to
// the wire towards host B, so they arrive at B's NIC as real frames do. Each fast-check run is one
// batch on a fresh pair of hosts; after it: nothing threw, the established connection still
// carries bytes both ways (checked byte by byte: the forged segments carry A's own stream
// bytes, so whatever B accepts is what A would have sent), the stack goes quiet (a bounded
// number of frames in the next virtual second, none at all once every socket is closed and the
// timers ran out), and no skb or token is left behind. How many frames reached each layer is
// derived from B's counters (minus what host A itself sent) and a floor is asserted per layer.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constants as C, NcdevmemPattern, type Socket, type DeviceMemory } from '../../src/index.js';
import { bindDevmem, makePair, PORT, type Pair } from '../e2e/helpers.js';
import { ConnTrack, ETH_P_ARP, ETH_P_IP, inject, nicRxPackets, patternBytes, rd16, tapWire, type Rig } from './kit.js';
import { build4, frameDesc4, type Aim4, type Ctx4, type FrameDesc4 } from './gen4.js';

const PERIOD = 7;
const SEED = 20261202;
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const DEBUG = process.env.FUZZ_DEBUG !== undefined;
const dbg = (...a: unknown[]): void => { if (DEBUG) console.error(...a); };
/** frames in the next virtual second after a batch, per injected frame (plus a constant) */
const QUIET_PER_FRAME = 3;
const QUIET_BASE = 20;

/** layers whose reach is counted */
const LAYERS = ['link', 'arp', 'ip4', 'frag4', 'icmp4', 'udp4', 'tcp4', 'listener', 'estab'] as const;
type Layer = (typeof LAYERS)[number];
type Counts = Record<Layer, number>;

function zero(): Counts {
  return { link: 0, arp: 0, ip4: 0, frag4: 0, icmp4: 0, udp4: 0, tcp4: 0, listener: 0, estab: 0 };
}

/** which layer's counter a frame aimed at `aim` must move (besides link and, for IP, ip4) */
const AIM_LAYER: Record<Aim4, Layer | null> = {
  arp: 'arp', ip4: 'ip4', frag4: 'frag4', icmp4: 'icmp4', udp4: 'udp4', tcpListen4: 'listener', tcpEstab4: 'estab', tcpClosed4: 'tcp4', raw: null,
};

interface Env {
  p: Pair;
  rig: Rig;
  track: ConnTrack;
  dmabuf: DeviceMemory;
  ls: Socket;
  cs: Socket;
  conn: Socket;
  /** frames host A transmitted, by the layer they reach at B */
  fromA: Counts;
  /** A's stream: bytes the application wrote; B's validation pattern (running) and bytes read */
  aWritten: number;
  bRead: number;
  bPattern: NcdevmemPattern;
  /** B's stream towards A */
  bWritten: number;
  aRead: number;
}

/** B's counters for each layer (derived from the stack's MIBs and per-socket TCP_INFO) */
function counters(e: Env): Counts {
  const b = e.p.b;
  const ip = b.ip.stats;
  const tcp = b.tcp.stats;
  return {
    link: nicRxPackets(e.p.eb),
    arp: ip.arp.inRequests + ip.arp.inReplies + ip.arp.inErrors,
    ip4: ip.inReceives,
    frag4: ip.reasmReqds,
    icmp4: ip.icmp.inMsgs + ip.icmp.inErrors,
    udp4: udpIn(e),
    tcp4: tcp.inSegs,
    listener: Number(e.ls.tcpInfo().segsIn),
    estab: Number(e.conn.tcpInfo().segsIn),
  };
}

/** UDP datagrams that reached UDP's parser; -1 while no UDP is registered with the host */
function udpIn(_e: Env): number {
  return -1;
}

/** counts a frame host A transmitted against the layers it reaches at B */
function classifyFromA(c: Counts, track: ConnTrack, b: Uint8Array): void {
  c.link++;
  if (b.length < 14) return;
  const et = rd16(b, 12);
  if (et === ETH_P_ARP) c.arp++;
  if (et !== ETH_P_IP || b.length < 34) return;
  c.ip4++;
  if ((rd16(b, 20) & 0x3fff) !== 0) c.frag4++;
  const proto = b[23];
  if (proto === 1) c.icmp4++;
  if (proto === 17) c.udp4++;
  if (proto === 6) {
    c.tcp4++;
    const t = 14 + (b[14]! & 15) * 4;
    if (rd16(b, t) === track.aPort && rd16(b, t + 2) === PORT) c.estab++;
  }
}

async function setup(seed: number): Promise<Env> {
  const p = makePair({ seed });
  const track = new ConnTrack(PORT);
  const fromA = zero();
  const rig = tapWire(p.net, p.a, p.b, p.ea, p.eb, p.net.links[0]!, (b) => {
    track.fromA(b);
    classifyFromA(fromA, track, b);
  }, track.fromB);
  const { dmabuf } = await bindDevmem(p, 2 << 20);
  const ls = p.b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', PORT);
  ls.listen(8);
  const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect('10.0.0.2', PORT);
  const conn = await acc;
  const e: Env = { p, rig, track, dmabuf, ls, cs, conn, fromA, aWritten: 0, bRead: 0, bPattern: new NcdevmemPattern(PERIOD), bWritten: 0, aRead: 0 };
  // some traffic both ways first, so that the connection is mid-stream
  await transfer(e, 3000, 2000);
  return e;
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
      if (m.cmsgs.length === 0) {
        bad += e.bPattern.check(m.bytes, 0, m.length);
      }
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
  await within(e, 30_000_000, Promise.all([sendA, readB, sendB, readA]), 'transfer');
}

/** per-layer totals over every batch: frames aimed at the layer, and frames that reached it */
const aimed = zero();
const reached = zero();
let frames = 0;
let batches = 0;
let connKilled = 0;
let maxQuiet = 0;

async function batch(descs: FrameDesc4[]): Promise<void> {
  const e = await setup(SEED ^ descs.length);
  const net = e.p.net;
  const ctx: Ctx4 = {
    macA: e.p.ea.mac, macB: e.p.eb.mac, ipA: 0x0a000001, ipB: 0x0a000002, bcastB: 0x0a0000ff, listenPort: PORT, udpPort: 5353,
    conn: e.track, period: PERIOD,
  };
  net.runFor(1000);
  const before = counters(e);
  const aBefore = { ...e.fromA };
  const aim = zero();
  let n = 0;
  let killers = 0;
  for (const d of descs) {
    const built = build4(d, ctx);
    const layer = AIM_LAYER[d.body.aim];
    for (const b of built) {
      inject(e.rig, b.bytes);
      n++;
      aim.link++;
      if (d.body.aim !== 'arp' && d.body.aim !== 'raw') aim.ip4++;
      if (d.body.aim.startsWith('tcp')) aim.tcp4++;
      if (layer !== null && layer !== 'ip4' && layer !== 'tcp4') aim[layer]++;
      net.runFor(30);
    }
    if (d.body.aim === 'tcpEstab4' && (d.body.tcp.flags & 0x07) !== 0) killers++;
    if (DEBUG) {
      const t0 = e.rig.txA.frames + e.rig.txB.frames;
      net.runFor(2000);
      const dt = e.rig.txA.frames + e.rig.txB.frames - t0;
      if (dt > 20) dbg('storm after', JSON.stringify(d), 'aSndNxt', e.track.aSndNxt, 'bSndNxt', e.track.bSndNxt, 'frames', dt);
    }
  }
  net.runFor(5000);
  dbg('batch', batches, 'injected', n, 'tx', e.rig.txA.frames, e.rig.txB.frames);
  assert.equal(net.error, null);
  const after = counters(e);
  for (const l of LAYERS) {
    aimed[l] += aim[l];
    reached[l] += after[l] - before[l] - (e.fromA[l] - aBefore[l]);
  }
  frames += n;
  batches++;

  // the stack goes quiet: no endless exchange
  const tx0 = e.rig.txA.frames + e.rig.txB.frames;
  net.runFor(1_000_000);
  const quiet = e.rig.txA.frames + e.rig.txB.frames - tx0;
  maxQuiet = Math.max(maxQuiet, quiet);
  dbg('quiet', quiet);
  assert.ok(quiet <= QUIET_BASE + QUIET_PER_FRAME * n, `${quiet} frames in the virtual second after a batch of ${n}`);

  // the established connection still carries bytes both ways, unless a forged RST/SYN/FIN ended it
  let alive = true;
  try {
    await transfer(e, 20_000, 10_000);
  } catch (err) {
    if (err instanceof assert.AssertionError || killers === 0) throw err;
    alive = false;
    connKilled++;
  }
  dbg('alive', alive);
  if (alive) assert.equal(e.conn.state, 'ESTABLISHED');

  // close everything; once the timers ran out nothing more is sent and nothing is held
  e.cs.close();
  e.conn.close();
  e.ls.close();
  net.runFor(300_000_000);
  const tx1 = e.rig.txA.frames + e.rig.txB.frames;
  net.runFor(10_000_000);
  assert.equal(e.rig.txA.frames + e.rig.txB.frames, tx1, 'frames sent long after every socket closed');
  assert.equal(net.error, null);
  assert.equal(e.p.b.skbs.live, 0, 'skbs still held by B');
  assert.equal(e.p.a.skbs.live, 0, 'skbs still held by A');
  net.close();
}

it('mutated frames built from Reprs reach every IPv4-side parser; the stack survives, keeps its connection and goes quiet', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(frameDesc4, { minLength: 20, maxLength: 60 }), async (descs) => batch(descs)),
    { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
  );
  t.diagnostic(`${batches} batches, ${frames} frames; connection ended by a forged RST/SYN/FIN in ${connKilled}; most frames in a quiet second: ${maxQuiet}`);
  for (const l of LAYERS) {
    const pct = aimed[l] > 0 ? ((100 * reached[l]) / aimed[l]).toFixed(0) : '-';
    t.diagnostic(`${l.padEnd(9)} aimed ${String(aimed[l]).padStart(5)}  reached ${String(reached[l]).padStart(5)}  (${pct}%)`);
  }
  for (const l of LAYERS) {
    if (l === 'udp4' && reached[l] < 0) continue; // UDP not registered with the host yet
    assert.ok(aimed[l] > 0, `no frame aimed at ${l}`);
    assert.ok(reached[l] >= 0.1 * aimed[l], `${l}: ${reached[l]} of ${aimed[l]} aimed frames reached it`);
  }
});
