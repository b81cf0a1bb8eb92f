/**
 * `DeviceMemory`: the dma-buf exporter (a GPU or accelerator buffer). The host stack cannot
 * read it: the stack only ever holds `NetmemRef`s into it. Its bytes are reached in exactly two
 * ways, both counted:
 *  - device operations the application asks the exporter for (fill, validate against the
 *    ncdevmem pattern, digest, copyToHost / writeFromHost) — `copyToHost` is the application's
 *    explicit read, counted in `stats.hostBytesRead`;
 *  - DMA by a NIC through a `DmaBufAttachment`, which a binding obtains with `attach()`.
 * The falsifiable "the host never read the payload" figure is `stats.hostVisibleBytes`: every
 * device-memory byte that left the device by any path other than `copyToHost` — a NIC's DMA read
 * for the wire, a link's linearization, a device-to-device copy staged in a host buffer. Each of
 * those lands in host-addressable memory, so a receive-only devmem run must keep it at 0, and
 * anything in the stack that reads device memory moves it (`DmaBufAttachment.dmaRead` is the
 * only way out besides `copyToHost`).
 * A `DeviceBackend` interface lets a real accelerator buffer stand behind it later.
 */
import { createHash } from 'node:crypto';
import { PAGE_SIZE } from './netmem.js';
import type { NcdevmemPattern } from './pattern.js';

/** storage behind a DeviceMemory; the default keeps the bytes in an ArrayBuffer */
export interface DeviceBackend {
  readonly size: number;
  /** the device's own view of its bytes; never handed to the stack */
  bytes(): Uint8Array;
}

class ArrayBackend implements DeviceBackend {
  private b: Uint8Array | null = null;
  constructor(readonly size: number) {}
  bytes(): Uint8Array {
    // allocated on first touch, as device memory is populated lazily
    if (this.b === null) this.b = new Uint8Array(this.size);
    return this.b;
  }
}

export interface DeviceMemoryStats {
  /** payload bytes moved from the device into host memory (copyToHost) */
  hostBytesRead: number;
  /** bytes the host wrote into the device (writeFromHost) */
  hostBytesWritten: number;
  /** bytes processed by device-side operations (fill, validate, digest) */
  deviceOpBytes: number;
  /** device-side operations run */
  deviceOps: number;
  /** bytes written by NIC DMA */
  dmaBytesWritten: number;
  /** bytes read by NIC DMA */
  dmaBytesRead: number;
  /**
   * device-memory bytes that reached host-addressable memory other than through `copyToHost`
   * (NIC DMA reads for the wire, linearization, staged copies): 0 when the host never saw payload
   */
  hostVisibleBytes: number;
}

/** one scatterlist entry of the exported buffer */
export interface SgEntry {
  /** byte offset of the entry in the dma-buf ("virtual" offset) */
  offset: number;
  len: number;
  /** DMA (bus) address the device uses for `offset` */
  dmaAddr: number;
}

let nextInode = 1;

export class DeviceMemory {
  readonly size: number;
  /** a stand-in for the dma-buf inode number; unique per process */
  readonly inode: number;
  /** scatterlist entry size used when a device maps the buffer */
  readonly sgChunk: number;
  readonly stats: DeviceMemoryStats = {
    hostBytesRead: 0, hostBytesWritten: 0, deviceOpBytes: 0, deviceOps: 0,
    dmaBytesWritten: 0, dmaBytesRead: 0, hostVisibleBytes: 0,
  };
  #backend: DeviceBackend;
  /** attachments that still map the buffer */
  attachments = 0;
  /** file descriptor in the owning host's fd table, -1 when none */
  fd = -1;
  /** set by the owner (host fd table) when the fd closed; the buffer lives while attached */
  fdClosed = false;

