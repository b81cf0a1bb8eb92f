/**
 * One simulated bulk TCP transfer for the bench, driven through a `BenchLib` (any build of the
 * library): host A sends the ncdevmem pattern to host B over a 100 Gbit/s, 5 µs wire. devmem
 * mode is what ncdevmem sets up (header split on, RSS away from the last queue, an n-tuple rule
 * to it, 64 MiB of device memory bound to it, recvmsg(MSG_SOCK_DEVMEM) with an 800 KiB iov and an
 * 80 000-byte control buffer, every frag validated on the device, tokens returned with
 * SO_DEVMEM_DONTNEED in coalesced ranges); copy mode receives into a host buffer and validates
 * there. `loss` makes the wire lose frames for the lossy rows (seeded: a fixture's runs take
 * successive parts of its stream, the same on every invocation), which also report the sender's
 * retransmitted segments.
 *
 * A `SimFixture` is what a bench row keeps for all its runs: the network, both hosts, the wire,
 * the device-memory binding and the listener, as an application keeps its stack. Each run is one
 * new connection and one transfer on it; its figure is the wall clock from the connecting socket's
 * creation to the receiver's end of stream and the sender's close. (A fresh network per run made
 * V8 throw away, at every run's first GC, the optimized code that had embedded the previous run's
 * objects — "weak objects" in `--trace-deopt-verbose` — so each run re-warmed the JIT; at MTU
 * 65535, 8 000 packets a run, that warm-up was most of the figure, for every build.) `simTransfer`
 * is the one-shot form: a fixture, one run, closed. A run that stops making progress (no byte
 * received for 30 s of virtual time) ends within seconds of wall time as a failed sample whose
 * problem is the demo's one-line diagnosis (`../ncdevmem/watchdog.ts`, `../demo/diagnose.ts`),
 * and leaves its fixture `broken` (the caller closes it and opens another).
 */
import type { Host, NetDevice, NetlinkSocket, Socket } from '../../index.js';
import { diagnoseStall } from '../demo/diagnose.js';
import { DEFAULT_STALL_US, ProgressWatchdog, StallError, StallRace, type WatchClock } from '../ncdevmem/watchdog.js';
import type { BenchLib, LibDeviceMemory, LibHost, LibNetwork, LibPattern, LibSocket } from './lib.js';

/** how the receiver calls recvmsg; one method for every build in an invocation */
export type RecvMethod = 'recvmsgInto' | 'recvmsg';

/** what a fixture is built with (the same for all its runs) */
export interface FixtureOptions {
  mode: 'devmem' | 'copy';
  mtu: number;
  ipv6: boolean;
  /** probability that the wire loses a frame, each direction, from the network's seeded stream (default 0) */
  loss?: number;
  /** device memory bound in devmem mode (default 64 MiB; tests shrink it to force a stall) */
  dmabufSize?: number;
}

/** one run on a fixture */
export interface RunOptions {
  size: number;
  recv: RecvMethod;
  /** called every 8 MiB received (heap sampling) */
  onProgress?: (bytes: number) => void;
  /**
   * a run whose receiver got no byte for this long (µs of virtual time; default 30 s) ends at once
   * with `problem` = "stalled: " and the demo's diagnosis (a build without `Network.sleep` has no
   * watchdog: the caller's wall-clock timeout stands)
   */
  stallUs?: number;
}

export type SimOptions = FixtureOptions & RunOptions;

export interface SimResult {
  bytes: number;
  wallSeconds: number;
  validated: boolean;
  /** error text when not validated ("stalled: …" with the diagnosis when the watchdog ended the run) */
  problem: string;
  /** Ethernet frames A → B on the wire (data, plus the handshake and FIN) */
  wireFrames: number;
  hostPayloadBytesRead: number;
  /** frames the wire lost on purpose, both directions */
  lostFrames: number;
  /** the sender's TCP RetransSegs; null when the build has no counter for it */
  retransSegs: number | null;
}

const PORT = 5201;
const RX_QUEUES = 4;
const DMABUF_SIZE = 64 << 20;
const PERIOD = 7;
const IOV_LEN = 800 * 1024;
const CONTROL_LEN = 80_000;
const SEND_CHUNK = 256 * 1024;

