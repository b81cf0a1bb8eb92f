/**
 * `TcpMemWait`: sockets whose send found host memory short (Linux sk_stream_wait_memory with
 * SOCK_NOSPACE). A waiter is woken — `memWait` cleared, then `tcpWritable` — when TCP frees
 * send-buffer pages (`wake`), and by a retry timer every `MEM_WAIT_RETRY` µs while any waits, so
 * memory freed outside TCP (receive queues, UDP) also reaches it. A woken writer that still
 * finds memory short waits again. Holds references to waiting sockets only until woken or done.
 */
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { TCP_CLOSE } from './constants.js';
import type { TcpSock } from './sock.js';

/** retry period while sends wait on host memory (Linux's vm_wait is up to HZ/5) */
export const MEM_WAIT_RETRY = 200_000;

export class TcpMemWait implements TimerTarget {
  private readonly waiters = new Set<TcpSock>();
  private readonly timer = new Timer(this, 0);

  constructor(private readonly sched: Scheduler) {}

  get size(): number {
    return this.waiters.size;
  }

  /** `tp`'s send found memory short */
  add(tp: TcpSock): void {
    tp.memWait = true;
    this.waiters.add(tp);
    if (!this.timer.armed) this.sched.arm(this.timer, this.sched.now() + MEM_WAIT_RETRY);
  }

  /** `tp` no longer waits (its send went through, or it is done) */
  remove(tp: TcpSock): void {
    if (!tp.memWait) return;
    tp.memWait = false;
    this.waiters.delete(tp);
    if (this.waiters.size === 0) this.sched.cancel(this.timer);
  }

  /** memory was freed: every waiter retries */
  wake(): void {
    if (this.waiters.size === 0) return;
    // a snapshot: a writer that retries synchronously and fails again re-joins the set
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const tp of ws) {
      tp.memWait = false;
      if (tp.state !== TCP_CLOSE && tp.sockOwner !== null) tp.sockOwner.tcpWritable(tp);
    }
    if (this.waiters.size === 0) this.sched.cancel(this.timer);
  }

  onTimer(): void {
    this.wake();
  }
}
