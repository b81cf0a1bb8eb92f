/**
 * `FramePort`: the adapter between one `NetDevice` (its skb-based `LinkPort`) and a user
 * `FrameLink` (bytes). It is the NIC's "hardware" side of a real link:
 *
 *  - TX (`transmit`, the LinkPort): the frame is linearized into one reused buffer
 *    (`linearizeFrame`: device-memory frags are read by counted DMA, as the NIC does) and handed
 *    to `link.send(bytes, meta)`. A link advertising offloads sets the device's features:
 *    `txCsum` → CHECKSUM_PARTIAL frames go out with `needsCsum`/`csumStart`/`csumOffset`;
 *    `txCsum` + `tso4`/`tso6` → TCP GSO super-frames go out unsegmented with `gsoType`,
 *    `gsoSize`, `hdrLen`. Otherwise the NIC model segments and checksums in software, and the
 *    link sees plain frames (meta null). `send` → false stops every tx queue of the device
 *    (`txStop`); frames then wait, in order, in a bounded queue (`txQueueLen`, Linux
 *    txqueuelen; beyond it they are dropped and counted) until the link calls `drain()`, which
 *    resends them and wakes the queues (`txWake`).
 *  - RX (`receive`, the LinkReceiver the link is given): the frame is copied at once into a slot
 *    of a per-queue ring (the NIC's rx ring; full → counted drop), and the device's NAPI-style
 *    poll is scheduled: in real time on the next `setImmediate` (after the I/O callbacks of this
 *    event-loop iteration, so a burst is one batch), in virtual time as a timer at "now"; never
 *    a 0 ms timer. `flush()` runs the poll now. The poll takes up to `budget` (64) frames per
 *    ring through the NIC model (`NetDevice.receiveFrameMeta`: queue hint, header split, page
 *    pool / device memory, checksum, GRO), then ends the batch with `napiComplete()` (GRO
 *    flush); frames left over are polled on the next turn. `receiveInBatch` (our own links, see
 *    `BatchLinkReceiver`) skips the ring copy: the frame goes through the NIC model inside the
 *    call, GRO trains wait for the batch's end (`flush()` or the scheduled poll); a flush that
 *    leaves nothing cancels the scheduled poll, and a link that promises its flush
 *    (`flushFollows`) gets no poll scheduled at all. Meta is honoured: a TCP GSO
 *    super-frame goes up as one skb with its segment size (a UDP one as one large datagram);
 *    `needsCsum`/`dataValid` make the checksum trusted. Malformed meta is counted and the frame
 *    dropped.
 *  - `error()` counts; `close()` stops both directions, frees what waits, detaches from the
 *    device, then awaits `link.close()`. Calls from the link after close are counted, ignored.
 *
 * Ownership: `transmit` takes the skb (freed once sent or dropped); `receive` borrows the bytes.
 * Per-frame work allocates nothing once the rings' slots and the tx buffer have grown.
 */
import { FlowDissect, flowDissect, type LinkPort, type NetDevice } from '../netdev/index.js';
import { CHECKSUM_PARTIAL, skbFree, type SkBuff } from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { ETH_HLEN, ETH_P_IP } from '../wire/ethernet.js';
import type { FrameLink, FrameMeta, LinkReceiver } from './frame-link.js';
import { linearizeFrame } from './linearize.js';

/** a frame's place in a link's buffer as skb linear data */
interface DirectView {
  buf: Uint8Array;
  dv: DataView;
}

/** cached direct views per link buffer (a TAP ring's slots, VXLAN's receive slots are fewer) */
const DIRECT_VIEWS_MAX = 1024;

/**
 * What this project's own links (TAP, VXLAN) use beyond `LinkReceiver` when the port offers it
 * (`isBatchReceiver`): `receiveInBatch` takes a frame through the NIC model at once instead of
 * copying it into the rx ring (the link's buffer is borrowed for the call only, as with
 * `receive`); GRO trains wait for the batch's `flush()`, or for the poll scheduled after this
 * event-loop turn when the link cannot tell where its batch ends. `flushFollows` true: the link
 * promises `flush()` at the end of its batch (in the same callback), so no poll is scheduled
 * for a frame that went through at once (no `setImmediate` per batch).
 */
