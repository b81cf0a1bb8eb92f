/**
 * `MemSpace`: one host's memory as the network stack sees it — host pages, the net_iov table of
 * bound device memory, and the registry of page pools. It owns the reference-counting rules for
 * every `NetmemRef`:
 *  - `get(ref)` takes a reference, `put(ref)` drops one;
 *  - a pool-owned netmem whose count reaches zero goes back to its pool (`PagePool.recycle`);
 *  - an ordinary host page whose count reaches zero is freed.
 *  - a net_iov no pool owns (a TX binding's) holds its binding while referenced (`NetIovOwner`).
 * Host page bytes are reached through `buf/dv/offset`; a net_iov has no host address (the
 * accessors throw for one, like `netmem_address()` returning NULL), so only the NIC model, via
 * the area's DMA attachment, and the exporter touch device bytes.
 */
import { BindingTable } from './dmabuf-binding.js';
import { HostMemory } from './host-memory.js';
import { NetIovTable, type NetIovOwner } from './net-iov.js';
import { NETMEM_NONE, PAGE_SIZE, hostPageRef, netmemIsNetIov, type NetmemRef } from './netmem.js';
import type { PagePool } from './page-pool.js';

export class MemSpace {
  readonly host: HostMemory;
  readonly niovs = new NetIovTable();
  /** the host's dmabuf bindings by id (RX and TX share the id space); the socket layer's TX lookups use it */
  readonly bindings = new BindingTable();
  /** pools by id; index 0 is unused so that 0 means "no pool" */
  private readonly pools: (PagePool | null)[] = [null];
  private readonly freePoolIds: number[] = [];

  constructor(opts: { maxHostBytes?: number } = {}) {
    this.host = new HostMemory(opts.maxHostBytes);
  }

  // ---- pools ----

  registerPool(pool: PagePool): number {
    const id = this.freePoolIds.length > 0 ? this.freePoolIds.pop()! : this.pools.length;
    if (id === this.pools.length) this.pools.push(pool);
    else this.pools[id] = pool;
    return id;
  }

  unregisterPool(pool: PagePool): void {
    if (this.pools[pool.id] === pool) {
      this.pools[pool.id] = null;
      this.freePoolIds.push(pool.id);
    }
  }

  poolById(id: number): PagePool | null {
    return this.pools[id] ?? null;
  }

  /** every live pool (attached or still draining) */
  livePools(): PagePool[] {
    return this.pools.filter((p): p is PagePool => p !== null);
  }

  // ---- reference counting ----

  /** takes one reference on `ref` */
  get(ref: NetmemRef): void {
    const i = ref >>> 1;
    if ((ref & 1) !== 0) {
      // a net_iov outside any page pool (TX) keeps its binding alive while referenced
      if (++this.niovs.ppRef[i]! === 1 && this.niovs.pool[i] === 0) this.niovs.area(i).owner?.niovHold();
    } else if (this.host.pool[i] !== 0) {
      this.host.ppRef[i]!++;
    } else {
      this.host.refcnt[i]!++;
    }
  }

  /** drops one reference; `direct` marks the rx softirq path (may recycle into the cache) */
  put(ref: NetmemRef, direct = false): void {
    const i = ref >>> 1;
    if ((ref & 1) !== 0) {
      const t = this.niovs;
      if (--t.ppRef[i]! === 0) {
        const p = t.pool[i]!;
        if (p !== 0) this.pools[p]!.recycle(ref, direct);
        else t.area(i).owner?.niovRelease();
      }
      return;
    }
    const h = this.host;
    const poolId = h.pool[i]!;
    if (poolId !== 0) {
      if (--h.ppRef[i]! === 0) this.pools[poolId]!.recycle(ref, direct);
    } else if (--h.refcnt[i]! === 0) {
      h.release(i);
    }
  }

  /** current reference count (pp_ref_count for pool netmems, refcount otherwise) */
  refCount(ref: NetmemRef): number {
    const i = ref >>> 1;
    if (netmemIsNetIov(ref)) return this.niovs.ppRef[i]!;
    return this.host.pool[i] !== 0 ? this.host.ppRef[i]! : this.host.refcnt[i]!;
  }

  /** page-pool bookkeeping (pool-private) */
  setPool(ref: NetmemRef, poolId: number): void {
    if ((ref & 1) !== 0) this.niovs.pool[ref >>> 1] = poolId;
    else this.host.pool[ref >>> 1] = poolId;
  }
  setPpRef(ref: NetmemRef, n: number): void {
    if ((ref & 1) !== 0) this.niovs.ppRef[ref >>> 1] = n;
    else this.host.ppRef[ref >>> 1] = n;
  }
  poolOf(ref: NetmemRef): PagePool | null {
    const id = (ref & 1) !== 0 ? this.niovs.pool[ref >>> 1]! : this.host.pool[ref >>> 1]!;
    return id === 0 ? null : this.pools[id]!;
  }

  // ---- host pages ----

