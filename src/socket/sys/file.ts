/**
 * Files and the per-host file-descriptor table (Linux `struct file` / `struct files_struct`).
 *
 * A `File` is what an fd refers to: a socket, a dma-buf (device memory), a netlink socket, an
 * epoll instance, or a placeholder for the standard streams. The table owns one reference per
 * installed fd; `close(fd)` drops it and the file is released when the last reference goes
 * (epoll watches hold none: a released file leaves every epoll set, as `eventpoll_release`
 * does). fds are allocated lowest-free first, like `alloc_fd`, up to RLIMIT_NOFILE (EMFILE).
 */
import { ERRNO, O_RDWR } from '../../uapi/index.js';
import type { WaitQueue } from './waitqueue.js';

export type FileKind = 'socket' | 'dmabuf' | 'netlink' | 'epoll' | 'tty';

/** an epoll watch on a file; the file tells it when the file goes away */
export interface FileWatch {
  fileReleased(f: File): void;
}

export abstract class File {
  abstract readonly kind: FileKind;
  /** f_flags (O_RDWR | O_NONBLOCK …) */
  flags = O_RDWR;
  /** fd-table references */
  refs = 0;
  /** epoll watches on this file (cold path) */
  watches: FileWatch[] | null = null;

  /** the readiness wait queue, or null when the file cannot be polled (epoll_ctl: EPERM) */
  abstract get wq(): WaitQueue | null;

  /** current readiness (vfs_poll): POLLIN/OUT/ERR/HUP/… bits */
  poll(): number {
    return 0;
  }

  /** the last reference was dropped */
  protected abstract release(): void;

  /** true when the object behind the file was closed by other means (a netlink socket's close) */
  get defunct(): boolean {
    return false;
  }

  /** @internal called by the fd table when the last reference goes */
  drop(): void {
    if (--this.refs > 0) return;
    const ws = this.watches;
    this.watches = null;
    if (ws !== null) for (const w of ws) w.fileReleased(this);
    this.release();
  }
}

/** stdin/stdout/stderr placeholders: they keep fds 0–2 taken, as in a process */
export class TtyFile extends File {
  readonly kind = 'tty';
  get wq(): WaitQueue | null {
    return null;
  }
  protected release(): void {}
}

/** default RLIMIT_NOFILE soft limit */
export const NR_OPEN_DEFAULT = 1024;

export class FdTable {
  private readonly files: (File | null)[] = [];
  private readonly cloexec: boolean[] = [];
  /** no fd below this is free (`files_struct.next_fd`) */
  private nextFd = 0;
  private count = 0;

  constructor(readonly max = NR_OPEN_DEFAULT, stdio = true) {
    if (stdio) for (let i = 0; i < 3; i++) this.install(new TtyFile());
  }

  /** open fds */
  get size(): number {
    return this.count;
  }

  /** installs `f` at the lowest free fd; takes a reference. → fd, or -EMFILE */
  install(f: File, cloexec = false): number {
    let fd = this.nextFd;
    const files = this.files;
    while (fd < files.length && files[fd] !== null) fd++;
    if (fd >= this.max) return -ERRNO.EMFILE;
    if (fd === files.length) {
      files.push(f);
      this.cloexec.push(cloexec);
    } else {
      files[fd] = f;
      this.cloexec[fd] = cloexec;
    }
    this.nextFd = fd + 1;
    this.count++;
    f.refs++;
    return fd;
  }

  /** the open file at `fd`, or null (EBADF); a defunct file's fd is still taken until closed */
  get(fd: number): File | null {
    if (!Number.isInteger(fd) || fd < 0 || fd >= this.files.length) return null;
    return this.files[fd] ?? null;
  }

  /** close(fd): 0 or -EBADF */
  close(fd: number): number {
    const f = this.get(fd);
    if (f === null) return -ERRNO.EBADF;
    this.files[fd] = null;
    this.cloexec[fd] = false;
    if (fd < this.nextFd) this.nextFd = fd;
    this.count--;
    f.drop();
    return 0;
  }

  getCloexec(fd: number): boolean {
    return this.cloexec[fd] ?? false;
  }

  setCloexec(fd: number, on: boolean): void {
    if (this.get(fd) !== null) this.cloexec[fd] = on;
  }

  /** the lowest fd that refers to `f`, or -1 */
  fdOf(f: File): number {
    return this.files.indexOf(f);
  }

  /** closes every fd (process exit), highest first */
  closeAll(): void {
    for (let fd = this.files.length - 1; fd >= 0; fd--) if (this.files[fd] !== null) this.close(fd);
  }

  /** [fd, file] pairs of every open fd */
  *entries(): IterableIterator<[number, File]> {
    for (let fd = 0; fd < this.files.length; fd++) {
      const f = this.files[fd];
      if (f !== null && f !== undefined) yield [fd, f];
    }
  }
}