  constructor(size: number, opts: { sgChunk?: number; backend?: DeviceBackend } = {}) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`dma-buf size must be a positive integer, got ${size}`);
    this.size = size;
    this.inode = nextInode++;
    this.sgChunk = opts.sgChunk ?? 2 * 1024 * 1024;
    if (this.sgChunk % PAGE_SIZE !== 0 || this.sgChunk <= 0) throw new RangeError('sgChunk must be a positive multiple of PAGE_SIZE');
    this.#backend = opts.backend ?? new ArrayBackend(size);
  }

  // ---- device operations (what the application asks the accelerator to do) ----

  /** device op: fills [offset, offset+len) with the ncdevmem pattern, advancing `pattern` */
  fill(offset: number, len: number, pattern: NcdevmemPattern): void {
    this.range(offset, len);
    pattern.generate(this.#backend.bytes(), offset, len);
    this.stats.deviceOps++;
    this.stats.deviceOpBytes += len;
  }

  /** device op: validates [offset, offset+len) against `pattern`; returns mismatching bytes */
  validate(offset: number, len: number, pattern: NcdevmemPattern): number {
    this.range(offset, len);
    this.stats.deviceOps++;
    this.stats.deviceOpBytes += len;
    return pattern.check(this.#backend.bytes(), offset, len);
  }

  /** device op: SHA-256 of [offset, offset+len), hex; only the digest reaches the host */
  digest(offset: number, len: number): string {
    this.range(offset, len);
    this.stats.deviceOps++;
    this.stats.deviceOpBytes += len;
    return createHash('sha256').update(this.#backend.bytes().subarray(offset, offset + len)).digest('hex');
  }

  /** copies device bytes into a new host buffer; counted in `stats.hostBytesRead` */
  copyToHost(offset: number, len: number): Uint8Array {
    this.range(offset, len);
    this.stats.hostBytesRead += len;
    return this.#backend.bytes().slice(offset, offset + len);
  }

  /** copies host bytes into the device; counted in `stats.hostBytesWritten` */
  writeFromHost(offset: number, src: Uint8Array): void {
    this.range(offset, src.length);
    this.stats.hostBytesWritten += src.length;
    this.#backend.bytes().set(src, offset);
  }

  // ---- dma-buf importer side ----

  /** the importer's view: attaches a device and returns the mapping capability */
  attach(device: string): DmaBufAttachment {
    this.attachments++;
    return new DmaBufAttachment(this, this.#backend, device);
  }

  private range(offset: number, len: number): void {
    if (!(offset >= 0 && len >= 0 && offset + len <= this.size)) {
      throw new RangeError(`device range [${offset}, ${offset + len}) outside a ${this.size}-byte buffer`);
    }
  }
}

/** base of the fake IOVA space device mappings use */
const IOVA_BASE = 0x1_0000_0000;

/**
 * A device's attachment to a dma-buf: the scatterlist with DMA addresses, and DMA access for
 * the NIC model. Only `DeviceMemory.attach` creates one; the stack's layers above the NIC never
 * see it.
 */
export class DmaBufAttachment {
  readonly #mem: DeviceMemory;
  readonly #bytes: Uint8Array;
  private detached = false;

  constructor(mem: DeviceMemory, backend: DeviceBackend, readonly device: string) {
    this.#mem = mem;
    this.#bytes = backend.bytes();
  }

  get dmabuf(): DeviceMemory {
    return this.#mem;
  }

  /** the mapped scatterlist: whole pages only (a tail shorter than a page is left out) */
  map(): SgEntry[] {
    const out: SgEntry[] = [];
    const size = this.#mem.size - (this.#mem.size % PAGE_SIZE);
    for (let off = 0; off < size; off += this.#mem.sgChunk) {
      const len = Math.min(this.#mem.sgChunk, size - off);
      out.push({ offset: off, len, dmaAddr: IOVA_BASE + off });
    }
    return out;
  }

  /** NIC DMA write at dma-buf offset `offset` */
  dmaWrite(offset: number, src: Uint8Array, srcOff: number, len: number): void {
    this.#bytes.set(src.subarray(srcOff, srcOff + len), offset);
    this.#mem.stats.dmaBytesWritten += len;
  }

  /** NIC DMA read at dma-buf offset `offset` */
  dmaRead(offset: number, dst: Uint8Array, dstOff: number, len: number): void {
    dst.set(this.#bytes.subarray(offset, offset + len), dstOff);
    const st = this.#mem.stats;
    st.dmaBytesRead += len;
    // the destination is host-addressable (a wire frame, a staging buffer): the figure moves
    st.hostVisibleBytes += len;
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.#mem.attachments--;
  }
}
