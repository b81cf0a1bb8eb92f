/**
 * The few libc calls Node lacks for a TAP device (ioctl, poll, eventfd, read/write into a caller's
 * buffer), bound through koffi. koffi is loaded lazily, on the first TAP opened, so importing the
 * library never loads a native addon; a machine where it cannot load gets one `ErrnoError`
 * (ENOSYS-like EOPNOTSUPP) with the reason. Used by the main thread and by the rx worker threads
 * (each thread binds its own copy). Calls return the raw result (-1 on failure) and `errno()`
 * reads the calling thread's errno right after; nothing here throws on a failed syscall.
 */
import { createRequire } from 'node:module';
import { ErrnoError } from '../../uapi/errno.js';

type Koffi = typeof import('koffi');

/** buffers koffi passes by pointer: their data (honouring byteOffset) is what the kernel sees */
export type CBuf = Uint8Array | Int32Array | Int16Array;

export interface Libc {
  /** ioctl(fd, req, &arg) */
  ioctlPtr(fd: number, req: number, arg: CBuf): number;
  /** ioctl(fd, req, value) */
  ioctlVal(fd: number, req: number, value: number): number;
  read(fd: number, buf: CBuf, len: number): number;
  write(fd: number, buf: CBuf, len: number): number;
  /**
   * memcpy(dst, src, n): the fast way out of a SharedArrayBuffer. V8 copies a shared source
   * (`TypedArray.set`, `Buffer.copy`) with relaxed atomic word moves, 10–25× slower than libc.
   */
  memcpy(dst: CBuf, src: CBuf, n: number): void;
  /** poll(struct pollfd fds[n], n, timeoutMs); `fds` holds n × {int fd; short events; short revents} */
  poll(fds: CBuf, n: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  close(fd: number): number;
  errno(): number;
  /** the koffi module (for `koffi.node.poll`, main thread only) */
  readonly koffi: Koffi;
}

let cached: Libc | null = null;

/** binds libc for the calling thread (once per thread) */
export function libc(): Libc {
  if (cached) return cached;
  let k: Koffi;
  try {
    k = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    throw new ErrnoError('EOPNOTSUPP', `TAP needs the koffi package (FFI), which failed to load: ${(e as Error).message}`);
  }
  const lib = k.load('libc.so.6');
  const ioctlPtr = lib.func('int ioctl(int fd, unsigned long req, void *arg)');
  const ioctlVal = lib.func('int ioctl(int fd, unsigned long req, unsigned long arg)');
  const read = lib.func('long read(int fd, void *buf, size_t n)');
  const write = lib.func('long write(int fd, const void *buf, size_t n)');
  const memcpy = lib.func('void *memcpy(void *dst, const void *src, size_t n)');
  const poll = lib.func('int poll(void *fds, unsigned long n, int timeout)');
  const eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const close = lib.func('int close(int fd)');
  cached = {
    ioctlPtr: (fd, req, arg) => ioctlPtr(fd, req, arg) as number,
    ioctlVal: (fd, req, v) => ioctlVal(fd, req, v) as number,
    read: (fd, buf, len) => read(fd, buf, len) as number,
    write: (fd, buf, len) => write(fd, buf, len) as number,
    memcpy: (dst, src, n) => {
      if (!(n >= 0 && n <= dst.byteLength && n <= src.byteLength)) throw new RangeError(`memcpy of ${n} bytes out of bounds`);
      memcpy(dst, src, n);
    },
    poll: (fds, n, t) => poll(fds, n, t) as number,
    eventfd: (v, f) => eventfd(v, f) as number,
    socket: (d, t, p) => socket(d, t, p) as number,
    close: (fd) => close(fd) as number,
    errno: () => k.errno(),
    koffi: k,
  };
  return cached;
}

// Linux x86-64 / asm-generic values
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EBADFD = 77;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
