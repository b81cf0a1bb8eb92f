/**
 * IPv4 reassembly (Linux `net/ipv4/ip_fragment.c`; the queue table, timers and memory charge are
 * the shared `../inet-frag.ts`, Linux `inet_fragment.c`).
 *
 * One queue per (source, destination, id, protocol). Limits as Linux's sysctls:
 *  - `ipfrag_high_thresh` 4 MiB / `ipfrag_low_thresh` 3 MiB: fragments are charged (`len` +
 *    `FRAG_TRUESIZE_OVERHEAD`) to the reassembly memory; when a fragment takes it over the high
 *    threshold the oldest queues are evicted until it is under the low one (each `reasmFails`);
 *  - `ipfrag_time` 30 s per queue: on expiry `reasmTimeout` + `reasmFails`, and when fragment 0
 *    arrived an ICMP time exceeded (code 1, "fragment reassembly time exceeded") quoting it;
 *  - overlapping fragments drop the whole queue (`reasmOverlaps`, `reasmFails`; RFC 5722 as
 *    Linux applies it to IPv4), a duplicate — contained in a run of fragments already queued
 *    (a run: fragments that each extended the highest one, as Linux `inet_frag_queue_insert`
 *    keeps them) — is dropped alone; a last fragment that disagrees with the known length, or
 *    data past it, a zero-length fragment, or a datagram over 65535 bytes drop the queue;
 *  - no ICMP is sent about a fragment 0 that came in a link-layer broadcast / multicast frame;
 *  - `ipfrag_max_dist` 64: when more than 64 fragments from the same source arrived since this
 *    queue's previous one, its fragments are dropped (`reasmFails`) and it starts over.
 * The reassembled datagram is one skb: the first fragment (IP header rewritten: total length,
 * no fragment bits, fresh checksum) with the other fragments' payloads chained on its frag list
 * (bytes are never copied, so device-memory payloads stay unreadable and in place).
 *
 * Ownership: `defrag` takes the fragment (data at the IP header, trimmed to its total length,
 * `networkHeader` set) and returns the complete datagram (caller owns) or null. Queue memory
 * returns to zero when every queue completes, expires or is evicted.
 */
import { addrHash } from '../../inet/index.js';
import { CHECKSUM_NONE, CHECKSUM_UNNECESSARY, skbAppendFragList, skbFree, skbPull, skbTrim, type SkBuff } from '../../skb/index.js';
import type { Scheduler, Timer } from '../../time/index.js';
import { csumFinish, csumPartial } from '../../wire/checksum.js';
import { IP_DF, IP_MF, IP_OFFMASK } from '../../wire/ipv4.js';
import { InetFragQueue, InetFragTable } from '../inet-frag.js';
import type { IpStats } from '../types.js';

export interface ReasmParams {
  highThresh: number;
  lowThresh: number;
  timeUs: number;
  maxDist: number;
}

export const REASM_DEFAULTS: Readonly<ReasmParams> = {
  highThresh: 4 * 1024 * 1024,
  lowThresh: 3 * 1024 * 1024,
  timeUs: 30_000_000,
  maxDist: 64,
};

/** bytes charged per fragment on top of its length (struct sk_buff + head, as truesize does) */
export const FRAG_TRUESIZE_OVERHEAD = 256;

const FIRST_IN = 1;
/** FRAG_CB: the fragment continues the previous fragment's run */
const RUN_CONT = 1;
const LAST_IN = 2;

export interface ReasmHost {
  readonly sched: Scheduler;
  readonly stats: IpStats;
  /** ICMP time exceeded / fragment reassembly time exceeded about `skb` (borrowed, fragment 0) */
  sendFragTimeExceeded(skb: SkBuff): void;
}

class Peer {
  rid = 0;
  refs = 0;
}

class Ipq extends InetFragQueue<Ipq> {
  /** fragments sorted by offset, linked through `skb.next`; `seq`/`endSeq` hold offset/end (FRAG_CB) */
  head: SkBuff | null = null;
  /** the fragment with the highest offset (Linux `fragments_tail`) */
  tail: SkBuff | null = null;
  flags = 0;
  /** total payload length once known (largest end seen) */
  len = 0;
  /** payload bytes queued */
  meat = 0;
  rid = 0;
  /** every fragment carried DF */
  allDf = true;
  /** every fragment came CHECKSUM_UNNECESSARY (loopback) */
  allCsumOk = true;
  /** fragment 0 came in a link-layer broadcast / multicast frame: no ICMP about it (Linux pkt_type) */
  firstNotHost = false;
  nfrags = 0;
  dead = false;

