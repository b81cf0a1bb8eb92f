/**
 * `TapLink`: a `FrameLink` over a Linux TAP device (`/dev/net/tun`), one fd per queue.
 *
 * Contract (beyond `FrameLink`'s):
 *  - the constructor opens the device synchronously (`openTap`): errors are one `ErrnoError`
 *    (ENOENT no tun driver, EACCES/EPERM not root, EBUSY name taken, EINVAL bad options). The
 *    device starts in the caller's network namespace and down; configuring the kernel side
 *    (`ip link set NAME netns NS up`, addresses) is the caller's job. `close()` closes every fd,
 *    which deletes the (non-persistent) device wherever it lives;
 *  - receive starts at `attach`: each queue's frames go to `rx.receive(frame, meta, queue)`
 *    (`queue` given only when queues > 1), a batch ends with `rx.flush()`; when the receiver is
 *    our `FramePort` (`isBatchReceiver`), frames go through `receiveInBatch` (no ring copy). With `vnetHdr` the
 *    virtio_net_hdr becomes `meta` (null for a plain frame): the kernel may hand us GSO
 *    super-frames up to 64 KiB and partial checksums, which the stack completes or verifies;
 *  - `send` writes one frame synchronously on a non-blocking fd (with vnet headers: `meta`
 *    encoded in front, so the kernel segments our GSO frames and completes partial checksums);
 *    EAGAIN → false, and `rx.drain()` once that fd is writable. EIO (the kernel side is down, no
 *    carrier) drops the frame, counted in `txCarrier`; other write errors drop it too, counted,
 *    the first of a run reported through `rx.error`. A multi-queue link writes each
 *    flow on a stable queue (`txQueueOf`), so the kernel steers the flow's replies to that queue;
 *  - a queue whose fd dies (the device was deleted under us) reports `rx.error` once and stops.
 * Nothing is allocated per frame: the receive path reuses one view of the reader's buffer per
 * frame length; the transmit path writes from one reused buffer.
 */
import { closeSync } from 'node:fs';
import { ERRNO, ErrnoError } from '../../uapi/errno.js';
import type { FrameLink, FrameMeta, LinkOffloads, LinkReceiver } from '../frame-link.js';
import { isBatchReceiver, type BatchLinkReceiver } from '../frame-port.js';
import { EAGAIN, EINTR, libc, type Libc } from './libc.js';
import { PollQueue, WorkerQueue, type QueueIo, type QueueSink } from './queue-io.js';
import { openTap } from './tun-device.js';
import { txQueueOf } from './tx-queue.js';
import { decodeVnetHdr, encodeVnetHdr, newFrameMeta, VNET_HDR_LEN, vnetHdrIsPlain } from './vnet-hdr.js';

export interface TapLinkOptions {
  /** interface name or template (`tap%d`, the default); 1..15 bytes */
  name?: string;
  /** queues (fds); > 1 sets IFF_MULTI_QUEUE. Default 1 */
  queues?: number;
  /** IFF_VNET_HDR with CSUM/TSO4/TSO6 offloads. Default true */
  vnetHdr?: boolean;
  /** the link's L3 MTU; when given the kernel side is set to it too (SIOCSIFMTU). Default 1500 */
  mtu?: number;
  /**
   * how frames are read: libuv polling on the main thread (default: on a 2-vCPU VM it gave kernel
   * → us 10–45 % more and a TAP ping ~40 % faster), or a worker thread per queue (its reads overlap
   * the stack's work; it won us → kernel at MTU 9000 there)
   */
  io?: 'worker' | 'poll';
  /** worker ring slots per queue (a power of two). Default 256 */
  ringSlots?: number;
  /** the tun control device. Default /dev/net/tun */
  devPath?: string;
}

export interface TapLinkStats {
  rxFrames: number;
  rxBytes: number;
  /** frames that arrived as GSO super-frames */
  rxGso: number;
  /** frames with a partial checksum (NEEDS_CSUM) */
  rxCsumPartial: number;
  /** frames the kernel marked DATA_VALID */
  rxDataValid: number;
  /** runts and malformed vnet headers, dropped */
  rxBad: number;
  /** frames that filled the whole read buffer (tun cut them), dropped */
  rxTruncated: number;
  /** frames lost to read errors */
  rxErrors: number;
  /** receive batches ended with `rx.flush()` (one per reader turn that delivered frames) */
  rxBatches: number;
  txFrames: number;
  txBytes: number;
  txGso: number;
  /** sends refused with EAGAIN (returned false) */
  txBusy: number;
  /** frames dropped on a write error or oversize */
  txErrors: number;
  /** frames dropped because the kernel side was down (write → EIO; Linux tx_carrier_errors) */
  txCarrier: number;
  /** frames sent after close, dropped */
  txDropped: number;
}

