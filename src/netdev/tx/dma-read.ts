/**
 * The NIC's DMA read of a frame at transmit time (Linux: the driver maps each frag with
 * `skb_frag_dma_map`, which for a net_iov is the binding's precomputed DMA address, and the
 * device reads the bytes as it puts them on the wire). The model materialises the wire bytes:
 * a readable copy of the frame in host pages from the skb cache, the device-memory frags read
 * through each net_iov area's DMA attachment (counted by the exporter: `dmaBytesRead` and the
 * `hostVisibleBytes` figure), host-page frags copied. The link downstream then carries ordinary
 * bytes; the original skb (and with it every frag reference and its transmit completion) is
 * released by the caller as soon as the read is done, as a TX completion does.
 *
 * Allocation-free per frame: the wire skb comes from the skb cache, its pages from host memory.
 */
import { NETMEM_NONE, PAGE_SIZE, type MemSpace } from '../../mem/index.js';
import { SkbPieceIter, skbAddFrag, skbFree, skbPut, type SkBuff, type SkbCache } from '../../skb/index.js';

/** a frame up to this long is read into one linear buffer; longer ones get page frags */
export const WIRE_LINEAR_MAX = 4096;

/**
 * Reads frame `skb` (borrowed) into a new readable skb with the same metadata, or null when host
 * memory for the wire copy is exhausted. `it` is the caller's reusable piece iterator.
 */
export function dmaReadFrame(skbs: SkbCache, skb: SkBuff, it: SkbPieceIter): SkBuff | null {
  const len = skb.len;
  const headlen = skb.tail - skb.data;
  const linear = len <= WIRE_LINEAR_MAX;
  const wire = skbs.alloc(linear ? len : headlen, 0);
  if (wire === null) return null;
  const mem = skb.mem;
  // the linear part: the whole frame, or the head with the rest in page frags
  const at = skbPut(wire, linear ? len : headlen);
  let left = linear ? len : headlen;
  let dst = at;
  it.reset(skb, 0, left);
  while (it.next()) {
    readPiece(mem, it, wire.buf, dst);
    dst += it.len;
  }
  if (!linear) {
    let page = NETMEM_NONE;
    let pbuf: Uint8Array = wire.buf;
    let pbase = 0;
    let fill = PAGE_SIZE;
    left = len - headlen;
    it.reset(skb, headlen, left);
    while (it.next()) {
      let done = 0;
      while (done < it.len) {
        if (fill === PAGE_SIZE) {
          if (page !== NETMEM_NONE && !skbAddFrag(wire, page, 0, fill)) {
            wire.mem.put(page);
            skbFree(wire);
            return null;
          }
          page = wire.mem.allocPage();
          if (page === NETMEM_NONE) {
            skbFree(wire);
            return null;
          }
          pbuf = wire.mem.buf(page);
          pbase = wire.mem.offset(page);
          fill = 0;
        }
        const n = Math.min(it.len - done, PAGE_SIZE - fill);
        readPart(mem, it, done, n, pbuf, pbase + fill);
        done += n;
        fill += n;
      }
    }
    if (page !== NETMEM_NONE && !skbAddFrag(wire, page, 0, fill)) {
      wire.mem.put(page);
      skbFree(wire);
      return null;
    }
  }
  wire.protocol = skb.protocol;
  wire.ifindex = skb.ifindex;
  wire.gsoSize = skb.gsoSize;
  wire.ipSummed = skb.ipSummed;
  wire.csumStart = skb.csumStart - skb.data + wire.data;
  wire.csumOffset = skb.csumOffset;
  if (skb.macHeader >= 0) wire.macHeader = wire.data + (skb.macHeader - skb.data);
  return wire;
}

function readPiece(mem: MemSpace, it: SkbPieceIter, dst: Uint8Array, at: number): void {
  readPart(mem, it, 0, it.len, dst, at);
}

/** `n` bytes from `from` inside the current piece into `dst[at..)`: DMA for a net_iov, a copy for host memory */
function readPart(mem: MemSpace, it: SkbPieceIter, from: number, n: number, dst: Uint8Array, at: number): void {
  if (it.netIov) {
    mem.dmaFromNetIov(it.ref, it.pageOff + from, dst, at, n);
  } else if (n <= 64) {
    const b = it.buf;
    const o = it.off + from;
    for (let i = 0; i < n; i++) dst[at + i] = b[o + i]!;
  } else {
    dst.set(it.buf.subarray(it.off + from, it.off + from + n), at);
  }
}
