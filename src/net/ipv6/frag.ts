/**
 * IPv6 fragmentation at the source (RFC 8200 §4.5; Linux `ip6_fragment`, slow path): a datagram
 * over the path MTU whose sender allows fragmentation is cut by the shared core
 * (`../ip-fragment.ts`: payload sharing, readability, CHECKSUM_PARTIAL, counters) into fragments
 * of at most the MTU, each the 40-byte IPv6 header (this stack emits no extension headers, so the
 * unfragmentable part is the header alone) + a fragment header (the datagram's identification,
 * offset, M on all but the last) + a payload that is a multiple of 8 bytes (all but the last).
 *
 * Ownership: `fragment` takes the datagram (data at its IPv6 header) and hands each fragment
 * (data at its IPv6 header, `networkHeader` set) to `sink.fragXmit` with `dev` and `nexthop`.
 */
import type { Addr } from '../../inet/index.js';
import type { MemSpace } from '../../mem/index.js';
import type { NetDevice } from '../../netdev/index.js';
import type { SkBuff, SkbCache } from '../../skb/index.js';
import { IPPROTO_FRAGMENT, IPV6_FRAG_HLEN, IPV6_FRAG_MF, IPV6_HLEN } from '../../wire/ipv6.js';
import { IpFragmenter, type FragSink } from '../ip-fragment.js';
import type { Ipv6Stats } from './stats.js';

export type { FragSink as Frag6Sink } from '../ip-fragment.js';

const UNFRAG = IPV6_HLEN + IPV6_FRAG_HLEN;

export class Ipv6Fragmenter extends IpFragmenter<Addr> {
  // the datagram being cut (set by `fragment`, read by `writeHeader`)
  private proto = 0;
  private ident = 0;

  constructor(skbs: SkbCache, mem: MemSpace, stats: Ipv6Stats) {
    super(skbs, mem, stats);
  }

  /** fragments `skb` (data at the IPv6 header) to `mtu` with identification `ident`; 0 or -errno */
  fragment(skb: SkBuff, mtu: number, ident: number, dev: NetDevice, nexthop: Addr, sink: FragSink<Addr>): number {
    this.proto = skb.buf[skb.data + 6]!;
    this.ident = ident >>> 0;
    return this.cut(skb, mtu, IPV6_HLEN, UNFRAG, dev, nexthop, sink);
  }

  protected writeHeader(f: SkBuff, off: number, n: number, last: boolean): void {
    const fh = f.data;
    const dv = f.dv;
    dv.setUint16(fh + 4, IPV6_FRAG_HLEN + n);
    dv.setUint8(fh + 6, IPPROTO_FRAGMENT);
    dv.setUint8(fh + IPV6_HLEN, this.proto);
    dv.setUint8(fh + IPV6_HLEN + 1, 0);
    dv.setUint16(fh + IPV6_HLEN + 2, off | (last ? 0 : IPV6_FRAG_MF));
    dv.setUint32(fh + IPV6_HLEN + 4, this.ident);
  }
}