  /** a fresh ordinary host page with one reference, or NETMEM_NONE when host memory is full */
  allocPage(): NetmemRef {
    const p = this.host.alloc();
    return p < 0 ? NETMEM_NONE : hostPageRef(p);
  }

  /**
   * a fresh frag page (FRAG_PAGE_SIZE bytes addressed from its ref, Linux SKB_FRAG_PAGE_ORDER)
   * with one reference, or NETMEM_NONE when host memory is full
   */
  allocFragPage(): NetmemRef {
    const p = this.host.allocFragPage();
    return p < 0 ? NETMEM_NONE : hostPageRef(p);
  }

  /** byte array holding host page `ref` (throws for a net_iov: it has no host address) */
  buf(ref: NetmemRef): Uint8Array {
    if ((ref & 1) !== 0) throw new TypeError('net_iov has no host address');
    return this.host.buf(ref >>> 1);
  }
  dv(ref: NetmemRef): DataView {
    if ((ref & 1) !== 0) throw new TypeError('net_iov has no host address');
    return this.host.dv(ref >>> 1);
  }
  /** offset of host page `ref` inside `buf(ref)` */
  offset(ref: NetmemRef): number {
    if ((ref & 1) !== 0) throw new TypeError('net_iov has no host address');
    return this.host.offset(ref >>> 1);
  }

  /** dma-buf offset of a net_iov (what `frag_offset` is built from) */
  niovDmabufOffset(ref: NetmemRef): number {
    return this.niovs.dmabufOffset[ref >>> 1]!;
  }
  /** binding id (dmabuf id) of a net_iov */
  niovBindingId(ref: NetmemRef): number {
    return this.niovs.bindingId[ref >>> 1]!;
  }
  /** the binding a net_iov belongs to (Linux `net_devmem_iov_binding`), null if the area has none */
  niovOwner(ref: NetmemRef): NetIovOwner | null {
    return this.niovs.area(ref >>> 1).owner;
  }
  /** size in bytes of the net_iov behind `ref` (PAGE_SIZE, or the binding's rx-buf-size) */
  niovSize(ref: NetmemRef): number {
    return this.niovs.area(ref >>> 1).niovSize;
  }

  /** NIC DMA into a net_iov at `pageOff` (device-memory write through the area's attachment) */
  dmaToNetIov(ref: NetmemRef, pageOff: number, src: Uint8Array, srcOff: number, len: number): void {
    const i = ref >>> 1;
    const area = this.niovs.area(i);
    area.attachment.dmaWrite(this.niovs.dmabufOffset[i]! + pageOff, src, srcOff, len);
  }

  /** NIC DMA out of a net_iov (devmem TX) */
  dmaFromNetIov(ref: NetmemRef, pageOff: number, dst: Uint8Array, dstOff: number, len: number): void {
    const i = ref >>> 1;
    const area = this.niovs.area(i);
    area.attachment.dmaRead(this.niovs.dmabufOffset[i]! + pageOff, dst, dstOff, len);
  }
}

/**
 * Carves small buffers out of pages from a source (a page pool, or plain host pages), the way
 * `page_frag` and multi-packet NIC buffers do. Every carved piece holds one reference on its
 * page; the carver holds one on its current page until it moves on. Allocation-free: results are
 * left in `ref`/`off`.
 */
export class PageFragCarver {
  private page: NetmemRef = NETMEM_NONE;
  private fill = 0;
  /** result of the last successful `carve` */
  ref: NetmemRef = NETMEM_NONE;
  off = 0;

  constructor(
    private readonly mem: MemSpace,
    private readonly source: { alloc(): NetmemRef } | null,
    /** pieces are aligned to this many bytes */
    private readonly align = 64,
    /** size of one buffer from the source: a page, or a page pool's larger net_iovs (rx-buf-size) */
    private readonly chunk = PAGE_SIZE,
  ) {}

  /**
   * Reserves up to `len` bytes (never crossing a buffer) and returns how many were reserved
   * (0 when the source is exhausted). With `whole` true, a piece that does not fit in the rest
   * of the current page moves to a fresh page instead of being shortened.
   */
  carve(len: number, whole: boolean): number {
    const chunk = this.chunk;
    if (this.page !== NETMEM_NONE && (this.fill >= chunk || (whole && chunk - this.fill < len))) {
      this.mem.put(this.page, true);
      this.page = NETMEM_NONE;
    }
    if (this.page === NETMEM_NONE) {
      const p = this.source === null ? this.mem.allocPage() : this.source.alloc();
      if (p === NETMEM_NONE) return 0;
      this.page = p;
      this.fill = 0;
    }
    const n = Math.min(len, chunk - this.fill);
    this.ref = this.page;
    this.off = this.fill;
    this.mem.get(this.page);
    this.fill += n;
    if (this.align > 1) this.fill = (this.fill + this.align - 1) & ~(this.align - 1);
    return n;
  }

  /** drops the carver's hold on its current page (queue teardown) */
  flush(): void {
    if (this.page !== NETMEM_NONE) this.mem.put(this.page, false);
    this.page = NETMEM_NONE;
  }
}
