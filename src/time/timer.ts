/**
 * Timers without closures: a `Timer` is a long-lived object owned by its target (a TCB, a link,
 * a neighbour entry) and re-armed in place; the scheduler calls `target.onTimer(timer)` when it
 * fires. Arming an armed timer moves it. Time is integer microseconds (`Instant`).
 */

/** Integer microseconds since the clock's epoch. */
export type Instant = number;

export const US_PER_MS = 1000;
export const US_PER_SEC = 1_000_000;

export interface Clock {
  /** current time in integer microseconds */
  now(): Instant;
}

export interface TimerTarget {
  onTimer(timer: Timer): void;
}

export class Timer {
  /** absolute deadline in µs, or -1 when not armed */
  deadline = -1;
  /** position in the scheduler's heap (scheduler-private), -1 when not queued */
  heapIndex = -1;
  /** insertion order, used to break deadline ties deterministically (scheduler-private) */
  order = 0;

  constructor(
    readonly target: TimerTarget,
    /** free tag the target uses to tell its timers apart */
    readonly kind: number,
  ) {}

  get armed(): boolean {
    return this.deadline >= 0;
  }
}

/** What the stack needs from time: read it, arm and cancel timers. */
export interface Scheduler extends Clock {
  /** (re)arm `timer` to fire at `deadline` (clamped to now) */
  arm(timer: Timer, deadline: Instant): void;
  cancel(timer: Timer): void;
  /**
   * Called by the socket layer when it resolved a promise user code awaits; the virtual-time
   * driver then lets the event loop run before advancing time.
   */
  noteWakeup(): void;
  readonly mode: 'virtual' | 'real';
}
