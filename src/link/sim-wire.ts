/**
 * `SimWire`: a full-duplex point-to-point Ethernet cable between two `NetDevice`s, in virtual
 * time. Each direction is an independent `LinkPort` (installed as `a.link` and `b.link`):
 *
 *  - Serialization: a frame of `len` bytes occupies the transmitter for `len * 8 / gbps` ns (the
 *    frame bytes only: no preamble, inter-frame gap or FCS). The transmitter's "busy until" time
 *    is kept as integer µs plus integer picoseconds, so back-to-back small frames at high rates
 *    add up exactly instead of rounding to zero (or to 1 µs) each.
 *  - Delivery: at `ceil(end of serialization + delayUs)` µs (the receiver sees a frame once its
 *    last bit arrived), through `to.receiveFrame(frame, fcsOk, fragCsum)`; then the link frees
 *    the frame. `fragCsum` is the sending NIC's sum of the frame's frag bytes
 *    (`NetDevice.txFragCsum`, read in `transmit`), kept in the wire's in-flight record — never on
 *    the skb — and passed on only for a frame whose bytes the wire did not touch (−1 otherwise):
 *    a simulation shortcut that spares the receiving NIC a second pass over unchanged payload.
 *  - Queueing: tail drop when the backlog still to be serialized when a frame is offered exceeds
 *    `queueLimitUs` of serialization time (`queueDrops`). Frames longer than `mtu + 14` are
 *    dropped before queueing (`mtuDrops`).
 *  - Faults (netem-like), drawn from a per-direction `Rng` stream derived from the given `rng`
 *    (two `nextU32()` draws at construction: a→b's seed, then b→a's). Every offered frame
 *    consumes exactly five draws, always in this order, whether or not the fault is enabled:
 *    loss, corrupt, corrupt-bit position, duplicate, reorder. So the seed alone determines the
 *    faults, and enabling one fault never shifts another's pattern.
 *      loss       the frame is serialized but never arrives (`lost`);
 *      corrupt    'fcs' (default): it arrives with a bad FCS, `receiveFrame(frame, false)`: the
 *                 NIC counts rxCrcErrors and drops it. 'payload': a middlebox rewrote the FCS: a
 *                 fresh copy of the frame with one bit flipped past the Ethernet header (inside
 *                 the IPv4 datagram when the frame is IPv4), so the IP or L4 checksum catches it;
 *      duplicate  the frame is delivered twice, back to back (`duplicated`);
 *      reorder    the frame is held back `reorderUs` more so later frames overtake it.
 *  - In flight: per direction, a binary heap ordered by (deliverAt, sequence) when frames may
 *    reorder, else a FIFO ring (delivery times never decrease) that grows by doubling and never
 *    shrinks; one `Timer` per direction armed for the earliest; records are pooled; nothing is
 *    allocated per frame.
 *
 * Unreadable (devmem TX) frames: the wire carries bytes, so an unreadable frame is linearized as
 * the sending NIC's DMA engine reads it (`linearizeFrame`, the link layer's one linearization,
 * counted by the exporter) into a fresh host buffer before it is delivered; the receiving NIC
 * then copies a readable frame.
 *
 * Capture (`pcap`): a `PcapTap` with dirs 'rx' is installed on BOTH devices, so the file shows
 * each frame once (duplicates twice), time-stamped at delivery, exactly as its receiver's stack
 * saw it after the NIC's header split: frames that land on a devmem queue appear with
 * capLen = headlen < origLen, as tcpdump on a devmem receiver shows them. Frames dropped on the
 * wire or by the receiving NIC (bad FCS, length) do not appear.
 *
 * Ownership: `transmit` takes the skb; the link frees it after the last delivery (or when it is
 * dropped, or on `close()`).
 */