export interface BatchLinkReceiver extends LinkReceiver {
  receiveInBatch(frame: Uint8Array, meta?: FrameMeta | null, queue?: number, flushFollows?: boolean): void;
}

export function isBatchReceiver(rx: LinkReceiver): rx is BatchLinkReceiver {
  return typeof (rx as Partial<BatchLinkReceiver>).receiveInBatch === 'function';
}

export interface FramePortOptions {
  /** frames that may wait while the link is busy (Linux txqueuelen); default 1000 */
  txQueueLen?: number;
  /** slots of each rx ring; default 1024 */
  rxRingSize?: number;
  /** frames one poll takes from each ring (NAPI weight); default 64 */
  budget?: number;
}

export interface FramePortStats {
  /** frames and bytes the link took */
  txFrames: number;
  txBytes: number;
  /** GSO super-frames and partial-checksum frames handed over with meta */
  txGso: number;
  txCsumPartial: number;
  /** `send` returned false */
  txBusy: number;
  /** frames that had to wait in the queue */
  txQueued: number;
  /** frames dropped because the queue was full, or pending at close */
  txQueueDrops: number;
  /** frames taken (into a ring, or straight through the NIC by `receiveInBatch`), and their bytes */
  rxFrames: number;
  rxBytes: number;
  /** frames dropped: ring full */
  rxRingDrops: number;
  /** frames dropped: malformed meta, or longer than any frame the device can take */
  rxBadMeta: number;
  rxTooLong: number;
  /** a queue index the device does not have (RSS decided instead) */
  rxBadQueue: number;
  /** frames `receiveInBatch` took through the NIC at once (no ring copy) */
  rxDirect: number;
  /**
   * views built over a link's buffer for those frames: one per place in the link's buffers a
   * frame starts at (receive slots, ring slots), cached, so it stops growing once the link's
   * buffers have all been seen
   */
  rxDirectViews: number;
  /** polls run, and polls that left frames for the next turn (budget used up) */
  polls: number;
  pollsRepolled: number;
  /** `error()` calls */
  linkErrors: number;
  /** link calls after close */
  afterClose: number;
}

function newStats(): FramePortStats {
  return {
    txFrames: 0, txBytes: 0, txGso: 0, txCsumPartial: 0, txBusy: 0, txQueued: 0, txQueueDrops: 0,
    rxFrames: 0, rxBytes: 0, rxRingDrops: 0, rxBadMeta: 0, rxTooLong: 0, rxBadQueue: 0, rxDirect: 0, rxDirectViews: 0,
    polls: 0, pollsRepolled: 0, linkErrors: 0, afterClose: 0,
  };
}

/** the largest frame a port accepts: a 64 KiB IPv6 GSO datagram behind an Ethernet header */
const MAX_FRAME = ETH_HLEN + 40 + 65535;

/** one rx ring slot: a frame copy and its meta */
class RxSlot {
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(this.buf.buffer);
  len = 0;
  hint = -1;
  gsoSize = 0;
  trusted = false;
}

class RxRing {
  readonly slots: RxSlot[];
  head = 0;
  count = 0;
  constructor(size: number) {
    this.slots = [];
    for (let i = 0; i < size; i++) this.slots.push(new RxSlot());
  }
}

