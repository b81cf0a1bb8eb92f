// A user-implemented FrameLink pair, written the way an application would write one against the
// public types only: each end copies what it sends and hands it to the other end's receiver.
// Options make it refuse sends (backpressure), carry virtio-net meta, or record traffic. Not a test file.
import type { FrameLink, FrameMeta, LinkOffloads, LinkReceiver } from '../../src/index.js';

export interface MemLinkOptions {
  mtu?: number;
  offloads?: LinkOffloads;
  /** refuse every n-th send (busy); the end calls `drain()` on the next setImmediate */
  busyEvery?: number;
  /** refuse every send from the first `stuckAfter` on, and never drain by itself */
  stuckAfter?: number;
  /** deliver on the next setImmediate instead of synchronously (a batch per turn, as sockets do) */
  async?: boolean;
  /** keep a copy of every frame sent (with its meta) */
  record?: boolean;
}

export interface SentFrame {
  bytes: Uint8Array;
  meta: FrameMeta | null;
}

export class MemLinkEnd implements FrameLink {
  readonly kind = 'mem';
  readonly mtu: number;
  readonly offloads: LinkOffloads;
  rx: LinkReceiver | null = null;
  peer: MemLinkEnd | null = null;
  readonly sent: SentFrame[] = [];
  sends = 0;
  refused = 0;
  closeCalls = 0;
  closed = false;
  /** a drain owed to the stack (a refusal not yet followed by `drain()`) */
  private owesDrain = false;
  private readonly pending: { bytes: Uint8Array; meta: FrameMeta | null }[] = [];
  private flushScheduled = false;

  constructor(private readonly o: MemLinkOptions = {}) {
    this.mtu = o.mtu ?? 1500;
    this.offloads = o.offloads ?? {};
  }

  attach(rx: LinkReceiver): void {
    if (this.rx !== null) throw new Error('attached twice');
    this.rx = rx;
  }

  send(frame: Uint8Array, meta?: FrameMeta | null): boolean {
    if (this.closed) return true;
    this.sends++;
    const o = this.o;
    if ((o.busyEvery !== undefined && this.sends % o.busyEvery === 0) || (o.stuckAfter !== undefined && this.sends > o.stuckAfter)) {
      this.refused++;
      if (o.stuckAfter === undefined && !this.owesDrain) {
        this.owesDrain = true;
        setImmediate(() => {
          this.owesDrain = false;
          if (!this.closed) this.rx?.drain();
        });
      }
      return false;
    }
    const copy = frame.slice();
    const m = meta ? { ...meta } : null;
    if (o.record) this.sent.push({ bytes: copy, meta: m });
    const peer = this.peer;
    if (peer === null || peer.closed || peer.rx === null) return true;
    if (!o.async) {
      peer.rx.receive(copy, m);
      return true;
    }
    peer.pending.push({ bytes: copy, meta: m });
    if (!peer.flushScheduled) {
      peer.flushScheduled = true;
      setImmediate(() => peer.deliverBatch());
    }
    return true;
  }

  private deliverBatch(): void {
    this.flushScheduled = false;
    if (this.closed || this.rx === null) return;
    for (const f of this.pending.splice(0)) this.rx.receive(f.bytes, f.meta);
    this.rx.flush();
  }

  async close(): Promise<void> {
    this.closeCalls++;
    this.closed = true;
    await new Promise<void>((r) => setImmediate(r));
  }
}

export function memLinkPair(a: MemLinkOptions = {}, b: MemLinkOptions = a): [MemLinkEnd, MemLinkEnd] {
  const x = new MemLinkEnd(a);
  const y = new MemLinkEnd(b);
  x.peer = y;
  y.peer = x;
  return [x, y];
}
