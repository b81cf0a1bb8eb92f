// TCP sequence-number arithmetic (RFC 793 / RFC 1982 serial arithmetic) on uint32 numbers.
//
// Contract: inputs are uint32 values (0..2^32-1) held in plain numbers; results of seqAdd are
// uint32 (`>>> 0`); seqSub is the signed 32-bit distance. Comparisons are meaningful only for
// values less than 2^31 apart, exactly as in Linux's before()/after(). Pure functions, no state.

/** a + n modulo 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b in sequence space, in [-2^31, 2^31). */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

/** a < b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a > b in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** a >= b in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of a and b in sequence space. */
export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of a and b in sequence space. */
export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/**
 * lo <= x < hi in sequence space: x lies in the half-open window starting at lo of length
 * (hi - lo) mod 2^32. An empty window (hi == lo) contains nothing. For windows shorter than 2^31
 * this equals seqLe(lo, x) && seqLt(x, hi).
 */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return ((x - lo) >>> 0) < ((hi - lo) >>> 0);
}
