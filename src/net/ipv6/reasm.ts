/**
 * IPv6 reassembly (RFC 8200 §4.5; Linux `net/ipv6/reassembly.c`; the queue table, timers and
 * memory charge are the shared `../inet-frag.ts`, Linux `inet_fragment.c`).
 *
 * Queues are keyed by (source, destination, identification) plus the receiving interface for
 * link-local and multicast destinations. Rules:
 *  - a non-last fragment whose length is not a multiple of 8 → ICMPv6 parameter problem code 0
 *    pointing at the payload length; an end beyond 65535 → pointing at the fragment offset;
 *  - a first fragment that does not hold the whole header chain up to the upper-layer header
 *    → parameter problem code 3 (RFC 7112), pointer 0;
 *  - a fragment wholly inside a run of contiguous fragments already held is a duplicate: dropped,
 *    the queue kept; any other overlap drops the whole datagram (RFC 5722);
 *  - inconsistent lengths (a second last fragment with another end, data past the end) drop it;
 *  - `IP6FRAG_TIME_US` (60 s) after the first fragment arrived the queue expires: ICMPv6 time
 *    exceeded code 1 is sent about the first fragment if it arrived;
 *  - memory (Linux `ip6frag_high_thresh` / `low_thresh`, 4 MiB / 3 MiB): when a fragment
 *    arrives with more than the high threshold held, the oldest queues are dropped until at
 *    most the low threshold is held.
 * Atomic fragments (offset 0, M clear; RFC 6946) never reach this module: the stack processes
 * them as whole datagrams.
 *
 * On completion the first fragment's skb becomes the datagram: its fragment header is removed
 * (the headers before it move up by 8 bytes), the previous next-header byte and the payload
 * length are rewritten, and the other fragments are chained with `skbAppendFragList` (no
 * payload copy; readability is kept per piece). Ownership: `enqueue` takes the skb.
 */
import { InetAddr, addrEquals, fmix, isLinkLocal, isMulticast, mix, type Addr } from '../../inet/index.js';
import { CHECKSUM_NONE, pskbMayPull, skbAppendFragList, skbFree, skbPull, skbPush, type SkBuff } from '../../skb/index.js';
import type { Scheduler, Timer } from '../../time/index.js';
import { ICMPV6_HDR_FIELD } from '../../wire/icmpv6.js';
import { ETH_HLEN } from '../../wire/ethernet.js';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_ROUTING, IPV6_FRAG_HLEN, IPV6_FRAG_MF,
  IPV6_FRAG_OFFMASK, IPV6_HLEN, IPV6_MAX_PAYLOAD,
} from '../../wire/ipv6.js';
import { InetFragQueue, InetFragTable } from '../inet-frag.js';
import type { Ipv6Stats } from './stats.js';

export const IP6FRAG_HIGH_THRESH = 4 * 1024 * 1024;
export const IP6FRAG_LOW_THRESH = 3 * 1024 * 1024;
export const IP6FRAG_TIME_US = 60_000_000;
/** ICMPv6 parameter problem code 3: first fragment has incomplete IPv6 header chain (RFC 7112) */
export const ICMPV6_HDR_INCOMP = 3;
/** accounting overhead per held skb (struct sk_buff + shared info, roughly) */
const SKB_OVERHEAD = 320;

/** what reassembly needs from the stack */
export interface ReasmHost {
  readonly sched: Scheduler;
  readonly stats: Ipv6Stats;
  /** ICMPv6 parameter problem about `skb` (borrowed; `networkHeader` set) */
  paramProb(skb: SkBuff, code: number, pointer: number): void;
  /** ICMPv6 time exceeded code 1 about the first fragment `skb` (borrowed) */
  fragTimeExceeded(skb: SkBuff): void;
}

class FragQueue extends InetFragQueue<FragQueue> {
  readonly frags: SkBuff[] = [];
  readonly offs: number[] = [];
  readonly ends: number[] = [];
  readonly sizes: number[] = [];
  /** datagram length (fragmentable part) once the last fragment arrived, else -1 */
  totalLen = -1;
  meat = 0;
  firstIn = false;
  /** from the first fragment: offset of the next-header byte naming the fragment header, header offset, its next header */
  nhoff = 0;
  unfrag = 0;
  nextHeader = 0;

  constructor(readonly r: Ip6Reasm, hash: number, readonly src: InetAddr, readonly dst: InetAddr, readonly ident: number, readonly ifindex: number) {
    super(hash);
  }

  onTimer(_t: Timer): void {
    this.r.expire(this);
  }
}

function truesize(skb: SkBuff): number {
  return SKB_OVERHEAD + (skb.end - skb.head) + skb.dataLen;
}

