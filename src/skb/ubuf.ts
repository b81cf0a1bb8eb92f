/**
 * `UbufInfo`: a transmit completion shared by every skb whose frags reference memory the sender
 * owns (Linux `struct ubuf_info`): user buffers sent with `MSG_ZEROCOPY`, device memory sent
 * through a TX binding. One object per send (or per run of coalesced sends); the write queue
 * holds one reference while the bytes are unacknowledged, every skb built from those bytes holds
 * one more (`skb.uarg`), and `complete()` runs exactly once, when the last reference goes: after
 * the ACK and after the NIC has let go of every copy, retransmissions included.
 *
 * Contract for every skb helper: a function that makes a new skb referencing another skb's frags
 * (GSO segmentation, a clone for retransmission) calls `skbZcopyClone(dst, src)`; a function
 * that copies caller-owned frag bytes into host memory (linearizing for a device without SG)
 * calls `ubufMarkCopied(uarg)` so the completion reports `SO_EE_CODE_ZEROCOPY_COPIED`.
 * `skbFree` drops the skb's reference.
 */
import type { SkBuff } from './skbuff.js';

export interface UbufInfo {
  /** references held (write queue + skbs); `complete` runs when it reaches zero */
  refcnt: number;
  /** false once some holder copied the bytes instead of referencing them */
  zerocopy: boolean;
  /** runs once, when the last reference is dropped; owned by whoever created the object */
  complete(): void;
}

/** takes one reference */
export function ubufGet(u: UbufInfo): void {
  u.refcnt++;
}

/** drops one reference; the last one completes the send */
export function ubufPut(u: UbufInfo): void {
  if (u.refcnt <= 0) throw new Error('ubuf reference underflow');
  if (--u.refcnt === 0) u.complete();
}

/** the bytes were copied (Linux skb_zcopy_downgrade / zerocopy_success = false) */
export function ubufMarkCopied(u: UbufInfo): void {
  u.zerocopy = false;
}

/** attaches `u` to `skb`, taking a reference (Linux skb_zcopy_set); an skb carries at most one */
export function skbZcopySet(skb: SkBuff, u: UbufInfo): void {
  if (skb.uarg === u) return;
  if (skb.uarg !== null) throw new Error('skb already carries a different ubuf');
  ubufGet(u);
  skb.uarg = u;
}

/** `dst` now references `src`'s caller-owned frags: it shares the completion (skb_zerocopy_clone) */
export function skbZcopyClone(dst: SkBuff, src: SkBuff): void {
  if (src.uarg !== null) skbZcopySet(dst, src.uarg);
}

/** drops `skb`'s completion reference (called by skbFree) */
export function skbZcopyClear(skb: SkBuff): void {
  const u = skb.uarg;
  if (u === null) return;
  skb.uarg = null;
  ubufPut(u);
}
