/**
 * Output fragmentation core shared by IPv4 and IPv6 (Linux `ip_do_fragment` / `ip6_fragment`,
 * slow path): cuts a datagram into fragment skbs whose payloads are multiples of 8 bytes (all but
 * the last); each family subclass writes its own header into every fragment (`writeHeader`).
 *
 * Each fragment gets a copy of the datagram's first `hlen` bytes (its IP header) at the front of
 * a `room`-byte header area (room >= hlen: IPv6 leaves space for the fragment header), followed
 * by payload [hlen + off, + n) of the datagram. Payload is shared, not copied, wherever it sits in
 * pages: a fragment references the original's frag pages (and frag-list members' pages); bytes of
 * linear areas that open a fragment are copied into its head with `skbCopyBits`. Unreadable
 * pieces stay references; a fragment that cannot be built (mixed readability, external head
 * buffer, no memory) fails the datagram (`fragFails`). A CHECKSUM_PARTIAL datagram gets its L4
 * checksum in software first (not possible over unreadable bytes: fails).
 *
 * Ownership: `cut` takes the datagram (data at the IP header; `protocol` and `ifindex` set, which
 * every fragment copies) and hands each fragment (data at its IP header, `networkHeader` set) to
 * `sink.fragXmit` with the device and next hop it was given.
 */
import { NETMEM_NONE, type MemSpace } from '../mem/index.js';
import type { NetDevice } from '../netdev/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, SkbPieceIter, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPut, skbRangeReadable,
  type SkBuff, type SkbCache,
} from '../skb/index.js';
import { ERRNO } from '../uapi/index.js';
import { csumFinish } from '../wire/checksum.js';
import { MAX_HEADER } from './types.js';

/** where fragments go; `N`: the family's next-hop form */
export interface FragSink<N> {
  /** sends one fragment (takes it) on `dev` towards `nexthop`, the route the datagram was cut for */
  fragXmit(frag: SkBuff, dev: NetDevice, nexthop: N): void;
}

/** the SNMP counters fragmentation keeps (IPv4 `IpStats`, IPv6 `Ipv6Stats`) */
export interface FragStats {
  fragOKs: number;
  fragCreates: number;
  fragFails: number;
}

/** largest linear head a fragment may have (one skb buffer) */
const FRAG_HEAD_MAX = 4096;

export abstract class IpFragmenter<N> {
  private readonly it = new SkbPieceIter();

  constructor(private readonly skbs: SkbCache, private readonly mem: MemSpace, private readonly stats: FragStats) {}

  /**
   * writes the family header of fragment `f` (data at its header, whose first `hlen` bytes are
   * the datagram's) carrying payload [off, off + n) of the datagram's; `last`: no fragment follows
   */
  protected abstract writeHeader(f: SkBuff, off: number, n: number, last: boolean): void;

  /** cuts `skb` to `mtu` (see the module contract); 0 or a negative errno */
  protected cut(skb: SkBuff, mtu: number, hlen: number, room: number, dev: NetDevice, nexthop: N, sink: FragSink<N>): number {
    const left = skb.len - hlen;
    const per = (mtu - room) & ~7;
    if (per < 8) return this.fail(skb, -ERRNO.EMSGSIZE);
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const start = skb.csumStart - skb.data;
      if (!skbRangeReadable(skb, start, skb.len - start) || skb.csumStart + skb.csumOffset + 2 > skb.tail) return this.fail(skb, -ERRNO.EFAULT);
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, csumFinish(skbChecksum(skb, start, skb.len - start, 0)));
      skb.ipSummed = CHECKSUM_NONE;
    }
    for (let off = 0; off < left; off += per) {
      const n = left - off < per ? left - off : per;
      const f = this.build(skb, hlen, room, off, n);
      if (f === null) return this.fail(skb, -ERRNO.ENOBUFS);
      this.writeHeader(f, off, n, off + n >= left);
      this.stats.fragCreates++;
      sink.fragXmit(f, dev, nexthop);
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

  /** one fragment: header copy + `room` header bytes + payload [hlen + off, + n); null when impossible */
  private build(skb: SkBuff, hlen: number, room: number, off: number, n: number): SkBuff | null {
    const it = this.it;
    // bytes that come from linear heads before the first page reference: copied
    let linear = 0;
    it.reset(skb, hlen + off, n);
    while (it.next()) {
      if (!it.isHead || it.netIov) break;
      linear += it.len;
    }
    const headSize = MAX_HEADER + room + linear;
    if (headSize > FRAG_HEAD_MAX) return null;
    const f = this.skbs.alloc(headSize, MAX_HEADER);
    if (f === null) return null;
    const at = skbPut(f, room + linear);
    f.buf.set(skb.buf.subarray(skb.data, skb.data + hlen), at);
    if (linear > 0 && skbCopyBits(skb, hlen + off, f.buf, at + room, linear) !== 0) {
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
    f.transportHeader = f.data + room;
    f.protocol = skb.protocol;
    f.ifindex = skb.ifindex;
    f.ipSummed = CHECKSUM_NONE;
    return f;
  }
}
