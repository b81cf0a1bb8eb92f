/**
 * Receive side of one TAP queue, two ways (`TapLinkOptions.io`):
 *  - `WorkerQueue` ('worker'): a worker thread reads frames into a SharedArrayBuffer ring
 *    (`rx-worker.ts`); the main thread wakes through `Atomics.waitAsync` and drains the ring, so
 *    reads overlap with the stack's work on another core. Each frame is copied out of the shared
 *    slot with libc memcpy into one private buffer before delivery (V8's own copies from shared
 *    memory are 10–25× slower), which also frees the slot for the worker at once;
 *  - `PollQueue` ('poll', default): libuv watches the fd (`koffi.node.poll`) and the main thread reads
 *    non-blocking until EAGAIN; no thread, one syscall per frame on the main thread.
 * Both deliver at most `RX_BUDGET` frames per turn and then yield to the event loop (NAPI-like),
 * end every batch with `sink.batchDone()`, report a writable fd (after `wantWrite()`) with
 * `sink.writable()` and a dead fd with `sink.fatal()`. `stop()` ends delivery: after it resolves
 * nothing calls the sink. The queue owns its worker and eventfd, never the tap fd.
 */
import { Worker } from 'node:worker_threads';
import { EAGAIN, EBADF, EBADFD, EFD_CLOEXEC, EFD_NONBLOCK, EINTR, type Libc } from './libc.js';
import {
  C_EVT, C_FATAL, C_FULL, C_HEAD, C_RX_ERRORS, C_STOP, C_TAIL, C_WANT_WRITE, C_WRITABLE, newRxRing,
} from './rx-ring.js';

/** frames handled per turn before yielding to the event loop */
export const RX_BUDGET = 256;

export interface QueueSink {
  /** one frame: `buf[off..off+len)`, valid only during the call */
  deliver(buf: Uint8Array, off: number, len: number, queue: number): void;
  batchDone(): void;
  writable(): void;
  fatal(queue: number, errno: number): void;
  /** frames the reader lost to read errors */
  rxError(queue: number, count: number): void;
}

export interface QueueIo {
  start(): void;
  /** the last write on this fd returned EAGAIN: report `writable()` when it can take more */
  wantWrite(): void;
  stop(): Promise<void>;
}

type WaitAsync = (ta: Int32Array, index: number, value: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class WorkerQueue implements QueueIo {
  private readonly ctl: Int32Array;
  private readonly lens: Int32Array;
  /** one view per shared slot (memcpy source) and the private buffer frames are delivered from */
  private readonly slotViews: Uint8Array[] = [];
  private readonly priv: Uint8Array;
  private readonly mask: number;
  private readonly efd: number;
  /** eventfd increment: u64 1, little-endian */
  private readonly wake = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly init: ReturnType<typeof newRxRing>;
  private exited: Promise<void> = Promise.resolve();
  private tail = 0;
  private stopped = false;
  private seenRxErrors = 0;

  constructor(private readonly lib: Libc, fd: number, private readonly queue: number,
              slots: number, private readonly slotSize: number, private readonly sink: QueueSink) {
    this.efd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.efd < 0) throw new Error(`eventfd: errno ${lib.errno()}`);
    this.init = newRxRing(fd, this.efd, slots, slotSize);
    this.ctl = new Int32Array(this.init.ctl);
    this.lens = new Int32Array(this.init.lens);
    for (let i = 0; i < slots; i++) this.slotViews.push(new Uint8Array(this.init.data, i * slotSize, slotSize));
    this.priv = new Uint8Array(slotSize);
    this.mask = slots - 1;
  }

  start(): void {
    const w = new Worker(new URL('./rx-worker.js', import.meta.url), { workerData: this.init });
    this.exited = new Promise((resolve) => w.once('exit', () => resolve()));
    w.on('error', () => { if (!this.stopped) this.sink.fatal(this.queue, EBADFD); });
    this.pump();
  }

  wantWrite(): void {
    Atomics.store(this.ctl, C_WANT_WRITE, 1);
    this.signal();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.exited;
    this.stopped = true;
    Atomics.store(this.ctl, C_STOP, 1);
    this.signal();
    Atomics.notify(this.ctl, C_EVT); // resolves a pending waitAsync
    await this.exited;
    this.lib.close(this.efd);
  }

  private signal(): void {
    this.lib.write(this.efd, this.wake, 8);
  }

  private readonly pump = (): void => {
    let budget = RX_BUDGET;
    for (;;) {
      if (this.stopped) return;
      const seen = Atomics.load(this.ctl, C_EVT);
      budget -= this.drain(budget);
      if (Atomics.exchange(this.ctl, C_WRITABLE, 0) !== 0) this.sink.writable();
      const rxErrors = Atomics.load(this.ctl, C_RX_ERRORS);
      if (rxErrors !== this.seenRxErrors) {
        this.sink.rxError(this.queue, (rxErrors - this.seenRxErrors) | 0);
        this.seenRxErrors = rxErrors;
      }
      const fatal = Atomics.load(this.ctl, C_FATAL);
      if (fatal !== 0) {
        this.sink.fatal(this.queue, fatal);
        return;
      }
      if (this.stopped) return;
      if (budget <= 0) {
        setImmediate(this.pump);
        return;
      }
      const w = waitAsync(this.ctl, C_EVT, seen);
      if (w.async) {
        void w.value.then(this.pump);
        return;
      }
    }
  };

  private drain(max: number): number {
    const head = Atomics.load(this.ctl, C_HEAD);
    let tail = this.tail;
    let n = 0;
    while (tail !== head && n < max && !this.stopped) {
      const slot = tail & this.mask;
      const len = Math.min(Math.max(this.lens[slot]!, 0), this.slotSize);
      this.lib.memcpy(this.priv, this.slotViews[slot]!, len);
      tail = (tail + 1) | 0;
      Atomics.store(this.ctl, C_TAIL, tail);
      this.sink.deliver(this.priv, 0, len, this.queue);
      n++;
    }
    this.tail = tail;
    if (n > 0) {
      if (Atomics.exchange(this.ctl, C_FULL, 0) !== 0) this.signal();
      if (!this.stopped) this.sink.batchDone();
    }
    return n;
  }
}

