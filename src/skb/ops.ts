/**
 * Every operation that touches an skb's bytes or frags. This is the one place readability is
 * enforced (spec §4.3): copies and checksums stop at unreadable frags, pulls into unreadable
 * frags fail, coalescing refuses to mix readability; a page frag added to an unreadable skb is
 * treated as unreadable with the rest (Linux allows the mix and never clears the bit). Every helper honours the frag list (the members' bytes follow the
 * parent's frags; each member's frags are checked for readability on their own, as Linux's
 * `skb_copy_bits` recursing into `frag_list` does). Offsets given to these helpers are relative
 * to `skb.data` unless noted. Nothing here allocates.
 */
import { ERRNO } from '../uapi/index.js';
import { NETMEM_NONE, netmemIsNetIov, type NetmemRef } from '../mem/index.js';
import { csumBlockAdd, csumPartial } from '../wire/checksum.js';
import { CHECKSUM_NONE, type SkBuff } from './skbuff.js';
import { skbZcopyClear } from './ubuf.js';

/** counters of refused accesses (the kernel WARNs); tests read them */
export const skbWarnings = { unreadableCopy: 0, unreadableChecksum: 0, mixedFrag: 0 };

/**
 * Drops every reference the skb holds (head, frags, and every frag-list member with its own
 * references) and recycles the object; the skb must not be used after.
 */
export function skbFree(skb: SkBuff): void {
  if (skb.freed) throw new Error('skb double free');
  if (skb.fragList !== null) freeFragList(skb);
  if (skb.uarg !== null) skbZcopyClear(skb);
  const mem = skb.mem;
  if (skb.headRef !== NETMEM_NONE) mem.put(skb.headRef, true);
  for (let i = 0; i < skb.nrFrags; i++) mem.put(skb.fragRef[i]!, true);
  resetSkb(skb);
  skb.freed = true;
  if (skb.owner) skb.owner.recycle(skb);
}

/** frees the frag-list members of `skb` (kept out of skbFree so the common path stays small) */
function freeFragList(skb: SkBuff): void {
  let m: SkBuff | null = skb.fragList;
  skb.fragList = skb.fragListTail = null;
  while (m !== null) {
    const n = m.next;
    m.next = null;
    skbFree(m);
    m = n;
  }
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
  skb.fragList = skb.fragListTail = null;
  skb.unreadable = false;
  skb.protocol = 0;
  skb.macHeader = skb.networkHeader = skb.transportHeader = -1;
  skb.ipSummed = CHECKSUM_NONE;
  skb.csumStart = skb.csumOffset = 0;
  skb.queueMapping = -1;
  skb.ifindex = 0;
  skb.hash = 0;
  skb.gsoSize = 0;
  skb.seq = skb.endSeq = skb.tcpFlags = 0;
  skb.next = null;
}

// ---- frag list ----

/** bytes held by the frag-list members (0 without a frag list) */
export function skbFragListLen(skb: SkBuff): number {
  let n = 0;
  for (let m: SkBuff | null = skb.fragList; m !== null; m = m.next) n += m.len;
  return n;
}

/** readability of the skb's own frag slots (not its members) */
function ownFragsUnreadable(skb: SkBuff): boolean {
  if (skb.fragList === null) return skb.unreadable;
  return skb.nrFrags > 0 && netmemIsNetIov(skb.fragRef[0]!);
}

/**
 * Recomputes `unreadable` of an skb that had a frag list, after members were freed, trimmed,
 * pulled or moved into its slots: while members exist the flag is the OR of the own slots and
 * every member, so it must not outlive an unreadable member that is gone. Left as it was it
 * would describe readable slots as device memory (checksums silently skipping host bytes) and
 * let `skbTryCoalesce` put net_iovs next to host pages.
 */
function refreshUnreadable(skb: SkBuff): void {
  let u = skb.nrFrags > 0 && netmemIsNetIov(skb.fragRef[0]!);
  for (let m: SkBuff | null = skb.fragList; m !== null && !u; m = m.next) u = m.unreadable;
  skb.unreadable = u;
}

/**
 * Appends `child` to `parent`'s frag list (Linux `skb_shinfo(parent)->frag_list` chaining as
 * IP reassembly does): the child's bytes (its head from `data`, then its frags) follow
 * everything `parent` already holds. Takes ownership of `child`, which must be unlinked
 * (`next === null`). A child's own frag list is flattened into the parent's (members never
 * nest). `parent.len`/`dataLen` grow by the child's length; an unreadable child makes the parent
 * unreadable (Linux `skb_frags_readable` of the whole packet).
 */