import type { LinkPort, NetDevice } from '../netdev/index.js';
import { Rng } from '../rand/index.js';
import { skbCopyBits, skbFree, type SkBuff, type SkbCache } from '../skb/index.js';
import { linearizeFrame } from './linearize.js';
import { Timer, type Instant, type Scheduler, type TimerTarget } from '../time/index.js';
import { ETH_HLEN, ETH_P_IP } from '../wire/ethernet.js';
import { PcapTap } from './pcap-tap.js';
import { PcapWriter } from './pcap-writer.js';

export type CorruptMode = 'fcs' | 'payload';

export interface SimWireOptions {
  /** line rate in Gbit/s; default 100 */
  gbps?: number;
  /** propagation delay in µs; default 5 */
  delayUs?: number;
  /** frames longer than mtu + 14 are dropped (`mtuDrops`); default: no limit beyond the devices' */
  mtu?: number;
  /** probability a frame is lost; default 0 */
  loss?: number;
  /** probability a frame is delivered twice; default 0 */
  duplicate?: number;
  /** probability a frame is held back `reorderUs`; default 0 */
  reorder?: number;
  /** extra delay of a reordered frame in µs; default 50 */
  reorderUs?: number;
  /** probability a frame is corrupted; default 0 */
  corrupt?: number;
  /** how corruption shows: bad FCS (default) or a flipped payload bit with a valid FCS */
  corruptMode?: CorruptMode;
  /** tail-drop threshold of the transmit backlog, in µs of serialization time; default 10000 */
  queueLimitUs?: number;
  /** capture file path (opened and closed by the wire) or a writer (the caller closes it) */
  pcap?: string | PcapWriter;
}

/** per-direction counters */
export interface SimWireDirStats {
  /** frames offered to the link */
  frames: number;
  /** bytes offered to the link */
  bytes: number;
  /** frames handed to the receiving NIC (each duplicate copy counts; bad-FCS frames count) */
  delivered: number;
  lost: number;
  queueDrops: number;
  mtuDrops: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

export function newSimWireDirStats(): SimWireDirStats {
  return { frames: 0, bytes: 0, delivered: 0, lost: 0, queueDrops: 0, mtuDrops: 0, duplicated: 0, reordered: 0, corrupted: 0 };
}

const PS_PER_US = 1_000_000;

/** a frame in flight (pooled) */
class InFlight {
  skb: SkBuff | null = null;
  deliverAt: Instant = 0;
  seq = 0;
  fcsOk = true;
  copies = 1;
  /** the sending NIC's frag-byte sum (−1: none); see the module comment */
  fragCsum = -1;
}

/** resolved, validated options (see `resolveWireParams`) */
export interface WireParams {
  gbps: number;
  delayPs: number;
  maxFrame: number;
  loss: number;
  duplicate: number;
  reorder: number;
  reorderUs: number;
  corrupt: number;
  corruptMode: CorruptMode;
  queueLimitPs: number;
}

/** what a wire direction delivers to: a NIC (`NetDevice`) or a switch port; borrows the frame */
export interface FrameSink {
  receiveFrame(frame: SkBuff, fcsOk: boolean, fragCsum: number): void;
}

/**
 * One direction of a cable: frames offered to `transmit` are delivered to `to`. `skbs` is the
 * cache of the sending side, used for the fresh copies the wire makes (payload corruption,
 * linearized devmem frames).
 */
export class SimWireDirection implements LinkPort, TimerTarget {
  readonly stats: SimWireDirStats = newSimWireDirStats();
  /** records in flight when frames may reorder: a binary heap on (deliverAt, seq) */
  private readonly heap: InFlight[] = [];
  /**
   * without reordering, delivery times never decrease and records wait in a FIFO instead: a ring
   * (`ringHead`, `ringCount`, power-of-two length) that grows by doubling and never shrinks, so
   * that a steady flow neither moves records nor reallocates the array
   */
  private readonly fifo: boolean;
  private ring: InFlight[] = newRing(RING_MIN);
  private ringHead = 0;
  private ringCount = 0;
  private readonly pool: InFlight[] = [];
  private seq = 0;
  /** the transmitter is busy until busyUs + busyPs / 1e6 µs */
  private busyUs = 0;
  private busyPs = 0;
  private readonly timer: Timer;
  private closed = false;

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly p: WireParams,
    private readonly skbs: SkbCache,
    readonly to: FrameSink,
  ) {
    this.timer = new Timer(this, 0);
    this.fifo = p.reorder === 0;
  }

