/**
 * `PagePool`: a per-rx-queue recycler of netmems (Linux `page_pool`), with an alloc cache
 * (128 entries, refilled 64 at a time from the recycle ring) and a recycle ring, backed by a
 * `MemoryProvider` (host pages, or a dmabuf binding). Stats use the kernel's counter names.
 *
 * Ownership: `alloc()` hands the caller one reference (`ppRef` = 1). Every holder of a frag
 * takes another through `MemSpace.get` and drops it through `MemSpace.put`; when the count
 * reaches zero `recycle()` puts the netmem back in the cache or ring, or releases it to the
 * provider when the ring is full or the pool is being destroyed. A destroyed pool stays
 * "detached" while netmems are in flight and frees itself (provider `destroy`) when the last
 * one returns.
 */
import type { MemSpace } from './mem-space.js';
import { NETMEM_NONE, PAGE_SIZE, type NetmemRef } from './netmem.js';

export const PP_FLAG_DMA_MAP = 1 << 0;
export const PP_FLAG_DMA_SYNC_DEV = 1 << 1;
export const PP_FLAG_SYSTEM_POOL = 1 << 2;
export const PP_FLAG_ALLOW_UNREADABLE_NETMEM = 1 << 3;

export const PP_ALLOC_CACHE_SIZE = 128;
export const PP_ALLOC_CACHE_REFILL = 64;

/** what a memory provider must do (Linux `memory_provider_ops`) */
export interface MemoryProvider {
  readonly kind: 'host' | 'dmabuf';
  /** called when a pool adopts the provider; returns 0 or a negative errno */
  init(pool: PagePool): number;
  /** called when the pool is finally freed (after every netmem came back) */
  destroy(pool: PagePool): void;
  /** slow-path allocation of one netmem for `pool`, or NETMEM_NONE when exhausted */
  allocNetmem(pool: PagePool): NetmemRef;
  /** takes a netmem back from `pool`; false means the pool must not free it itself */
  releaseNetmem(pool: PagePool, ref: NetmemRef): boolean;
  /** the binding id to report (netlink `dmabuf` attribute), 0 for none */
  dmabufId(): number;
  /** the rx queue no longer uses this provider */
  uninstall(rxq: object): void;
  /** page-pool order the provider's buffers need (log2 of buffer size / PAGE_SIZE); 0 for pages */
  bufOrder(): number;
}

/** counters with the kernel's page_pool stats names (camelCase) */
export interface PagePoolStats {
  allocFast: number;
  allocSlow: number;
  allocSlowHighOrder: number;
  allocEmpty: number;
  allocRefill: number;
  allocWaive: number;
  recycleCached: number;
  recycleCacheFull: number;
  recycleRing: number;
  recycleRingFull: number;
  recycleReleasedRefcnt: number;
}

export interface PagePoolParams {
  flags: number;
  /** netdev ifindex, 0 when not tied to a device */
  ifindex: number;
  /** rx queue index, -1 when none */
  queueIdx: number;
  /** recycle ring capacity (power of two not required) */
  ringSize: number;
  napiId?: number;
  /** buffers are `PAGE_SIZE << order` bytes (Linux `pp.order`); default 0 */
  order?: number;
}

export class PagePool {
  readonly id: number;
  readonly stats: PagePoolStats = {
    allocFast: 0, allocSlow: 0, allocSlowHighOrder: 0, allocEmpty: 0, allocRefill: 0, allocWaive: 0,
    recycleCached: 0, recycleCacheFull: 0, recycleRing: 0, recycleRingFull: 0, recycleReleasedRefcnt: 0,
  };
  /** netmems obtained from the provider */
  holdCount = 0;
  /** netmems given back to the provider */
  releaseCount = 0;
  /** true once the driver destroyed the pool; netmems returning then go to the provider */
  detached = false;
  /** virtual seconds at detach, 0 while attached (netlink `detach-time`) */
  detachTime = 0;
  /** provider destroyed: the pool is gone */
  freed = false;
  ifindex: number;
  readonly queueIdx: number;
  readonly napiId: number;
  /** buffer size is `PAGE_SIZE << order` */
  readonly order: number;
  /** the provider's `init` result: 0, or a negative errno (the pool must not be used) */
  initErr = 0;
  private readonly cache = new Int32Array(PP_ALLOC_CACHE_SIZE);
  private cacheCount = 0;
  private readonly ring: Int32Array;
  private ringHead = 0;
  private ringCount = 0;
  /** called once when the pool is finally freed */
  onFreed: ((pool: PagePool) => void) | null = null;