export class FramePort implements LinkPort, BatchLinkReceiver, TimerTarget {
  readonly stats: FramePortStats = newStats();
  /** the last error the link reported */
  lastError: Error | null = null;
  private readonly rings: RxRing[] = [];
  private readonly budget: number;
  private readonly txQueueLen: number;
  // tx: the reused linear buffer, views of it by length, the meta object, the waiting queue
  private txBuf = new Uint8Array(2048);
  private txViews: (Uint8Array | undefined)[] = [];
  private readonly txMeta: FrameMeta = {
    gsoType: 'none', hdrLen: 0, gsoSize: 0, needsCsum: false, csumStart: 0, csumOffset: 0, dataValid: false,
  };
  private readonly txFd = new FlowDissect();
  private qHead: SkBuff | null = null;
  private qTail: SkBuff | null = null;
  /** frames waiting for `drain()` */
  txQueueLength = 0;
  /** the link refused a frame and has not drained yet */
  stopped = false;
  private draining = false;
  private drainAgain = false;
  // rx poll scheduling
  private pollPending = false;
  private polling = false;
  private repoll = false;
  private immediate: NodeJS.Immediate | null = null;
  private readonly pollTimer: Timer;
  private readonly runPollImmediate = (): void => {
    this.immediate = null;
    this.pollPending = false;
    this.poll();
  };
  private closed = false;
  private closing: Promise<void> | null = null;
  // the admitted frame's verdict (admit → toRing / direct), kept in fields: no per-frame object
  private inRing = 0;
  private inHint = -1;
  private inGso = 0;
  private inTrusted = false;
  // receiveInBatch: the link's buffer as the skb's linear data, a view per offset a frame starts
  // at in the link's current buffer (receive slots share one), kept while the link reuses it
  private directBacking: ArrayBufferLike | null = null;
  private readonly directViews = new Map<number, DirectView>();

  constructor(
    readonly dev: NetDevice,
    readonly link: FrameLink,
    private readonly sched: Scheduler,
    opts: FramePortOptions = {},
  ) {
    const ringSize = opts.rxRingSize ?? 1024;
    const budget = opts.budget ?? 64;
    const qlen = opts.txQueueLen ?? 1000;
    if (!(Number.isInteger(ringSize) && ringSize >= 1 && ringSize <= 65536)) throw new RangeError('rxRingSize must be an integer in 1..65536');
    if (!(Number.isInteger(budget) && budget >= 1)) throw new RangeError('budget must be a positive integer');
    if (!(Number.isInteger(qlen) && qlen >= 0)) throw new RangeError('txQueueLen must be a non-negative integer');
    this.budget = budget;
    this.txQueueLen = qlen;
    for (let i = 0; i < Math.max(1, dev.rxQueues.length); i++) this.rings.push(new RxRing(ringSize));
    this.pollTimer = new Timer(this, 0);
    const off = link.offloads ?? {};
    dev.txCsumOffload = off.txCsum === true;
    dev.txGsoTcp4 = off.txCsum === true && off.tso4 === true;
    dev.txGsoTcp6 = off.txCsum === true && off.tso6 === true;
    dev.napiPoll = true;
    dev.link = this;
    link.attach(this);
  }