  /** frames (records) currently in flight */
  get inFlight(): number {
    return this.fifo ? this.ringCount : this.heap.length;
  }

  /** the record delivered next (only while `inFlight > 0`) */
  private next(): InFlight {
    return this.fifo ? this.ring[this.ringHead]! : this.heap[0]!;
  }

  /** takes ownership of the complete Ethernet frame `skb` (LinkPort) */
  transmit(skb: SkBuff, from: NetDevice): void {
    this.send(skb, from.txFragCsum);
  }

  /** offers frame `skb` to this direction; takes ownership. `fragCsum`: the sender's frag-byte sum or −1 */
  send(skb: SkBuff, fragCsum = -1): void {
    const st = this.stats;
    const p = this.p;
    const len = skb.len;
    if (this.closed) {
      skbFree(skb);
      return;
    }
    st.frames++;
    st.bytes += len;
    // the five draws, always, in a fixed order
    const rng = this.rng;
    const uLoss = rng.nextFloat();
    const uCorrupt = rng.nextFloat();
    const uBit = rng.nextFloat();
    const uDup = rng.nextFloat();
    const uReorder = rng.nextFloat();
    if (len > p.maxFrame) {
      st.mtuDrops++;
      skbFree(skb);
      return;
    }
    const now = this.sched.now();
    if (this.busyUs < now) {
      this.busyUs = now;
      this.busyPs = 0;
    }
    if ((this.busyUs - now) * PS_PER_US + this.busyPs > p.queueLimitPs) {
      st.queueDrops++;
      skbFree(skb);
      return;
    }
    // serialization
    let ps = this.busyPs + Math.round((len * 8000) / p.gbps);
    if (ps >= PS_PER_US) {
      const whole = Math.floor(ps / PS_PER_US);
      this.busyUs += whole;
      ps -= whole * PS_PER_US;
    }
    this.busyPs = ps;
    if (uLoss < p.loss) {
      st.lost++;
      skbFree(skb);
      return;
    }
    let deliverAt = this.busyUs + Math.ceil((ps + p.delayPs) / PS_PER_US);
    let fcsOk = true;
    let flip = false;
    if (uCorrupt < p.corrupt) {
      st.corrupted++;
      flip = p.corruptMode === 'payload' && len > ETH_HLEN;
      fcsOk = flip;
    }
    if (flip || skb.unreadable) {
      skb = this.linearize(skb, flip ? uBit : -1);
      fragCsum = -1;
    }
    let copies = 1;
    if (uDup < p.duplicate) {
      st.duplicated++;
      copies = 2;
    }
    if (uReorder < p.reorder) {
      st.reordered++;
      deliverAt += p.reorderUs;
    }
    const r = this.pool.pop() ?? new InFlight();
    r.skb = skb;
    r.deliverAt = deliverAt;
    r.seq = this.seq++;
    r.fcsOk = fcsOk;
    r.copies = copies;
    r.fragCsum = fcsOk ? fragCsum : -1;
    this.push(r);
    if (this.next() === r) this.sched.arm(this.timer, deliverAt);
  }

  onTimer(_timer: Timer): void {
    const now = this.sched.now();
    while (this.inFlight > 0 && this.next().deliverAt <= now) {
      const r = this.pop();
      const skb = r.skb!;
      r.skb = null;
      for (let i = 0; i < r.copies && !this.closed; i++) {
        this.stats.delivered++;
        this.to.receiveFrame(skb, r.fcsOk, r.fragCsum);
      }
      skbFree(skb);
      this.pool.push(r);
    }
    if (this.inFlight > 0) this.sched.arm(this.timer, this.next().deliverAt);
  }

