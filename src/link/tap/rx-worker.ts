/**
 * Worker-thread entry: reads frames from one TAP queue fd into the shared ring (`rx-ring.ts`).
 * Non-blocking read() until EAGAIN or the ring is full, then poll() on the fd and the wake
 * eventfd, so the thread never sits in a read the main thread cannot interrupt (a thread stuck
 * in a syscall would keep the process from exiting). Read errors that lose one frame are counted;
 * EBADF/EBADFD or POLLERR/POLLHUP/POLLNVAL (the device was deleted) end the worker with C_FATAL.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  EAGAIN, EBADF, EBADFD, EINTR, libc, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT,
} from './libc.js';
import {
  C_EVT, C_FATAL, C_FULL, C_HEAD, C_RX_ERRORS, C_STOP, C_TAIL, C_WANT_WRITE, C_WRITABLE, type RxRingInit,
} from './rx-ring.js';

function run(init: RxRingInit): void {
  const lib = libc();
  const ctl = new Int32Array(init.ctl);
  const lens = new Int32Array(init.lens);
  const mask = init.slots - 1;
  const views: Uint8Array[] = [];
  for (let i = 0; i < init.slots; i++) views.push(new Uint8Array(init.data, i * init.slotSize, init.slotSize));
  // struct pollfd[2]: {int fd; short events; short revents}
  const pfd = new Int32Array(4);
  const pfd16 = new Int16Array(pfd.buffer);
  pfd[0] = init.fd;
  pfd[2] = init.efd;
  pfd16[6] = POLLIN;
  const evbuf = new Uint8Array(8);
  let head = Atomics.load(ctl, C_HEAD);

  const fatal = (errno: number): void => {
    Atomics.store(ctl, C_FATAL, errno);
    Atomics.add(ctl, C_EVT, 1);
    Atomics.notify(ctl, C_EVT);
  };

  for (;;) {
    if (Atomics.load(ctl, C_STOP) !== 0) return;
    // read while there is space
    let space = init.slots - ((head - Atomics.load(ctl, C_TAIL)) | 0);
    while (space > 0) {
      const slot = head & mask;
      const n = lib.read(init.fd, views[slot]!, init.slotSize);
      if (n > 0) {
        lens[slot] = n;
        head = (head + 1) | 0;
        Atomics.store(ctl, C_HEAD, head);
        Atomics.add(ctl, C_EVT, 1);
        Atomics.notify(ctl, C_EVT);
        space--;
        continue;
      }
      const errno = n < 0 ? lib.errno() : EBADFD;
      if (errno === EAGAIN) break;
      if (errno === EINTR) continue;
      if (errno === EBADF || errno === EBADFD) return fatal(errno);
      Atomics.add(ctl, C_RX_ERRORS, 1);
    }
    if (space <= 0) {
      Atomics.store(ctl, C_FULL, 1);
      // the main thread may have freed space between our check and the flag
      if (init.slots - ((head - Atomics.load(ctl, C_TAIL)) | 0) > 0) {
        Atomics.store(ctl, C_FULL, 0);
        continue;
      }
    }
    let ev = space > 0 ? POLLIN : 0;
    if (Atomics.load(ctl, C_WANT_WRITE) !== 0) ev |= POLLOUT;
    pfd16[2] = ev;
    pfd16[3] = 0;
    pfd16[7] = 0;
    const r = lib.poll(pfd, 2, 1000);
    if (r < 0) {
      if (lib.errno() === EINTR) continue;
      return fatal(lib.errno());
    }
    const rev = pfd16[3]!;
    if (pfd16[7]! & POLLIN) lib.read(init.efd, evbuf, 8);
    if (rev & (POLLERR | POLLHUP | POLLNVAL)) return fatal(EBADFD);
    if (rev & POLLOUT) {
      Atomics.store(ctl, C_WANT_WRITE, 0);
      Atomics.store(ctl, C_WRITABLE, 1);
      Atomics.add(ctl, C_EVT, 1);
      Atomics.notify(ctl, C_EVT);
    }
  }
}

if (parentPort) run(workerData as RxRingInit);