export class Ip6Reasm {
  private readonly table: InetFragTable<FragQueue>;
  highThresh = IP6FRAG_HIGH_THRESH;
  lowThresh = IP6FRAG_LOW_THRESH;
  timeoutUs = IP6FRAG_TIME_US;
  /** set by a completing `enqueue`: the fragment header's next header, its offset, and the nhoff of the byte that named it */
  outNextHeader = 0;
  outOff = 0;
  outNhoff = 0;

  constructor(private readonly host: ReasmHost, private readonly seed: number) {
    this.table = new InetFragTable(host.sched);
  }

  /** bytes held (Linux `frag_mem_limit`) */
  get mem(): number {
    return this.table.mem;
  }

  /** queues held */
  get count(): number {
    return this.table.count;
  }

  private keyHash(src: Addr, dst: Addr, ident: number, ifindex: number): number {
    let h = this.seed >>> 0;
    h = mix(h, src.w0); h = mix(h, src.w1); h = mix(h, src.w2); h = mix(h, src.w3);
    h = mix(h, dst.w0); h = mix(h, dst.w1); h = mix(h, dst.w2); h = mix(h, dst.w3);
    h = mix(h, ident);
    h = mix(h, ifindex);
    return fmix(h);
  }

  private find(src: Addr, dst: Addr, ident: number, ifindex: number): FragQueue | null {
    let q = this.table.chain(this.keyHash(src, dst, ident, ifindex));
    while (q !== null) {
      if (q.ident === ident && q.ifindex === ifindex && addrEquals(q.src, src) && addrEquals(q.dst, dst)) return q;
      q = q.hashNext;
    }
    return null;
  }

  private create(src: Addr, dst: Addr, ident: number, ifindex: number): FragQueue {
    const h = this.keyHash(src, dst, ident, ifindex);
    const q = new FragQueue(this, h, InetAddr.from(src), InetAddr.from(dst), ident, ifindex);
    this.table.add(q, this.timeoutUs);
    return q;
  }

  /** unlinks `q` and frees what it holds */
  private kill(q: FragQueue): void {
    this.table.remove(q);
    for (let i = 0; i < q.frags.length; i++) skbFree(q.frags[i]!);
    q.frags.length = q.offs.length = q.ends.length = q.sizes.length = 0;
  }

  private fail(q: FragQueue): void {
    this.host.stats.reasmFails++;
    this.kill(q);
  }

  /** Linux `ip6frag_expire_frag_queue` */
  expire(q: FragQueue): void {
    const st = this.host.stats;
    st.reasmTimeout++;
    if (q.firstIn && q.frags.length > 0 && q.offs[0] === 0) this.host.fragTimeExceeded(q.frags[0]!);
    this.fail(q);
  }

  /** drops the oldest queues until at most `lowThresh` bytes are held */
  private evict(): void {
    const t = this.table;
    for (let q = t.oldest; q !== null && t.mem > this.lowThresh; q = t.oldest) {
      this.host.stats.reasmEvictions++;
      this.fail(q);
    }
  }

