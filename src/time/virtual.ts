/**
 * Discrete-event scheduler in virtual time. Nothing fires on its own: a driver (the `Network`)
 * calls `runDue()` / `advance()`; time only moves when the driver moves it, so the same inputs
 * give the same event order, byte for byte. Ties fire in arming order.
 */
import { TimerHeap } from './heap.js';
import type { Instant, Scheduler, Timer } from './timer.js';

export class VirtualScheduler implements Scheduler {
  readonly mode = 'virtual' as const;
  private t: Instant;
  private readonly heap = new TimerHeap();
  private wakeups = 0;
  /** total timers fired, for statistics */
  fired = 0;
  /**
   * Called (once, until `rearmKick`) when a timer is armed: the driver uses it to start running
   * the simulation when new work appears.
   */
  kick: (() => void) | null = null;
  private kicked = false;
  /**
   * A read-only observer of time (the `--report` sampler): `observer(at)` runs when the clock is
   * about to move past `observeAt`, for the first and the last point of its grid the move passes
   * (nothing is due in between, so the state at `at` is the state now), and returns the grid's
   * next spacing. It is not an event: it arms nothing, fires nothing, and moves no clock, so a run
   * observed is the run unobserved. `observeAt` is Infinity when there is none.
   */
  private observeAt = Infinity;
  private observeEvery = 0;
  private observer: ((at: Instant) => number) | null = null;

  constructor(start: Instant = 0) {
    this.t = start;
  }

  now(): Instant {
    return this.t;
  }

  arm(timer: Timer, deadline: Instant): void {
    this.heap.set(timer, deadline < this.t ? this.t : deadline);
    if (!this.kicked && this.kick !== null) {
      this.kicked = true;
      this.kick();
    }
  }

  /** lets the next `arm` call `kick` again */
  rearmKick(): void {
    this.kicked = false;
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer);
  }

  noteWakeup(): void {
    this.wakeups++;
  }

  /** returns and clears the count of user wakeups since the last call */
  takeWakeups(): number {
    const w = this.wakeups;
    this.wakeups = 0;
    return w;
  }

  /** deadline of the earliest armed timer, or -1 */
  nextDeadline(): Instant {
    const top = this.heap.peek();
    return top === null ? -1 : top.deadline;
  }

  get pending(): number {
    return this.heap.size;
  }

  /** installs the observer (see `observeAt`), first called for the grid point `first`; null removes it */
  setObserver(first: Instant, everyUs: number, fn: ((at: Instant) => number) | null): void {
    if (fn !== null && !(everyUs > 0)) throw new RangeError(`observer spacing must be > 0, got ${everyUs}`);
    this.observer = fn;
    this.observeEvery = everyUs;
    this.observeAt = fn === null ? Infinity : Math.max(first, this.t);
  }

  /** the first grid point the move passes and, when it passes more, the last: two calls at most */
  private observe(to: Instant): void {
    this.observeOne(this.observeAt);
    if (this.observer === null || this.observeAt >= to) return;
    const every = this.observeEvery;
    this.observeOne(this.observeAt + (Math.ceil((to - this.observeAt) / every) - 1) * every);
  }

  private observeOne(at: Instant): void {
    const next = this.observer!(at);
    if (next > 0) this.observeEvery = next;
    if (this.observer !== null) this.observeAt = at + this.observeEvery;
  }

  /**
   * Fires the earliest timer, moving time to its deadline. Returns false when none is armed or
   * the earliest is after `limit`.
   */
  step(limit: Instant = Number.MAX_SAFE_INTEGER): boolean {
    const top = this.heap.peek();
    if (top === null || top.deadline > limit) return false;
    this.heap.pop();
    if (top.deadline > this.t) {
      if (top.deadline > this.observeAt) this.observe(top.deadline);
      this.t = top.deadline;
    }
    top.deadline = -1;
    this.fired++;
    top.target.onTimer(top);
    return true;
  }

  /** moves time forward to `t` without firing anything (only if nothing is due before) */
  advanceTo(t: Instant): void {
    if (t > this.t) {
      if (t > this.observeAt) this.observe(t);
      this.t = t;
    }
  }
}
