/**
 * `DmabufBinding` (Linux `net_devmem_dmabuf_binding`) and the dmabuf memory provider
 * (`dmabuf_devmem_ops`). A binding maps a `DeviceMemory` for one device, cuts it into net_iovs
 * of `niovSize` bytes (a page; larger with Linux 7.3 `rx-buf-size`), one `NetIovArea` per
 * scatterlist entry, and hands them out through a `ChunkAllocator` (the genpool). Reference
 * holders (spec §3.5): the netlink socket that created it (dropped at unbind), each page pool
 * using it (provider init/destroy), every referenced TX net_iov (`niovHold`/`niovRelease`, run by
 * `MemSpace.get/put` on a net_iov's first and last reference), and a `sendmsg` in progress
 * (`BindingTable.getTx` … `put`). When the count reaches zero the binding unregisters its areas
 * and detaches from the dma-buf.
 *
 * The TX API (devmem `sendmsg`, spec §7.3/§7.4): `BindingTable.getTx(id)` (Linux
 * `net_devmem_lookup_dmabuf` + the RX/TX check), `binding.dev` against the route's device, and
 * `binding.niovAt(virt)` (`net_devmem_get_niov_at`) for the net_iov behind a dma-buf offset; a
 * frag takes its reference with `MemSpace.get(ref)` and `skbFree` drops it.
 */
import type { DeviceMemory, DmaBufAttachment } from './device-memory.js';
import type { MemSpace } from './mem-space.js';
import type { NetIovArea, NetIovOwner } from './net-iov.js';
import { NETMEM_NONE, PAGE_SHIFT, netIovRef, type NetmemRef } from './netmem.js';
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
  /**
   * A listed TX binding by id with a reference taken for the caller (Linux
   * `net_devmem_get_binding`, step 1): null (the caller's `EINVAL`) for an unknown id, an RX
   * binding or one being unbound. The caller checks `binding.dev` against its route's device
   * (`ENODEV`) and drops the reference with `put()` when its `sendmsg` is done.
   */
  getTx(id: number): DmabufBinding | null {
    const b = this.byId.get(id >>> 0);
    if (b === undefined || b.txVec === null || b.unlisted || !b.tryGet()) return null;
    return b;
  }
  /** netdev unregister: every listed binding of `dev` loses its device (later sends fail ENODEV) */
  deviceGone(dev: object): void {
    for (const b of this.byId.values()) if (b.dev === dev) b.dev = null;
  }
  /** the listed bindings, in id order of creation */
  list(): DmabufBinding[] {
    return [...this.byId.values()];
  }
  get size(): number {
    return this.byId.size;
  }
}

/** a bind refused by the binding's own checks (Linux `net_devmem_bind_dmabuf` errors) */
export class BindingError extends Error {
  constructor(readonly errno: number, readonly extack: string) {
    super(extack);
  }
}

const EINVAL = 22;
const E2BIG = 7;

/** `%pad` of a 64-bit dma_addr_t: 0x and 16 hex digits */
function fmtPad(a: number): string {
  return `0x${a.toString(16).padStart(16, '0')}`;
}

export class DmabufBinding implements NetIovOwner {
  readonly id: number;
  /** log2 of the net_iov size */
  readonly niovShift: number;
  /** bytes per net_iov (PAGE_SIZE unless bound with rx-buf-size) */
  readonly niovSize: number;
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
    /**
     * log2 of the net_iov size. PAGE_SHIFT keeps the 6.18 rules (a tail shorter than a page has
     * no net_iov); a larger shift (Linux 7.3 `rx-buf-size`) requires the dma-buf size and every
     * scatterlist entry to be aligned to it: `BindingError` EINVAL otherwise, E2BIG past 2^32
     * net_iovs.
     */
    niovShift = PAGE_SHIFT,
  ) {
    if (!Number.isInteger(niovShift) || niovShift < PAGE_SHIFT || niovShift > 30) throw new RangeError(`niovShift ${niovShift} out of range`);
    this.niovShift = niovShift;
    const niovSize = 2 ** niovShift;
    this.niovSize = niovSize;
    this.dev = dev;
    this.attachment = dmabuf.attach(deviceName);
    const sgt = this.attachment.map();
    if (niovShift !== PAGE_SHIFT) {
      let err: BindingError | null = null;
      if (dmabuf.size % niovSize !== 0) {
        err = new BindingError(EINVAL, `dmabuf size ${dmabuf.size} not aligned to niov size ${niovSize}`);
      } else if (dmabuf.size / niovSize > 0xffffffff) {
        err = new BindingError(E2BIG, 'dmabuf contains too many net_iovs');
      } else {
        const bad = sgt.find((e) => e.dmaAddr % niovSize !== 0 || e.len % niovSize !== 0);
        if (bad !== undefined) {
          err = new BindingError(EINVAL, `dmabuf sg entry (addr=${fmtPad(bad.dmaAddr)}, len=${bad.len}) not aligned to niov size ${niovSize}`);
        }
      }
      if (err !== null) {
        this.attachment.detach();
        throw err;
      }
    }
    this.id = table.alloc(this);
    let total = 0;
    for (const e of sgt) total += Math.floor(e.len / niovSize);
    this.chunkPool = new ChunkAllocator(total);
    this.txVec = direction === 'tx' ? new Int32Array(Math.floor(dmabuf.size / niovSize)).fill(NETMEM_NONE) : null;
    let virtual = 0;
    for (const e of sgt) {
      const n = Math.floor(e.len / niovSize);
      const area = mem.niovs.register(n, virtual, e.dmaAddr, this.attachment, this.id, niovShift);
      area.owner = this;
      this.areas.push(area);
      if (this.txVec) for (let i = 0; i < n; i++) this.txVec[virtual / niovSize + i] = netIovRef(area.base + i);
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

  /**
   * TX: the net_iov holding dma-buf offset `virt` (Linux `net_devmem_get_niov_at`), or
   * NETMEM_NONE at or past the end of the dma-buf (the caller's `EFAULT`). The frag offset is
   * `virt & (niovSize - 1)` and at most `niovSize - that` bytes fit in this net_iov. Takes no
   * reference.
   */
  niovAt(virt: number): NetmemRef {
    const v = this.txVec;
    if (v === null || !(virt >= 0) || virt >= this.dmabuf.size) return NETMEM_NONE;
    return v[Math.floor(virt / this.niovSize)] ?? NETMEM_NONE;
  }

  /** a TX net_iov gained its first reference: it holds the binding (NetIovOwner) */
  niovHold(): void {
    if (this.direction === 'tx') this.refs++;
  }

  /** a TX net_iov lost its last reference */
  niovRelease(): void {
    if (this.direction === 'tx') this.put();
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

  /** bytes of device memory covered by net_iovs */
  get mappedBytes(): number {
    return this.numNiovs * this.niovSize;
  }
}

/** the dmabuf memory provider for one binding (`mp_ops = dmabuf_devmem_ops, mp_priv = binding`) */
export class DmabufDevmemProvider implements MemoryProvider {
  readonly kind = 'dmabuf' as const;
  constructor(readonly binding: DmabufBinding) {}

  /** `mp_dmabuf_devmem_init`: the pool's order must match the net_iov size (E2BIG), then a binding reference */
  init(pool: PagePool): number {
    if (pool.order !== this.binding.niovShift - PAGE_SHIFT) return -E2BIG;
    if (!this.binding.tryGet()) return -EINVAL; // no binding behind the provider
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
  bufOrder(): number {
    return this.binding.niovShift - PAGE_SHIFT;
  }
}
