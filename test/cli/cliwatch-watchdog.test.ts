// The progress watchdog shared by ncdevmem and the bench: it fires once, after the counter stayed
// the same for the stall time (never before, never while it moves), reports the quiet activity,
// stops when told, and StallRace turns the firing into a StallError carrying the diagnosis.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from '../../src/index.js';
import { ProgressWatchdog, StallError, StallRace, fmtSeconds, type StallSeen, type WatchClock } from '../../src/cli/ncdevmem/watchdog.js';

/** a clock whose sleeps are run by hand, in order */
class HandClock implements WatchClock {
  now = 0;
  private waits: { at: number; resolve: () => void }[] = [];
  sleeps = 0;
  sleep(us: number): Promise<void> {
    this.sleeps++;
    return new Promise((resolve) => this.waits.push({ at: this.now + us, resolve }));
  }
  /** advances to the next wake-up and lets the woken code run */
  async step(): Promise<boolean> {
    this.waits.sort((a, b) => a.at - b.at);
    const w = this.waits.shift();
    if (w === undefined) return false;
    this.now = w.at;
    w.resolve();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    return true;
  }
  get pending(): number {
    return this.waits.length;
  }
}

describe('ProgressWatchdog', () => {
  it('fires once, at the first tick at least stallUs after the last move, with the quiet activity', async () => {
    const clock = new HandClock();
    let bytes = 0;
    let frames = 0;
    const wd = new ProgressWatchdog(clock, 10_000, () => bytes, () => frames);
    let seen: StallSeen | null = null;
    void wd.stalled.then((s) => (seen = s));
    // ticks of 1 ms (stallUs / 10); the counter moves at 3 ms, frames keep coming after it
    for (let t = 1; t <= 3; t++) {
      await clock.step();
      bytes = t * 100;
    }
    await clock.step(); // 4 ms: sees the move of the 3 ms tick → last move at 4 ms
    frames = 7;
    for (let t = 5; t < 14; t++) {
      await clock.step();
      assert.equal(seen, null, `not yet at ${clock.now} µs`);
    }
    await clock.step(); // 14 ms: 10 ms without a move
    assert.equal(clock.now, 14_000);
    assert.deepEqual(seen, { stallUs: 10_000, progress: 300, quietActivity: 7 });
    assert.equal(wd.running, false);
    assert.equal(clock.pending, 0, 'no timer left behind once it fired');
  });

  it('a counter that moves at every tick never fires; stop() ends the loop at its next tick', async () => {
    const clock = new HandClock();
    let bytes = 0;
    const wd = new ProgressWatchdog(clock, 5000, () => bytes);
    let fired = false;
    void wd.stalled.then(() => (fired = true));
    for (let i = 0; i < 100; i++) {
      bytes++;
      await clock.step();
    }
    assert.equal(fired, false);
    wd.stop();
    await clock.step();
    assert.equal(clock.pending, 0, 'the loop ended');
    assert.equal(fired, false, 'a stopped watchdog never fires');
  });

  it('the tick is stallUs / 10, never under 1 ms; stallUs must be positive', async () => {
    const clock = new HandClock();
    const wd = new ProgressWatchdog(clock, 2000, () => 0);
    await clock.step();
    assert.equal(clock.now, 1000, '1 ms floor');
    wd.stop();
    assert.throws(() => new ProgressWatchdog(clock, 0, () => 0), RangeError);
    assert.throws(() => new ProgressWatchdog(clock, Number.NaN, () => 0), RangeError);
    assert.equal(fmtSeconds(30_000_000), '30');
    assert.equal(fmtSeconds(500_000), '0.5');
  });

  it('on a virtual-time Network: a frozen counter fires after 30 s virtual in well under a second of wall time', async () => {
    const net = new Network({ seed: 1 });
    const t0 = process.hrtime.bigint();
    const wd = new ProgressWatchdog(net, 30_000_000, () => 42);
    const s = await wd.stalled;
    assert.equal(s.progress, 42);
    assert.ok(net.now >= 30_000_000 && net.now <= 33_000_000, `${net.now} µs`);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e9 < 2);
    await net.close();
  });
});

describe('StallRace', () => {
  it('lets a wait that settles first through; after the stall, every wait rejects with the diagnosis', async () => {
    const clock = new HandClock();
    const race = new StallRace(new ProgressWatchdog(clock, 3000, () => 0), async (seen) => `diag after ${seen.stallUs} µs`);
    assert.equal(await race.race(Promise.resolve(5)), 5);
    await assert.rejects(race.race(Promise.reject(new Error('boom'))), /boom/);
    const never = new Promise<number>(() => undefined);
    const pending = race.race(never);
    while (await clock.step());
    await assert.rejects(pending, (e: unknown) => e instanceof StallError && e.message === 'diag after 3000 µs');
    await assert.rejects(race.failed, StallError);
    assert.equal(race.diagnosis, 'diag after 3000 µs');
    // later waits fail at once
    await assert.rejects(race.race(never), StallError);
  });

  it('a diagnosis that throws still yields a stall line (the counters could not be read)', async () => {
    const clock = new HandClock();
    const race = new StallRace(new ProgressWatchdog(clock, 1_000_000, () => 9), () => Promise.reject(new Error('no snmp in this build')));
    while (await clock.step());
    await assert.rejects(race.failed, (e: unknown) => e instanceof StallError && e.message === 'no progress for 1 s: 9 bytes (no snmp in this build)');
  });

  it('a stopped race never rejects (no unhandled rejection when nothing waits)', async () => {
    const clock = new HandClock();
    const race = new StallRace(new ProgressWatchdog(clock, 1000, () => 0), async () => 'x');
    race.stop();
    while (await clock.step());
    assert.equal(race.diagnosis, null);
  });
});