  constructor(
    readonly owner: Ipv4Reasm,
    hash: number,
    readonly src: number,
    readonly dst: number,
    readonly id: number,
    readonly proto: number,
    readonly peer: Peer,
  ) {
    super(hash);
  }

  onTimer(_t: Timer): void {
    this.owner.expire(this);
  }
}

export class Ipv4Reasm {
  readonly params: ReasmParams;
  private readonly table: InetFragTable<Ipq>;
  private readonly peers = new Map<number, Peer>();
  private readonly key = { w0: 0, w1: 0, w2: 0, w3: 0 };

  constructor(private readonly host: ReasmHost, params?: Partial<ReasmParams>) {
    this.params = { ...REASM_DEFAULTS, ...params };
    this.table = new InetFragTable(host.sched);
  }

  /** bytes charged to reassembly now */
  get mem(): number {
    return this.table.mem;
  }

  /** queues in progress */
  get queues(): number {
    return this.table.count;
  }

  private hashOf(src: number, dst: number, id: number, proto: number): number {
    const k = this.key;
    k.w0 = src;
    k.w1 = dst;
    k.w2 = id;
    k.w3 = proto;
    return addrHash(k, 0x1f2e3d4c);
  }

  private find(src: number, dst: number, id: number, proto: number): Ipq {
    const h = this.hashOf(src, dst, id, proto);
    for (let q = this.table.chain(h); q !== null; q = q.hashNext) {
      if (q.src === src && q.dst === dst && q.id === id && q.proto === proto) return q;
    }
    let peer = this.peers.get(src);
    if (peer === undefined) {
      peer = new Peer();
      this.peers.set(src, peer);
    }
    const q = new Ipq(this, h, src, dst, id, proto, peer);
    peer.refs++;
    this.table.add(q, this.params.timeUs);
    return q;
  }

  /** frees a queue's fragments and unlinks it (Linux `inet_frag_kill` + put) */
  private kill(q: Ipq): void {
    if (q.dead) return;
    q.dead = true;
    this.freeFrags(q);
    this.table.remove(q);
    if (--q.peer.refs === 0) this.peers.delete(q.src);
  }

  private freeFrags(q: Ipq): void {
    let s = q.head;
    q.head = q.tail = null;
    while (s !== null) {
      const n = s.next;
      s.next = null;
      skbFree(s);
      s = n;
    }
    this.table.uncharge(q);
    q.meat = 0;
    q.nfrags = 0;
  }

  /** Linux `ip_expire` */
  expire(q: Ipq): void {
    if (q.dead) return;
    const st = this.host.stats;
    st.reasmFails++;
    st.reasmTimeout++;
    const first = q.head;
    if ((q.flags & FIRST_IN) !== 0 && first !== null && first.seq === 0 && !q.firstNotHost) {
      this.host.sendFragTimeExceeded(first);
    }
    this.kill(q);
  }

  /** drops every queue (device gone, host closing) */
  clear(): void {
    for (let q = this.table.oldest; q !== null; q = this.table.oldest) this.kill(q);
  }

  /** evicts the oldest queues until memory is under the low threshold (pre-4.17 `inet_frag_evictor`) */
  private evict(): void {
    const st = this.host.stats;
    const t = this.table;
    for (let q = t.oldest; q !== null && t.mem > this.params.lowThresh; q = t.oldest) {
      st.reasmFails++;
      this.kill(q);
    }
  }