/** a recvmsg outcome in a reused object */
interface Got {
  n: number;
  controlLen: number;
  iovUsed: number;
}

async function recvOnce(s: LibSocket, how: RecvMethod, iov: Uint8Array, control: Uint8Array | undefined, flags: number, got: Got): Promise<void> {
  if (how === 'recvmsgInto') {
    const n = await s.recvmsgInto!(iov, control ?? null, flags);
    if (typeof n !== 'number' || typeof s.lastControlLen !== 'number' || typeof s.lastIovUsed !== 'number') {
      throw new RecvShapeError('recvmsgInto: this build returns a different result shape');
    }
    got.n = n;
    got.controlLen = s.lastControlLen;
    got.iovUsed = s.lastIovUsed;
    return;
  }
  const r = await s.recvmsg(control === undefined ? { iov, flags } : { iov, control, flags });
  got.n = r.length;
  got.controlLen = r.control.length;
  got.iovUsed = r.bytes.length;
}

/** the build does not support the chosen receive method: the caller falls back to `recvmsg` */
export class RecvShapeError extends Error {}

function isEagain(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'EAGAIN';
}

/** one transfer on a fixture of its own, closed afterwards (tests, probes, the heap sample) */
export async function simTransfer(lib: BenchLib, o: SimOptions): Promise<SimResult> {
  const fx = await SimFixture.open(lib, o);
  try {
    return await fx.run(o);
  } finally {
    fx.close();
  }
}

/** what a fixture holds between runs */
interface Parts {
  a: LibHost;
  b: LibHost;
  eb: { ifindex: number };
  wire: ReturnType<LibNetwork['connect']>;
  addrB: string;
  fam: number;
  devq: number;
  nl: ReturnType<LibHost['netlink']>;
  dmabuf: LibDeviceMemory | null;
  bindingId: number;
  ls: LibSocket;
}

/**
 * The network, hosts, wire, binding and listener of one bench row, reused by each of its runs.
 * Owns the network: `close()` ends everything. After a failed or stalled run it is `broken` and
 * must not run again.
 */
export class SimFixture {
  /** a run failed or stalled: whatever it left (a half-open connection, held tokens) stays until close */
  broken = false;
  private closed = false;

  private constructor(private readonly lib: BenchLib, private readonly o: FixtureOptions, private readonly net: LibNetwork, private readonly p: Parts) {}

  static async open(lib: BenchLib, o: FixtureOptions): Promise<SimFixture> {
    const net = new lib.Network({ seed: 1 });
    try {
      return new SimFixture(lib, o, net, await setup(lib, net, o));
    } catch (e) {
      net.close();
      throw e;
    }
  }

  /** one new connection from host A to B's listener and `r.size` bytes over it */
  async run(r: RunOptions): Promise<SimResult> {
    if (this.broken || this.closed) throw new Error('SimFixture: run on a broken or closed fixture');
    try {
      const res = await transfer(this.lib, this.net, { ...this.o, ...r }, this.p);
      if (!res.validated) this.broken = true;
      return res;
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.p.ls.close();
      this.p.nl.close();
    } finally {
      // a stalled run's sender and connection are settled or dropped by the network's close
      this.net.close();
    }
  }
}

