/**
 * Every operation that touches an skb's bytes or frags. This is the one place readability is
 * enforced (spec §4.3): copies and checksums stop at unreadable frags, pulls into unreadable
 * frags fail, coalescing refuses to mix readability, and readable and unreadable frags never
 * share an skb. Offsets given to these helpers are relative to `skb.data` unless noted.
 */
import { ERRNO } from '../uapi/index.js';
import { NETMEM_NONE, netmemIsNetIov, type NetmemRef } from '../mem/index.js';
import { csumBlockAdd, csumPartial } from '../wire/checksum.js';
import { CHECKSUM_NONE, MAX_SKB_FRAGS, type SkBuff } from './skbuff.js';

/** counters of refused accesses (the kernel WARNs); tests read them */
export const skbWarnings = { unreadableCopy: 0, unreadableChecksum: 0, mixedFrag: 0 };

/** drops every reference the skb holds and recycles the object; the skb must not be used after */
export function skbFree(skb: SkBuff): void {
  if (skb.freed) throw new Error('skb double free');
  const mem = skb.mem;
  if (skb.headRef !== NETMEM_NONE) mem.put(skb.headRef, true);
  for (let i = 0; i < skb.nrFrags; i++) mem.put(skb.fragRef[i]!, true);
  resetSkb(skb);
  skb.freed = true;
  if (skb.owner) skb.owner.recycle(skb);
}

/** frees a list linked through `next` */
export function skbFreeList(skb: SkBuff | null): void {
  while (skb !== null) {
    const n = skb.next;
    skb.next = null;
    skbFree(skb);
    skb = n;
  }
}

function resetSkb(skb: SkBuff): void {
  skb.headRef = NETMEM_NONE;
  skb.head = skb.end = skb.data = skb.tail = 0;
  skb.len = skb.dataLen = skb.nrFrags = 0;
  skb.unreadable = false;
  skb.protocol = 0;
  skb.macHeader = skb.networkHeader = skb.transportHeader = -1;
  skb.ipSummed = CHECKSUM_NONE;
  skb.csumStart = skb.csumOffset = 0;
  skb.queueMapping = -1;
  skb.ifindex = 0;
  skb.hash = 0;
  skb.gsoSize = 0;
  skb.fragCsum = 0;
  skb.fragCsumValid = false;
  skb.seq = skb.endSeq = skb.tcpFlags = 0;
  skb.next = null;
}

/** extends the linear data at the tail by `n` bytes; returns the absolute offset of the new bytes */
export function skbPut(skb: SkBuff, n: number): number {
  const at = skb.tail;
  if (at + n > skb.end) throw new RangeError('skb_put past the end of the linear buffer');
  if (skb.nrFrags > 0) throw new Error('skb_put on an skb with frags');
  skb.tail += n;
  skb.len += n;
  return at;
}

/** prepends `n` bytes of header; returns the new absolute data offset */
export function skbPush(skb: SkBuff, n: number): number {
  if (skb.data - n < skb.head) throw new RangeError('skb_push past the headroom');
  skb.data -= n;
  skb.len += n;
  return skb.data;
}

/** removes `n` bytes from the front of the linear data; false when the linear area is shorter */
export function skbPull(skb: SkBuff, n: number): boolean {
  if (n > skb.tail - skb.data) return false;
  skb.data += n;
  skb.len -= n;
  return true;
}

/**
 * Makes sure the first `n` bytes are linear (Linux `pskb_may_pull`). Readable frag bytes are
 * moved into the tailroom when there is room; an unreadable skb can never pull frag bytes.
 */
export function pskbMayPull(skb: SkBuff, n: number): boolean {
  const headlen = skb.tail - skb.data;
  if (n <= headlen) return true;
  if (n > skb.len) return false;
  if (skb.unreadable) return false;
  const need = n - headlen;
  if (need > skb.end - skb.tail) return false;
  let left = need;
  while (left > 0) {
    const ref = skb.fragRef[0]!;
    const take = Math.min(left, skb.fragLen[0]!);
    const mem = skb.mem;
    const src = mem.offset(ref) + skb.fragOff[0]!;
    skb.buf.set(mem.buf(ref).subarray(src, src + take), skb.tail);
    skb.tail += take;
    skb.dataLen -= take;
    left -= take;
    if (take === skb.fragLen[0]) dropFrag0(skb);
    else {
      skb.fragOff[0] += take;
      skb.fragLen[0] -= take;
    }
  }
  return true;
}

function dropFrag0(skb: SkBuff): void {
  skb.mem.put(skb.fragRef[0]!);
  for (let i = 1; i < skb.nrFrags; i++) {
    skb.fragRef[i - 1] = skb.fragRef[i]!;
    skb.fragOff[i - 1] = skb.fragOff[i]!;
    skb.fragLen[i - 1] = skb.fragLen[i]!;
  }
  skb.nrFrags--;
}

/**
 * Adds a frag, taking over one reference on `ref` (Linux `skb_add_rx_frag_netmem`). Adding a
 * net_iov marks the skb unreadable. Returns false (and takes nothing) when the frag slots are
 * full or the frag's readability differs from the skb's existing frags.
 */
export function skbAddFrag(skb: SkBuff, ref: NetmemRef, off: number, len: number): boolean {
  if (skb.nrFrags >= MAX_SKB_FRAGS) return false;
  const niov = netmemIsNetIov(ref);
  if (skb.nrFrags > 0 && niov !== skb.unreadable) {
    skbWarnings.mixedFrag++;
    return false;
  }
  const i = skb.nrFrags++;
  skb.fragRef[i] = ref;
  skb.fragOff[i] = off;
  skb.fragLen[i] = len;
  skb.len += len;
  skb.dataLen += len;
  if (niov) skb.unreadable = true;
  return true;
}

