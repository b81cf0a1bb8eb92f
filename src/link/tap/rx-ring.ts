/**
 * The single-producer / single-consumer ring one rx worker thread fills and the main thread
 * drains: `slots` (a power of two) slots of `slotSize` bytes in one SharedArrayBuffer, their
 * lengths in a second, and an Int32 control block. The worker owns HEAD and the slot it writes;
 * the main thread owns TAIL. Both indices count frames and wrap as int32; a slot is
 * `index & (slots - 1)`. EVT is bumped (and notified) by the worker for every event the main
 * thread must see (a frame, "writable", a fatal error); the main thread waits on it with
 * `Atomics.waitAsync`. The worker sleeps only in poll() on the tap fd plus an eventfd, which the
 * main thread writes to wake it (space freed while FULL, STOP, WANT_WRITE).
 */

export const C_HEAD = 0;
export const C_TAIL = 1;
export const C_EVT = 2;
/** set by the worker when it waits for space; cleared by whoever wakes it */
export const C_FULL = 3;
export const C_STOP = 4;
/** main → worker: poll the tap fd for POLLOUT (a write returned EAGAIN) */
export const C_WANT_WRITE = 5;
/** worker → main: the fd became writable */
export const C_WRITABLE = 6;
/** worker → main: the fatal errno that ended the worker (0 = none) */
export const C_FATAL = 7;
/** worker's count of non-fatal read errors (frame lost) */
export const C_RX_ERRORS = 8;
export const C_WORDS = 16;

export interface RxRingInit {
  fd: number;
  efd: number;
  slots: number;
  slotSize: number;
  ctl: SharedArrayBuffer;
  lens: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function newRxRing(fd: number, efd: number, slots: number, slotSize: number): RxRingInit {
  if (slots < 2 || (slots & (slots - 1)) !== 0) throw new RangeError(`ring slots ${slots}: a power of two ≥ 2`);
  return {
    fd, efd, slots, slotSize,
    ctl: new SharedArrayBuffer(C_WORDS * 4),
    lens: new SharedArrayBuffer(slots * 4),
    data: new SharedArrayBuffer(slots * slotSize),
  };
}