async function setup(lib: BenchLib, net: LibNetwork, o: FixtureOptions): Promise<Parts> {
  const C = lib.constants;
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: RX_QUEUES, mtu: o.mtu });
  const eb = b.addDevice('eth0', { rxQueues: RX_QUEUES, mtu: o.mtu });
  const wire = net.connect(ea, eb, { gbps: 100, delayUs: 5, loss: o.loss ?? 0 });
  const addrA = o.ipv6 ? 'fd00::1' : '10.0.0.1';
  const addrB = o.ipv6 ? 'fd00::2' : '10.0.0.2';
  const plen = o.ipv6 ? 64 : 24;
  if (o.ipv6) {
    // as test setups add them (`ip -6 addr add … nodad`): usable at once, no DAD in the figure
    a.ip.addAddress('eth0', `${addrA}/${plen}`, { nodad: true });
    b.ip.addAddress('eth0', `${addrB}/${plen}`, { nodad: true });
  } else {
    a.ip.addAddress('eth0', `${addrA}/${plen}`);
    b.ip.addAddress('eth0', `${addrB}/${plen}`);
  }
  const devq = RX_QUEUES - 1;
  const nl = b.netlink();
  let dmabuf: LibDeviceMemory | null = null;
  let bindingId = 0;
  if (o.mode === 'devmem') {
    b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    b.ethtool.setRss('eth0', { equal: devq });
    b.ethtool.addNtupleRule('eth0', { flowType: o.ipv6 ? 'tcp6' : 'tcp4', dstIp: addrB, dstPort: PORT, action: devq });
    dmabuf = b.allocDeviceMemory(o.dmabufSize ?? DMABUF_SIZE);
    bindingId = (await nl.netdev.bindRx({ ifindex: eb.ifindex, fd: dmabuf.fd, queues: [{ id: devq, type: 'rx' }] })).id;
  }
  const fam = o.ipv6 ? C.AF_INET6 : C.AF_INET;
  const ls = b.socket(fam, C.SOCK_STREAM);
  ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  ls.bind(o.ipv6 ? '::' : '0.0.0.0', PORT);
  ls.listen(8);
  return { a, b, eb, wire, addrB, fam, devq, nl, dmabuf, bindingId, ls };
}

