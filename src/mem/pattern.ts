/**
 * The ncdevmem validation pattern (selftests `-v N`): bytes 1, 2, …, N−1, '\n', repeating. A
 * running seed starts at 1 and wraps from N to 0, which stands for '\n'. The state persists
 * across calls, so a stream split into any pieces validates the same as in one piece.
 * Generation and checking work from a precomputed tile (block copies and memcmp), falling back
 * to a byte loop only to count the mismatches of a block that differs.
 */

const TILE_TARGET = 64 * 1024;

export class NcdevmemPattern {
  /** next expected seed (0 = '\n') */
  seed = 1;
  /** bytes checked so far */
  checked = 0;
  /** mismatching bytes seen so far */
  errors = 0;
  /** stream offset of the first mismatch, -1 if none */
  firstErrorAt = -1;
  /** positions 0..blockLen+period-1 of the pattern */
  private readonly tile: Buffer;
  /** largest block copied or compared at once (a multiple of the period) */
  private readonly blockLen: number;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 2 || period > 256) {
      throw new RangeError(`pattern period must be an integer in 2..256, got ${period}`);
    }
    this.blockLen = period * Math.ceil(TILE_TARGET / period);
    this.tile = Buffer.alloc(this.blockLen + period);
    for (let i = 0; i < this.tile.length; i++) {
      const pos = i % period;
      this.tile[i] = pos === period - 1 ? 0x0a : pos + 1;
    }
  }

  private lastAb: ArrayBufferLike | null = null;
  private lastView: Buffer = Buffer.alloc(0);

  /** a Buffer over the whole ArrayBuffer behind `buf` (cached: callers reuse their buffers) */
  private viewOf(buf: Uint8Array): Buffer {
    if (buf.buffer !== this.lastAb) {
      this.lastAb = buf.buffer;
      this.lastView = Buffer.from(buf.buffer);
    }
    return this.lastView;
  }

  /** position in the period of the next byte */
  private get phase(): number {
    return (this.seed + this.period - 1) % this.period;
  }

  private advance(n: number): void {
    this.seed = (this.seed + n) % this.period;
    this.checked += n;
  }

  /** writes the next `len` pattern bytes into `buf[off..]` and advances the seed */
  generate(buf: Uint8Array, off: number, len: number): void {
    while (len > 0) {
      const n = len < this.blockLen ? len : this.blockLen;
      const ph = this.phase;
      buf.set(this.tile.subarray(ph, ph + n), off);
      this.advance(n);
      off += n;
      len -= n;
    }
  }

  /** checks `len` bytes of `buf[off..]` against the pattern, counting mismatches */
  check(buf: Uint8Array, off: number, len: number): number {
    let bad = 0;
    while (len > 0) {
      const n = len < this.blockLen ? len : this.blockLen;
      const ph = this.phase;
      const whole = this.viewOf(buf);
      const at = buf.byteOffset + off;
      if (whole.compare(this.tile, ph, ph + n, at, at + n) !== 0) {
        for (let i = 0; i < n; i++) {
          if (whole[at + i] !== this.tile[ph + i]) {
            if (this.firstErrorAt < 0) this.firstErrorAt = this.checked + i;
            bad++;
          }
        }
      }
      this.advance(n);
      off += n;
      len -= n;
    }
    this.errors += bad;
    return bad;
  }
}