  /**
   * takes a fragment; returns the reassembled datagram or null (see the module contract).
   * `notHost`: it came in a link-layer broadcast or multicast frame.
   */
  defrag(skb: SkBuff, notHost = false): SkBuff | null {
    const st = this.host.stats;
    st.reasmReqds++;
    const nh = skb.networkHeader;
    const dv = skb.dv;
    const ihl = (skb.buf[nh]! & 0x0f) << 2;
    const fragWord = dv.getUint16(nh + 6);
    const q = this.find(dv.getUint32(nh + 12), dv.getUint32(nh + 16), dv.getUint16(nh + 4), skb.buf[nh + 9]!);
    // ipfrag_max_dist
    if (this.params.maxDist > 0) {
      const start = q.rid;
      const end = ++q.peer.rid;
      q.rid = end;
      if (q.head !== null && end - start > this.params.maxDist) {
        st.reasmFails++;
        this.freeFrags(q);
        q.flags = 0;
        q.len = 0;
        q.allDf = true;
        q.allCsumOk = true;
        this.table.rearm(q, this.params.timeUs);
      }
    }
    const offset = (fragWord & IP_OFFMASK) << 3;
    const plen = skb.len - ihl;
    let end = offset + plen;
    if ((fragWord & IP_MF) === 0) {
      // the last fragment: the length must agree with what is known
      if (end < q.len || ((q.flags & LAST_IN) !== 0 && end !== q.len)) return this.discardQueue(q, skb);
      q.flags |= LAST_IN;
      q.len = end;
    } else {
      if ((end & 7) !== 0) {
        end &= ~7;
        if (skb.ipSummed !== CHECKSUM_UNNECESSARY) skb.ipSummed = CHECKSUM_NONE;
      }
      if (end > q.len) {
        if ((q.flags & LAST_IN) !== 0) return this.discardQueue(q, skb);
        q.len = end;
      }
    }
    if (end === offset) return this.discardQueue(q, skb);
    if (ihl + end > 0xffff) return this.discardQueue(q, skb);
    if (end - offset < plen) skbTrim(skb, ihl + (end - offset));
    // Linux inet_frag_queue_insert: fragments form runs (a fragment that extends the last one
    // joins its run, `tcpFlags` = RUN_CONT); one that lies inside a run is a duplicate (dropped
    // alone), one that touches a run otherwise overlaps (the queue is dropped)
    let prev: SkBuff | null = q.tail;
    let cur: SkBuff | null = null;
    let runStart = 0;
    if (prev !== null && prev.endSeq > offset) {
      // not past the highest fragment (the common case): walk from the start
      prev = null;
      cur = q.head;
      while (cur !== null && cur.endSeq <= offset) {
        if (cur.tcpFlags !== RUN_CONT) runStart = cur.seq;
        prev = cur;
        cur = cur.next;
      }
    }
    if (cur !== null && cur.seq < end) {
      if (cur.tcpFlags !== RUN_CONT) runStart = cur.seq;
      let runLast = cur;
      while (runLast.next !== null && runLast.next.tcpFlags === RUN_CONT) runLast = runLast.next;
      if (offset >= runStart && end <= runLast.endSeq) {
        skbFree(skb);
        return null;
      }
      st.reasmOverlaps++;
      return this.discardQueue(q, skb);
    }
    skb.seq = offset;
    skb.endSeq = end;
    skb.tcpFlags = cur === null && prev !== null && prev.endSeq === offset ? RUN_CONT : 0;
    skb.next = cur;
    if (prev === null) q.head = skb;
    else prev.next = skb;
    if (cur === null) q.tail = skb;
    q.nfrags++;
    q.meat += end - offset;
    this.table.charge(q, skb.len + FRAG_TRUESIZE_OVERHEAD);
    if ((fragWord & IP_DF) === 0) q.allDf = false;
    if (skb.ipSummed !== CHECKSUM_UNNECESSARY) q.allCsumOk = false;
    if (offset === 0) {
      q.flags |= FIRST_IN;
      q.firstNotHost = notHost;
    }
    if (q.flags === (FIRST_IN | LAST_IN) && q.meat === q.len) return this.reasm(q);
    if (this.table.mem > this.params.highThresh) this.evict();
    return null;
  }

  /** drops the queue and the fragment that condemned it */
  private discardQueue(q: Ipq, skb: SkBuff): null {
    this.host.stats.reasmFails++;
    this.kill(q);
    skbFree(skb);
    return null;
  }

  /** Linux `ip_frag_reasm`: the first fragment becomes the datagram, the others its frag list */
  private reasm(q: Ipq): SkBuff {
    const st = this.host.stats;
    const head = q.head!;
    let rest = head.next;
    head.next = null;
    q.head = q.tail = null;
    this.table.uncharge(q);
    const allDf = q.allDf;
    const csumOk = q.allCsumOk;
    this.kill(q);
    const nh = head.networkHeader;
    const ihl = (head.buf[nh]! & 0x0f) << 2;
    while (rest !== null) {
      const n = rest.next;
      rest.next = null;
      rest.tcpFlags = 0;
      const rihl = (rest.buf[rest.networkHeader]! & 0x0f) << 2;
      skbPull(rest, rihl);
      skbAppendFragList(head, rest);
      rest = n;
    }
    head.seq = head.endSeq = head.tcpFlags = 0;
    const dv = head.dv;
    dv.setUint16(nh + 2, head.len);
    dv.setUint16(nh + 6, allDf ? IP_DF : 0);
    dv.setUint16(nh + 10, 0);
    dv.setUint16(nh + 10, csumFinish(csumPartial(head.buf, dv, nh, ihl, 0)));
    head.ipSummed = csumOk ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
    st.reasmOKs++;
    return head;
  }
}
