import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeScheduler, Timer, VirtualScheduler, type TimerTarget } from '../../src/time/index.js';
import { Rng } from '../../src/rand/index.js';

describe('VirtualScheduler', () => {
  it('fires in deadline order, ties in arming order, and moves time', () => {
    const s = new VirtualScheduler();
    const log: string[] = [];
    const target: TimerTarget = { onTimer: (t) => log.push(`${t.kind}@${s.now()}`) };
    const t1 = new Timer(target, 1);
    const t2 = new Timer(target, 2);
    const t3 = new Timer(target, 3);
    s.arm(t1, 50);
    s.arm(t2, 10);
    s.arm(t3, 10);
    s.arm(t1, 5); // re-arm moves it
    while (s.step());
    assert.deepEqual(log, ['1@5', '2@10', '3@10']);
    s.arm(t1, 100);
    s.cancel(t1);
    assert.equal(s.step(), false);
    assert.equal(t1.armed, false);
  });

  it('step(limit) does not fire later timers', () => {
    const s = new VirtualScheduler();
    let fired = 0;
    const t = new Timer({ onTimer: () => fired++ }, 0);
    s.arm(t, 1000);
    assert.equal(s.step(999), false);
    assert.equal(fired, 0);
    assert.equal(s.step(1000), true);
    assert.equal(s.now(), 1000);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and forks independent streams', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => new Rng(6).nextU32()));
    const f1 = new Rng(5).fork('x').nextU32();
    assert.equal(f1, new Rng(5).fork('x').nextU32());
    assert.notEqual(f1, new Rng(5).fork('y').nextU32());
    for (let i = 0; i < 1000; i++) {
      const f = a.nextFloat();
      assert.ok(f >= 0 && f < 1);
    }
  });
});

describe('Rng.fromKey (cryptographically keyed roots)', () => {
  const key = (fill: (i: number) => number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => fill(i));

  it('is deterministic per key, every key bit matters, and keyed forks stay keyed and independent', () => {
    const k = key((i) => i * 17 + 3);
    const draw = (r: Rng): number[] => Array.from({ length: 4 }, () => r.nextU32());
    assert.deepEqual(draw(Rng.fromKey(k)), draw(Rng.fromKey(k)));
    for (const byte of [0, 5, 10, 15]) {
      const k2 = k.slice();
      k2[byte] = k2[byte]! ^ 0x80;
      assert.notDeepEqual(draw(Rng.fromKey(k2)), draw(Rng.fromKey(k)), `key byte ${byte} changes the stream`);
    }
    const root = Rng.fromKey(k);
    assert.ok(root.keyed);
    const fx = root.fork('tcp');
    assert.ok(fx.keyed, 'a keyed root forks keyed children');
    assert.deepEqual(draw(fx), draw(Rng.fromKey(k).fork('tcp')));
    assert.notDeepEqual(draw(Rng.fromKey(k).fork('tcp')), draw(Rng.fromKey(k).fork('udp')));
    // two keys that agree on their first word (the displayed `seed`) still fork apart
    const k3 = k.slice();
    k3[12] = k3[12]! ^ 1;
    assert.equal(Rng.fromKey(k3).seed, root.seed);
    assert.notDeepEqual(draw(Rng.fromKey(k3).fork('tcp')), draw(Rng.fromKey(k).fork('tcp')));
    // a plain seeded Rng with the same 32-bit seed is a different stream
    assert.notDeepEqual(draw(new Rng(root.seed).fork('tcp')), draw(Rng.fromKey(k).fork('tcp')));
    assert.equal(new Rng(1).keyed, false);
  });

  it('refuses a short key; an all-zero key still gives a working generator', () => {
    assert.throws(() => Rng.fromKey(new Uint8Array(15)), RangeError);
    const z = Rng.fromKey(new Uint8Array(16));
    const xs = Array.from({ length: 8 }, () => z.nextU32());
    assert.ok(new Set(xs).size > 1);
  });
});

describe('RealtimeScheduler', () => {
  /** records setTimeout delays created while `fn` runs (the scheduler must never ask for 0 ms) */
  function watch(): { delays: number[]; restore: () => void } {
    const orig = globalThis.setTimeout;
    const delays: number[] = [];
    globalThis.setTimeout = ((cb: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return orig(cb, ms);
    }) as unknown as typeof setTimeout;
    return { delays, restore: () => { globalThis.setTimeout = orig; } };
  }

  it('a due timer runs on the next setImmediate, never from a 0 ms timer; timers armed while firing fire in the same run', async () => {
    const s = new RealtimeScheduler();
    const w = watch();
    try {
      const log: number[] = [];
      const t2 = new Timer({ onTimer: () => log.push(2) }, 2);
      const t1 = new Timer({ onTimer: () => { log.push(1); s.arm(t2, s.now()); } }, 1);
      s.arm(t1, s.now());
      assert.deepEqual(log, [], 'nothing fires inside arm()');
      await new Promise<void>((r) => setImmediate(r));
      assert.deepEqual(log, [1, 2]);
      assert.deepEqual(w.delays, []);
      assert.equal(s.pending, 0);
    } finally {
      w.restore();
      s.close();
    }
  });

  it('a later timer waits on a whole-millisecond timeout rounded up and never fires early; close() stops everything', async () => {
    const s = new RealtimeScheduler();
    const w = watch();
    try {
      let firedAt = -1;
      const t = new Timer({ onTimer: () => { firedAt = s.now(); } }, 0);
      const deadline = s.now() + 1500;
      s.arm(t, deadline);
      assert.deepEqual(w.delays, [2], '1.5 ms rounds up to 2 ms');
      await new Promise<void>((r) => {
        const poll = (): void => { if (firedAt >= 0) r(); else setImmediate(poll); };
        poll();
      });
      assert.ok(firedAt >= deadline, `fired at ${firedAt}, deadline ${deadline}`);
      const u = new Timer({ onTimer: () => assert.fail('fired after close') }, 0);
      s.arm(u, s.now());
      s.close();
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setImmediate(r));
    } finally {
      w.restore();
      s.close();
    }
  });
});
