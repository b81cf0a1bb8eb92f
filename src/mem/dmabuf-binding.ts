/**
 * `DmabufBinding` (Linux `net_devmem_dmabuf_binding`) and the dmabuf memory provider
 * (`dmabuf_devmem_ops`). A binding maps a `DeviceMemory` for one device, cuts it into page-sized
 * net_iovs (one `NetIovArea` per scatterlist entry) and hands them out through a
 * `ChunkAllocator` (the genpool). Reference holders (spec §3.5): the netlink socket that created
 * it (dropped at unbind), each page pool using it (provider init/destroy), and later TX frags.
 * When the count reaches zero the binding unregisters its areas and detaches from the dma-buf.
 */
import type { DeviceMemory, DmaBufAttachment } from './device-memory.js';
import type { MemSpace } from './mem-space.js';
import type { NetIovArea } from './net-iov.js';
import { NETMEM_NONE, PAGE_SIZE, netIovRef, type NetmemRef } from './netmem.js';
import type { MemoryProvider, PagePool } from './page-pool.js';

/** free list of net_iov indices (genpool stand-in; allocation order is not visible to users) */
export class ChunkAllocator {
  private readonly free: Int32Array;
  private count = 0;
  constructor(capacity: number) {
    this.free = new Int32Array(capacity);
  }
  /** adds an index (in reverse order so that low offsets are handed out first) */
  add(index: number): void {
    this.free[this.count++] = index;
  }
  alloc(): number {
    return this.count > 0 ? this.free[--this.count]! : -1;
  }
  release(index: number): void {
    this.free[this.count++] = index;
  }
  get available(): number {
    return this.count;
  }
  get capacity(): number {
    return this.free.length;
  }
}

export type DmaDirection = 'rx' | 'tx';

/** cyclic id allocator shared by RX and TX bindings (ids ≥ 1, 32-bit), one per host */
export class BindingTable {
  private readonly byId = new Map<number, DmabufBinding>();
  private next = 1;

  alloc(b: DmabufBinding): number {
    for (;;) {
      const id = this.next;
      this.next = this.next >= 0xffffffff ? 1 : this.next + 1;
      if (!this.byId.has(id)) {
        this.byId.set(id, b);
        return id;
      }
    }
  }
  remove(id: number): void {
    this.byId.delete(id);
  }
  /** a listed, live binding by id, or null */
  lookup(id: number): DmabufBinding | null {
    return this.byId.get(id) ?? null;
  }
  get size(): number {
    return this.byId.size;
  }
}

export class DmabufBinding {
  readonly id: number;
  readonly areas: NetIovArea[] = [];
  readonly chunkPool: ChunkAllocator;
  readonly attachment: DmaBufAttachment;
  /** owning netdev (opaque to this layer); null once its last bound rx queue went away */
  dev: object | null;
  /** rx queues that use this binding's provider (opaque objects owned by the netdev layer) */
  readonly boundRxQueues = new Set<object>();
  /** TX only: net_iov refs indexed by dma-buf page number */
  readonly txVec: Int32Array | null;
  /** reference count; see the module comment for the holders */
  private refs = 1;
  /** removed from the id table (unbound); lookups fail from then on */
  unlisted = false;
  freed = false;
  /** called once when the last reference is dropped */
  onFreed: ((b: DmabufBinding) => void) | null = null;

  constructor(
    readonly mem: MemSpace,
    private readonly table: BindingTable,
    readonly dmabuf: DeviceMemory,
    dev: object,
    deviceName: string,
    readonly direction: DmaDirection,
  ) {
    this.dev = dev;
    this.id = table.alloc(this);
    this.attachment = dmabuf.attach(deviceName);
    const sgt = this.attachment.map();
    let total = 0;
    for (const e of sgt) total += Math.floor(e.len / PAGE_SIZE);
    this.chunkPool = new ChunkAllocator(total);
    this.txVec = direction === 'tx' ? new Int32Array(Math.floor(dmabuf.size / PAGE_SIZE)).fill(NETMEM_NONE) : null;
    let virtual = 0;
    for (const e of sgt) {
      const n = Math.floor(e.len / PAGE_SIZE);
      const area = mem.niovs.register(n, virtual, e.dmaAddr, this.attachment, this.id);
      this.areas.push(area);
      if (this.txVec) for (let i = 0; i < n; i++) this.txVec[virtual / PAGE_SIZE + i] = netIovRef(area.base + i);
      virtual += e.len;
    }
    for (let a = this.areas.length - 1; a >= 0; a--) {
      const area = this.areas[a]!;
      for (let i = area.numNiovs - 1; i >= 0; i--) this.chunkPool.add(area.base + i);
    }
  }

  /** total net_iovs in the binding */
  get numNiovs(): number {
    return this.chunkPool.capacity;
  }

  get refCount(): number {
    return this.refs;
  }

  /** takes a binding reference; false if the binding is already dead */
  tryGet(): boolean {
    if (this.refs <= 0) return false;
    this.refs++;
    return true;
  }

  /** drops a binding reference; the last one frees the binding */
  put(): void {
    if (this.refs <= 0) throw new Error(`binding ${this.id}: reference count underflow`);
    if (--this.refs === 0) this.free();
  }

  /** removes the id from the table so that new lookups fail (first step of unbind) */
  unlist(): void {
    if (this.unlisted) return;
    this.unlisted = true;
    this.table.remove(this.id);
  }

  private free(): void {
    this.unlist();
    this.freed = true;
    if (this.chunkPool.available !== this.chunkPool.capacity) {
      // the kernel WARNs and leaks the genpool here; we keep the areas registered
      this.leaked = this.chunkPool.capacity - this.chunkPool.available;
    } else {
      for (const a of this.areas) this.mem.niovs.unregister(a);
    }
    this.attachment.detach();
    if (this.onFreed) this.onFreed(this);
  }

  /** net_iovs still out of the chunk pool when the binding was freed (a leak) */
  leaked = 0;
}

/** the dmabuf memory provider for one binding (`mp_ops = dmabuf_devmem_ops, mp_priv = binding`) */
export class DmabufDevmemProvider implements MemoryProvider {
  readonly kind = 'dmabuf' as const;
  constructor(readonly binding: DmabufBinding) {}

  init(_pool: PagePool): number {
    if (!this.binding.tryGet()) return -22; // EINVAL: no binding behind the provider
    return 0;
  }
  destroy(_pool: PagePool): void {
    this.binding.put();
  }
  allocNetmem(_pool: PagePool): NetmemRef {
    const idx = this.binding.chunkPool.alloc();
    return idx < 0 ? NETMEM_NONE : netIovRef(idx);
  }
  releaseNetmem(_pool: PagePool, ref: NetmemRef): boolean {
    this.binding.chunkPool.release(ref >>> 1);
    return false;
  }
  dmabufId(): number {
    return this.binding.id;
  }
  uninstall(rxq: object): void {
    this.binding.boundRxQueues.delete(rxq);
    if (this.binding.boundRxQueues.size === 0) this.binding.dev = null;
  }
}
