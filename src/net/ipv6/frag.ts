/**
 * IPv6 fragmentation at the source (RFC 8200 §4.5; Linux `ip6_fragment`, slow path): a datagram
 * over the path MTU whose sender allows fragmentation is cut into fragments of at most the MTU,
 * each the 40-byte IPv6 header (this stack emits no extension headers, so the unfragmentable
 * part is the header alone) + a fragment header (the datagram's identification, offset, M on
 * all but the last) + a payload that is a multiple of 8 bytes (all but the last).
 *
 * Payload is shared, not copied, where it sits in pages: a fragment references the original's
 * frag pages (and frag-list members' pages); linear bytes that open a fragment are copied into
 * its head with `skbCopyBits`. Unreadable pieces stay references; a fragment that cannot be
 * built (mixed readability, external head buffer, no memory) fails the datagram (`fragFails`).
 * A CHECKSUM_PARTIAL datagram gets its L4 checksum in software first.
 *
 * Ownership: `fragment` takes the datagram (data at its IPv6 header) and hands each fragment
 * (data at its IPv6 header, `networkHeader` set) to `sink.fragXmit`.
 */
import { NETMEM_NONE, type MemSpace } from '../../mem/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, SkbPieceIter, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPut, skbRangeReadable,
  type SkBuff, type SkbCache,
} from '../../skb/index.js';
import { ERRNO } from '../../uapi/index.js';
import { csumFinish } from '../../wire/checksum.js';
import { IPPROTO_FRAGMENT, IPV6_FRAG_HLEN, IPV6_FRAG_MF, IPV6_HLEN } from '../../wire/ipv6.js';
import { MAX_HEADER } from '../types.js';
import type { Ipv6Stats } from './stats.js';

export interface Frag6Sink {
  /** sends one fragment (takes it) */
  fragXmit(frag: SkBuff): void;
}

const FRAG_HEAD_MAX = 4096;
const UNFRAG = IPV6_HLEN + IPV6_FRAG_HLEN;

export class Ipv6Fragmenter {
  private readonly it = new SkbPieceIter();

  constructor(private readonly skbs: SkbCache, private readonly mem: MemSpace, private readonly stats: Ipv6Stats) {}

  /** fragments `skb` (data at the IPv6 header) to `mtu` with identification `ident`; 0 or -errno */
  fragment(skb: SkBuff, mtu: number, ident: number, sink: Frag6Sink): number {
    const left = skb.len - IPV6_HLEN;
    const per = (mtu - UNFRAG) & ~7;
    if (per < 8) return this.fail(skb, -ERRNO.EMSGSIZE);
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const start = skb.csumStart - skb.data;
      if (!skbRangeReadable(skb, start, skb.len - start) || skb.csumStart + skb.csumOffset + 2 > skb.tail) return this.fail(skb, -ERRNO.EFAULT);
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, csumFinish(skbChecksum(skb, start, skb.len - start, 0)));
      skb.ipSummed = CHECKSUM_NONE;
    }
    const proto = skb.buf[skb.data + 6]!;
    for (let off = 0; off < left; off += per) {
      const n = left - off < per ? left - off : per;
      const f = this.build(skb, off, n);
      if (f === null) return this.fail(skb, -ERRNO.ENOBUFS);
      const fh = f.data;
      const dv = f.dv;
      dv.setUint16(fh + 4, IPV6_FRAG_HLEN + n);
      dv.setUint8(fh + 6, IPPROTO_FRAGMENT);
      dv.setUint8(fh + IPV6_HLEN, proto);
      dv.setUint8(fh + IPV6_HLEN + 1, 0);
      dv.setUint16(fh + IPV6_HLEN + 2, off | (off + n < left ? IPV6_FRAG_MF : 0));
      dv.setUint32(fh + IPV6_HLEN + 4, ident >>> 0);
      this.stats.fragCreates++;
      sink.fragXmit(f);
    }
    this.stats.fragOKs++;
    skbFree(skb);
    return 0;
  }

  private fail(skb: SkBuff, rc: number): number {
    this.stats.fragFails++;
    skbFree(skb);
    return rc;
  }

  /** one fragment: IPv6 header copy + room for the fragment header + payload [40 + off, + n) */
  private build(skb: SkBuff, off: number, n: number): SkBuff | null {
    const it = this.it;
    let linear = 0;
    it.reset(skb, IPV6_HLEN + off, n);
    while (it.next()) {
      if (!it.isHead || it.netIov) break;
      linear += it.len;
    }
    const headSize = MAX_HEADER + UNFRAG + linear;
    if (headSize > FRAG_HEAD_MAX) return null;
    const f = this.skbs.alloc(headSize, MAX_HEADER);
    if (f === null) return null;
    const at = skbPut(f, UNFRAG + linear);
    f.buf.set(skb.buf.subarray(skb.data, skb.data + IPV6_HLEN), at);
    if (linear > 0 && skbCopyBits(skb, IPV6_HLEN + off, f.buf, at + UNFRAG, linear) !== 0) {
      skbFree(f);
      return null;
    }
    if (linear < n) {
      const mem = this.mem;
      it.reset(skb, IPV6_HLEN + off + linear, n - linear);
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
    f.transportHeader = f.data + UNFRAG;
    f.protocol = skb.protocol;
    f.ifindex = skb.ifindex;
    f.ipSummed = CHECKSUM_NONE;
    return f;
  }
}
