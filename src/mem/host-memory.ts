/**
 * Host memory: readable 4 KiB pages carved from 1 MiB ArrayBuffer chunks, each chunk with one
 * Uint8Array and one DataView created once (views are re-bound, never re-created). Per-page
 * metadata lives in typed arrays indexed by page number: `refcnt` for ordinary pages, `ppRef`
 * and `pool` for pages owned by a page pool. Pages are recycled through a LIFO free list.
 *
 * Frag pages (`allocFragPage`, Linux SKB_FRAG_PAGE_ORDER): 32 KiB compound pages for the
 * socket's page frag (what TCP copies sent bytes into), 8 contiguous pages carved from chunks
 * kept for them. The head page's number is the page: its refcount counts for the whole block,
 * `buf/dv/offset` of the head address all 32 KiB (a frag may start anywhere in it), and the
 * block counts 8 pages in `inUse`. Released blocks go back to their own free list.
 *
 * User pages (`pinUserPages`, what MSG_ZEROCOPY pins): a caller's Uint8Array made into host pages
 * without a copy. Its bytes [i*4096, (i+1)*4096) are page i (the last one may be short); the
 * region takes whole chunk slots of the page-number space (slot k's byte array is the caller's
 * view of bytes [k MiB, (k+1) MiB)), so `buf/dv/offset` and every skb helper work unchanged. The
 * pin holds one reference per page; frags take more through `MemSpace.get`; a page whose count
 * reaches zero is released (never to the free list), and the region's slots are reused once all
 * its pages are. User pages count in `userPagesPinned`, not in `inUse` or `maxPages`. A caller
 * that detaches (transfers) a pinned buffer leaves its pages reading as zeros (`detachedRead`):
 * the stack never throws on them.
 */
import { hostPageRef, PAGE_SHIFT, PAGE_SIZE, type NetmemRef } from './netmem.js';

const PAGES_PER_CHUNK_SHIFT = 8;
const PAGES_PER_CHUNK = 1 << PAGES_PER_CHUNK_SHIFT;
const CHUNK_BYTES = PAGES_PER_CHUNK * PAGE_SIZE;
/** Linux SKB_FRAG_PAGE_ORDER: order of the socket's page frag (a 32 KiB compound page) */
export const FRAG_PAGE_ORDER = 3;
/** bytes of a frag page */
export const FRAG_PAGE_SIZE = PAGE_SIZE << FRAG_PAGE_ORDER;
const FRAG_PAGES = 1 << FRAG_PAGE_ORDER;

export class HostMemory {
  /** chunk byte arrays, index = page >> 8 */
  readonly bufs: Uint8Array[] = [];
  readonly dvs: DataView[] = [];
  refcnt: Int32Array = new Int32Array(0);
  ppRef: Int32Array = new Int32Array(0);
  /** id of the owning page pool, 0 when not pool-owned */
  pool: Int32Array = new Int32Array(0);
  private free: Int32Array = new Int32Array(0);
  private freeCount = 0;
  private capacity = 0;
  /** pages currently allocated (not on the free list) */
  inUse = 0;
  /** upper bound on pages, to make host memory exhaustion testable (default: 4 GiB) */
  maxPages: number;
  /** per chunk slot: 1 for a slot of user pages (in use or free for the next region), else 0 */
  private chunkUser: Int32Array = new Int32Array(0);
  /** per chunk slot: 1 for a chunk carved into frag pages, else 0 */
  private chunkFrag: Int32Array = new Int32Array(0);
  /** head pages of free frag pages (LIFO) */
  private freeFrag: Int32Array = new Int32Array(0);
  private freeFragCount = 0;
  /** frag pages carved so far (the free list's size bound) */
  private fragBlocks = 0;
  /** the region holding each user chunk slot */
  private readonly userRegion: (UserPages | null)[] = [];
  private readonly freeUserSlots: number[] = [];
  private userSlots = 0;
  /** user pages pinned and still referenced */
  userPagesPinned = 0;
  /** reads of user pages whose caller detached the buffer under a pending send (they read zeros) */
  detachedUserReads = 0;
  /** the zero-filled stand-in for a detached user chunk (never written) */
  private zeroChunk: { buf: Uint8Array; dv: DataView } | null = null;
  /** limit on pinned user pages (Linux RLIMIT_MEMLOCK, mm_account_pinned_pages → ENOBUFS) */
  maxUserPages = 1 << 20;

  constructor(maxBytes = 4 * 1024 * 1024 * 1024) {
    this.maxPages = Math.floor(maxBytes / PAGE_SIZE);
  }

  get totalPages(): number {
    return this.capacity;
  }

  /** allocates a page with refcnt 1 and no pool; returns its index or -1 when memory is full */
  alloc(): number {
    if (this.freeCount === 0 && !this.grow()) return -1;
    return this.handOut(this.free[--this.freeCount]!, 1);
  }

