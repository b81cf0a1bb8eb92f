/**
 * epoll (Linux fs/eventpoll.c, reduced): an `EpollFile` holds one `EpItem` per watched (file, fd).
 * An item sits on its file's wait queue; a wake whose hint meets the item's events puts it on the
 * ready list (once). `wait` re-polls each ready item and reports `file.poll() & events`:
 * level-triggered items go back on the ready list, `EPOLLET` items only come back with the next
 * wake, `EPOLLONESHOT` items are disabled until `EPOLL_CTL_MOD`. `EPOLLERR | EPOLLHUP` are always
 * watched. An item leaves the set on `EPOLL_CTL_DEL` or when its file is released. The epoll
 * file is itself pollable (POLLIN while something is ready).
 */
import {
  EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLONESHOT, EPOLLWAKEUP, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD,
  ERRNO, POLLIN, POLLRDNORM,
} from '../../uapi/index.js';
import { File, type FileWatch } from './file.js';
import { WaitEntry, WaitQueue } from './waitqueue.js';

const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/** fs/eventpoll.c EP_MAX_NESTS: how deep epoll sets may nest */
const EP_MAX_NESTS = 4;

/** `struct epoll_event` */
export interface EpollEvent {
  events: number;
  data: unknown;
}

export class EpItem extends WaitEntry implements FileWatch {
  /** on the ready list */
  ready = false;
  rdNext: EpItem | null = null;

  constructor(
    readonly ep: EpollFile,
    readonly file: File,
    readonly fd: number,
    public events: number,
    public data: unknown,
  ) {
    super();
  }

  wake(mask: number): void {
    // a disabled EPOLLONESHOT item, or a wake about events nobody here watches
    if ((this.events & ~EP_PRIVATE_BITS) === 0) return;
    if (mask !== 0 && (mask & this.events) === 0) return;
    this.ep.markReady(this);
  }

  fileReleased(): void {
    this.ep.removeItem(this);
  }
}

export class EpollFile extends File {
  readonly kind = 'epoll';
  readonly wq = new WaitQueue();
  private readonly items = new Map<number, EpItem>();
  private rdHead: EpItem | null = null;
  private rdTail: EpItem | null = null;

  /** watched items */
  get size(): number {
    return this.items.size;
  }

  /** epoll_ctl for the file `target` open at `fd` */
  ctl(op: number, fd: number, target: File, events: number): number;
  ctl(op: number, fd: number, target: File, events: number, data: unknown): number;
  ctl(op: number, fd: number, target: File, events: number, data?: unknown): number {
    if (target === this) return -ERRNO.EINVAL;
    if (op !== EPOLL_CTL_ADD && op !== EPOLL_CTL_DEL && op !== EPOLL_CTL_MOD) return -ERRNO.EINVAL;
    if (target.wq === null) return -ERRNO.EPERM;
    let it = this.items.get(fd);
    if (it !== undefined && it.file !== target) {
      // a stale item: the fd was closed and reused while the old file lives on elsewhere
      this.removeItem(it);
      it = undefined;
    }
    if (op === EPOLL_CTL_ADD) {
      if (it !== undefined) return -ERRNO.EEXIST;
      // epoll sets may nest, but not in a cycle nor deeper than Linux's EP_MAX_NESTS
      if (target instanceof EpollFile && (target.reaches(this, 0) || target.depth(0) + this.height(0) >= EP_MAX_NESTS)) return -ERRNO.ELOOP;
      if ((events & EPOLLEXCLUSIVE) !== 0 && (events & EPOLLONESHOT) !== 0) return -ERRNO.EINVAL;
      const item = new EpItem(this, target, fd, events | EPOLLERR | EPOLLHUP, data ?? fd);
      this.items.set(fd, item);
      (target.watches ??= []).push(item);
      target.wq.add(item);
      if ((target.poll() & item.events) !== 0) this.markReady(item);
      return 0;
    }
    if (it === undefined) return -ERRNO.ENOENT;
    if (op === EPOLL_CTL_DEL) {
      this.removeItem(it);
      return 0;
    }
    if ((events & EPOLLEXCLUSIVE) !== 0 || (it.events & EPOLLEXCLUSIVE) !== 0) return -ERRNO.EINVAL;
    it.events = events | EPOLLERR | EPOLLHUP;
    it.data = data ?? it.data;
    if ((target.poll() & it.events) !== 0) this.markReady(it);
    return 0;
  }