  /**
   * A fragment: `skb.data` at the IPv6 header (= `networkHeader`), trimmed to the datagram,
   * the fragment header linear at `fhOff`; `nhoff` is the offset of the next-header byte that
   * named it. Takes `skb`. Returns the reassembled datagram (data at the IPv6 header, fragment
   * header removed; `outNextHeader` / `outOff` / `outNhoff` say where the walk continues) or null.
   */
  enqueue(skb: SkBuff, src: Addr, dst: Addr, ifindex: number, fhOff: number, nhoff: number): SkBuff | null {
    const st = this.host.stats;
    st.reasmReqds++;
    const d = skb.data;
    const dv = skb.dv;
    const nexthdr = dv.getUint8(d + fhOff);
    const fo = dv.getUint16(d + fhOff + 2);
    const ident = dv.getUint32(d + fhOff + 4);
    const offset = fo & IPV6_FRAG_OFFMASK;
    const more = (fo & IPV6_FRAG_MF) !== 0;
    const fragStart = fhOff + IPV6_FRAG_HLEN;
    const fragLen = skb.len - fragStart;
    const end = offset + fragLen;
    if (end > IPV6_MAX_PAYLOAD) {
      st.inHdrErrors++;
      this.host.paramProb(skb, ICMPV6_HDR_FIELD, fhOff + 2);
      skbFree(skb);
      return null;
    }
    if (more && (fragLen & 7) !== 0) {
      st.inHdrErrors++;
      this.host.paramProb(skb, ICMPV6_HDR_FIELD, 4);
      skbFree(skb);
      return null;
    }
    if (offset === 0 && headersTruncated(skb, fragStart, nexthdr)) {
      st.inHdrErrors++;
      this.host.paramProb(skb, ICMPV6_HDR_INCOMP, 0);
      skbFree(skb);
      return null;
    }
    if (this.table.mem > this.highThresh) this.evict();
    const ifx = isLinkLocal(dst) || isMulticast(dst) ? ifindex : 0;
    let q = this.find(src, dst, ident, ifx);
    if (fragLen === 0) {
      st.reasmFails++;
      if (q !== null) this.kill(q);
      skbFree(skb);
      return null;
    }
    if (q === null) q = this.create(src, dst, ident, ifx);
    // lengths: the last fragment fixes the end; nothing may lie past it
    if (!more) {
      const maxEnd = q.ends.length > 0 ? q.ends[q.ends.length - 1]! : 0;
      if ((q.totalLen >= 0 && end !== q.totalLen) || maxEnd > end) {
        this.fail(q);
        skbFree(skb);
        return null;
      }
    } else if (q.totalLen >= 0 && end > q.totalLen) {
      this.fail(q);
      skbFree(skb);
      return null;
    }
    // place it: duplicates are dropped, overlaps kill the queue (RFC 5722)
    const offs = q.offs;
    const ends = q.ends;
    let j = 0;
    while (j < offs.length && ends[j]! <= offset) j++;
    if (j < offs.length && offs[j]! < end) {
      let covered = offs[j]! <= offset;
      let k = j;
      while (covered && ends[k]! < end) {
        if (k + 1 >= offs.length || offs[k + 1] !== ends[k]) covered = false;
        k++;
      }
      skbFree(skb);
      if (covered) {
        st.reasmDuplicates++;
      } else {
        st.reasmOverlaps++;
        this.fail(q);
      }
      return null;
    }
    if (!more) q.totalLen = end;
    if (offset === 0) {
      q.firstIn = true;
      q.nhoff = nhoff;
      q.unfrag = fhOff;
      q.nextHeader = nexthdr;
    }
    skbPull(skb, fragStart);
    skb.next = null;
    const size = truesize(skb);
    q.frags.splice(j, 0, skb);
    offs.splice(j, 0, offset);
    ends.splice(j, 0, end);
    q.sizes.splice(j, 0, size);
    q.meat += fragLen;
    this.table.charge(q, size);
    if (q.firstIn && q.totalLen >= 0 && q.meat === q.totalLen) return this.reassemble(q);
    return null;
  }

  private reassemble(q: FragQueue): SkBuff | null {
    const st = this.host.stats;
    const unfrag = q.unfrag;
    const payload = unfrag - IPV6_HLEN + q.totalLen;
    if (payload > IPV6_MAX_PAYLOAD) {
      this.fail(q);
      return null;
    }
    const head = q.frags[0]!;
    const nh = head.networkHeader;
    const start = head.macHeader >= 0 && head.macHeader + ETH_HLEN === nh ? head.macHeader : nh;
    head.buf.copyWithin(start + IPV6_FRAG_HLEN, start, nh + unfrag);
    head.macHeader = start !== nh ? head.macHeader + IPV6_FRAG_HLEN : -1;
    const nnh = nh + IPV6_FRAG_HLEN;
    head.networkHeader = nnh;
    skbPush(head, unfrag);
    head.buf[nnh + q.nhoff] = q.nextHeader;
    head.dv.setUint16(nnh + 4, payload);
    // hand the skbs over before killing the queue (kill frees what it still holds)
    const frags = q.frags.slice();
    q.frags.length = 0;
    for (let i = 1; i < frags.length; i++) skbAppendFragList(head, frags[i]!);
    head.ipSummed = CHECKSUM_NONE;
    head.transportHeader = -1;
    this.outNextHeader = q.nextHeader;
    this.outOff = unfrag;
    this.outNhoff = q.nhoff;
    this.kill(q);
    st.reasmOKs++;
    return head;
  }

  /** drops every queue (device down, stack close) */
  flush(): void {
    for (let q = this.table.oldest; q !== null; q = this.table.oldest) this.kill(q);
  }
}

/**
 * RFC 7112 / Linux `ipv6frag_thdr_truncated`: walks the extension headers after the fragment
 * header of a first fragment (`off` relative to `skb.data`, linear bytes only) and returns true
 * when they, or the upper-layer header's first bytes, are not all in the fragment.
 */
function headersTruncated(skb: SkBuff, off: number, nh: number): boolean {
  const len = skb.len;
  for (let i = 0; i < 16; i++) {
    const ext = nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS;
    if (!ext && nh !== IPPROTO_FRAGMENT) break;
    if (off + 8 > len) return true;
    // bytes in unreadable frags cannot be looked at: not provably truncated (Linux: skb_header_pointer fails)
    if (!pskbMayPull(skb, off + 2)) return false;
    const b = skb.buf;
    const d = skb.data;
    const hl = ext ? (b[d + off + 1]! + 1) << 3 : 8;
    nh = b[d + off]!;
    off += hl;
  }
  const need = nh === 6 ? 20 : nh === 17 ? 8 : nh === IPPROTO_ICMPV6 ? 8 : 1;
  return nh !== 59 && off + need > len;
}