  /** frames waiting in the rx rings */
  get rxPending(): number {
    let n = 0;
    for (const r of this.rings) n += r.count;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- TX (LinkPort) ----

  transmit(skb: SkBuff, _from: NetDevice): void {
    if (this.closed) {
      this.dev.counters.txDropped++;
      skbFree(skb);
      return;
    }
    if (this.stopped || this.qHead !== null) {
      this.enqueue(skb);
      return;
    }
    if (this.sendSkb(skb)) return;
    this.stop();
    this.enqueue(skb);
  }

  /** hands `skb` to the link; true (skb freed) when taken, false (skb still ours) when busy */
  private sendSkb(skb: SkBuff): boolean {
    const len = skb.len;
    if (this.txBuf.length < len) {
      let cap = this.txBuf.length;
      while (cap < len) cap *= 2;
      this.txBuf = new Uint8Array(cap);
      this.txViews = [];
    }
    linearizeFrame(skb, this.txBuf, 0);
    let view = this.txViews[len];
    if (view === undefined) {
      view = this.txBuf.subarray(0, len);
      this.txViews[len] = view;
    }
    const meta = this.fillMeta(skb);
    if (!this.link.send(view, meta)) {
      this.stats.txBusy++;
      return false;
    }
    const st = this.stats;
    st.txFrames++;
    st.txBytes += len;
    if (meta !== null) {
      if (meta.gsoType !== 'none') st.txGso++;
      if (meta.needsCsum) st.txCsumPartial++;
    }
    skbFree(skb);
    return true;
  }

  /** virtio-net meta of `skb`, or null for a plain frame (complete checksum, no GSO) */
  private fillMeta(skb: SkBuff): FrameMeta | null {
    const partial = skb.ipSummed === CHECKSUM_PARTIAL;
    const gso = skb.gsoSize > 0 && skb.len > this.dev.mtu + ETH_HLEN;
    if (!partial && !gso) return null;
    const m = this.txMeta;
    m.needsCsum = partial;
    m.csumStart = partial ? skb.csumStart - skb.data : 0;
    m.csumOffset = partial ? skb.csumOffset : 0;
    m.dataValid = false;
    if (gso) {
      const fd = this.txFd;
      flowDissect(fd, skb.dv, skb.data, skb.tail - skb.data, skb.len, true);
      m.gsoType = skb.protocol === ETH_P_IP ? 'tcpv4' : 'tcpv6';
      m.gsoSize = skb.gsoSize;
      m.hdrLen = fd.split;
    } else {
      m.gsoType = 'none';
      m.gsoSize = 0;
      m.hdrLen = 0;
    }
    return m;
  }

  private enqueue(skb: SkBuff): void {
    if (this.txQueueLength >= this.txQueueLen) {
      this.stats.txQueueDrops++;
      this.dev.counters.txDropped++;
      skbFree(skb);
      return;
    }
    skb.next = null;
    if (this.qTail === null) this.qHead = skb;
    else this.qTail.next = skb;
    this.qTail = skb;
    this.txQueueLength++;
    this.stats.txQueued++;
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const qs = this.dev.txQueues;
    for (let i = 0; i < qs.length; i++) {
      qs[i]!.stopped = true;
      qs[i]!.stats.txStop++;
    }
  }

  private wake(): void {
    this.stopped = false;
    const qs = this.dev.txQueues;
    for (let i = 0; i < qs.length; i++) {
      qs[i]!.stopped = false;
      qs[i]!.stats.txWake++;
    }
  }

  /** the link can take frames again: resend what waits, in order; wake the queues once empty */
  drain(): void {
    if (this.closed) {
      this.stats.afterClose++;
      return;
    }
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        while (this.qHead !== null) {
          const skb = this.qHead;
          const next = skb.next;
          skb.next = null;
          if (!this.sendSkb(skb)) {
            skb.next = next;
            break;
          }
          this.qHead = next;
          if (next === null) this.qTail = null;
          this.txQueueLength--;
        }
      } while (this.drainAgain && this.qHead !== null);
      if (this.qHead === null && this.stopped) this.wake();
      else if (this.qHead !== null) this.stop();
    } finally {
      this.draining = false;
    }
  }

  // ---- RX (LinkReceiver) ----

  receive(frame: Uint8Array, meta?: FrameMeta | null, queue?: number): void {
    if (!this.admit(frame, meta, queue)) return;
    this.toRing(frame);
  }

  /**
   * `BatchLinkReceiver`: the frame goes through the NIC model at once (which copies it into the
   * host's buffers, as `receive` copies it into the ring), so no ring copy is made; GRO keeps
   * TCP trains until the batch ends with `flush()` (or, if the link never calls it, the poll
   * scheduled here runs the GRO flush after this event-loop turn's I/O callbacks). Anything else
   * (ARP, ICMP, a non-mergeable segment) goes up the stack inside the call, so a ping is answered
   * from the link's own callback. Falls back to the ring (same order, same semantics as
   * `receive`) while a poll or another direct frame is running (a re-entrant call) or the ring
   * still holds earlier frames.
   */
  receiveInBatch(frame: Uint8Array, meta?: FrameMeta | null, queue?: number, flushFollows?: boolean): void {
    if (!this.admit(frame, meta, queue)) return;
    const ring = this.rings[this.inRing]!;
    if (this.polling || ring.count > 0) {
      this.toRing(frame);
      return;
    }
    const views = this.directViews;
    if (frame.buffer !== this.directBacking) {
      views.clear();
      this.directBacking = frame.buffer;
    }
    let v = views.get(frame.byteOffset);
    if (v === undefined) {
      // bounded: a link handing out frames at ever new offsets costs a view each, never memory
      if (views.size >= DIRECT_VIEWS_MAX) views.clear();
      v = { buf: new Uint8Array(frame.buffer, frame.byteOffset), dv: new DataView(frame.buffer, frame.byteOffset) };
      views.set(frame.byteOffset, v);
      this.stats.rxDirectViews++;
    }
    this.stats.rxDirect++;
    this.polling = true;
    try {
      const skb = this.dev.skbs.wrap(v.buf, v.dv);
      skb.tail = frame.length;
      skb.len = frame.length;
      this.dev.receiveFrameMeta(skb, this.inHint, this.inGso, this.inTrusted);
      skbFree(skb);
    } finally {
      this.polling = false;
    }
    if (flushFollows !== true || this.repoll) {
      // a poll asked for while this frame ran (repoll) is that poll; the link's flush() may run it sooner
      this.repoll = false;
      this.schedulePoll();
    }
  }

  /** checks a received frame and its meta (counted drops); the verdict is left in `in*` */
  private admit(frame: Uint8Array, meta: FrameMeta | null | undefined, queue: number | undefined): boolean {
    const st = this.stats;
    if (this.closed) {
      st.afterClose++;
      return false;
    }
    const len = frame.length;
    if (len > MAX_FRAME) {
      st.rxTooLong++;
      this.dev.counters.rxLengthErrors++;
      return false;
    }
    let gsoSize = 0;
    let trusted = false;
    if (meta !== undefined && meta !== null) {
      const g = meta.gsoType;
      if (g !== 'none') {
        if ((g !== 'tcpv4' && g !== 'tcpv6' && g !== 'udp') || !(Number.isInteger(meta.gsoSize) && meta.gsoSize > 0 && meta.gsoSize < 65536)) {
          st.rxBadMeta++;
          return false;
        }
        gsoSize = meta.gsoSize;
      }
      if (meta.needsCsum) {
        const cs = meta.csumStart;
        const co = meta.csumOffset;
        if (!(Number.isInteger(cs) && Number.isInteger(co) && cs >= ETH_HLEN && co >= 0 && cs + co + 2 <= len)) {
          st.rxBadMeta++;
          return false;
        }
        trusted = true;
      }
      if (meta.dataValid) trusted = true;
    }
    let ri = 0;
    let hint = -1;
    if (queue !== undefined && queue !== null) {
      if (Number.isInteger(queue) && queue >= 0 && queue < this.dev.rxQueues.length) {
        hint = queue;
        ri = queue < this.rings.length ? queue : 0;
      } else {
        st.rxBadQueue++;
      }
    }
    this.inRing = ri;
    this.inHint = hint;
    this.inGso = gsoSize;
    this.inTrusted = trusted;
    st.rxFrames++;
    st.rxBytes += len;
    return true;
  }

  /** copies an admitted frame into its ring slot and schedules the poll (full ring: counted drop) */
  private toRing(frame: Uint8Array): void {
    const st = this.stats;
    const ri = this.inRing;
    const ring = this.rings[ri]!;
    const size = ring.slots.length;
    const len = frame.length;
    if (ring.count >= size) {
      st.rxFrames--;
      st.rxBytes -= len;
      st.rxRingDrops++;
      const q = this.dev.rxQueues[ri];
      if (q !== undefined) q.stats.rxHwDropOverruns++;
      return;
    }
    const slot = ring.slots[(ring.head + ring.count) % size]!;
    if (slot.buf.length < len) {
      let cap = Math.max(2048, slot.buf.length);
      while (cap < len) cap *= 2;
      slot.buf = new Uint8Array(cap);
      slot.dv = new DataView(slot.buf.buffer);
    }
    slot.buf.set(frame, 0);
    slot.len = len;
    slot.hint = this.inHint;
    slot.gsoSize = this.inGso;
    slot.trusted = this.inTrusted;
    ring.count++;
    this.schedulePoll();
  }

  /** runs the poll now (a link ends a batch) */
  flush(): void {
    if (this.closed) {
      this.stats.afterClose++;
      return;
    }
    this.poll();
  }

  error(err: Error): void {
    this.stats.linkErrors++;
    this.lastError = err;
  }

  private schedulePoll(): void {
    if (this.pollPending || this.closed) return;
    this.pollPending = true;
    if (this.sched.mode === 'virtual') this.sched.arm(this.pollTimer, this.sched.now());
    else this.immediate = setImmediate(this.runPollImmediate);
  }

  onTimer(_t: Timer): void {
    this.pollPending = false;
    this.poll();
  }

  /** the NAPI-style poll: up to `budget` frames per ring through the NIC model, then the GRO flush */
  private poll(): void {
    if (this.closed) return;
    if (this.polling) {
      this.repoll = true;
      return;
    }
    this.polling = true;
    this.stats.polls++;
    const dev = this.dev;
    const skbs = dev.skbs;
    let more = false;
    try {
      for (let r = 0; r < this.rings.length; r++) {
        const ring = this.rings[r]!;
        const size = ring.slots.length;
        for (let n = 0; n < this.budget && ring.count > 0 && !this.closed; n++) {
          const slot = ring.slots[ring.head]!;
          ring.head = (ring.head + 1) % size;
          ring.count--;
          const skb = skbs.wrap(slot.buf, slot.dv);
          skb.tail = slot.len;
          skb.len = slot.len;
          dev.receiveFrameMeta(skb, slot.hint, slot.gsoSize, slot.trusted);
          skbFree(skb);
        }
        if (ring.count > 0) more = true;
      }
      dev.napiComplete();
    } finally {
      this.polling = false;
    }
    if (more || this.repoll) {
      if (more) this.stats.pollsRepolled++;
      this.repoll = false;
      this.schedulePoll();
    } else if (this.pollPending) {
      // a flush() ran the poll the batch had scheduled: nothing is left for it
      this.cancelPoll();
    }
  }

  private cancelPoll(): void {
    this.pollPending = false;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.sched.cancel(this.pollTimer);
  }

  // ---- close ----

  /**
   * Stops both directions (frames waiting to be sent are freed and counted as drops, frames in
   * the rx rings are discarded, the pending poll is cancelled, the GRO trains are flushed),
   * detaches from the device, then awaits `link.close()` (a rejection is recorded in
   * `lastError`, not thrown). Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    this.cancelPoll();
    for (const r of this.rings) {
      r.head = 0;
      r.count = 0;
    }
    let skb = this.qHead;
    this.qHead = this.qTail = null;
    while (skb !== null) {
      const next = skb.next;
      skb.next = null;
      this.stats.txQueueDrops++;
      this.dev.counters.txDropped++;
      skbFree(skb);
      skb = next;
    }
    this.txQueueLength = 0;
    const dev = this.dev;
    dev.napiComplete();
    if (dev.link === this) {
      dev.link = null;
      dev.napiPoll = false;
      dev.txCsumOffload = dev.txGsoTcp4 = dev.txGsoTcp6 = false;
      for (const q of dev.txQueues) q.stopped = false;
    }
    // a failing link close is recorded, never thrown: `network.close()` may go unawaited
    this.closing = Promise.resolve()
      .then(() => this.link.close())
      .catch((err: unknown) => {
        this.stats.linkErrors++;
        this.lastError = err instanceof Error ? err : new Error(String(err));
      });
    return this.closing;
  }
}