/** koffi 3.3's uv_poll wrapper calls back with (status, events), not (events) as its .d.ts says */
type PollCb = (status: number | PollEvents, ev?: PollEvents) => void;
interface PollHandle {
  start(opts: { readable?: boolean; writable?: boolean }, cb: PollCb): void;
  close(): void;
}
interface PollEvents { readable: boolean; writable: boolean; disconnect: boolean }

export class PollQueue implements QueueIo {
  private handle: PollHandle | null = null;
  private readonly buf: Uint8Array;
  private stopped = false;
  private wantW = false;

  constructor(private readonly lib: Libc, private readonly fd: number, private readonly queue: number,
              slotSize: number, private readonly sink: QueueSink) {
    this.buf = new Uint8Array(slotSize);
  }

  start(): void {
    const poll = this.lib.koffi.node.poll as unknown as (fd: number, o: { readable: boolean }, cb: PollCb) => PollHandle;
    this.handle = poll(this.fd, { readable: true }, this.onEvent);
  }

  wantWrite(): void {
    if (this.wantW || this.stopped) return;
    this.wantW = true;
    this.handle?.start({ readable: true, writable: true }, this.onEvent);
  }

  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.handle?.close();
      this.handle = null;
    }
    return Promise.resolve();
  }

  private readonly onEvent = (status: number | PollEvents, events?: PollEvents): void => {
    if (this.stopped) return;
    const ev = typeof status === 'object' ? status : events;
    if (typeof status === 'number' && status < 0) {
      // libuv's poll error (EBADF for a tun fd whose device is gone): the read says what it is
      // (EBADFD, as the worker's read and Linux's tun_chr_read_iter report it)
      const r = this.lib.read(this.fd, this.buf, this.buf.length);
      const e = r < 0 ? this.lib.errno() : 0;
      return this.die(e === EBADF || e === EBADFD ? e : -status);
    }
    if (!ev) return;
    if (ev.writable && this.wantW) {
      this.wantW = false;
      this.handle?.start({ readable: true }, this.onEvent);
      this.sink.writable();
    }
    if (!ev.readable && !ev.disconnect) return;
    let n = 0;
    let lost = 0;
    while (n < RX_BUDGET && !this.stopped) {
      const r = this.lib.read(this.fd, this.buf, this.buf.length);
      if (r > 0) {
        this.sink.deliver(this.buf, 0, r, this.queue);
        n++;
        continue;
      }
      const errno = r < 0 ? this.lib.errno() : EBADFD;
      if (errno === EAGAIN) break;
      if (errno === EINTR) continue;
      if (errno === EBADF || errno === EBADFD) return this.die(errno);
      lost++;
      if (lost > RX_BUDGET) break;
    }
    if (lost > 0) this.sink.rxError(this.queue, lost);
    if (n > 0 && !this.stopped) this.sink.batchDone();
  };

  private die(errno: number): void {
    this.handle?.close();
    this.handle = null;
    this.stopped = true;
    this.sink.fatal(this.queue, errno);
  }
}
