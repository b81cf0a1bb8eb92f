/**
 * Host memory: readable 4 KiB pages carved from 1 MiB ArrayBuffer chunks, each chunk with one
 * Uint8Array and one DataView created once (views are re-bound, never re-created). Per-page
 * metadata lives in typed arrays indexed by page number: `refcnt` for ordinary pages, `ppRef`
 * and `pool` for pages owned by a page pool. Pages are recycled through a LIFO free list.
 */
import { PAGE_SHIFT, PAGE_SIZE } from './netmem.js';

const PAGES_PER_CHUNK_SHIFT = 8;
const PAGES_PER_CHUNK = 1 << PAGES_PER_CHUNK_SHIFT;
const CHUNK_BYTES = PAGES_PER_CHUNK * PAGE_SIZE;

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

  constructor(maxBytes = 4 * 1024 * 1024 * 1024) {
    this.maxPages = Math.floor(maxBytes / PAGE_SIZE);
  }

  get totalPages(): number {
    return this.capacity;
  }

  /** allocates a page with refcnt 1 and no pool; returns its index or -1 when memory is full */
  alloc(): number {
    if (this.freeCount === 0 && !this.grow()) return -1;
    const p = this.free[--this.freeCount]!;
    this.refcnt[p] = 1;
    this.ppRef[p] = 0;
    this.pool[p] = 0;
    this.inUse++;
    return p;
  }

  /** returns a page to the free list; the caller must hold the last reference */
  release(p: number): void {
    this.refcnt[p] = 0;
    this.ppRef[p] = 0;
    this.pool[p] = 0;
    this.free[this.freeCount++] = p;
    this.inUse--;
  }

  /** byte array that holds page `p` (shared by the chunk's 256 pages) */
  buf(p: number): Uint8Array {
    return this.bufs[p >>> PAGES_PER_CHUNK_SHIFT]!;
  }
  dv(p: number): DataView {
    return this.dvs[p >>> PAGES_PER_CHUNK_SHIFT]!;
  }
  /** offset of page `p` inside `buf(p)` */
  offset(p: number): number {
    return (p & (PAGES_PER_CHUNK - 1)) << PAGE_SHIFT;
  }

  private grow(): boolean {
    const old = this.capacity;
    if (old + PAGES_PER_CHUNK > this.maxPages) return false;
    const ab = new ArrayBuffer(CHUNK_BYTES);
    this.bufs.push(new Uint8Array(ab));
    this.dvs.push(new DataView(ab));
    const cap = old + PAGES_PER_CHUNK;
    this.refcnt = growI32(this.refcnt, cap);
    this.ppRef = growI32(this.ppRef, cap);
    this.pool = growI32(this.pool, cap);
    this.free = growI32(this.free, cap);
    // push in reverse so that pages are handed out in ascending order
    for (let p = cap - 1; p >= old; p--) this.free[this.freeCount++] = p;
    this.capacity = cap;
    return true;
  }
}

function growI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