  /**
   * allocates a frag page (FRAG_PAGE_SIZE contiguous bytes from `offset(p)` of `buf(p)`) with
   * refcnt 1; returns its head page or -1 when memory is full
   */
  allocFragPage(): number {
    if (this.freeFragCount === 0 && !this.growFrag()) return -1;
    return this.handOut(this.freeFrag[--this.freeFragCount]!, FRAG_PAGES);
  }

  /** page `p` (covering `pages` pages) leaves a free list: one reference, no pool */
  private handOut(p: number, pages: number): number {
    this.refcnt[p] = 1;
    this.ppRef[p] = 0;
    this.pool[p] = 0;
    this.inUse += pages;
    return p;
  }

  /** returns a page (or a frag page, by its head) to its free list; the caller must hold the last reference */
  release(p: number): void {
    const c = p >>> PAGES_PER_CHUNK_SHIFT;
    if (this.chunkUser[c] !== 0) {
      this.releaseUser(p);
      return;
    }
    if (this.chunkFrag[c] !== 0) {
      this.refcnt[p] = 0;
      this.freeFrag[this.freeFragCount++] = p;
      this.inUse -= FRAG_PAGES;
      return;
    }
    this.refcnt[p] = 0;
    this.ppRef[p] = 0;
    this.pool[p] = 0;
    this.free[this.freeCount++] = p;
    this.inUse--;
  }

  /** byte array that holds page `p` (shared by the chunk's 256 pages) */
  buf(p: number): Uint8Array {
    const b = this.bufs[p >>> PAGES_PER_CHUNK_SHIFT]!;
    // only a user page's view can be empty: its caller detached the buffer (see detachedRead)
    return b.length !== 0 ? b : this.detachedRead(p).buf;
  }
  dv(p: number): DataView {
    const c = p >>> PAGES_PER_CHUNK_SHIFT;
    return this.bufs[c]!.length !== 0 ? this.dvs[c]! : this.detachedRead(p).dv;
  }

  /**
   * A pinned user page whose caller detached (transferred) its ArrayBuffer while a zero-copy
   * send still referenced it. Linux's pinned pages outlive an munmap; JavaScript gives the bytes
   * to the buffer's new owner, so from then on the stack reads zeros: the send still completes
   * (a caller that breaks the "do not touch until the completion" contract gets what Linux gives
   * one that rewrites the buffer: whatever the memory holds), and nothing throws. Counted in
   * `detachedUserReads`.
   */
  private detachedRead(p: number): { buf: Uint8Array; dv: DataView } {
    this.detachedUserReads++;
    let z = this.zeroChunk;
    if (z === null) {
      const ab = new ArrayBuffer(CHUNK_BYTES);
      z = this.zeroChunk = { buf: new Uint8Array(ab), dv: new DataView(ab) };
    }
    void p;
    return z;
  }
  /** offset of page `p` inside `buf(p)` */
  offset(p: number): number {
    return (p & (PAGES_PER_CHUNK - 1)) << PAGE_SHIFT;
  }

  private grow(): boolean {
    const old = this.capacity;
    if (old - this.userSlots * PAGES_PER_CHUNK + PAGES_PER_CHUNK > this.maxPages) return false;
    const ab = new ArrayBuffer(CHUNK_BYTES);
    this.addChunk(new Uint8Array(ab), new DataView(ab));
    const cap = this.capacity;
    // push in reverse so that pages are handed out in ascending order
    for (let p = cap - 1; p >= old; p--) this.free[this.freeCount++] = p;
    return true;
  }

  /** a new chunk carved into frag pages */
  private growFrag(): boolean {
    const old = this.capacity;
    if (old - this.userSlots * PAGES_PER_CHUNK + PAGES_PER_CHUNK > this.maxPages) return false;
    const ab = new ArrayBuffer(CHUNK_BYTES);
    this.addChunk(new Uint8Array(ab), new DataView(ab));
    this.chunkFrag[old >>> PAGES_PER_CHUNK_SHIFT] = 1;
    // room for every block there is: a release pushes without a bounds check
    this.fragBlocks += PAGES_PER_CHUNK / FRAG_PAGES;
    this.freeFrag = growI32(this.freeFrag, this.fragBlocks);
    // push in reverse so that blocks are handed out in ascending order
    for (let p = this.capacity - FRAG_PAGES; p >= old; p -= FRAG_PAGES) this.freeFrag[this.freeFragCount++] = p;
    return true;
  }