  /** drops (frees) every frame in flight and refuses further frames */
  close(): void {
    this.closed = true;
    this.sched.cancel(this.timer);
    while (this.inFlight > 0) {
      const r = this.pop();
      if (r.skb !== null) skbFree(r.skb);
      r.skb = null;
      this.pool.push(r);
    }
  }

  /**
   * Copies frame `skb` into a fresh linear host buffer (the sending NIC's DMA read for device
   * memory frags) and frees the original. With `uBit` >= 0, flips the bit it selects past
   * the Ethernet header (inside the IPv4 datagram for an IPv4 frame).
   */
  private linearize(skb: SkBuff, uBit: number): SkBuff {
    const len = skb.len;
    const buf = new Uint8Array(len);
    if (skb.unreadable) linearizeFrame(skb, buf, 0);
    else skbCopyBits(skb, 0, buf, 0, len);
    const dv = new DataView(buf.buffer);
    if (uBit >= 0) {
      let end = len;
      if (len >= ETH_HLEN + 20 && dv.getUint16(12) === ETH_P_IP && buf[ETH_HLEN]! >> 4 === 4) {
        const ipEnd = ETH_HLEN + dv.getUint16(ETH_HLEN + 2);
        if (ipEnd > ETH_HLEN && ipEnd < end) end = ipEnd;
      }
      const bit = Math.floor(uBit * (end - ETH_HLEN) * 8);
      const at = ETH_HLEN + (bit >> 3);
      buf[at] = buf[at]! ^ (1 << (bit & 7));
    }
    const copy = this.skbs.wrap(buf, dv);
    skbFree(skb);
    return copy;
  }

  // ---- in-flight records: the FIFO ring, or the heap ordered by (deliverAt, seq) ----

  private push(r: InFlight): void {
    if (this.fifo) {
      if (this.ringCount === this.ring.length) this.growRing();
      this.ring[(this.ringHead + this.ringCount) & (this.ring.length - 1)] = r;
      this.ringCount++;
      return;
    }
    const h = this.heap;
    let i = h.length;
    h.push(r);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const q = h[parent]!;
      if (!before(r, q)) break;
      h[i] = q;
      i = parent;
    }
    h[i] = r;
  }

  private pop(): InFlight {
    if (this.fifo) {
      // the slot keeps its (pooled) record: no holes in the array
      const r = this.ring[this.ringHead]!;
      this.ringHead = (this.ringHead + 1) & (this.ring.length - 1);
      this.ringCount--;
      return r;
    }
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const rr = l + 1;
        const c = rr < n && before(h[rr]!, h[l]!) ? rr : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** doubles the ring, records in delivery order from index 0 */
  private growRing(): void {
    const old = this.ring;
    const ring = newRing(old.length * 2);
    for (let i = 0; i < this.ringCount; i++) ring[i] = old[(this.ringHead + i) & (old.length - 1)]!;
    this.ring = ring;
    this.ringHead = 0;
  }
}

/** initial length of a wire direction's FIFO ring (a power of two) */
const RING_MIN = 256;
/** a record that fills unused ring slots (the array stays packed) */
const RING_FILL = new InFlight();

function newRing(n: number): InFlight[] {
  const a: InFlight[] = [];
  for (let i = 0; i < n; i++) a.push(RING_FILL);
  return a;
}

function before(x: InFlight, y: InFlight): boolean {
  return x.deliverAt < y.deliverAt || (x.deliverAt === y.deliverAt && x.seq < y.seq);
}

