/**
 * IPv4 fragmentation on output (Linux `ip_do_fragment`, slow path): a datagram over the path
 * MTU with DF clear is cut into fragments whose payloads are multiples of 8 bytes (all but the
 * last), each with a copy of the IP header (options are never emitted by this stack), the
 * datagram's id, its offset, MF on all but the last, and a fresh header checksum.
 *
 * Payload is shared, not copied, wherever it sits in pages: a fragment references the original
 * skb's frag pages (and frag-list members' pages); bytes of the original's linear area that open
 * a fragment are copied into its head with `skbCopyBits`. Readability rules hold: unreadable
 * pieces stay references, and a fragment whose pieces would mix readable and unreadable frags
 * fails (`fragFails`). A CHECKSUM_PARTIAL datagram gets its L4 checksum in software first (not
 * possible over unreadable bytes: fails).
 *
 * Ownership: `fragment` takes the datagram (data at the IP header) and hands each fragment
 * (data at its IP header, `networkHeader` set) to `sink.fragXmit`.
 */
import type { MemSpace } from '../../mem/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, SkbPieceIter, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPut, skbRangeReadable,
  type SkBuff, type SkbCache,
} from '../../skb/index.js';
import { NETMEM_NONE } from '../../mem/index.js';
import { ERRNO } from '../../uapi/index.js';
import { csumFinish, csumPartial } from '../../wire/checksum.js';
import { IP_MF, IP_OFFMASK } from '../../wire/ipv4.js';
import { MAX_HEADER, type IpStats } from '../types.js';

export interface FragSink {
  /** sends one fragment (takes it) */
  fragXmit(frag: SkBuff): void;
}

/** largest linear head a fragment may have (one skb buffer) */
const FRAG_HEAD_MAX = 4096;

export class Ipv4Fragmenter {
  private readonly it = new SkbPieceIter();

  constructor(private readonly skbs: SkbCache, private readonly mem: MemSpace, private readonly stats: IpStats) {}

  /** fragments `skb` to `mtu`; returns 0 or a negative errno (see the module contract) */
  fragment(skb: SkBuff, mtu: number, sink: FragSink): number {
    const st = this.stats;
    const nh = skb.data;
    const hlen = (skb.buf[nh]! & 0x0f) << 2;
    const left = skb.len - hlen;
    const per = (mtu - hlen) & ~7;
    if (per < 8) return this.fail(skb, -ERRNO.EMSGSIZE);
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const start = skb.csumStart - skb.data;
      if (!skbRangeReadable(skb, start, skb.len - start) || skb.csumStart + skb.csumOffset + 2 > skb.tail) return this.fail(skb, -ERRNO.EFAULT);
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, csumFinish(skbChecksum(skb, start, skb.len - start, 0)));
      skb.ipSummed = CHECKSUM_NONE;
    }
    const fragWord0 = skb.dv.getUint16(nh + 6);
    const baseOff = (fragWord0 & IP_OFFMASK) << 3;
    for (let off = 0; off < left; off += per) {
      const n = left - off < per ? left - off : per;
      const last = off + n >= left;
      const f = this.build(skb, hlen, off, n);
      if (f === null) return this.fail(skb, -ERRNO.ENOBUFS);
      const fh = f.data;
      const dv = f.dv;
      dv.setUint16(fh + 2, hlen + n);
      let fw = (fragWord0 & ~(IP_OFFMASK | IP_MF)) | (((baseOff + off) >>> 3) & IP_OFFMASK);
      if (!last || (fragWord0 & IP_MF) !== 0) fw |= IP_MF;
      dv.setUint16(fh + 6, fw);
      dv.setUint16(fh + 10, 0);
      dv.setUint16(fh + 10, csumFinish(csumPartial(f.buf, dv, fh, hlen, 0)));
      st.fragCreates++;
      sink.fragXmit(f);
    }
    st.fragOKs++;
    skbFree(skb);
    return 0;
  }

  private fail(skb: SkBuff, rc: number): number {
    this.stats.fragFails++;
    skbFree(skb);
    return rc;
  }

  /** one fragment: header copy + payload [hlen + off, + n) of `skb`; null when impossible */
  private build(skb: SkBuff, hlen: number, off: number, n: number): SkBuff | null {
    const it = this.it;
    // bytes that come from linear heads before the first page reference: copied
    let linear = 0;
    it.reset(skb, hlen + off, n);
    while (it.next()) {
      if (!it.isHead || it.netIov) break;
      linear += it.len;
    }
    const headSize = MAX_HEADER + hlen + linear;
    if (headSize > FRAG_HEAD_MAX) return null;
    const f = this.skbs.alloc(headSize, MAX_HEADER);
    if (f === null) return null;
    const at = skbPut(f, hlen + linear);
    f.buf.set(skb.buf.subarray(skb.data, skb.data + hlen), at);
    if (linear > 0 && skbCopyBits(skb, hlen + off, f.buf, at + hlen, linear) !== 0) {
      skbFree(f);
      return null;
    }
    if (linear < n) {
      const mem = this.mem;
      it.reset(skb, hlen + off + linear, n - linear);
      while (it.next()) {
        if (it.ref === NETMEM_NONE) {
          skbFree(f);
          return null;
        }
        mem.get(it.ref);
        if (!skbAddFrag(f, it.ref, it.pageOff, it.len)) {
          mem.put(it.ref);
          skbFree(f);
          return null;
        }
      }
    }
    f.networkHeader = f.data;
    f.transportHeader = f.data + hlen;
    f.protocol = skb.protocol;
    f.ifindex = skb.ifindex;
    f.ipSummed = CHECKSUM_NONE;
    return f;
  }
}
