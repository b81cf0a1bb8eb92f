/**
 * `SkBuff`: a packet as the stack carries it — a readable linear area (`buf[data..tail)`, the
 * "head", always host memory) plus up to `MAX_SKB_FRAGS` frags, each a (netmem, offset, length)
 * reference into a page. `unreadable` is set as soon as a net_iov frag is added and then covers
 * every frag: the stack may parse the head but never the frags. Metadata (header offsets,
 * checksum state, rx queue, the TCP control block) is kept in plain fields so the object shape
 * never changes; skbs are recycled through `SkbCache`.
 *
 * Ownership: an skb owns one reference on its head page (when `headRef` is set) and one on each
 * frag's netmem; `skbFree` drops them all. Whoever holds an skb pointer owns the skb unless a
 * function's comment says it borrows.
 */
import { NETMEM_NONE, type MemSpace, type NetmemRef } from '../mem/index.js';

export const MAX_SKB_FRAGS = 17;

export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;

export class SkBuff {
  /** the memory space every netmem of this skb belongs to */
  mem: MemSpace;
  /** the cache the object returns to when freed */
  owner: SkbCache | null = null;
  /** host page holding the linear buffer, or NETMEM_NONE for an external buffer */
  headRef: NetmemRef = NETMEM_NONE;
  buf: Uint8Array;
  dv: DataView;
  /** start and end of the linear buffer inside `buf` */
  head = 0;
  end = 0;
  /** current data start and end of the linear data inside `buf` */
  data = 0;
  tail = 0;
  /** total bytes from `data`: linear + frags */
  len = 0;
  /** bytes in frags */
  dataLen = 0;
  nrFrags = 0;
  readonly fragRef = new Int32Array(MAX_SKB_FRAGS);
  readonly fragOff = new Int32Array(MAX_SKB_FRAGS);
  readonly fragLen = new Int32Array(MAX_SKB_FRAGS);
  /** some frag is a net_iov: frag bytes must not be read by the host stack */
  unreadable = false;

  /** ETH_P_* of the network header */
  protocol = 0;
  /** absolute offsets into `buf`, -1 when unset */
  macHeader = -1;
  networkHeader = -1;
  transportHeader = -1;
  ipSummed = CHECKSUM_NONE;
  /** CHECKSUM_PARTIAL: checksum from `csumStart` (absolute in buf), stored at csumStart+csumOffset */
  csumStart = 0;
  csumOffset = 0;
  /** rx queue the NIC put the packet on, -1 for none */
  queueMapping = -1;
  /** ifindex of the device the skb came in on / goes out of */
  ifindex = 0;
  /** flow hash (RSS) */
  hash = 0;
  /** segment size for GSO skbs (0 = not GSO) */
  gsoSize = 0;
  /**
   * Set by a transmitting NIC that summed the frag bytes while filling the L4 checksum: the
   * unfolded Internet-checksum accumulator of all frag bytes (taken as an even-aligned block).
   * A receiving NIC may reuse it instead of re-reading bytes that provably did not change.
   */
  fragCsum = 0;
  fragCsumValid = false;

  // TCP control block (TCP_SKB_CB)
  seq = 0;
  endSeq = 0;
  tcpFlags = 0;

  /** list link (queues own their skbs through this) */
  next: SkBuff | null = null;
  /** true while the object sits in the cache (use-after-free guard) */
  freed = false;

  constructor(mem: MemSpace, buf: Uint8Array, dv: DataView) {
    this.mem = mem;
    this.buf = buf;
    this.dv = dv;
  }

  /** bytes in the linear area from `data` */
  get headlen(): number {
    return this.tail - this.data;
  }
  get headroom(): number {
    return this.data - this.head;
  }
  get tailroom(): number {
    return this.end - this.tail;
  }
}

/** readability of all frags (Linux `skb_frags_readable`) */
export function skbFragsReadable(skb: SkBuff): boolean {
  return !skb.unreadable;
}

const EMPTY = new Uint8Array(0);
const EMPTY_DV = new DataView(EMPTY.buffer);

/**
 * Recycles `SkBuff` objects and gives them linear buffers carved from host pages. One per host.
 */
export class SkbCache {
  private readonly cache: SkBuff[] = [];
  /** skbs handed out and not yet freed */
  live = 0;
  private page: NetmemRef = NETMEM_NONE;
  private pageFill = 0;

  constructor(readonly mem: MemSpace, readonly maxCached = 4096) {}

  /** a bare skb with no linear buffer */
  allocBare(): SkBuff {
    let skb = this.cache.pop();
    if (skb === undefined) {
      skb = new SkBuff(this.mem, EMPTY, EMPTY_DV);
      skb.owner = this;
    }
    skb.freed = false;
    this.live++;
    return skb;
  }

  /**
   * An skb with a `size`-byte linear buffer carved from a host page (size ≤ 4096), `headroom`
   * bytes reserved in front. Returns null when host memory is exhausted.
   */
  alloc(size: number, headroom: number): SkBuff | null {
    const need = (size + 63) & ~63;
    if (this.page === NETMEM_NONE || this.pageFill + need > 4096) {
      if (this.page !== NETMEM_NONE) this.mem.put(this.page);
      this.page = this.mem.allocPage();
      this.pageFill = 0;
      if (this.page === NETMEM_NONE) return null;
    }
    const skb = this.allocBare();
    const ref = this.page;
    this.mem.get(ref);
    const base = this.mem.offset(ref) + this.pageFill;
    this.pageFill += need;
    attachHead(skb, ref, this.mem.buf(ref), this.mem.dv(ref), base, size, headroom);
    return skb;
  }

  /** an skb whose linear buffer is `len` bytes of page `ref` at `pageOff`; takes over one reference on `ref` */
  allocOnPage(ref: NetmemRef, pageOff: number, size: number, headroom: number): SkBuff {
    const skb = this.allocBare();
    attachHead(skb, ref, this.mem.buf(ref), this.mem.dv(ref), this.mem.offset(ref) + pageOff, size, headroom);
    return skb;
  }

  /** an skb whose linear data is an external buffer (frames from real links); no page reference */
  wrap(buf: Uint8Array, dv: DataView): SkBuff {
    const skb = this.allocBare();
    skb.headRef = NETMEM_NONE;
    skb.buf = buf;
    skb.dv = dv;
    skb.head = 0;
    skb.end = buf.length;
    skb.data = 0;
    skb.tail = buf.length;
    skb.len = buf.length;
    return skb;
  }

  /** returns a freed skb's object to the cache (called by skbFree) */
  recycle(skb: SkBuff): void {
    this.live--;
    if (this.cache.length < this.maxCached) this.cache.push(skb);
  }
}

function attachHead(skb: SkBuff, ref: NetmemRef, buf: Uint8Array, dv: DataView, base: number, size: number, headroom: number): void {
  skb.headRef = ref;
  skb.buf = buf;
  skb.dv = dv;
  skb.head = base;
  skb.end = base + size;
  skb.data = base + headroom;
  skb.tail = skb.data;
  skb.len = 0;
}
