/**
 * The per-socket devmem token table (Linux `sk->sk_user_frags`, an xarray with
 * `XA_FLAGS_ALLOC1` and `xa_limit_31b`): token → netmem. Tokens start at 1, the lowest free
 * index is used first, and the limit is 2^31 − 1. Each live token owns one `pp_ref_count`
 * reference on its net_iov (the "user reference"), dropped by `SO_DEVMEM_DONTNEED` or close.
 */
export const TOKEN_MAX = 0x7fffffff;

export class TokenTable {
  /** netmem per token index (index 0 unused), -1 when free */
  private entries = new Int32Array(1024).fill(-1);
  /** first never-used index */
  private top = 1;
  /** min-heap of freed indices below `top` */
  private freeHeap = new Int32Array(256);
  private freeCount = 0;
  /** live tokens */
  size = 0;
  /** highest number of live tokens seen */
  highWater = 0;
  /** test hook: the index space limit (default 2^31−1) */
  limit = TOKEN_MAX;

  /** stores `ref` under the lowest free token and returns it, or -1 when the space is full */
  alloc(ref: number): number {
    let t: number;
    if (this.freeCount > 0) t = this.popMin();
    else {
      if (this.top > this.limit) return -1;
      t = this.top++;
      if (t >= this.entries.length) {
        const n = new Int32Array(Math.min(this.entries.length * 2, TOKEN_MAX + 1)).fill(-1);
        n.set(this.entries);
        this.entries = n;
      }
    }
    this.entries[t] = ref;
    this.size++;
    if (this.size > this.highWater) this.highWater = this.size;
    return t;
  }

  /** removes token `t`; returns its netmem, or -1 when it was not live */
  erase(t: number): number {
    if (t <= 0 || t >= this.top) return -1;
    const ref = this.entries[t]!;
    if (ref < 0) return -1;
    this.entries[t] = -1;
    this.size--;
    this.pushFree(t);
    return ref;
  }

  /** calls `fn` for every live token (cold path: socket close) */
  drain(fn: (ref: number) => void): void {
    for (let t = 1; t < this.top; t++) {
      const ref = this.entries[t]!;
      if (ref >= 0) {
        this.entries[t] = -1;
        fn(ref);
      }
    }
    this.size = 0;
    this.top = 1;
    this.freeCount = 0;
  }

  private pushFree(t: number): void {
    if (this.freeCount === this.freeHeap.length) {
      const n = new Int32Array(this.freeHeap.length * 2);
      n.set(this.freeHeap);
      this.freeHeap = n;
    }
    const h = this.freeHeap;
    let i = this.freeCount++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= t) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }

  private popMin(): number {
    const h = this.freeHeap;
    const top = h[0]!;
    const last = h[--this.freeCount]!;
    let i = 0;
    const n = this.freeCount;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
