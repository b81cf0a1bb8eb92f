// Test helpers for the VXLAN link tests: a recording LinkReceiver, a raw UDP peer, bounded waits.
// Not a test file.
import dgram from 'node:dgram';
import type { FrameMeta, LinkReceiver } from '../../src/link/frame-link.js';

/** records what a link hands to the stack; `onFrame` lets a test react (answer ARP, ...) */
export class StubReceiver implements LinkReceiver {
  readonly frames: Uint8Array[] = [];
  drains = 0;
  flushes = 0;
  readonly errors: Error[] = [];
  private waiters: Array<() => void> = [];
  onFrame: ((f: Uint8Array) => void) | null = null;

  receive(frame: Uint8Array, _meta?: FrameMeta | null, _queue?: number): void {
    const copy = Uint8Array.from(frame); // receive must copy: the link may reuse its buffer
    this.frames.push(copy);
    this.onFrame?.(copy);
    this.wake();
  }
  flush(): void {
    this.flushes++;
  }
  drain(): void {
    this.drains++;
    this.wake();
  }
  error(err: Error): void {
    this.errors.push(err);
    this.wake();
  }
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** resolves when `pred()` holds, re-checked on every callback and every few ms (drops make no callback); rejects after `ms` */
  until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    return waitFor(pred, ms, what, (f) => this.waiters.push(f));
  }
}

/** resolves when `pred()` holds; checked now, on each `subscribe`d wakeup and every 5 ms; rejects after `ms` */
export function waitFor(pred: () => boolean, ms: number, what: string, subscribe?: (f: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      if (done) return;
      if (pred()) finish();
      else subscribe?.(check);
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const poll = setInterval(() => {
      if (!done && pred()) finish();
    }, 5);
    check();
  });
}

/** a plain UDP socket that records datagrams, for byte-exact checks of what the link sends */
export class RawPeer {
  readonly got: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly sock: dgram.Socket) {
    sock.on('message', (m) => {
      this.got.push(m);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }
  static async open(type: 'udp4' | 'udp6', address: string, port = 0): Promise<RawPeer> {
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, address, () => {
        sock.removeListener('error', reject);
        resolve();
      });
    });
    return new RawPeer(sock);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(bytes: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(bytes, port, address, (e) => (e ? reject(e) : resolve())));
  }
  until(n: number, ms = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${n} datagrams (have ${this.got.length})`)), ms);
      const check = (): void => {
        if (this.got.length >= n) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

/** an Ethernet frame: dst, src, ethertype 0x88b5 (local experimental), then `len` bytes of `seed`-derived payload */
export function testFrame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(14 + len);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5]);
  for (let i = 0; i < len; i++) f[14 + i] = (seed * 131 + i * 7) & 0xff;
  return f;
}

/** the VXLAN header Linux writes for `vni` */
export function vxlanHeader(vni: number): number[] {
  return [0x08, 0, 0, 0, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0];
}
