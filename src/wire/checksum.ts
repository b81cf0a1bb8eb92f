// Internet checksum (RFC 1071) — the hottest loop of the stack.
//
// Contract:
// - An *accumulator* is a plain non-negative integer-valued number < 2^53 holding an unfolded
//   ones-complement sum of big-endian 16-bit words. Functions here keep it bounded by folding
//   rarely; csumFold() reduces it to 16 bits; csumFinish() folds and inverts (the value to put
//   in a header).
// - csumPartial() reads bytes through the DataView only and treats its block as starting at an
//   even message position. Blocks that start at an odd message offset are combined with
//   csumBlockAdd(), which byte-swaps (RFC 1071 byte-order independence, Linux csum_block_add).
// - Nothing here allocates except csumBytes() (tests and cold paths).

import { dataViewOf } from './view.js';

const TWO32 = 4294967296;
/** Fold the accumulator back down when it reaches this size (keeps chunk sums far below 2^53). */
const FOLD_LIMIT = 281474976710656; // 2^48
/** Bytes summed between accumulator size checks: 2^16 words of < 2^32 each add < 2^48. */
const CHUNK_BYTES = 262144; // 2^18

/** Reduce mod (2^32 - 1)-compatible: 2^32 ≡ 1 (mod 0xffff), so the folded 16-bit sum is kept. */
function fold32(s: number): number {
  return (s % TWO32) + Math.floor(s / TWO32);
}

/**
 * Add the bytes [off, off+len) of the message, as big-endian 16-bit words starting at an even
 * position, to the accumulator `sum`. A trailing odd byte is padded with a zero low byte.
 * Returns the accumulator partly folded, below 2^17 (so that it stays a small integer). `buf` and `dv` share a byteOffset (see
 * ByteView); only `dv` is read.
 */
export function csumPartial(buf: Uint8Array, dv: DataView, off: number, len: number, sum: number): number {
  // headers (IPv4 20 bytes, TCP 20–60): small-integer words, no loop bookkeeping
  if (len <= SMALL_BYTES && sum <= SMALL_SUM_MAX) return csumSmall(dv, off, len, sum);
  if (len >= LARGE_BYTES) return csumLarge(dv, off, len, sum);
  let s = sum;
  let i = off;
  const end = off + len;
  while (end - i >= 16) {
    let stop = end - ((end - i) & 15);
    if (stop - i > CHUNK_BYTES) stop = i + CHUNK_BYTES;
    if (s >= FOLD_LIMIT) s = fold32(fold32(s));
    for (; i < stop; i += 16) {
      s += dv.getUint32(i) + dv.getUint32(i + 4) + dv.getUint32(i + 8) + dv.getUint32(i + 12);
    }
  }
  return csumTail(dv, i, end, fold17(s));
}

/** an accumulator folded below 2^17 (a small integer: passed between functions unboxed) */
function fold17(sum: number): number {
  let s = sum;
  while (s > 0xffffffff) s = fold32(s);
  return (s & 0xffff) + (s >>> 16);
}

/** blocks up to this size take the small-integer path */
const SMALL_BYTES = 64;
/** a starting sum up to this keeps the small path below 2^31 (32 words of < 2^16 added) */
const SMALL_SUM_MAX = 0x3fffffff;
/** blocks from this size take the two-accumulator loop */
const LARGE_BYTES = 4096;

/** csumPartial of at most SMALL_BYTES bytes with `sum` ≤ SMALL_SUM_MAX, in int32 arithmetic */
function csumSmall(dv: DataView, off: number, len: number, sum: number): number {
  let s = sum;
  let i = off;
  const end = off + len;
  for (; end - i >= 4; i += 4) s += dv.getUint16(i) + dv.getUint16(i + 2);
  if (end - i >= 2) {
    s += dv.getUint16(i);
    i += 2;
  }
  if (i < end) s += dv.getUint8(i) << 8;
  return (s & 0xffff) + (s >>> 16);
}

