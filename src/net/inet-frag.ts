/**
 * The reassembly queue table shared by IPv4 and IPv6 (Linux `net/ipv4/inet_fragment.c`): queues
 * hashed by their family's key (chained through `hashNext`), kept oldest-first on an LRU list
 * for eviction, each with its expiry timer, and the bytes charged to reassembly (`mem`: the
 * table's total, `q.mem` per queue). Each family keeps its own key, fragment placement rules
 * (IPv4 overlap by run, IPv6 RFC 5722), expiry and eviction counters, and rebuild.
 *
 * Ownership: `add` links a queue and arms its timer; `remove` cancels the timer, unlinks it and
 * returns its charge. The fragments a queue holds are the family's to free.
 */
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';

/** the links and charge of one reassembly queue (`Q`: the family's queue class) */
export abstract class InetFragQueue<Q> implements TimerTarget {
  hashNext: Q | null = null;
  lruPrev: Q | null = null;
  lruNext: Q | null = null;
  /** bytes charged to the table for this queue's fragments */
  mem = 0;
  readonly timer: Timer;

  constructor(readonly hash: number) {
    this.timer = new Timer(this, 0);
  }

  /** the queue's reassembly time ran out */
  abstract onTimer(t: Timer): void;
}

export class InetFragTable<Q extends InetFragQueue<Q>> {
  private readonly buckets = new Map<number, Q>();
  private lruHead: Q | null = null;
  private lruTail: Q | null = null;
  /** bytes charged to reassembly now (Linux `frag_mem_limit`) */
  mem = 0;
  /** queues held */
  count = 0;

  constructor(private readonly sched: Scheduler) {}

  /** the first queue of chain `hash` (the rest through `hashNext`) */
  chain(hash: number): Q | null {
    return this.buckets.get(hash) ?? null;
  }

  /** the least recently created queue */
  get oldest(): Q | null {
    return this.lruHead;
  }

  /** links a new queue (newest) and arms its timer `timeoutUs` from now */
  add(q: Q, timeoutUs: number): void {
    q.hashNext = this.buckets.get(q.hash) ?? null;
    this.buckets.set(q.hash, q);
    q.lruPrev = this.lruTail;
    if (this.lruTail === null) this.lruHead = q;
    else this.lruTail.lruNext = q;
    this.lruTail = q;
    this.count++;
    this.rearm(q, timeoutUs);
  }

  /** restarts `q`'s timer: `timeoutUs` from now */
  rearm(q: Q, timeoutUs: number): void {
    this.sched.arm(q.timer, this.sched.now() + timeoutUs);
  }

  /** unlinks `q`, cancels its timer and returns its charge (Linux `inet_frag_kill`) */
  remove(q: Q): void {
    this.sched.cancel(q.timer);
    let p = this.buckets.get(q.hash) ?? null;
    if (p === q) {
      if (q.hashNext === null) this.buckets.delete(q.hash);
      else this.buckets.set(q.hash, q.hashNext);
    } else {
      while (p !== null && p.hashNext !== q) p = p.hashNext;
      if (p !== null) p.hashNext = q.hashNext;
    }
    if (q.lruPrev === null) this.lruHead = q.lruNext;
    else q.lruPrev.lruNext = q.lruNext;
    if (q.lruNext === null) this.lruTail = q.lruPrev;
    else q.lruNext.lruPrev = q.lruPrev;
    q.lruPrev = q.lruNext = q.hashNext = null;
    this.uncharge(q);
    this.count--;
  }

  /** charges `bytes` to `q` */
  charge(q: Q, bytes: number): void {
    q.mem += bytes;
    this.mem += bytes;
  }

  /** returns everything `q` is charged */
  uncharge(q: Q): void {
    this.mem -= q.mem;
    q.mem = 0;
  }
}