  constructor(
    readonly mem: MemSpace,
    readonly provider: MemoryProvider,
    readonly params: PagePoolParams,
  ) {
    this.ring = new Int32Array(Math.max(1, params.ringSize));
    this.ifindex = params.ifindex;
    this.queueIdx = params.queueIdx;
    this.napiId = params.napiId ?? 0;
    this.order = params.order ?? 0;
    this.id = mem.registerPool(this);
  }

  /** init the provider; returns 0 or a negative errno (the pool is then unusable) */
  init(): number {
    this.initErr = this.provider.init(this);
    return this.initErr;
  }

  /** bytes per buffer (Linux `PAGE_SIZE << pool->p.order`) */
  get bufSize(): number {
    return PAGE_SIZE * 2 ** this.order;
  }

  get unreadable(): boolean {
    return this.provider.kind === 'dmabuf';
  }

  /** netmems handed out and not yet returned to the provider (kernel `inflight`) */
  inflight(): number {
    return this.holdCount - this.releaseCount;
  }

  /** netmems sitting in the cache and ring */
  get cached(): number {
    return this.cacheCount + this.ringCount;
  }

  /** one netmem with one reference for the caller, or NETMEM_NONE (counted `allocEmpty`) */
  alloc(): NetmemRef {
    if (this.cacheCount > 0) {
      this.stats.allocFast++;
      return this.take(this.cache[--this.cacheCount]!);
    }
    if (this.ringCount > 0) {
      this.stats.allocRefill++;
      let n = PP_ALLOC_CACHE_REFILL;
      while (n-- > 0 && this.ringCount > 0) {
        this.cache[this.cacheCount++] = this.ring[this.ringHead]!;
        this.ringHead = (this.ringHead + 1) % this.ring.length;
        this.ringCount--;
      }
      this.stats.allocFast++;
      return this.take(this.cache[--this.cacheCount]!);
    }
    if (this.detached) return NETMEM_NONE;
    const ref = this.provider.allocNetmem(this);
    if (ref === NETMEM_NONE) {
      this.stats.allocEmpty++;
      return NETMEM_NONE;
    }
    this.stats.allocSlow++;
    this.holdCount++;
    this.mem.setPool(ref, this.id);
    return this.take(ref);
  }

  private take(ref: NetmemRef): NetmemRef {
    this.mem.setPpRef(ref, 1);
    return ref;
  }

  /**
   * A netmem of this pool lost its last reference. `direct` is true in the rx softirq context
   * (the driver recycling its own buffers), which may use the lock-free cache.
   */
  recycle(ref: NetmemRef, direct: boolean): void {
    if (this.detached) {
      this.release(ref);
      return;
    }
    if (direct) {
      if (this.cacheCount < PP_ALLOC_CACHE_SIZE) {
        this.cache[this.cacheCount++] = ref;
        this.stats.recycleCached++;
        return;
      }
      this.stats.recycleCacheFull++;
    }
    if (this.ringCount < this.ring.length) {
      this.ring[(this.ringHead + this.ringCount) % this.ring.length] = ref;
      this.ringCount++;
      this.stats.recycleRing++;
      return;
    }
    this.stats.recycleRingFull++;
    this.release(ref);
  }

  private release(ref: NetmemRef): void {
    this.mem.setPool(ref, 0);
    this.releaseCount++;
    this.provider.releaseNetmem(this, ref);
    if (this.detached) this.maybeFree();
  }

  /**
   * The driver is done with the pool (queue restart or teardown): empties cache and ring back
   * to the provider and detaches; the pool is freed once nothing is in flight.
   */
  destroy(nowSeconds: number): void {
    if (this.detached) return;
    this.detached = true;
    this.detachTime = Math.max(1, Math.floor(nowSeconds));
    while (this.cacheCount > 0) this.release(this.cache[--this.cacheCount]!);
    while (this.ringCount > 0) {
      const ref = this.ring[this.ringHead]!;
      this.ringHead = (this.ringHead + 1) % this.ring.length;
      this.ringCount--;
      this.release(ref);
    }
    this.maybeFree();
  }

  private maybeFree(): void {
    if (this.freed || this.inflight() !== 0) return;
    this.freed = true;
    if (this.initErr === 0) this.provider.destroy(this);
    this.mem.unregisterPool(this);
    if (this.onFreed) this.onFreed(this);
  }
}
