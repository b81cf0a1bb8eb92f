/**
 * Wait queues (Linux `wait_queue_head_t`): a file's list of parties interested in its readiness
 * — poll and epoll entries, blocked promise calls. A protocol callback wakes the queue with a
 * hint mask (the events that may have changed, `EPOLLIN` for data, everything for a state
 * change); each entry decides for itself, usually by polling the file again. Waking is
 * allocation-free and safe against entries that remove themselves (or others) while woken.
 * An entry belongs to whoever added it and must be removed by it.
 */

export abstract class WaitEntry {
  /** @internal links, owned by the queue the entry is on */
  wqPrev: WaitEntry | null = null;
  wqNext: WaitEntry | null = null;
  wqHead: WaitQueue | null = null;

  /** called with the hint mask; may remove itself or other entries */
  abstract wake(mask: number): void;
}

export class WaitQueue {
  private head: WaitEntry | null = null;
  private tail: WaitEntry | null = null;
  /** the entry to visit next during a wake (kept valid when entries are removed meanwhile) */
  private cursor: WaitEntry | null = null;
  private count = 0;
  private waking = false;
  private pendingMask = 0;

  get size(): number {
    return this.count;
  }

  get active(): boolean {
    return this.head !== null;
  }

  add(e: WaitEntry): void {
    if (e.wqHead !== null) e.wqHead.remove(e);
    e.wqHead = this;
    e.wqPrev = this.tail;
    e.wqNext = null;
    if (this.tail === null) this.head = e;
    else this.tail.wqNext = e;
    this.tail = e;
    this.count++;
  }

  remove(e: WaitEntry): void {
    if (e.wqHead !== this) return;
    if (this.cursor === e) this.cursor = e.wqNext;
    if (e.wqPrev === null) this.head = e.wqNext;
    else e.wqPrev.wqNext = e.wqNext;
    if (e.wqNext === null) this.tail = e.wqPrev;
    else e.wqNext.wqPrev = e.wqPrev;
    e.wqPrev = e.wqNext = null;
    e.wqHead = null;
    this.count--;
  }

  /**
   * Wakes every entry present when the wake started. A wake of the same queue from inside an
   * entry's callback is folded into one more round after the current one.
   */
  wake(mask: number): void {
    if (this.head === null) return;
    if (this.waking) {
      this.pendingMask |= mask;
      return;
    }
    this.waking = true;
    try {
      this.wakeRounds(mask);
    } finally {
      this.cursor = null;
      this.pendingMask = 0;
      this.waking = false;
    }
  }

  private wakeRounds(mask: number): void {
    for (;;) {
      const last = this.tail;
      let e: WaitEntry | null = this.head;
      while (e !== null) {
        this.cursor = e.wqNext;
        const stop = e === last;
        e.wake(mask);
        if (stop) break;
        e = this.cursor;
      }
      this.cursor = null;
      if (this.pendingMask === 0 || this.head === null) break;
      mask = this.pendingMask;
      this.pendingMask = 0;
    }
  }
}
