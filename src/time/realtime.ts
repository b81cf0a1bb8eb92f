/**
 * Wall-clock scheduler for links to real peers (VXLAN, TAP) and interactive tools. Timers live in
 * one heap; one Node handle tracks the earliest: a timer already due runs from `setImmediate`
 * (the same event-loop iteration's check phase, microseconds later), a later one from a
 * `setTimeout` rounded UP to whole milliseconds (Node's granularity; a timer never fires early,
 * so no burst of zero-delay re-arms). No 0 ms timer is ever created: packet work does not wait
 * on timers at all (links wake the device's NAPI poll), only timeouts (RTO, delayed ACK,
 * keepalive) do. Time is microseconds since construction, read from the monotonic clock. This
 * is the only module under src/ besides cli/ and link/ that reads the wall clock.
 */
import { TimerHeap } from './heap.js';
import type { Instant, Scheduler, Timer } from './timer.js';

/** timers one `runDue` fires at most before it yields to the event loop */
const MAX_FIRE_PER_RUN = 10_000;

export class RealtimeScheduler implements Scheduler {
  readonly mode = 'real' as const;
  private readonly heap = new TimerHeap();
  private readonly origin = process.hrtime.bigint();
  private handle: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private handleAt = -1;
  private closed = false;
  private running = false;
  /** total timers fired, for statistics */
  fired = 0;
  private readonly onHandle = (): void => {
    this.handle = null;
    this.handleAt = -1;
    this.runDue();
  };
  private readonly onImmediate = (): void => {
    this.immediate = null;
    this.runDue();
  };

  now(): Instant {
    return Number((process.hrtime.bigint() - this.origin) / 1000n);
  }

  arm(timer: Timer, deadline: Instant): void {
    this.heap.set(timer, deadline);
    if (!this.running) this.reschedule();
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer);
  }

  noteWakeup(): void {}

  /** timers armed */
  get pending(): number {
    return this.heap.size;
  }

  /**
   * Fires every due timer (timers armed for "now" while it runs fire too), then re-arms the
   * Node handle for the earliest one left. Links may call it after delivering input.
   */
  runDue(): void {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      let now = this.now();
      // bounded, so a timer that keeps re-arming itself for "now" cannot starve the event loop
      for (let n = 0; n < MAX_FIRE_PER_RUN; n++) {
        const top = this.heap.peek();
        if (top === null) break;
        if (top.deadline > now) {
          // the clock moved while timers ran: one fresh read before giving up
          now = this.now();
          if (top.deadline > now) break;
        }
        this.heap.pop();
        top.deadline = -1;
        this.fired++;
        top.target.onTimer(top);
        if (this.closed) return;
      }
    } finally {
      this.running = false;
    }
    this.reschedule();
  }

  /** stops firing; pending Node handles are cleared (armed timers stay in the heap, inert) */
  close(): void {
    this.closed = true;
    if (this.handle) clearTimeout(this.handle);
    if (this.immediate) clearImmediate(this.immediate);
    this.handle = null;
    this.immediate = null;
  }

  private reschedule(): void {
    if (this.closed) return;
    const top = this.heap.peek();
    if (top === null) {
      if (this.handle) clearTimeout(this.handle);
      this.handle = null;
      this.handleAt = -1;
      return;
    }
    const delayUs = top.deadline - this.now();
    if (delayUs <= 0) {
      if (this.immediate === null) this.immediate = setImmediate(this.onImmediate);
      return;
    }
    if (this.handle && this.handleAt <= top.deadline) return;
    if (this.handle) clearTimeout(this.handle);
    this.handleAt = top.deadline;
    this.handle = setTimeout(this.onHandle, Math.ceil(delayUs / 1000));
  }
}
