/**
 * Time: integer-microsecond `Instant`s, the `Clock`/`Scheduler` interfaces the stack is given,
 * closure-free `Timer`s, the virtual-time scheduler (tests, simulation) and the wall-clock one
 * (real links). Imports nothing of the stack.
 */
export * from './timer.js';
export { TimerHeap } from './heap.js';
export { VirtualScheduler } from './virtual.js';
export { RealtimeScheduler } from './realtime.js';
