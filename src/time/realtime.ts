/**
 * Wall-clock scheduler for links to real peers (VXLAN, TAP) and interactive tools: one Node
 * timer tracks the earliest armed `Timer`. Time is microseconds since construction, read from
 * the monotonic clock. This is the only module under src/ besides cli/ and link/ that reads
 * the wall clock.
 */
import { TimerHeap } from './heap.js';
import type { Instant, Scheduler, Timer } from './timer.js';

export class RealtimeScheduler implements Scheduler {
  readonly mode = 'real' as const;
  private readonly heap = new TimerHeap();
  private readonly origin = process.hrtime.bigint();
  private handle: NodeJS.Timeout | null = null;
  private handleAt = -1;
  private closed = false;

  now(): Instant {
    return Number((process.hrtime.bigint() - this.origin) / 1000n);
  }

  arm(timer: Timer, deadline: Instant): void {
    this.heap.set(timer, deadline);
    this.reschedule();
  }

  cancel(timer: Timer): void {
    this.heap.remove(timer);
  }

  noteWakeup(): void {}

  /** fires every due timer; links call this after delivering input so timers stay prompt */
  runDue(): void {
    const now = this.now();
    for (;;) {
      const top = this.heap.peek();
      if (top === null || top.deadline > now) break;
      this.heap.pop();
      top.deadline = -1;
      top.target.onTimer(top);
    }
    this.reschedule();
  }

  close(): void {
    this.closed = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
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
    if (this.handle && this.handleAt <= top.deadline) return;
    if (this.handle) clearTimeout(this.handle);
    this.handleAt = top.deadline;
    const delayMs = Math.max(0, (top.deadline - this.now()) / 1000);
    this.handle = setTimeout(() => {
      this.handle = null;
      this.handleAt = -1;
      this.runDue();
    }, delayMs);
  }
}
