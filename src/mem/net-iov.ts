/**
 * `NetIov` / `NetIovArea`: the "fake pages" of device memory. A `NetIovArea` covers one
 * scatterlist entry of a bound dma-buf; its net_iovs are `1 << niovShift` bytes (a page, or
 * larger with Linux 7.3 `rx-buf-size`) and get consecutive global indices, so per-net_iov state
 * lives in typed arrays (struct-of-arrays) indexed by that number: the page-pool fields (`ppRef`,
 * `pool`), the dma-buf offset and the owning area. A net_iov's dma-buf offset is
 * `area.baseVirtual + (index - area.base) << niovShift` (spec §3.1). The area's `owner` is the
 * binding (Linux `dmabuf_genpool_chunk_owner->binding`): the NIC asks it which device a TX frag
 * belongs to, and a TX net_iov's references keep it alive (`NetIovOwner`).
 */
import type { DmaBufAttachment } from './device-memory.js';
import { PAGE_SHIFT } from './netmem.js';

/**
 * What a net_iov area belongs to (a dmabuf binding). `niovHold`/`niovRelease` run when a net_iov
 * that no page pool owns (a TX net_iov) gains its first reference or loses its last one: the
 * binding stays alive while any of its TX net_iovs is referenced (Linux net_devmem_get_net_iov).
 */
export interface NetIovOwner {
  readonly id: number;
  readonly direction: 'rx' | 'tx';
  /** the device the binding is for; null once that device went away */
  readonly dev: object | null;
  niovHold(): void;
  niovRelease(): void;
}

export const NET_IOV_DMABUF = 0;
export const NET_IOV_IOURING = 1;

export class NetIovArea {
  constructor(
    readonly id: number,
    /** global index of the first net_iov */
    readonly base: number,
    readonly numNiovs: number,
    /** dma-buf offset of the first net_iov */
    readonly baseVirtual: number,
    /** DMA address of the first net_iov */
    readonly baseDmaAddr: number,
    /** the attachment the NIC uses to DMA into this area */
    readonly attachment: DmaBufAttachment,
    /** binding id (dmabuf id) the area belongs to */
    readonly bindingId: number,
    /** log2 of the net_iov size (PAGE_SHIFT unless the binding asked for larger buffers) */
    readonly niovShift: number = PAGE_SHIFT,
    readonly type: number = NET_IOV_DMABUF,
  ) {}

  /** the binding the area belongs to; set once by the binding that registered it */
  owner: NetIovOwner | null = null;

  get niovSize(): number {
    return 2 ** this.niovShift;
  }
}

export class NetIovTable {
  ppRef: Int32Array = new Int32Array(0);
  /** owning page pool id, 0 while free in the provider */
  pool: Int32Array = new Int32Array(0);
  /** area id per net_iov, -1 when the index is unused */
  areaOf: Int32Array = new Int32Array(0);
  /** dma-buf offset per net_iov */
  dmabufOffset: Float64Array = new Float64Array(0);
  /** binding id per net_iov */
  bindingId: Int32Array = new Int32Array(0);
  readonly areas: (NetIovArea | null)[] = [];
  private top = 0;
  private freeRanges: { base: number; count: number }[] = [];

  /** registers an area of `count` net_iovs and returns it */
  register(
    count: number, baseVirtual: number, baseDmaAddr: number, attachment: DmaBufAttachment, bindingId: number, niovShift = PAGE_SHIFT,
  ): NetIovArea {
    const base = this.reserve(count);
    let id = this.areas.indexOf(null);
    if (id < 0) {
      id = this.areas.length;
      this.areas.push(null);
    }
    const area = new NetIovArea(id, base, count, baseVirtual, baseDmaAddr, attachment, bindingId, niovShift);
    const size = area.niovSize;
    this.areas[id] = area;
    for (let i = 0; i < count; i++) {
      this.ppRef[base + i] = 0;
      this.pool[base + i] = 0;
      this.areaOf[base + i] = id;
      this.dmabufOffset[base + i] = baseVirtual + i * size;
      this.bindingId[base + i] = bindingId;
    }
    return area;
  }

  /** forgets an area; its indices may be reused */
  unregister(area: NetIovArea): void {
    for (let i = 0; i < area.numNiovs; i++) this.areaOf[area.base + i] = -1;
    this.areas[area.id] = null;
    this.freeRanges.push({ base: area.base, count: area.numNiovs });
  }

  area(index: number): NetIovArea {
    return this.areas[this.areaOf[index]!]!;
  }

  private reserve(count: number): number {
    for (let i = 0; i < this.freeRanges.length; i++) {
      const r = this.freeRanges[i]!;
      if (r.count >= count) {
        const base = r.base;
        r.base += count;
        r.count -= count;
        if (r.count === 0) this.freeRanges.splice(i, 1);
        return base;
      }
    }
    const base = this.top;
    this.top += count;
    if (this.top >= 1 << 30) throw new RangeError('net_iov index space exhausted');
    if (this.top > this.ppRef.length) {
      const cap = Math.max(this.top, this.ppRef.length * 2, 1024);
      this.ppRef = grow(this.ppRef, cap);
      this.pool = grow(this.pool, cap);
      this.areaOf = grow(this.areaOf, cap);
      this.bindingId = grow(this.bindingId, cap);
      const f = new Float64Array(cap);
      f.set(this.dmabufOffset);
      this.dmabufOffset = f;
    }
    return base;
  }
}

function grow(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