export function skbAppendFragList(parent: SkBuff, child: SkBuff): void {
  if (child === parent || child.freed || child.next !== null) throw new Error('skbAppendFragList: child must be a live, unlinked skb');
  const add = child.len;
  const unreadable = child.unreadable;
  const sub = child.fragList;
  let last: SkBuff = child;
  if (sub !== null) {
    const subLen = skbFragListLen(child);
    const own = ownFragsUnreadable(child);
    child.len -= subLen;
    child.dataLen -= subLen;
    child.next = sub;
    last = child.fragListTail!;
    child.fragList = child.fragListTail = null;
    child.unreadable = own;
  }
  if (parent.fragListTail === null) parent.fragList = child;
  else parent.fragListTail.next = child;
  parent.fragListTail = last;
  parent.len += add;
  parent.dataLen += add;
  if (unreadable) parent.unreadable = true;
}

/**
 * Turns the frag-list members into frag slots of `parent` (the member heads become frags on
 * their host pages, their frags move over) so that code that only walks frag slots sees every
 * byte; a NIC without NETIF_F_FRAGLIST needs this before transmit. Nothing changes and false is
 * returned when the slots would not suffice, a member head has no page (an external buffer),
 * or readable and unreadable pieces would share the slots.
 */
export function skbFlattenFragList(skb: SkBuff): boolean {
  if (skb.fragList === null) return true;
  const mem = skb.mem;
  let slots = skb.nrFrags;
  let any = skb.nrFrags > 0;
  let niov = any && netmemIsNetIov(skb.fragRef[0]!);
  for (let m: SkBuff | null = skb.fragList; m !== null; m = m.next) {
    if (m.tail > m.data) {
      if (m.headRef === NETMEM_NONE) return false;
      if (any && niov) return false;
      any = true;
      slots++;
    }
    for (let i = 0; i < m.nrFrags; i++) {
      const v = netmemIsNetIov(m.fragRef[i]!);
      if (any && v !== niov) return false;
      any = true;
      niov = v;
    }
    slots += m.nrFrags;
  }
  if (slots > skb.fragRef.length) return false;
  let m: SkBuff | null = skb.fragList;
  skb.fragList = skb.fragListTail = null;
  while (m !== null) {
    const hl = m.tail - m.data;
    if (hl > 0) {
      mem.get(m.headRef);
      pushFrag(skb, m.headRef, m.data - mem.offset(m.headRef), hl);
    }
    for (let i = 0; i < m.nrFrags; i++) pushFrag(skb, m.fragRef[i]!, m.fragOff[i]!, m.fragLen[i]!);
    m.nrFrags = 0;
    m.dataLen = 0;
    m.len = hl;
    const n: SkBuff | null = m.next;
    m.next = null;
    skbFree(m);
    m = n;
  }
  refreshUnreadable(skb);
  return true;
}

function pushFrag(skb: SkBuff, ref: NetmemRef, off: number, len: number): void {
  const i = skb.nrFrags++;
  skb.fragRef[i] = ref;
  skb.fragOff[i] = off;
  skb.fragLen[i] = len;
}

/**
 * Walks the bytes of an skb piece by piece — the head, each frag, then each frag-list member's
 * head and frags — without allocating: `reset(skb, offset, len)`, then `while (it.next())` read
 * the public fields. `netIov` pieces are device memory: only `ref` and `pageOff` are meaningful
 * (DMA or tokens), `buf`/`off` are not. Head pieces of external buffers have `ref` NETMEM_NONE.
 * Borrows the skb; it must not change during the walk. One iterator per user, reused.
 */
export class SkbPieceIter {
  /** netmem of the piece (the head page for head pieces; NETMEM_NONE for an external head) */
  ref: NetmemRef = NETMEM_NONE;
  /** readable pieces: the bytes are `buf[off, off + len)` */
  buf: Uint8Array = EMPTY;
  dv: DataView = EMPTY_DV;
  off = 0;
  /** offset of the piece inside its netmem page (frag offset / head offset on the page) */
  pageOff = 0;
  len = 0;
  /** the piece is a net_iov (device memory; unreadable) */
  netIov = false;
  /** the piece is an skb head (linear area) */
  isHead = false;
  private parent: SkBuff | null = null;
  private cur: SkBuff | null = null;
  private idx = -1;
  private skip = 0;
  private left = 0;