const DEFAULT_SLOTS = 256;
/**
 * One read's buffer: the largest frame the kernel hands a TAP (a 64 KiB GSO frame, or a frame at
 * the largest MTU) plus the vnet header and slack. tun truncates a frame that does not fit
 * without saying so, so a read that fills the whole buffer is counted and dropped.
 */
const SLOT_SIZE = (VNET_HDR_LEN + 65536 + 64 + 63) & ~63;

export class TapLink implements FrameLink, QueueSink {
  readonly kind = 'tap';
  /** the kernel's name for the device */
  readonly name: string;
  readonly queues: number;
  readonly mtu: number;
  readonly vnetHdr: boolean;
  readonly offloads: LinkOffloads;
  readonly stats: TapLinkStats = {
    rxFrames: 0, rxBytes: 0, rxGso: 0, rxCsumPartial: 0, rxDataValid: 0, rxBad: 0, rxTruncated: 0, rxErrors: 0, rxBatches: 0,
    txFrames: 0, txBytes: 0, txGso: 0, txBusy: 0, txErrors: 0, txCarrier: 0, txDropped: 0,
  };
  private readonly lib: Libc;
  private readonly fdList: number[];
  private readonly io: 'worker' | 'poll';
  private readonly slots: number;
  private readonly slotSize: number;
  private readonly txBuf: Uint8Array;
  private readonly meta: FrameMeta = newFrameMeta();
  private readers: QueueIo[] = [];
  /** per queue: views of the reader's buffer by frame length (`rxView`) */
  private readonly rxViews: (Uint8Array | undefined)[][] = [];
  private rx: LinkReceiver | null = null;
  /** the receiver's at-once entry (our FramePort): no ring copy; every batch ends with flush() */
  private batchRx: BatchLinkReceiver | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private busy = false;
  private lastTxErrno = 0;

