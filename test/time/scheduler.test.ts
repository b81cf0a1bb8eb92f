import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Timer, VirtualScheduler, type TimerTarget } from '../../src/time/index.js';
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