  /** starts a walk over `len` bytes at `offset` (default: the whole skb) */
  reset(skb: SkBuff, offset = 0, len = skb.len - offset): this {
    this.parent = skb;
    this.cur = skb;
    this.idx = -1;
    this.skip = offset > 0 ? offset : 0;
    this.left = len;
    return this;
  }

  /** advances to the next piece; false at the end */
  next(): boolean {
    while (this.left > 0) {
      const s = this.cur;
      if (s === null) break;
      const idx = this.idx;
      let plen: number;
      if (idx < 0) plen = s.tail - s.data;
      else if (idx < s.nrFrags) plen = s.fragLen[idx]!;
      else {
        this.cur = s === this.parent ? s.fragList : s.next;
        this.idx = -1;
        continue;
      }
      this.idx = idx + 1;
      if (this.skip >= plen) {
        this.skip -= plen;
        continue;
      }
      const inner = this.skip;
      const n = plen - inner < this.left ? plen - inner : this.left;
      this.skip = 0;
      this.left -= n;
      this.len = n;
      const mem = s.mem;
      if (idx < 0) {
        this.isHead = true;
        this.netIov = false;
        this.ref = s.headRef;
        this.buf = s.buf;
        this.dv = s.dv;
        this.off = s.data + inner;
        this.pageOff = s.headRef === NETMEM_NONE ? this.off : this.off - mem.offset(s.headRef);
      } else {
        const ref = s.fragRef[idx]!;
        this.isHead = false;
        this.ref = ref;
        this.pageOff = s.fragOff[idx]! + inner;
        this.netIov = netmemIsNetIov(ref);
        if (this.netIov) {
          this.buf = EMPTY;
          this.dv = EMPTY_DV;
          this.off = 0;
        } else {
          this.buf = mem.buf(ref);
          this.dv = mem.dv(ref);
          this.off = mem.offset(ref) + this.pageOff;
        }
      }
      return true;
    }
    this.parent = this.cur = null;
    this.buf = EMPTY;
    this.dv = EMPTY_DV;
    return false;
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_DV = new DataView(EMPTY.buffer);

/** extends the linear data at the tail by `n` bytes; returns the absolute offset of the new bytes */
export function skbPut(skb: SkBuff, n: number): number {
  const at = skb.tail;
  if (at + n > skb.end) throw new RangeError('skb_put past the end of the linear buffer');
  if (skb.nrFrags > 0 || skb.fragList !== null) throw new Error('skb_put on an skb with frags');
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
 * Makes sure the first `n` bytes are linear (Linux `pskb_may_pull`). Readable frag bytes (of the
 * frags, then of the frag-list members) are moved into the tailroom when there is room; bytes of
 * an unreadable frag can never be pulled. Members emptied by the pull are freed.
 */
export function pskbMayPull(skb: SkBuff, n: number): boolean {
  const headlen = skb.tail - skb.data;
  if (n <= headlen) return true;
  if (n > skb.len) return false;
  const need = n - headlen;
  if (need > skb.end - skb.tail) return false;
  if (skb.fragList === null) {
    if (skb.unreadable) return false;
    copyOwn(skb, headlen, skb.buf, skb.tail, need, false);
  } else {
    if (!rangeReadable(skb, headlen, need)) return false;
    skbCopyBits(skb, headlen, skb.buf, skb.tail, need);
  }
  skb.tail += need;
  skb.dataLen -= need;
  const hadList = skb.fragList !== null;
  let left = eatOwnFrags(skb, need);
  while (left > 0) {
    const m = skb.fragList!;
    if (left >= m.len) {
      left -= m.len;
      skb.fragList = m.next;
      if (skb.fragList === null) skb.fragListTail = null;
      m.next = null;
      skbFree(m);
      continue;
    }
    const k = Math.min(m.tail - m.data, left);
    m.data += k;
    m.len -= k;
    left -= k;
    if (left > 0) {
      m.dataLen -= left;
      m.len -= left;
      left = eatOwnFrags(m, left);
    }
  }
  if (hadList) refreshUnreadable(skb);
  return true;
}

/** removes up to `n` bytes from the front of the frag slots; returns what is left to remove */
function eatOwnFrags(skb: SkBuff, n: number): number {
  while (n > 0 && skb.nrFrags > 0) {
    const fl = skb.fragLen[0]!;
    if (n >= fl) {
      n -= fl;
      dropFrag0(skb);
    } else {
      skb.fragOff[0] += n;
      skb.fragLen[0] -= n;
      n = 0;
    }
  }
  return n;
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

/** true when every byte of [offset, offset+len) may be read by the host (head bytes or readable frags) */
export function skbRangeReadable(skb: SkBuff, offset: number, len: number): boolean {
  if (!skb.unreadable) return true;
  return rangeReadable(skb, offset, len);
}

function rangeReadable(skb: SkBuff, offset: number, len: number): boolean {
  if (len <= 0) return true;
  const end = offset + len;
  let own = skb.len;
  let m: SkBuff | null = skb.fragList;
  if (m !== null) own -= skbFragListLen(skb);
  if (offset < own && end > skb.tail - skb.data && ownFragsUnreadable(skb)) return false;
  let start = own;
  for (; m !== null && start < end; m = m.next) {
    const mEnd = start + m.len;
    if (m.unreadable && offset < mEnd && end > start + (m.tail - m.data)) return false;
    start = mEnd;
  }
  return true;
}

/**
 * Adds a frag, taking over one reference on `ref` (Linux `skb_add_rx_frag_netmem` /
 * `__skb_fill_netmem_desc`). Adding a net_iov marks the skb unreadable, and nothing clears the
 * mark but emptying the skb: as in Linux, a page frag may join an unreadable skb (its bytes are
 * then as unreadable as the rest: every helper refuses the frags of an unreadable skb), and a
 * net_iov may join an skb holding page frags (which turns unreadable). Returns false (and takes
 * nothing) when the frag slots are full, or (counted in `skbWarnings.mixedFrag`) when the skb has
 * frag-list members and the frag's readability differs from its own slots' (this model's frag
 * list keeps one readability per slot array).
 */
export function skbAddFrag(skb: SkBuff, ref: NetmemRef, off: number, len: number): boolean {
  if (skb.nrFrags >= skb.fragRef.length) return false;
  const niov = netmemIsNetIov(ref);
  if (skb.fragList === null) {
    // an skb without frags: a sticky flag describes nothing
    if (skb.nrFrags === 0) skb.unreadable = false;
  } else if (skb.nrFrags > 0 ? niov !== netmemIsNetIov(skb.fragRef[0]!) || niov !== skb.unreadable : niov !== skb.unreadable) {
    // with frag-list members the own slots keep one readability (frag 0 describes them)
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
 * Copies `len` bytes at `offset` into `dst` (Linux `skb_copy_bits`), through the frags and the
 * frag list. Returns 0, or -EFAULT when the range reaches unreadable frags (the readable bytes
 * before them are still copied) or runs past the end. Also the copy-out (linearize) helper:
 * `skbCopyBits(skb, 0, dst, 0, skb.len)`.
 */
export function skbCopyBits(skb: SkBuff, offset: number, dst: Uint8Array, dstOff: number, len: number): number {
  if (offset < 0 || len < 0 || offset + len > skb.len) return -ERRNO.EFAULT;
  if (skb.fragList !== null) return copyBitsFragList(skb, offset, dst, dstOff, len);
  // the common case, kept as one flat loop (hot on every received frame)
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

function copyBitsFragList(skb: SkBuff, offset: number, dst: Uint8Array, dstOff: number, len: number): number {
  const own = skb.len - skbFragListLen(skb);
  if (offset < own) {
    const n = Math.min(own - offset, len);
    const r = copyOwn(skb, offset, dst, dstOff, n, ownFragsUnreadable(skb));
    if (r < 0) return r;
    dstOff += n;
    len -= n;
    offset = own;
  }
  let start = own;
  for (let m: SkBuff | null = skb.fragList; m !== null && len > 0; m = m.next) {
    const end = start + m.len;
    if (offset < end) {
      const n = Math.min(end - offset, len);
      const r = copyOwn(m, offset - start, dst, dstOff, n, m.unreadable);
      if (r < 0) return r;
      dstOff += n;
      len -= n;
      offset += n;
    }
    start = end;
  }
  return 0;
}

/** copies from the head and frag slots of one skb (no frag list); the range is within them */
function copyOwn(skb: SkBuff, offset: number, dst: Uint8Array, dstOff: number, len: number, unreadable: boolean): number {
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
  if (unreadable) {
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
 * `skb_checksum`), through the frags and the frag list. Unreadable frags contribute nothing (and
 * are counted as a warning), exactly like the kernel; head bytes are always summed.
 */
export function skbChecksum(skb: SkBuff, offset: number, len: number, sum: number): number {
  if (skb.fragList !== null) return checksumFragList(skb, offset, len, sum);
  // the common case, kept as one flat loop (hot on every received frame)
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

function checksumFragList(skb: SkBuff, offset: number, len: number, sum: number): number {
  const own = skb.len - skbFragListLen(skb);
  let pos = 0;
  if (offset < own) {
    const n = Math.min(own - offset, len);
    sum = csumOwn(skb, offset, n, sum, 0, ownFragsUnreadable(skb));
    pos = n;
    len -= n;
    offset = own;
  }
  let start = own;
  for (let m: SkBuff | null = skb.fragList; m !== null && len > 0; m = m.next) {
    const end = start + m.len;
    if (offset < end) {
      const n = Math.min(end - offset, len);
      sum = csumOwn(m, offset - start, n, sum, pos, m.unreadable);
      pos += n;
      len -= n;
      offset += n;
    }
    start = end;
  }
  return sum;
}

/** checksum of a range of one skb's head and frag slots, the range starting at message position `pos` */
function csumOwn(skb: SkBuff, offset: number, len: number, sum: number, pos: number, unreadable: boolean): number {
  const headlen = skb.tail - skb.data;
  if (offset < headlen) {
    const n = Math.min(headlen - offset, len);
    if ((pos & 1) === 0) sum = csumPartial(skb.buf, skb.dv, skb.data + offset, n, sum);
    else sum = csumBlockAdd(sum, csumPartial(skb.buf, skb.dv, skb.data + offset, n, 0), pos);
    pos += n;
    len -= n;
    offset = headlen;
  }
  if (len === 0) return sum;
  if (unreadable) {
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

/**
 * Trims the skb to `len` bytes: frag-list members past the cut are freed and the member holding
 * it trimmed; a cut before the frag list frees every member, then drops frag bytes past it, then
 * linear bytes. Readability of the own slots stays as it was (Linux keeps `unreadable` too);
 * members cut away no longer count.
 */
export function skbTrim(skb: SkBuff, len: number): void {
  if (len >= skb.len) return;
  if (len < 0) len = 0;
  if (skb.fragList !== null) {
    const ownUnreadable = ownFragsUnreadable(skb);
    const own = skb.len - skbFragListLen(skb);
    let keep: SkBuff | null = null;
    let rest: SkBuff | null = skb.fragList;
    if (len > own) {
      let start = own;
      while (rest !== null) {
        const end = start + rest.len;
        if (len <= end) {
          skbTrim(rest, len - start);
          keep = rest;
          rest = rest.next;
          keep.next = null;
          break;
        }
        keep = rest;
        rest = rest.next;
        start = end;
      }
    }
    if (keep === null) skb.fragList = null;
    skb.fragListTail = keep;
    while (rest !== null) {
      const n: SkBuff | null = rest.next;
      rest.next = null;
      skbFree(rest);
      rest = n;
    }
    skb.len = len > own ? len : own;
    skb.dataLen = skb.len - (skb.tail - skb.data);
    if (len >= own) {
      refreshUnreadable(skb);
      return;
    }
    // the cut is in the own bytes: the flag describes the own slots again once they are cut
    skb.unreadable = ownUnreadable;
  }
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
 * Appends `from`'s payload to `to` by moving frag references (Linux `skb_try_coalesce`); a frag
 * list of `from` moves along behind them. Refuses (returns false) when readability differs,
 * when `from` still has linear bytes (copying them into `to` is not supported), when `to` has a
 * frag list (frags cannot go after it), or when the frags would not fit. On success `from` is
 * left empty and the caller frees it.
 */
export function skbTryCoalesce(to: SkBuff, from: SkBuff): boolean {
  if (to.unreadable !== from.unreadable) return false;
  if (from.tail - from.data !== 0) return false;
  if (to.fragList !== null) return false;
  if (to.nrFrags + from.nrFrags > to.fragRef.length) return false;
  // the slots themselves must agree (the flags alone may include frag-list members)
  if (from.nrFrags > 0 && (to.nrFrags > 0 ? netmemIsNetIov(to.fragRef[0]!) : to.unreadable) !== netmemIsNetIov(from.fragRef[0]!)) return false;
  for (let i = 0; i < from.nrFrags; i++) {
    const j = to.nrFrags++;
    to.fragRef[j] = from.fragRef[i]!;
    to.fragOff[j] = from.fragOff[i]!;
    to.fragLen[j] = from.fragLen[i]!;
  }
  if (from.fragList !== null) {
    to.fragList = from.fragList;
    to.fragListTail = from.fragListTail;
    from.fragList = from.fragListTail = null;
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