async function transfer(lib: BenchLib, net: LibNetwork, o: SimOptions, p: Parts): Promise<SimResult> {
  const C = lib.constants;
  const { a, b, eb, wire, addrB, fam, devq, nl, dmabuf, bindingId, ls } = p;
  const lostOf = (): number => (wire.stats.aToB.lost ?? 0) + (wire.stats.bToA?.lost ?? 0);
  const frames0 = wire.stats.aToB.frames;
  const lost0 = lostOf();
  const retrans0 = retransOf(a);
  const hostRead = (): number => (dmabuf === null ? 0 : dmabuf.stats.hostBytesRead + (dmabuf.stats.hostVisibleBytes ?? 0));
  const hostRead0 = hostRead();
  const t0 = process.hrtime.bigint();
  const cs = a.socket(fam, C.SOCK_STREAM);

  const sender = (async () => {
    await cs.connect(addrB, PORT);
    const gen = new lib.NcdevmemPattern(PERIOD);
    const chunk = new Uint8Array(SEND_CHUNK);
    let sent = 0;
    while (sent < o.size) {
      const n = Math.min(chunk.length, o.size - sent);
      gen.generate(chunk, 0, n);
      await cs.send(n === chunk.length ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    cs.close();
  })();
  // a sender failure (connect refused, no source address, …) ends the run instead of leaving
  // the receiver waiting in accept or recvmsg
  const senderFailed = new Promise<never>((_, reject) => {
    sender.catch(reject);
  });

  // the receiver's totals, shared with the watchdog (read once per tick, never per packet)
  const got: Received = { bytes: 0, mismatches: 0, steeringErrors: 0, tokensIssued: 0, tokensReturned: 0 };
  let conn: LibSocket | null = null;
  const watch = watchTransfer(net, o, got, () => ({ a, b, nl, bindingId, conn, cs, rxq: devq, dev: eb, wire: wire.stats, dmabuf }));
  let stalled: string | null = null;
  try {
    const c = await race(watch, Promise.race([ls.accept(), senderFailed]));
    conn = c;
    await race(watch, Promise.race([
      o.mode === 'devmem' ? receiveDevmem(lib, c, dmabuf!, bindingId, o, got) : receiveCopy(lib, c, o, got),
      senderFailed,
    ]));
  } catch (e) {
    if (!(e instanceof StallError)) throw e;
    stalled = e.message;
  } finally {
    watch?.stop();
  }
  (conn as LibSocket | null)?.close();
  // a stalled sender is left behind: closing the fixture's network settles it
  if (stalled === null) await sender;
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const wireFrames = wire.stats.aToB.frames - frames0;
  const lostFrames = lostOf() - lost0;
  const retransEnd = retransOf(a);
  const retransSegs = retransEnd === null || retrans0 === null ? null : retransEnd - retrans0;
  // the application's copies plus every device-to-host transfer the stack made (builds that count it)
  const hostPayloadBytesRead = hostRead() - hostRead0;
  let problem = '';
  if (stalled !== null) problem = `stalled: ${stalled}`;
  else if (got.bytes !== o.size) problem = `received ${got.bytes} of ${o.size} bytes`;
  else if (got.mismatches !== 0) problem = `${got.mismatches} bytes differ from the pattern`;
  else if (got.steeringErrors !== 0) problem = `${got.steeringErrors} receives off the devmem queue`;
  else if (got.tokensIssued !== got.tokensReturned) problem = `${got.tokensIssued - got.tokensReturned} tokens not returned`;
  return { bytes: got.bytes, wallSeconds, validated: problem === '', problem, wireFrames, hostPayloadBytesRead, lostFrames, retransSegs };
}

/** the host's TCP RetransSegs: `snmp().tcp` in current builds, `tcp.stats` in older ones */
function retransOf(h: LibHost): number | null {
  const fromSnmp = h.snmp?.().tcp.retransSegs;
  if (typeof fromSnmp === 'number') return fromSnmp;
  const fromProto = h.tcp?.stats?.retransSegs;
  return typeof fromProto === 'number' ? fromProto : null;
}

interface Received {
  bytes: number;
  mismatches: number;
  steeringErrors: number;
  tokensIssued: number;
  tokensReturned: number;
}

/** the ncdevmem server loop: walk the control buffer as C does, validate on the device, DONTNEED */
async function receiveDevmem(lib: BenchLib, conn: LibSocket, dmabuf: LibDeviceMemory, bindingId: number, o: SimOptions, out: Received): Promise<Received> {
  const C = lib.constants;
  const iov = new Uint8Array(IOV_LEN);
  const control = new Uint8Array(CONTROL_LEN);
  const cdv = new DataView(control.buffer);
  const pattern: LibPattern = new lib.NcdevmemPattern(PERIOD);
  const dontneed = new Uint8Array(8 * C.MAX_DONTNEED_TOKENS);
  const ddv = new DataView(dontneed.buffer);
  const got: Got = { n: 0, controlLen: 0, iovUsed: 0 };
  const giveBack = (ranges: number): void => {
    const r = conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, dontneed.subarray(0, ranges * 8));
    out.tokensReturned += typeof r === 'number' ? r : 0;
  };
  let nextProgress = 0;
  for (;;) {
    try {
      await recvOnce(conn, o.recv, iov, control, C.MSG_SOCK_DEVMEM, got);
    } catch (e) {
      if (isEagain(e)) continue;
      throw e;
    }
    const n = got.n;
    if (n === 0) break;
    const clen = got.controlLen;
    if (clen === 0) {
      // readable data without any devmem cmsg: the flow landed on an ordinary queue
      out.steeringErrors++;
      out.mismatches += pattern.check(iov, 0, got.iovUsed);
      out.bytes += n;
      continue;
    }
    let ranges = 0;
    let runStart = -1;
    let runLen = 0;
    let linearOff = 0;
    for (let off = 0; off + 16 <= clen; ) {
      const cmsgLen = cdv.getUint32(off, true);
      const level = cdv.getInt32(off + 8, true);
      const type = cdv.getInt32(off + 12, true);
      const p = off + 16;
      off += (cmsgLen + 7) & ~7;
      if (level !== C.SOL_SOCKET) continue;
      const fragSize = cdv.getUint32(p + 8, true);
      if (type === C.SCM_DEVMEM_LINEAR) {
        out.mismatches += pattern.check(iov, linearOff, fragSize);
        linearOff += fragSize;
        continue;
      }
      if (type !== C.SCM_DEVMEM_DMABUF) continue;
      const fragOffset = cdv.getUint32(p, true) + cdv.getUint32(p + 4, true) * 4294967296;
      const token = cdv.getUint32(p + 12, true);
      if (cdv.getUint32(p + 16, true) !== bindingId) out.steeringErrors++;
      out.mismatches += dmabuf.validate(fragOffset, fragSize, pattern);
      out.tokensIssued++;
      if (runStart >= 0 && token === runStart + runLen && runLen < C.MAX_DONTNEED_FRAGS) {
        runLen++;
        continue;
      }
      if (runStart >= 0) {
        ddv.setUint32(ranges * 8, runStart, true);
        ddv.setUint32(ranges * 8 + 4, runLen, true);
        if (++ranges === C.MAX_DONTNEED_TOKENS) {
          giveBack(ranges);
          ranges = 0;
        }
      }
      runStart = token;
      runLen = 1;
    }
    if (runStart >= 0) {
      ddv.setUint32(ranges * 8, runStart, true);
      ddv.setUint32(ranges * 8 + 4, runLen, true);
      ranges++;
    }
    if (ranges > 0) giveBack(ranges);
    out.bytes += n;
    if (o.onProgress !== undefined && out.bytes >= nextProgress) {
      o.onProgress(out.bytes);
      nextProgress = out.bytes + (8 << 20);
    }
  }
  return out;
}

/** plain receive into a host buffer, validated there */
async function receiveCopy(lib: BenchLib, conn: LibSocket, o: SimOptions, out: Received): Promise<Received> {
  const iov = new Uint8Array(IOV_LEN);
  const pattern = new lib.NcdevmemPattern(PERIOD);
  const got: Got = { n: 0, controlLen: 0, iovUsed: 0 };
  let nextProgress = 0;
  for (;;) {
    try {
      await recvOnce(conn, o.recv, iov, undefined, 0, got);
    } catch (e) {
      if (isEagain(e)) continue;
      throw e;
    }
    if (got.n === 0) break;
    out.mismatches += pattern.check(iov, 0, got.n);
    out.bytes += got.n;
    if (o.onProgress !== undefined && out.bytes >= nextProgress) {
      o.onProgress(out.bytes);
      nextProgress = out.bytes + (8 << 20);
    }
  }
  return out;
}

/** what the diagnosis reads, once the watchdog fired */
interface RunObjects {
  a: LibHost;
  b: LibHost;
  nl: unknown;
  bindingId: number;
  conn: LibSocket | null;
  cs: LibSocket;
  rxq: number;
  dev: unknown;
  wire: { aToB: { frames: number; lost?: number }; bToA?: { frames: number; lost?: number } };
  dmabuf: LibDeviceMemory | null;
}

/**
 * The run's watchdog (null for a build whose Network has no `sleep`): no byte received for
 * `o.stallUs` of virtual time ends the run with the demo's diagnosis. The build's objects are read
 * through the current build's types; a build without some counter gets the plain stall line.
 */
function watchTransfer(net: LibNetwork, o: SimOptions, got: Received, objects: () => RunObjects): StallRace | null {
  if (typeof net.sleep !== 'function') return null;
  const framesOf = (r: RunObjects): number => r.wire.aToB.frames + (r.wire.bToA?.frames ?? 0);
  const wd = new ProgressWatchdog(net as WatchClock, o.stallUs ?? DEFAULT_STALL_US, () => got.bytes, () => framesOf(objects()));
  return new StallRace(wd, (seen) => {
    const r = objects();
    const dev = r.dev as NetDevice;
    const lost = (d: { lost?: number } | undefined): number => d?.lost ?? 0;
    return diagnoseStall({
      size: o.size, bytes: got.bytes, mode: o.mode, stallUs: seen.stallUs, error: null, errorSide: null,
      quietFrames: seen.quietActivity, dmabufPages: r.dmabuf !== null ? Math.floor((o.dmabufSize ?? DMABUF_SIZE) / 4096) : 0,
    }, {
      a: r.a as unknown as Host, b: r.b as unknown as Host, nl: r.nl as NetlinkSocket, bindingId: r.bindingId,
      conn: r.conn as unknown as Socket | null, cs: r.cs as unknown as Socket, rxq: dev.rxQueues[r.rxq]!,
      wire: {
        aToB: { frames: r.wire.aToB.frames, lost: lost(r.wire.aToB) },
        bToA: { frames: r.wire.bToA?.frames ?? 0, lost: lost(r.wire.bToA) },
      },
    });
  });
}

/** p, or the watchdog's StallError first */
function race<T>(watch: StallRace | null, p: Promise<T>): Promise<T> {
  return watch === null ? p : watch.race(p);
}
