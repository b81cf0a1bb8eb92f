/**
 * The one linearization of a frame for a link that carries bytes: copies a complete Ethernet
 * frame (head, frags, frag-list members) into a caller's buffer. Frags in device memory
 * (net_iov) are read the way the sending NIC's DMA engine reads them (`dmaFromNetIov`, counted
 * by the dma-buf exporter, so "host bytes read" stays honest); host-page frags are copied. Used
 * by `SimWire` (unreadable frames become readable bytes on the wire) and by `FramePort` (every
 * frame handed to a user `FrameLink`). Borrows the skb; never allocates.
 */
import { netmemIsNetIov } from '../mem/index.js';
import type { SkBuff } from '../skb/index.js';

/** copies all `skb.len` bytes of `skb` into `dst` at `at`; `dst` must have room */
export function linearizeFrame(skb: SkBuff, dst: Uint8Array, at: number): void {
  let off = copyOne(skb, dst, at);
  for (let m = skb.fragList; m !== null; m = m.next) off = copyOne(m, dst, off);
}

/** the skb's head and own frags (not its frag list); returns the end offset in `dst` */
function copyOne(skb: SkBuff, dst: Uint8Array, at: number): number {
  const hl = skb.tail - skb.data;
  const b = skb.buf;
  if (hl <= 64) {
    for (let i = 0; i < hl; i++) dst[at + i] = b[skb.data + i]!;
  } else {
    dst.set(b.subarray(skb.data, skb.tail), at);
  }
  let off = at + hl;
  const mem = skb.mem;
  for (let i = 0; i < skb.nrFrags; i++) {
    const ref = skb.fragRef[i]!;
    const fo = skb.fragOff[i]!;
    const fl = skb.fragLen[i]!;
    if (netmemIsNetIov(ref)) {
      mem.dmaFromNetIov(ref, fo, dst, off, fl);
    } else {
      const s = mem.offset(ref) + fo;
      dst.set(mem.buf(ref).subarray(s, s + fl), off);
    }
    off += fl;
  }
  return off;
}