function prob(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!(x >= 0 && x <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${x}`);
  return x;
}

function nonNeg(name: string, v: number): number {
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  return v;
}

/** validates `o` and resolves its defaults (shared with the switch) */
export function resolveWireParams(o: SimWireOptions): WireParams {
  const gbps = o.gbps ?? 100;
  if (!(gbps > 0 && Number.isFinite(gbps))) throw new RangeError(`gbps must be a finite number > 0, got ${gbps}`);
  const mtu = o.mtu;
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 0)) throw new RangeError(`mtu must be a non-negative integer, got ${mtu}`);
  const reorderUs = o.reorderUs ?? 50;
  if (!(Number.isInteger(reorderUs) && reorderUs >= 0)) throw new RangeError(`reorderUs must be a non-negative integer, got ${reorderUs}`);
  const corruptMode = o.corruptMode ?? 'fcs';
  if (corruptMode !== 'fcs' && corruptMode !== 'payload') throw new RangeError(`corruptMode must be 'fcs' or 'payload'`);
  return {
    gbps,
    delayPs: Math.round(nonNeg('delayUs', o.delayUs ?? 5) * PS_PER_US),
    maxFrame: mtu === undefined ? Number.MAX_SAFE_INTEGER : mtu + ETH_HLEN,
    loss: prob('loss', o.loss),
    duplicate: prob('duplicate', o.duplicate),
    reorder: prob('reorder', o.reorder),
    reorderUs,
    corrupt: prob('corrupt', o.corrupt),
    corruptMode,
    queueLimitPs: Math.round(nonNeg('queueLimitUs', o.queueLimitUs ?? 10_000) * PS_PER_US),
  };
}

export class SimWire {
  /** a → b (installed as `a.link`) */
  readonly aToB: SimWireDirection;
  /** b → a (installed as `b.link`) */
  readonly bToA: SimWireDirection;
  readonly stats: { readonly aToB: SimWireDirStats; readonly bToA: SimWireDirStats };
  /** the capture writer, when `pcap` was given */
  readonly pcap: PcapWriter | null;
  private readonly ownsPcap: boolean;
  private readonly tap: PcapTap | null;
  private closed = false;

  constructor(
    readonly sched: Scheduler,
    rng: Rng,
    readonly a: NetDevice,
    readonly b: NetDevice,
    opts: SimWireOptions = {},
  ) {
    if (a === b) throw new RangeError('SimWire needs two distinct devices');
    const p = resolveWireParams(opts);
    const seedAB = rng.nextU32();
    const seedBA = rng.nextU32();
    this.aToB = new SimWireDirection(sched, new Rng(seedAB), p, a.skbs, b);
    this.bToA = new SimWireDirection(sched, new Rng(seedBA), p, b.skbs, a);
    this.stats = { aToB: this.aToB.stats, bToA: this.bToA.stats };
    if (opts.pcap !== undefined) {
      this.ownsPcap = typeof opts.pcap === 'string';
      this.pcap = typeof opts.pcap === 'string' ? PcapWriter.open(opts.pcap) : opts.pcap;
      this.tap = new PcapTap(this.pcap, sched, 'rx');
      this.tap.attach(a);
      this.tap.attach(b);
    } else {
      this.ownsPcap = false;
      this.pcap = null;
      this.tap = null;
    }
    a.link = this.aToB;
    b.link = this.bToA;
  }

  /** frames in flight in both directions */
  get inFlight(): number {
    return this.aToB.inFlight + this.bToA.inFlight;
  }

  /**
   * Drops (frees) every frame in flight, detaches from both devices (their `link` becomes null
   * if it is still this wire), removes the capture taps and closes a capture file the wire
   * opened itself. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.aToB.close();
    this.bToA.close();
    if (this.a.link === this.aToB) this.a.link = null;
    if (this.b.link === this.bToA) this.b.link = null;
    if (this.tap !== null) {
      this.tap.detach(this.a);
      this.tap.detach(this.b);
    }
    if (this.ownsPcap && this.pcap !== null) this.pcap.close();
  }
}
