/**
 * Building UDP datagram skbs: the user's bytes copied into a fresh skb (linear when small, else
 * host-page frags behind an empty head), a copy of a received datagram for the extra receivers of
 * a broadcast, and the UDP header with its checksum (RFC 768: one's complement over the
 * pseudo-header, header and payload; a computed 0 is sent as 0xffff, since 0 means "none").
 *
 * Ownership: every function that returns an skb hands it to the caller; on failure (host memory
 * exhausted) nothing is left allocated.
 */
import { pseudoHeaderSum, type Addr } from '../inet/index.js';
import { NETMEM_NONE, PAGE_SIZE } from '../mem/index.js';
import { MAX_HEADER } from '../net/index.js';
import { CHECKSUM_NONE, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPush, skbPut, type SkBuff, type SkbCache } from '../skb/index.js';
import { csumFinish } from '../wire/checksum.js';
import { IPPROTO_UDP, UDP_HLEN } from './constants.js';

/** payloads up to this size go in the skb's linear area; larger ones in page frags */
export const UDP_LINEAR_MAX = 2048;
/** headroom in front of the payload: IP + link headers and the UDP header */
const HEADROOM = MAX_HEADER + UDP_HLEN;

/**
 * An skb holding `len` bytes copied from `data[off..]`, `skb.data` at the payload with room for
 * every header in front; null when host memory (or the frag slots) run out.
 */
export function udpAllocPayload(skbs: SkbCache, data: Uint8Array, off: number, len: number): SkBuff | null {
  return buildPayload(skbs, len, data, off, null);
}

/**
 * A copy of the first `len` bytes of a readable datagram (for the second and later receivers of
 * a broadcast): same layout rules as `udpAllocPayload`. Null on memory exhaustion or when the
 * bytes are not readable.
 */
export function udpCopyPayload(skbs: SkbCache, from: SkBuff, len: number): SkBuff | null {
  return buildPayload(skbs, len, null, 0, from);
}

/**
 * The payload skb of `len` bytes (linear up to UDP_LINEAR_MAX, else host pages behind an empty
 * head), filled from `data[off..]` when `from` is null, else from `from`'s first bytes.
 */
function buildPayload(skbs: SkbCache, len: number, data: Uint8Array | null, off: number, from: SkBuff | null): SkBuff | null {
  if (len <= UDP_LINEAR_MAX) {
    const skb = skbs.alloc(HEADROOM + len, HEADROOM);
    if (skb === null) return null;
    const at = skbPut(skb, len);
    if (!fillPiece(skb.buf, at, 0, len, data, off, from)) {
      skbFree(skb);
      return null;
    }
    return skb;
  }
  const skb = skbs.alloc(HEADROOM, HEADROOM);
  if (skb === null) return null;
  const mem = skbs.mem;
  const cap = skb.fragRef.length;
  let done = 0;
  while (done < len) {
    const ref = skb.nrFrags < cap ? mem.allocPage() : NETMEM_NONE;
    if (ref === NETMEM_NONE) {
      skbFree(skb);
      return null;
    }
    const n = len - done < PAGE_SIZE ? len - done : PAGE_SIZE;
    skbAddFrag(skb, ref, 0, n);
    if (!fillPiece(mem.buf(ref), mem.offset(ref), done, n, data, off, from)) {
      skbFree(skb);
      return null;
    }
    done += n;
  }
  return skb;
}

/** copies payload bytes [at, at + n) to `dst[dstOff..]` from `data` or `from`; false when unreadable */
function fillPiece(dst: Uint8Array, dstOff: number, at: number, n: number, data: Uint8Array | null, off: number, from: SkBuff | null): boolean {
  if (from !== null) return skbCopyBits(from, at, dst, dstOff, n) >= 0;
  dst.set(data!.subarray(off + at, off + at + n), dstOff);
  return true;
}

/**
 * Pushes the UDP header in front of the payload and fills the checksum in software (so that the
 * IP layer may fragment the datagram as it is). Returns the UDP length.
 */
export function udpPushHeader(skb: SkBuff, src: Addr, sport: number, dst: Addr, dport: number): number {
  const o = skbPush(skb, UDP_HLEN);
  const dv = skb.dv;
  const ulen = skb.len;
  dv.setUint16(o, sport);
  dv.setUint16(o + 2, dport);
  dv.setUint16(o + 4, ulen);
  dv.setUint16(o + 6, 0);
  const c = csumFinish(skbChecksum(skb, 0, ulen, pseudoHeaderSum(src, dst, IPPROTO_UDP, ulen)));
  dv.setUint16(o + 6, c === 0 ? 0xffff : c);
  skb.transportHeader = o;
  skb.ipSummed = CHECKSUM_NONE;
  return ulen;
}
