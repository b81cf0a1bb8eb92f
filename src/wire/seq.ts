// TCP sequence-number arithmetic (RFC 793 / RFC 1982 serial arithmetic) on uint32 numbers.
//
// Contract: a sequence number is held as a signed 32-bit integer (`| 0`, the same 32 bits as the
// wire's uint32) so that V8 keeps it a small integer: a uint32 above 2^31 would be a heap number,
// boxed on every call and store. Results of seqAdd are int32; seqSub is the signed 32-bit
// distance; the comparisons accept either representation. Comparisons are meaningful only for
// values less than 2^31 apart, exactly as in Linux's before()/after(). Pure functions, no state.

/** a + n modulo 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
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
