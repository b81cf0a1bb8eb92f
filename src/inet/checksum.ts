/**
 * The transport pseudo-header sum by family (RFC 768 / 793 for IPv4, RFC 8200 §8.1 for IPv6),
 * unfolded, allocation-free, to be folded by the caller with the L4 bytes' sum.
 */
import { isV4, type Addr } from './addr.js';

/** unfolded pseudo-header sum for `proto` and L4 length `l4len`; both addresses of one family */
export function pseudoHeaderSum(src: Addr, dst: Addr, proto: number, l4len: number): number {
  if (isV4(src)) {
    const s = src.w3;
    const d = dst.w3;
    return (s >>> 16) + (s & 0xffff) + (d >>> 16) + (d & 0xffff) + proto + l4len;
  }
  return (
    (src.w0 >>> 16) + (src.w0 & 0xffff) + (src.w1 >>> 16) + (src.w1 & 0xffff) +
    (src.w2 >>> 16) + (src.w2 & 0xffff) + (src.w3 >>> 16) + (src.w3 & 0xffff) +
    (dst.w0 >>> 16) + (dst.w0 & 0xffff) + (dst.w1 >>> 16) + (dst.w1 & 0xffff) +
    (dst.w2 >>> 16) + (dst.w2 & 0xffff) + (dst.w3 >>> 16) + (dst.w3 & 0xffff) +
    (l4len >>> 16) + (l4len & 0xffff) + proto
  );
}
