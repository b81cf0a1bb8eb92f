/**
 * `SkBuff`: a packet as the stack carries it — a readable linear area (`buf[data..tail)`, the
 * "head", always host memory) plus up to `maxFrags` frags (the cache's capacity, `MAX_SKB_FRAGS`
 * = 17 by default, up to `MAX_SKB_FRAGS_LIMIT` = 45 as Linux CONFIG_MAX_SKB_FRAGS allows), each a
 * (netmem, offset, length) reference into a page, then an optional frag list (Linux
 * `skb_shinfo(skb)->frag_list`): a chain of member skbs, linked through their `next`, whose bytes
 * (each member's head, then its frags) follow the parent's frags. `len` and `dataLen` of the
 * parent include the members' bytes; members never have frag lists of their own (appending
 * flattens). `unreadable` is set as soon as a net_iov frag is added (or an unreadable member is
 * appended) and then covers every frag: the stack may parse the head but never the frags. A
 * member is readable or not on its own; the helpers check each piece (Linux `skb_copy_bits`
 * recursing into the frag list). Metadata (header offsets,
 * checksum state, rx queue, the TCP control block) is kept in plain fields so the object shape
 * never changes; skbs are recycled through `SkbCache`.
 *
 * Ownership: an skb owns one reference on its head page (when `headRef` is set) and one on each
 * frag's netmem, and owns its frag-list members; `skbFree` drops them all. Whoever holds an skb pointer owns the skb unless a
 * function's comment says it borrows.
 */
import { NETMEM_NONE, type MemSpace, type NetmemRef } from '../mem/index.js';
import type { UbufInfo } from './ubuf.js';

/** default frag capacity of an skb (Linux MAX_SKB_FRAGS with 4 KiB pages) */
export const MAX_SKB_FRAGS = 17;
/** the largest frag capacity an `SkbCache` may be configured with (Linux CONFIG_MAX_SKB_FRAGS ≤ 45) */
export const MAX_SKB_FRAGS_LIMIT = 45;

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
  /** frag slots: (netmem, offset in page, length); capacity `maxFrags` */
  readonly fragRef: Int32Array;
  readonly fragOff: Int32Array;
  readonly fragLen: Int32Array;
  /** first frag-list member (owned), linked through the members' `next`; null for none */
  fragList: SkBuff | null = null;
  /** last frag-list member (O(1) append) */
  fragListTail: SkBuff | null = null;
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

  // TCP control block (TCP_SKB_CB)
  seq = 0;
  endSeq = 0;
  tcpFlags = 0;

  /** transmit completion this skb holds a reference on (Linux skb_shinfo()->destructor_arg); see ubuf.ts */
  uarg: UbufInfo | null = null;

  /** list link (queues own their skbs through this) */
  next: SkBuff | null = null;
  /** true while the object sits in the cache (use-after-free guard) */
  freed = false;

  constructor(mem: MemSpace, buf: Uint8Array, dv: DataView, maxFrags = MAX_SKB_FRAGS) {
    this.mem = mem;
    this.buf = buf;
    this.dv = dv;
    this.fragRef = new Int32Array(maxFrags);
    this.fragOff = new Int32Array(maxFrags);
    this.fragLen = new Int32Array(maxFrags);
  }

  /** frag slot capacity (Linux MAX_SKB_FRAGS for this skb) */
  get maxFrags(): number {
    return this.fragRef.length;
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

/** readability of all frags and frag-list members (Linux `skb_frags_readable`) */
export function skbFragsReadable(skb: SkBuff): boolean {
  return !skb.unreadable;
}

/** true when the skb has frag-list members */
export function skbHasFragList(skb: SkBuff): boolean {
  return skb.fragList !== null;
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
  /** frag capacity of every skb of this cache */
  readonly maxFrags: number;

  constructor(readonly mem: MemSpace, readonly maxCached = 4096, maxFrags = MAX_SKB_FRAGS) {
    if (!Number.isInteger(maxFrags) || maxFrags < MAX_SKB_FRAGS || maxFrags > MAX_SKB_FRAGS_LIMIT) {
      throw new RangeError(`maxFrags must be within ${MAX_SKB_FRAGS}..${MAX_SKB_FRAGS_LIMIT}`);
    }
    this.maxFrags = maxFrags;
  }

  /** a bare skb with no linear buffer */
  allocBare(): SkBuff {
    let skb = this.cache.pop();
    if (skb === undefined) {
      skb = new SkBuff(this.mem, EMPTY, EMPTY_DV, this.maxFrags);
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
