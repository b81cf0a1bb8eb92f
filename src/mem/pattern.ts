/**
 * The ncdevmem validation pattern (selftests `-v N`): bytes 1, 2, …, N−1, '\n', repeating. A
 * running seed starts at 1 and wraps from N to 0, which stands for '\n'. The state persists
 * across calls, so a stream split into any pieces validates the same as in one piece.
 */

export class NcdevmemPattern {
  /** next expected seed (0 = '\n') */
  seed = 1;
  /** bytes checked so far */
  checked = 0;
  /** mismatching bytes seen so far */
  errors = 0;
  /** stream offset of the first mismatch, -1 if none */
  firstErrorAt = -1;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 2 || period > 256) {
      throw new RangeError(`pattern period must be an integer in 2..256, got ${period}`);
    }
  }

  /** writes the next `len` pattern bytes into `buf[off..]` and advances the seed */
  generate(buf: Uint8Array, off: number, len: number): void {
    let s = this.seed;
    const n = this.period;
    for (let i = 0; i < len; i++) {
      buf[off + i] = s === 0 ? 0x0a : s;
      s++;
      if (s === n) s = 0;
    }
    this.seed = s;
    this.checked += len;
  }

  /** checks `len` bytes of `buf[off..]` against the pattern, counting mismatches */
  check(buf: Uint8Array, off: number, len: number): number {
    let s = this.seed;
    const n = this.period;
    let bad = 0;
    for (let i = 0; i < len; i++) {
      const want = s === 0 ? 0x0a : s;
      if (buf[off + i] !== want) {
        if (this.firstErrorAt < 0) this.firstErrorAt = this.checked + i;
        bad++;
      }
      s++;
      if (s === n) s = 0;
    }
    this.seed = s;
    this.checked += len;
    this.errors += bad;
    return bad;
  }
}