/** csumPartial of a large block: 32 bytes per step into two accumulators (independent adds) */
function csumLarge(dv: DataView, off: number, len: number, sum: number): number {
  let s = sum;
  let t = 0;
  let i = off;
  const end = off + len;
  while (end - i >= 32) {
    let stop = end - ((end - i) & 31);
    if (stop - i > CHUNK_BYTES) stop = i + CHUNK_BYTES;
    if (s >= FOLD_LIMIT) s = fold32(fold32(s));
    if (t >= FOLD_LIMIT) t = fold32(fold32(t));
    for (; i < stop; i += 32) {
      s += dv.getUint32(i) + dv.getUint32(i + 4) + dv.getUint32(i + 8) + dv.getUint32(i + 12);
      t += dv.getUint32(i + 16) + dv.getUint32(i + 20) + dv.getUint32(i + 24) + dv.getUint32(i + 28);
    }
  }
  s = fold32(fold32(s)) + fold32(fold32(t));
  for (; end - i >= 16; i += 16) s += dv.getUint32(i) + dv.getUint32(i + 4) + dv.getUint32(i + 8) + dv.getUint32(i + 12);
  return csumTail(dv, i, end, fold17(s));
}

/** the last < 16 bytes of a block after `sum` (< 2^17), then the fold to a small integer (csumPartial's result) */
function csumTail(dv: DataView, i: number, end: number, sum: number): number {
  let s = sum;
  while (end - i >= 4) {
    s += dv.getUint32(i);
    i += 4;
  }
  if (end - i >= 2) {
    s += dv.getUint16(i);
    i += 2;
  }
  if (i < end) s += dv.getUint8(i) << 8;
  // hand back a small integer (a V8 Smi, never a boxed heap number): folded to 16 bits plus a
  // carry, the same ones-complement value, and positive whenever the sum was
  while (s > 0xffffffff) s = fold32(s);
  return (s & 0xffff) + (s >>> 16);
}

const NO_BUF = new Uint8Array(0);

/** csumPartial for callers that hold only a DataView (emit paths). Same contract. */
export function csumPartialDv(dv: DataView, off: number, len: number, sum: number): number {
  return csumPartial(NO_BUF, dv, off, len, sum);
}

/** Fold an accumulator to 16 bits with end-around carry: 0..0xffff, NOT inverted. */
export function csumFold(sum: number): number {
  let s = sum;
  while (s > 0xffffffff) s = fold32(s);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The checksum field value for an accumulator: the inverted folded sum, 0..0xffff. */
export function csumFinish(sum: number): number {
  return ~csumFold(sum) & 0xffff;
}

/** Combine two accumulators (both covering even-aligned data). */
export function csumAdd(a: number, b: number): number {
  const s = a + b;
  return s >= FOLD_LIMIT ? fold32(fold32(s)) : s;
}

/**
 * Add the accumulator `blockSum` of a block that started at byte `offset` of the message. When
 * `offset` is odd the block's words straddle the message's word boundaries; its folded sum is
 * byte-swapped before adding (Linux csum_block_add).
 */
export function csumBlockAdd(sum: number, blockSum: number, offset: number): number {
  if ((offset & 1) !== 0) {
    const f = csumFold(blockSum);
    return csumAdd(sum, ((f & 0xff) << 8) | (f >>> 8));
  }
  return csumAdd(sum, blockSum);
}

/** Accumulator of the IPv4 pseudo-header (src, dst, zero+protocol, L4 length). */
export function pseudoHeaderSumV4(src: number, dst: number, proto: number, l4len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4len;
}

/** Finished checksum (inverted, 0..0xffff) of the whole array. Allocates a DataView: cold path. */
export function csumBytes(buf: Uint8Array): number {
  return csumFinish(csumPartial(buf, dataViewOf(buf), 0, buf.length, 0));
}
