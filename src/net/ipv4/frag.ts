/**
 * IPv4 fragmentation on output (Linux `ip_do_fragment`, slow path): a datagram over the path
 * MTU with DF clear is cut by the shared core (`../ip-fragment.ts`: payload sharing, readability,
 * CHECKSUM_PARTIAL, counters) into fragments, each with a copy of the IP header (options are
 * never emitted by this stack), the datagram's id, its offset, MF on all but the last (or on all
 * when the datagram is itself a non-final fragment), and a fresh header checksum.
 *
 * Ownership: `fragment` takes the datagram (data at the IP header) and hands each fragment
 * (data at its IP header, `networkHeader` set) to `sink.fragXmit` with `dev` and `nexthop`.
 */
import type { MemSpace } from '../../mem/index.js';
import type { NetDevice } from '../../netdev/index.js';
import type { SkBuff, SkbCache } from '../../skb/index.js';
import { csumFinish, csumPartial } from '../../wire/checksum.js';
import { IP_MF, IP_OFFMASK } from '../../wire/ipv4.js';
import { IpFragmenter, type FragSink } from '../ip-fragment.js';
import type { IpStats } from '../types.js';

export type { FragSink } from '../ip-fragment.js';

export class Ipv4Fragmenter extends IpFragmenter<number> {
  // the datagram being cut (set by `fragment`, read by `writeHeader`)
  private hlen = 0;
  private fragWord0 = 0;
  private baseOff = 0;

  constructor(skbs: SkbCache, mem: MemSpace, stats: IpStats) {
    super(skbs, mem, stats);
  }

  /** fragments `skb` to `mtu`; returns 0 or a negative errno (see the module contract) */
  fragment(skb: SkBuff, mtu: number, dev: NetDevice, nexthop: number, sink: FragSink<number>): number {
    const nh = skb.data;
    const hlen = (skb.buf[nh]! & 0x0f) << 2;
    this.hlen = hlen;
    this.fragWord0 = skb.dv.getUint16(nh + 6);
    this.baseOff = (this.fragWord0 & IP_OFFMASK) << 3;
    return this.cut(skb, mtu, hlen, hlen, dev, nexthop, sink);
  }

  protected writeHeader(f: SkBuff, off: number, n: number, last: boolean): void {
    const fh = f.data;
    const dv = f.dv;
    const hlen = this.hlen;
    const fragWord0 = this.fragWord0;
    dv.setUint16(fh + 2, hlen + n);
    let fw = (fragWord0 & ~(IP_OFFMASK | IP_MF)) | (((this.baseOff + off) >>> 3) & IP_OFFMASK);
    if (!last || (fragWord0 & IP_MF) !== 0) fw |= IP_MF;
    dv.setUint16(fh + 6, fw);
    dv.setUint16(fh + 10, 0);
    dv.setUint16(fh + 10, csumFinish(csumPartial(f.buf, dv, fh, hlen, 0)));
  }
}