  constructor(opts: TapLinkOptions = {}) {
    this.vnetHdr = opts.vnetHdr ?? true;
    this.queues = opts.queues ?? 1;
    this.mtu = opts.mtu ?? 1500;
    this.io = opts.io ?? 'poll';
    this.slots = opts.ringSlots ?? DEFAULT_SLOTS;
    if (this.io !== 'worker' && this.io !== 'poll') throw new ErrnoError('EINVAL', `TAP io='${String(this.io)}' (worker|poll)`);
    if (this.slots < 2 || (this.slots & (this.slots - 1)) !== 0) throw new ErrnoError('EINVAL', `TAP ringSlots=${this.slots} (a power of two ≥ 2)`);
    this.slotSize = SLOT_SIZE;
    const opened = openTap({
      name: opts.name ?? 'tap%d', queues: this.queues, vnetHdr: this.vnetHdr,
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}), devPath: opts.devPath ?? '/dev/net/tun',
    });
    this.name = opened.name;
    this.fdList = opened.fds;
    this.lib = libc();
    this.txBuf = new Uint8Array(this.vnetHdr ? SLOT_SIZE : 0);
    this.offloads = this.vnetHdr
      ? { txCsum: true, tso4: true, tso6: true, rxGso: true }
      : { txCsum: false, tso4: false, tso6: false, rxGso: false };
  }

  /** the queue fds, in queue order (for diagnostics; owned by the link) */
  get fds(): readonly number[] {
    return this.fdList;
  }

  attach(rx: LinkReceiver): void {
    if (this.closed) throw new ErrnoError('EBADF', `TAP ${this.name} attach after close`);
    if (this.rx) throw new ErrnoError('EBUSY', `TAP ${this.name} already attached`);
    this.rx = rx;
    this.batchRx = isBatchReceiver(rx) ? rx : null;
    for (let q = 0; q < this.queues; q++) {
      const fd = this.fdList[q]!;
      const r = this.io === 'worker'
        ? new WorkerQueue(this.lib, fd, q, this.slots, this.slotSize, this)
        : new PollQueue(this.lib, fd, q, this.slotSize, this);
      this.readers.push(r);
      r.start();
    }
  }

  send(frame: Uint8Array, meta?: FrameMeta | null): boolean {
    if (this.closed) {
      this.stats.txDropped++;
      return true;
    }
    const q = this.queues > 1 ? txQueueOf(frame, this.queues) : 0;
    const fd = this.fdList[q]!;
    let n: number;
    if (this.vnetHdr) {
      if (frame.length + VNET_HDR_LEN > this.txBuf.length) return this.txFail(ERRNO.EMSGSIZE);
      encodeVnetHdr(meta, this.txBuf, 0);
      this.txBuf.set(frame, VNET_HDR_LEN);
      n = this.write(fd, this.txBuf, frame.length + VNET_HDR_LEN);
    } else {
      n = this.write(fd, frame, frame.length);
    }
    if (n >= 0) {
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
      if (meta && meta.gsoType !== 'none' && this.vnetHdr) this.stats.txGso++;
      this.lastTxErrno = 0;
      return true;
    }
    const errno = this.lib.errno();
    if (errno === EAGAIN) {
      this.stats.txBusy++;
      this.busy = true;
      this.readers[q]?.wantWrite();
      return false;
    }
    if (errno === ERRNO.EIO) {
      this.stats.txCarrier++;
      return true;
    }
    return this.txFail(errno);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      await Promise.all(this.readers.map((r) => r.stop()));
      this.readers = [];
      this.rx = null;
      this.batchRx = null;
      for (const fd of this.fdList) closeSync(fd);
    })();
    return this.closing;
  }

  // ---- QueueSink (called by the queue readers) ----

  /** @internal */
  deliver(buf: Uint8Array, off: number, len: number, queue: number): void {
    const rx = this.rx;
    if (!rx) return;
    if (len >= this.slotSize) {
      this.stats.rxTruncated++;
      return;
    }
    let meta: FrameMeta | null = null;
    let foff = off;
    let flen = len;
    if (this.vnetHdr) {
      flen = len - VNET_HDR_LEN;
      foff = off + VNET_HDR_LEN;
      if (flen < 14) {
        this.stats.rxBad++;
        return;
      }
      if (!vnetHdrIsPlain(buf, off)) {
        if (!decodeVnetHdr(buf, off, flen, this.meta)) {
          this.stats.rxBad++;
          return;
        }
        meta = this.meta;
        if (meta.gsoType !== 'none') this.stats.rxGso++;
        if (meta.needsCsum) this.stats.rxCsumPartial++;
        if (meta.dataValid) this.stats.rxDataValid++;
      }
    } else if (flen < 14) {
      this.stats.rxBad++;
      return;
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += flen;
    const frame = this.rxView(buf, foff, flen, queue);
    const qi = this.queues > 1 ? queue : undefined;
    if (this.batchRx !== null) this.batchRx.receiveInBatch(frame, meta, qi);
    else rx.receive(frame, meta, qi);
  }

  /**
   * `buf[off..off+len)` as its own Uint8Array: a reader delivers from one fixed buffer per
   * queue, so the view of each length is made once and reused (no allocation per frame)
   */
  private rxView(buf: Uint8Array, off: number, len: number, queue: number): Uint8Array {
    const views = this.rxViews[queue] ?? (this.rxViews[queue] = []);
    let v = views[len];
    if (v === undefined || v.buffer !== buf.buffer || v.byteOffset !== buf.byteOffset + off) {
      // another buffer than the cached views': start over for it
      if (v !== undefined) views.length = 0;
      v = new Uint8Array(buf.buffer, buf.byteOffset + off, len);
      views[len] = v;
    }
    return v;
  }

  /** @internal */
  batchDone(): void {
    if (this.rx === null) return;
    this.stats.rxBatches++;
    this.rx.flush();
  }

  /** @internal */
  writable(): void {
    if (!this.busy) return;
    this.busy = false;
    this.rx?.drain();
  }

  /** @internal */
  fatal(queue: number, errno: number): void {
    this.stats.rxErrors++;
    this.rx?.error(new ErrnoError(errno, `read TAP ${this.name} queue ${queue} (device gone; queue stopped)`));
  }

  /** @internal */
  rxError(_queue: number, count: number): void {
    this.stats.rxErrors += count;
  }

  private write(fd: number, buf: Uint8Array, len: number): number {
    for (;;) {
      const n = this.lib.write(fd, buf, len);
      if (n >= 0 || this.lib.errno() !== EINTR) return n;
    }
  }

  private txFail(errno: number): boolean {
    this.stats.txErrors++;
    if (errno !== this.lastTxErrno) {
      this.lastTxErrno = errno;
      this.rx?.error(new ErrnoError(errno, `write TAP ${this.name}`));
    }
    return true;
  }
}