/** true when frag `i` is a net_iov (Linux `skb_frag_net_iov` != NULL) */
export function skbFragIsNetIov(skb: SkBuff, i: number): boolean {
  return netmemIsNetIov(skb.fragRef[i]!);
}

/**
 * Copies `len` bytes at `offset` into `dst` (Linux `skb_copy_bits`). Returns 0, or -EFAULT when
 * the range reaches unreadable frags (the linear part before them is still copied) or runs past
 * the end.
 */
export function skbCopyBits(skb: SkBuff, offset: number, dst: Uint8Array, dstOff: number, len: number): number {
  if (offset < 0 || len < 0 || offset + len > skb.len) return -ERRNO.EFAULT;
  const headlen = skb.tail - skb.data;
  if (offset < headlen) {
    const n = Math.min(headlen - offset, len);
    const s = skb.data + offset;
    dst.set(skb.buf.subarray(s, s + n), dstOff);
    dstOff += n;
    len -= n;
    offset = headlen;
  }
  if (len === 0) return 0;
  if (skb.unreadable) {
    skbWarnings.unreadableCopy++;
    return -ERRNO.EFAULT;
  }
  const mem = skb.mem;
  let start = headlen;
  for (let i = 0; i < skb.nrFrags && len > 0; i++) {
    const flen = skb.fragLen[i]!;
    const end = start + flen;
    if (offset < end) {
      const inFrag = offset - start;
      const n = Math.min(flen - inFrag, len);
      const ref = skb.fragRef[i]!;
      const s = mem.offset(ref) + skb.fragOff[i]! + inFrag;
      dst.set(mem.buf(ref).subarray(s, s + n), dstOff);
      dstOff += n;
      len -= n;
      offset += n;
    }
    start = end;
  }
  return 0;
}

/**
 * Internet checksum accumulator over `len` bytes at `offset`, added to `sum` (Linux
 * `skb_checksum`). For an unreadable skb only the linear part is summed; the frag part
 * contributes nothing (and is counted as a warning), exactly like the kernel.
 */
export function skbChecksum(skb: SkBuff, offset: number, len: number, sum: number): number {
  const headlen = skb.tail - skb.data;
  let pos = 0;
  if (offset < headlen) {
    const n = Math.min(headlen - offset, len);
    sum = csumPartial(skb.buf, skb.dv, skb.data + offset, n, sum);
    pos = n;
    len -= n;
    offset = headlen;
  }
  if (len === 0) return sum;
  if (skb.unreadable) {
    skbWarnings.unreadableChecksum++;
    return sum;
  }
  const mem = skb.mem;
  let start = headlen;
  for (let i = 0; i < skb.nrFrags && len > 0; i++) {
    const flen = skb.fragLen[i]!;
    const end = start + flen;
    if (offset < end) {
      const inFrag = offset - start;
      const n = Math.min(flen - inFrag, len);
      const ref = skb.fragRef[i]!;
      const s = mem.offset(ref) + skb.fragOff[i]! + inFrag;
      const part = csumPartial(mem.buf(ref), mem.dv(ref), s, n, 0);
      sum = csumBlockAdd(sum, part, pos);
      pos += n;
      len -= n;
      offset += n;
    }
    start = end;
  }
  return sum;
}

/** trims the skb to `len` bytes (drops frag bytes past it, then linear bytes) */
export function skbTrim(skb: SkBuff, len: number): void {
  if (len >= skb.len) return;
  const headlen = skb.tail - skb.data;
  if (len <= headlen) {
    for (let i = 0; i < skb.nrFrags; i++) skb.mem.put(skb.fragRef[i]!);
    skb.nrFrags = 0;
    skb.dataLen = 0;
    skb.tail = skb.data + len;
    skb.len = len;
    return;
  }
  let left = len - headlen;
  let i = 0;
  for (; i < skb.nrFrags; i++) {
    const fl = skb.fragLen[i]!;
    if (left <= fl) {
      skb.fragLen[i] = left;
      left = 0;
      i++;
      break;
    }
    left -= fl;
  }
  for (let j = i; j < skb.nrFrags; j++) skb.mem.put(skb.fragRef[j]!);
  skb.nrFrags = i;
  skb.dataLen = len - headlen;
  skb.len = len;
}

/**
 * Appends `from`'s payload to `to` by moving frag references (Linux `skb_try_coalesce`). Refuses
 * (returns false) when readability differs, when `from` still has linear bytes (copying them
 * into `to` is not supported), or when the frags would not fit. On success `from` is left without
 * frags and the caller frees it.
 */
export function skbTryCoalesce(to: SkBuff, from: SkBuff): boolean {
  if (to.unreadable !== from.unreadable) return false;
  if (from.tail - from.data !== 0) return false;
  if (to.nrFrags + from.nrFrags > MAX_SKB_FRAGS) return false;
  for (let i = 0; i < from.nrFrags; i++) {
    const j = to.nrFrags++;
    to.fragRef[j] = from.fragRef[i]!;
    to.fragOff[j] = from.fragOff[i]!;
    to.fragLen[j] = from.fragLen[i]!;
  }
  to.len += from.dataLen;
  to.dataLen += from.dataLen;
  from.len -= from.dataLen;
  from.dataLen = 0;
  from.nrFrags = 0;
  return true;
}

/** the byte offset where frag `i` starts, relative to skb.data */
export function skbFragStart(skb: SkBuff, i: number): number {
  let start = skb.tail - skb.data;
  for (let k = 0; k < i; k++) start += skb.fragLen[k]!;
  return start;
}
