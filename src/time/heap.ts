/**
 * Binary min-heap of `Timer`s keyed by (deadline, order). Owns nothing: timers stay owned by
 * their targets. O(log n) arm, cancel and pop; no allocation after the backing array grows.
 */
import type { Timer } from './timer.js';

export class TimerHeap {
  private items: Timer[] = [];
  private nextOrder = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): Timer | null {
    return this.items.length > 0 ? this.items[0]! : null;
  }

  /** insert or move `t` to `deadline` */
  set(t: Timer, deadline: number): void {
    t.deadline = deadline;
    t.order = this.nextOrder++;
    if (t.heapIndex < 0) {
      t.heapIndex = this.items.length;
      this.items.push(t);
      this.up(t.heapIndex);
    } else {
      this.up(t.heapIndex);
      this.down(t.heapIndex);
    }
  }

  remove(t: Timer): void {
    const i = t.heapIndex;
    t.deadline = -1;
    if (i < 0) return;
    t.heapIndex = -1;
    const last = this.items.pop()!;
    if (last !== t) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }

  /** removes and returns the earliest timer (its deadline is left set for the caller) */
  pop(): Timer | null {
    if (this.items.length === 0) return null;
    const top = this.items[0]!;
    const last = this.items.pop()!;
    top.heapIndex = -1;
    if (last !== top) {
      this.items[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    return top;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private up(i: number): void {
    const items = this.items;
    const t = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = items[p]!;
      if (!this.less(t, pt)) break;
      items[i] = pt;
      pt.heapIndex = i;
      i = p;
    }
    items[i] = t;
    t.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const t = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(items[r]!, items[l]!)) c = r;
      const ct = items[c]!;
      if (!this.less(ct, t)) break;
      items[i] = ct;
      ct.heapIndex = i;
      i = c;
    }
    items[i] = t;
    t.heapIndex = i;
  }
}
