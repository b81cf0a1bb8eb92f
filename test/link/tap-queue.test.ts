// The TAP queue readers without a TAP: an AF_UNIX SOCK_SEQPACKET pair stands in for the tun fd
// (one read = one frame, like tun). Ring wrap-around with a tiny ring (the worker waits for
// space), per-turn budget, writable after EAGAIN (the worker / libuv polls POLLOUT), a dead peer
// (POLLHUP → one fatal, then silence), stop ending the worker. No root needed; Linux only.
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { libc } from '../../src/link/tap/libc.js';
import { PollQueue, RX_BUDGET, WorkerQueue, type QueueIo, type QueueSink } from '../../src/link/tap/queue-io.js';

const linux = process.platform === 'linux';

type Koffi = typeof import('koffi');
function socketpair(): [number, number] {
  const k = createRequire(import.meta.url)('koffi') as Koffi;
  const f = k.load('libc.so.6').func('int socketpair(int d, int t, int p, int *sv)');
  const sv = new Int32Array(2);
  // AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC
  const rc = f(1, 5 | 0o4000 | 0o2000000, 0, sv) as number;
  assert.equal(rc, 0, `socketpair errno ${k.errno()}`);
  return [sv[0]!, sv[1]!];
}

class Sink implements QueueSink {
  readonly frames: Uint8Array[] = [];
  batches = 0;
  writables = 0;
  readonly fatals: number[] = [];
  lost = 0;
  stopped = false;
  constructor(private readonly onFrame?: () => void) {}
  sharedSeen = 0;
  deliver(buf: Uint8Array, off: number, len: number, queue: number): void {
    if (this.stopped) throw new Error('deliver after stop');
    if (buf.buffer instanceof SharedArrayBuffer) this.sharedSeen++;
    assert.equal(queue, 3);
    this.frames.push(buf.slice(off, off + len));
    this.onFrame?.();
  }
  batchDone(): void { this.batches++; }
  writable(): void { this.writables++; }
  fatal(_q: number, errno: number): void { this.fatals.push(errno); }
  rxError(_q: number, n: number): void { this.lost += n; }
}

function frame(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const mode of ['worker', 'poll'] as const) {
  describe(`TAP queue reader (${mode})`, { skip: linux ? false : 'Linux only' }, () => {
    const make = (fd: number, sink: Sink, slots = 4): QueueIo =>
      mode === 'worker' ? new WorkerQueue(libc(), fd, 3, slots, 2048, sink) : new PollQueue(libc(), fd, 3, 2048, sink);

    it('delivers every frame once, in order, byte-exact, through a ring much smaller than the burst', async () => {
      const lib = libc();
      const [a, b] = socketpair();
      const sink = new Sink();
      const q = make(a, sink);
      q.start();
      const N = 300;
      for (let i = 0; i < N; i++) {
        const f = frame(i, 60 + (i % 1400));
        // the peer's socket buffer is finite: wait for the reader when it is full
        while (lib.write(b, f, f.length) < 0) await new Promise((r) => setTimeout(r, 1));
      }
      await until(() => sink.frames.length === N, 10_000, 'all frames');
      for (let i = 0; i < N; i++) assert.deepEqual(sink.frames[i], frame(i, 60 + (i % 1400)), `frame ${i}`);
      assert.equal(sink.sharedSeen, 0, 'frames are copied out of the shared ring (libc memcpy) before delivery');
      assert.ok(sink.batches >= 1 && sink.batches <= N);
      assert.deepEqual(sink.fatals, []);
      assert.equal(sink.lost, 0);
      await q.stop();
      sink.stopped = true;
      lib.write(b, frame(0, 60), 60); // nothing may arrive after stop
      await new Promise((r) => setTimeout(r, 50));
      lib.close(a);
      lib.close(b);
    });

    it(`yields after ${RX_BUDGET} frames per turn (a batch never exceeds the budget)`, async () => {
      const lib = libc();
      const [a, b] = socketpair();
      let inBatch = 0;
      let maxBatch = 0;
      const sink = new Sink(() => { inBatch++; maxBatch = Math.max(maxBatch, inBatch); });
      const orig = sink.batchDone.bind(sink);
      sink.batchDone = () => { inBatch = 0; orig(); };
      let sent = 0;
      for (; sent < RX_BUDGET * 2 + 10; sent++) if (lib.write(b, frame(sent, 64), 64) < 0) break;
      const q = make(a, sink, 1024);
      q.start();
      await until(() => sink.frames.length === sent, 10_000, 'the burst');
      assert.ok(maxBatch <= RX_BUDGET, `batch of ${maxBatch}`);
      await q.stop();
      lib.close(a);
      lib.close(b);
    });

    it('reports writable after a write hit EAGAIN and the peer drained', async () => {
      const lib = libc();
      const [a, b] = socketpair();
      const sink = new Sink();
      const q = make(a, sink);
      q.start();
      const f = frame(1, 1000);
      let n = 0;
      while (lib.write(a, f, f.length) >= 0) n++;
      assert.equal(lib.errno(), 11, 'EAGAIN');
      q.wantWrite();
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(sink.writables, 0, 'still full: not writable');
      const buf = new Uint8Array(2048);
      for (let i = 0; i < n; i++) assert.equal(lib.read(b, buf, buf.length), 1000);
      await until(() => sink.writables === 1, 5000, 'writable');
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(sink.writables, 1, 'reported once');
      await q.stop();
      lib.close(a);
      lib.close(b);
    });

    it('a dead peer (POLLHUP) ends the queue with one fatal report; stop still resolves', async () => {
      const lib = libc();
      const [a, b] = socketpair();
      const sink = new Sink();
      const q = make(a, sink);
      q.start();
      lib.write(b, frame(7, 80), 80);
      await until(() => sink.frames.length === 1, 5000, 'a frame');
      lib.close(b);
      await until(() => sink.fatals.length === 1, 5000, 'fatal');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(sink.fatals.length, 1);
      await q.stop();
      lib.close(a);
    });
  });
}

describe('libc memcpy (the copy out of the shared ring)', { skip: linux ? false : 'Linux only' }, () => {
  it('copies from shared memory byte-exact and refuses a length beyond either buffer', () => {
    const lib = libc();
    const src = new Uint8Array(new SharedArrayBuffer(4096), 1000, 3000);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7) & 0xff;
    const dst = new Uint8Array(3000);
    lib.memcpy(dst, src, 2999);
    assert.deepEqual(dst.subarray(0, 2999), src.subarray(0, 2999));
    assert.equal(dst[2999], 0);
    assert.throws(() => lib.memcpy(dst, src, 3001), RangeError);
    assert.throws(() => lib.memcpy(new Uint8Array(10), src, 11), RangeError);
    assert.throws(() => lib.memcpy(dst, src, -1), RangeError);
  });
});