  /** appends a chunk slot (its pages are not put on the free list here) */
  private addChunk(buf: Uint8Array, dv: DataView): void {
    this.bufs.push(buf);
    this.dvs.push(dv);
    const cap = this.capacity + PAGES_PER_CHUNK;
    this.refcnt = growI32(this.refcnt, cap);
    this.ppRef = growI32(this.ppRef, cap);
    this.pool = growI32(this.pool, cap);
    this.free = growI32(this.free, cap);
    this.chunkUser = growI32(this.chunkUser, cap >>> PAGES_PER_CHUNK_SHIFT);
    this.chunkFrag = growI32(this.chunkFrag, cap >>> PAGES_PER_CHUNK_SHIFT);
    this.capacity = cap;
  }

  /** page `p` is a user page (pinned caller memory) */
  isUserPage(p: number): boolean {
    return this.chunkUser[p >>> PAGES_PER_CHUNK_SHIFT] !== 0;
  }

  /** pins `view` as user pages (see the module comment); null when over `maxUserPages` */
  pinUser(view: Uint8Array): UserPages | null {
    const pages = (view.length + PAGE_SIZE - 1) >>> PAGE_SHIFT;
    if (this.userPagesPinned + pages > this.maxUserPages) return null;
    const nslots = (pages + PAGES_PER_CHUNK - 1) >>> PAGES_PER_CHUNK_SHIFT;
    const slots = new Int32Array(nslots);
    const region = new UserPages(this, pages, slots);
    for (let k = 0; k < nslots; k++) {
      const start = k * CHUNK_BYTES;
      const part = view.subarray(start, Math.min(view.length, start + CHUNK_BYTES));
      const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
      let c: number;
      if (this.freeUserSlots.length > 0) {
        c = this.freeUserSlots.pop()!;
        this.bufs[c] = part;
        this.dvs[c] = dv;
      } else {
        c = this.capacity >>> PAGES_PER_CHUNK_SHIFT;
        this.addChunk(part, dv);
        this.chunkUser[c] = 1;
        this.userSlots++;
      }
      this.userRegion[c] = region;
      slots[k] = c;
    }
    for (let i = 0; i < pages; i++) {
      const p = (slots[i >>> PAGES_PER_CHUNK_SHIFT]! << PAGES_PER_CHUNK_SHIFT) | (i & (PAGES_PER_CHUNK - 1));
      this.refcnt[p] = 1;
      this.ppRef[p] = 0;
      this.pool[p] = 0;
    }
    this.userPagesPinned += pages;
    return region;
  }

  private releaseUser(p: number): void {
    this.refcnt[p] = 0;
    this.userPagesPinned--;
    const c = p >>> PAGES_PER_CHUNK_SHIFT;
    const region = this.userRegion[c]!;
    if (--region.live > 0) return;
    // every page of the region is released: its slots go back for later regions
    const slots = region.slots;
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k]!;
      this.userRegion[s] = null;
      this.bufs[s] = EMPTY;
      this.freeUserSlots.push(s);
    }
    const cb = region.onReleased;
    region.onReleased = null;
    if (cb !== null) cb();
  }
}

const EMPTY = new Uint8Array(0);

/**
 * A pinned region of a caller's bytes (Linux: the pages `get_user_pages` pinned for one
 * MSG_ZEROCOPY send). `ref(i)` is page i as a host-page NetmemRef.
 */
export class UserPages {
  /** pages of the region still referenced (by the pin or by frags) */
  live: number;
  private pinned = true;
  /** runs once every page has been released (the caller may reuse its buffer) */
  onReleased: (() => void) | null = null;

  constructor(
    private readonly host: HostMemory,
    /** number of pages: ceil(view.length / 4096) */
    readonly pages: number,
    /** @internal chunk slots of the page-number space */
    readonly slots: Int32Array,
  ) {
    this.live = pages;
  }

  /** page `i` of the region */
  ref(i: number): NetmemRef {
    return hostPageRef((this.slots[i >>> PAGES_PER_CHUNK_SHIFT]! << PAGES_PER_CHUNK_SHIFT) | (i & (PAGES_PER_CHUNK - 1)));
  }

  /** true once every page is released */
  get released(): boolean {
    return this.live === 0;
  }

  /** drops the pin's reference on every page (once); pages frags still hold stay until freed */
  unpin(): void {
    if (!this.pinned) return;
    this.pinned = false;
    const h = this.host;
    if (this.pages === 0) {
      const cb = this.onReleased;
      this.onReleased = null;
      if (cb !== null) cb();
      return;
    }
    for (let i = 0; i < this.pages; i++) {
      const p = this.ref(i) >>> 1;
      if (--h.refcnt[p]! === 0) h.release(p);
    }
  }
}

/** pins `view` as user pages of `host` (null: over the pinned-page limit → ENOBUFS) */
export function pinUserPages(host: HostMemory, view: Uint8Array): UserPages | null {
  return host.pinUser(view);
}

/** an array of at least `n` entries holding `a`'s (grown geometrically: many small user pins stay linear) */
function growI32(a: Int32Array, n: number): Int32Array {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}