  /** true when `ep` is this set or is watched by it, directly or through nested sets */
  reaches(ep: EpollFile, level: number): boolean {
    if (ep === this) return true;
    if (level > EP_MAX_NESTS) return true;
    for (const it of this.items.values()) if (it.file instanceof EpollFile && it.file.reaches(ep, level + 1)) return true;
    return false;
  }

  /** how many levels of epoll sets this one contains */
  depth(level: number): number {
    let d = 0;
    if (level > EP_MAX_NESTS) return level;
    for (const it of this.items.values()) if (it.file instanceof EpollFile) d = Math.max(d, 1 + it.file.depth(level + 1));
    return d;
  }

  /** how many epoll sets watch this one, transitively (the longest chain upwards) */
  height(level: number): number {
    let h = 0;
    if (level > EP_MAX_NESTS || this.watches === null) return level;
    for (const w of this.watches) if (w instanceof EpItem) h = Math.max(h, 1 + w.ep.height(level + 1));
    return h;
  }

  /** @internal an item's file woke it */
  markReady(it: EpItem): void {
    if (it.ready) return;
    it.ready = true;
    it.rdNext = null;
    if (this.rdTail === null) this.rdHead = it;
    else this.rdTail.rdNext = it;
    this.rdTail = it;
    this.wq.wake(POLLIN | POLLRDNORM);
  }

  /** @internal */
  removeItem(it: EpItem): void {
    if (this.items.get(it.fd) === it) this.items.delete(it.fd);
    if (it.wqHead !== null) it.wqHead.remove(it);
    const ws = it.file.watches;
    if (ws !== null) {
      const i = ws.indexOf(it);
      if (i >= 0) ws.splice(i, 1);
    }
    if (it.ready) {
      let prev: EpItem | null = null;
      for (let e = this.rdHead; e !== null; prev = e, e = e.rdNext) {
        if (e !== it) continue;
        if (prev === null) this.rdHead = e.rdNext;
        else prev.rdNext = e.rdNext;
        if (this.rdTail === e) this.rdTail = prev;
        break;
      }
      it.ready = false;
      it.rdNext = null;
    }
  }

  /**
   * epoll_wait without sleeping: reports up to `max` ready items into `out` (objects reused
   * when present). → the number reported.
   */
  wait(out: EpollEvent[], max: number): number {
    let n = 0;
    // take the ready list; level-triggered items re-queue behind it
    let it = this.rdHead;
    const last = this.rdTail;
    this.rdHead = this.rdTail = null;
    while (it !== null) {
      const next: EpItem | null = it === last ? null : it.rdNext;
      it.ready = false;
      it.rdNext = null;
      if (n >= max) {
        this.markReadyQuiet(it);
      } else {
        const revents = it.file.poll() & it.events;
        if (revents !== 0) {
          const ev = out[n];
          if (ev === undefined) out.push({ events: revents, data: it.data });
          else {
            ev.events = revents;
            ev.data = it.data;
          }
          n++;
          if ((it.events & EPOLLONESHOT) !== 0) it.events &= EP_PRIVATE_BITS;
          else if ((it.events & EPOLLET) === 0) this.markReadyQuiet(it);
        }
      }
      it = next;
    }
    return n;
  }

  private markReadyQuiet(it: EpItem): void {
    it.ready = true;
    it.rdNext = null;
    if (this.rdTail === null) this.rdHead = it;
    else this.rdTail.rdNext = it;
    this.rdTail = it;
  }

  /** ready when some ready item still polls ready (ep_eventpoll_poll) */
  override poll(): number {
    for (let it = this.rdHead; it !== null; it = it.rdNext) {
      if ((it.file.poll() & it.events) !== 0) return POLLIN | POLLRDNORM;
    }
    return 0;
  }

  protected release(): void {
    for (const it of [...this.items.values()]) this.removeItem(it);
  }
}
