/**
 * `NetDevice`: the NIC model. RX: a frame from the link is classified (n-tuple rule, else RSS
 * over the 4-tuple), split (headers → a host buffer from the queue's header pool, payload → the
 * queue's page pool, which may be backed by device memory), checksum-verified, and handed up as
 * an `SkBuff`. TX: the stack hands over a complete frame; the NIC finishes a CHECKSUM_PARTIAL
 * checksum and gives the frame to the link. Queues restart (new page pools) when a memory
 * provider is installed or removed, through the queue-management ops.
 *
 * Ownership: `xmit` takes the skb; `receiveFrame` borrows the frame (the NIC copies it, as DMA
 * does) and the link frees it. Skbs passed to `rxHandler` belong to the handler.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { csumBlockAdd, csumFinish, csumFold, csumPartial, pseudoHeaderSumV4 } from '../wire/checksum.js';
import { ETH_HLEN, ETH_P_IP } from '../wire/ethernet.js';
import {
  HostPageProvider, PP_FLAG_ALLOW_UNREADABLE_NETMEM, PP_FLAG_DMA_MAP, PP_FLAG_DMA_SYNC_DEV,
  PageFragCarver, PagePool, netmemIsNetIov, type MemSpace, type MemoryProvider,
} from '../mem/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, MAX_SKB_FRAGS, skbAddFrag, skbChecksum, skbCopyBits, skbFree, skbPut, skbTryCoalesce,
  type SkBuff, type SkbCache,
} from '../skb/index.js';
import { Timer, type Scheduler, type TimerTarget } from '../time/index.js';
import { ERRNO } from '../uapi/index.js';
import { NtupleTable } from './ntuple.js';
import { newDeviceCounters, newRxQueueStats, newTxQueueStats, type DeviceCounters, type RxQueueStats, type TxQueueStats } from './qstats.js';
import { RSS_INDIR_SIZE, ToeplitzHasher, fillIndirEqual } from './rss.js';

/** the network layer's entry point (Linux `netif_receive_skb`); takes ownership of the skb */
export interface RxHandler {
  netifReceive(skb: SkBuff, dev: NetDevice): void;
}

/** where a device sends frames; takes ownership of the skb */
export interface LinkPort {
  transmit(skb: SkBuff, from: NetDevice): void;
}

/** a packet tap (tcpdump / AF_PACKET); borrows the skb for the call */
export interface PacketTap {
  tap(skb: SkBuff, dir: 'rx' | 'tx', dev: NetDevice): void;
}

/** `ETHTOOL_A_RINGS_TCP_DATA_SPLIT`: unknown (driver default) / disabled / enabled */
export type TcpDataSplit = 'unknown' | 'off' | 'on';

export interface NetDeviceOptions {
  rxQueues?: number;
  txQueues?: number;
  mtu?: number;
  mac?: number;
  /** driver implements the queue-management ops (needed for memory providers); default true */
  queueMgmt?: boolean;
  /** driver creates its payload page pools from the rx queue's memory provider; default true (false → ENODATA at bind) */
  honorsMemoryProvider?: boolean;
  /** driver supports netmem TX (`bind-tx`); default true */
  netmemTx?: boolean;
  /** header buffer size per packet; default 256 */
  headerBufSize?: number;
  /** recycle ring entries of each payload page pool; default 1024 */
  ringSize?: number;
}

export const HDR_BUF_SIZE = 256;
export const MAX_MTU = 65535;

/** one rx queue: its memory provider parameters, page pools, buffer carvers and stats */
export class RxQueue {
  /** installed memory provider (Linux `rxq->mp_params`), null for ordinary pages */
  mpProvider: MemoryProvider | null = null;
  pool: PagePool;
  hdrPool: PagePool;
  payload: PageFragCarver;
  header: PageFragCarver;
  readonly stats: RxQueueStats = newRxQueueStats();
  napiId: number;
  // GRO: one flow being merged (Linux keeps up to 8 per NAPI; one is enough for bulk flows)
  groSkb: SkBuff | null = null;
  groSrc = 0;
  groDst = 0;
  groPorts = 0;
  groNextSeq = 0;
  groAck = 0;
  groFlags = 0;
  groDoff = 0;
  groMss = 0;
  groSegs = 0;
  /** absolute offset of the held skb's TCP header */
  groTh = 0;

  constructor(readonly dev: NetDevice, readonly idx: number) {
    this.napiId = dev.napiBase + idx;
    const mem = dev.mem;
    this.pool = dev.createPayloadPool(this);
    this.hdrPool = dev.createHeaderPool(this);
    this.payload = new PageFragCarver(mem, this.pool, 64);
    this.header = new PageFragCarver(mem, this.hdrPool, 64);
  }
}

export class TxQueue {
  readonly stats: TxQueueStats = newTxQueueStats();
  constructor(readonly idx: number) {}
}

let nextNapiBase = 1;

export class NetDevice implements TimerTarget {
  readonly name: string;
  ifindex: number;
  mac: number;
  mtu: number;
  up = true;
  /** device present (not unregistered) */
  present = true;
  readonly rxQueues: RxQueue[] = [];
  readonly txQueues: TxQueue[] = [];
  readonly counters: DeviceCounters = newDeviceCounters();
  tcpDataSplit: TcpDataSplit = 'unknown';
  hdsThresh = 0;
  /** a NIC that does not parse headers splits at this fixed offset (0 = split at the L4 payload) */
  hdsFixedSplit = 0;
  rxChecksum = true;
  /** software GRO of TCP segments (ethtool -K gro), flushed at the end of each rx batch */
  gro = true;
  /** TCP segmentation offload (ethtool -K tso): the NIC cuts GSO skbs into MSS-sized frames */
  tso = true;
  /** largest GSO skb the stack may hand over (Linux gso_max_size) */
  readonly gsoMaxSize = 65536;
  xdpAttached = false;
  readonly queueMgmt: boolean;
  readonly honorsMemoryProvider: boolean;
  readonly netmemTx: boolean;
  readonly headerBufSize: number;
  readonly ringSize: number;
  readonly ntuple = new NtupleTable();
  readonly indir = new Int32Array(RSS_INDIR_SIZE);
  rssHasher = new ToeplitzHasher();
  link: LinkPort | null = null;
  rxHandler: RxHandler | null = null;
  readonly taps: PacketTap[] = [];
  readonly napiBase: number;
  /** payload pools of previous queue generations (detached, still draining) */
  readonly oldPools: PagePool[] = [];
  private readonly groTimer: Timer;
  private readonly scratch = new Uint8Array(HDR_BUF_SIZE);
  private readonly scratchDv = new DataView(this.scratch.buffer);

  constructor(
    readonly mem: MemSpace,
    readonly skbs: SkbCache,
    readonly sched: Scheduler,
    name: string,
    ifindex: number,
    opts: NetDeviceOptions = {},
  ) {
    this.name = name;
    this.ifindex = ifindex;
    this.mac = opts.mac ?? 0x020000000000 + ifindex;
    this.mtu = opts.mtu ?? 1500;
    if (!(this.mtu >= 68 && this.mtu <= MAX_MTU)) throw new RangeError(`mtu must be within 68..${MAX_MTU}`);
    this.queueMgmt = opts.queueMgmt ?? true;
    this.honorsMemoryProvider = opts.honorsMemoryProvider ?? true;
    this.netmemTx = opts.netmemTx ?? true;
    this.headerBufSize = opts.headerBufSize ?? HDR_BUF_SIZE;
    this.ringSize = opts.ringSize ?? 1024;
    this.groTimer = new Timer(this, 0);
    this.napiBase = nextNapiBase;
    const nrx = opts.rxQueues ?? 1;
    const ntx = opts.txQueues ?? nrx;
    nextNapiBase += Math.max(nrx, 1) + 8;
    for (let i = 0; i < nrx; i++) this.rxQueues.push(new RxQueue(this, i));
    for (let i = 0; i < ntx; i++) this.txQueues.push(new TxQueue(i));
    fillIndirEqual(this.indir, nrx);
  }

  // ---- page pools (driver side) ----

  /** the driver's payload page pool for `rxq`, picking up the queue's memory provider */
  createPayloadPool(rxq: RxQueue): PagePool {
    const honours = this.honorsMemoryProvider;
    const provider = honours && rxq.mpProvider ? rxq.mpProvider : new HostPageProvider(this.mem);
    const pool = new PagePool(this.mem, provider, {
      flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | (honours ? PP_FLAG_ALLOW_UNREADABLE_NETMEM : 0),
      ifindex: this.ifindex,
      queueIdx: rxq.idx,
      ringSize: this.ringSize,
      napiId: rxq.napiId,
    });
    pool.init();
    return pool;
  }

  createHeaderPool(rxq: RxQueue): PagePool {
    const pool = new PagePool(this.mem, new HostPageProvider(this.mem), {
      flags: PP_FLAG_DMA_MAP, ifindex: this.ifindex, queueIdx: rxq.idx, ringSize: 256, napiId: rxq.napiId,
    });
    pool.init();
    return pool;
  }

  /**
   * Restarts rx queue `idx` with fresh page pools that pick up `rxq.mpProvider` (Linux
   * `netdev_rx_queue_restart`). Returns 0 or a negative errno (EOPNOTSUPP without queue ops,
   * ENODATA when the driver did not adopt the provider).
   */
  restartRxQueue(idx: number): number {
    if (!this.queueMgmt) return -ERRNO.EOPNOTSUPP;
    const rxq = this.rxQueues[idx];
    if (rxq === undefined) return -ERRNO.ERANGE;
    const pool = this.createPayloadPool(rxq);
    const hdrPool = this.createHeaderPool(rxq);
    this.groFlush(rxq);
    if (rxq.mpProvider !== null && pool.provider !== rxq.mpProvider) {
      pool.destroy(this.nowSeconds());
      hdrPool.destroy(this.nowSeconds());
      return -ERRNO.ENODATA;
    }
    this.retireQueueMem(rxq);
    rxq.pool = pool;
    rxq.hdrPool = hdrPool;
    rxq.payload = new PageFragCarver(this.mem, pool, 64);
    rxq.header = new PageFragCarver(this.mem, hdrPool, 64);
    return 0;
  }

  private retireQueueMem(rxq: RxQueue): void {
    rxq.payload.flush();
    rxq.header.flush();
    const now = this.nowSeconds();
    rxq.pool.destroy(now);
    rxq.hdrPool.destroy(now);
    if (!rxq.pool.freed) {
      const old = rxq.pool;
      this.oldPools.push(old);
      old.onFreed = (p) => {
        const i = this.oldPools.indexOf(p);
        if (i >= 0) this.oldPools.splice(i, 1);
      };
    }
  }

  nowSeconds(): number {
    return this.sched.now() / 1e6;
  }

  /** changes the number of rx queues (ethtool -L); returns 0 or -errno */
  setRxQueueCount(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 256) return -ERRNO.EINVAL;
    for (let i = n; i < this.rxQueues.length; i++) {
      if (this.rxQueues[i]!.mpProvider !== null) return -ERRNO.EINVAL;
    }
    for (const q of this.rxQueues) this.groFlush(q);
    while (this.rxQueues.length > n) this.retireQueueMem(this.rxQueues.pop()!);
    while (this.rxQueues.length < n) this.rxQueues.push(new RxQueue(this, this.rxQueues.length));
    for (let i = 0; i < this.indir.length; i++) if (this.indir[i]! >= n) this.indir[i] = i % n;
    return 0;
  }

  /** true when any rx queue has a memory provider installed */
  hasMemoryProvider(): boolean {
    return this.rxQueues.some((q) => q.mpProvider !== null);
  }

  // ---- RX ----

  /**
   * A frame arrives from the link. Borrows `frame` (readable); copies it into this host's
   * buffers and hands the resulting skb up. `fcsOk` false means the frame was corrupted on the
   * wire and fails the Ethernet FCS check.
   */
  receiveFrame(frame: SkBuff, fcsOk = true): void {
    if (!this.up || !this.present) {
      this.counters.rxDropped++;
      return;
    }
    const flen = frame.len;
    if (!fcsOk) {
      this.counters.rxCrcErrors++;
      return;
    }
    if (flen < ETH_HLEN || flen > this.mtu + ETH_HLEN) {
      this.counters.rxLengthErrors++;
      return;
    }
    // parse from the frame head when it holds the headers, else from a scratch copy
    let hb = frame.buf;
    let hdv = frame.dv;
    let ho = frame.data;
    let hl = frame.tail - frame.data;
    if (hl < flen && hl < HDR_BUF_SIZE && !headersInHead(frame, hl)) {
      const n = Math.min(flen, HDR_BUF_SIZE);
      if (skbCopyBits(frame, 0, this.scratch, 0, n) !== 0) {
        this.counters.rxDropped++;
        return;
      }
      hb = this.scratch;
      hdv = this.scratchDv;
      ho = 0;
      hl = n;
    }
    const etherType = hdv.getUint16(ho + 12);
    let l3 = -1;
    let l4 = -1;
    let proto = 0;
    let src = 0;
    let dst = 0;
    let sport = 0;
    let dport = 0;
    let split = flen; // where the payload starts (frame offset)
    let ipTotal = 0;
    if (etherType === ETH_P_IP && hl >= ETH_HLEN + 20) {
      l3 = ETH_HLEN;
      const vihl = hdv.getUint8(ho + l3);
      const ihl = (vihl & 0x0f) * 4;
      ipTotal = hdv.getUint16(ho + l3 + 2);
      if (vihl >> 4 === 4 && ihl >= 20 && hl >= l3 + ihl && ipTotal >= ihl && l3 + ipTotal <= flen) {
        proto = hdv.getUint8(ho + l3 + 9);
        src = hdv.getUint32(ho + l3 + 12);
        dst = hdv.getUint32(ho + l3 + 16);
        const frag = hdv.getUint16(ho + l3 + 6) & 0x3fff;
        split = l3 + ihl;
        if (frag === 0) {
          l4 = l3 + ihl;
          if (proto === IPPROTO_TCP && hl >= l4 + 20) {
            const doff = (hdv.getUint8(ho + l4 + 12) >> 4) * 4;
            sport = hdv.getUint16(ho + l4);
            dport = hdv.getUint16(ho + l4 + 2);
            if (doff >= 20 && l4 + doff <= l3 + ipTotal && hl >= l4 + doff) split = l4 + doff;
            else split = flen; // malformed: keep it all in the head, the stack drops it
          } else if (proto === IPPROTO_UDP && hl >= l4 + 8) {
            sport = hdv.getUint16(ho + l4);
            dport = hdv.getUint16(ho + l4 + 2);
            split = l4 + 8;
          }
        }
      } else {
        l3 = -1;
        split = flen;
      }
    }
    // queue selection: n-tuple rule, else RSS
    let q = 0;
    let hash = 0;
    if (l3 >= 0) {
      const ports = l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP);
      const rule = ports && this.ntuple.rules.length > 0 ? this.ntuple.match(proto, src, dst, sport, dport) : -2;
      if (rule === -1) {
        this.counters.rxDropped++;
        return;
      }
      if (rule >= 0 && rule < this.rxQueues.length) {
        q = rule;
      } else {
        hash = this.rssHasher.hashV4(src, dst, sport, dport, ports);
        q = this.indir[hash & (RSS_INDIR_SIZE - 1)]!;
      }
    }
    const rxq = this.rxQueues[q]!;
    // header/data split
    let hlen: number;
    if (this.tcpDataSplit !== 'on') {
      // no split: the driver copies up to a header buffer's worth into the head (copybreak)
      hlen = Math.min(flen, split, this.headerBufSize);
    } else if (this.hdsThresh > 0 && flen <= this.hdsThresh) {
      hlen = Math.min(flen, this.headerBufSize);
    } else if (this.hdsFixedSplit > 0) {
      hlen = Math.min(flen, this.hdsFixedSplit, this.headerBufSize);
    } else {
      hlen = Math.min(split, this.headerBufSize);
    }
    if (hlen > this.headerBufSize) hlen = this.headerBufSize;
    if (rxq.header.carve(this.headerBufSize, true) === 0) {
      rxq.stats.rxAllocFail++;
      rxq.stats.rxHwDrops++;
      return;
    }
    const skb = this.skbs.allocOnPage(rxq.header.ref, rxq.header.off, this.headerBufSize, 0);
    // DMA the header bytes
    if (hb === frame.buf && hl >= hlen) {
      skb.buf.set(hb.subarray(ho, ho + hlen), skb.data);
    } else {
      skbCopyBits(frame, 0, skb.buf, skb.data, hlen);
    }
    skb.tail = skb.data + hlen;
    skb.len = hlen;
    // DMA the payload into page-pool buffers
    let off = hlen;
    const mem = this.mem;
    while (off < flen) {
      const want = flen - off;
      const n = skb.nrFrags < MAX_SKB_FRAGS ? rxq.payload.carve(want, false) : 0;
      if (n === 0) {
        rxq.stats.rxAllocFail++;
        rxq.stats.rxHwDrops++;
        skbFree(skb);
        return;
      }
      const ref = rxq.payload.ref;
      const poff = rxq.payload.off;
      if (netmemIsNetIov(ref)) dmaFrameToNetIov(mem, frame, off, ref, poff, n);
      else skbCopyBits(frame, off, mem.buf(ref), mem.offset(ref) + poff, n);
      skbAddFrag(skb, ref, poff, n);
      off += n;
    }
    // checksum offload: verify L4 over the frame bytes
    skb.ipSummed = CHECKSUM_NONE;
    if (this.rxChecksum && l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)) {
      const l4len = l3 + ipTotal - l4;
      const udpNoCsum = proto === IPPROTO_UDP && frame.len >= l4 + 8 && readU16(frame, l4 + 6, this.scratchDv, this.scratch) === 0;
      if (udpNoCsum) {
        rxq.stats.rxCsumNone++;
      } else {
        const fhead = frame.tail - frame.data;
        let sum: number;
        if (frame.fragCsumValid && l4 + l4len === flen && l4 <= fhead) {
          // frag bytes unchanged since the sending NIC summed them: reuse that sum, verify the
          // headers and the pseudo-header from the bytes
          sum = csumPartial(frame.buf, frame.dv, frame.data + l4, fhead - l4, pseudoHeaderSumV4(src, dst, proto, l4len));
          sum = csumBlockAdd(sum, frame.fragCsum, fhead - l4);
        } else {
          sum = skbChecksum(frame, l4, l4len, pseudoHeaderSumV4(src, dst, proto, l4len));
        }
        if (csumFold(sum) === 0xffff) {
          skb.ipSummed = CHECKSUM_UNNECESSARY;
          rxq.stats.rxCsumUnnecessary++;
        } else {
          rxq.stats.rxCsumBad++;
        }
      }
    } else {
      rxq.stats.rxCsumNone++;
    }
    skb.protocol = etherType;
    skb.macHeader = skb.data;
    skb.queueMapping = q;
    skb.hash = hash;
    skb.ifindex = this.ifindex;
    rxq.stats.rxPackets++;
    rxq.stats.rxBytes += flen;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!.tap(skb, 'rx', this);
    if (
      this.gro && proto === IPPROTO_TCP && l4 === ETH_HLEN + 20 && hlen === split && split > l4 && l3 + ipTotal === flen &&
      skb.ipSummed === CHECKSUM_UNNECESSARY
    ) {
      this.groReceive(rxq, skb, src, dst, (sport << 16) | dport, l4, split - l4, flen - split);
      return;
    }
    if (rxq.groSkb !== null) this.groFlush(rxq);
    this.deliver(skb);
  }

  private deliver(skb: SkBuff): void {
    const h = this.rxHandler;
    if (h === null) {
      this.counters.rxNoHandler++;
      skbFree(skb);
      return;
    }
    h.netifReceive(skb, this);
  }

  /**
   * Software GRO (Linux `tcp_gro_receive`): merges consecutive segments of one TCP flow into one
   * skb by moving frag references (never bytes, so unreadable payload merges too). A segment
   * joins when it continues the sequence, has the same ACK, flags (but PSH) and options, is no
   * longer than the first, shares readability and the frags fit; PSH or a short segment closes
   * the train. `l4` is the TCP header offset in the frame, `doff` its length.
   */
  private groReceive(rxq: RxQueue, skb: SkBuff, src: number, dst: number, ports: number, l4: number, doff: number, payload: number): void {
    const b = skb.buf;
    const th = skb.data + l4;
    const dv = skb.dv;
    const flags = b[th + 13]!;
    const seq = dv.getUint32(th + 4);
    const ack = dv.getUint32(th + 8);
    const held = rxq.groSkb;
    if (held !== null) {
      if (
        payload > 0 && rxq.groSrc === src && rxq.groDst === dst && rxq.groPorts === ports && rxq.groNextSeq === seq &&
        rxq.groAck === ack && rxq.groDoff === doff && (flags & ~0x08) === (rxq.groFlags & ~0x08) && payload <= rxq.groMss &&
        // Linux inet_gro_receive / tcp_gro_receive: same TOS and TTL, same window
        b[th - 19] === held.buf[rxq.groTh - 19] && b[th - 12] === held.buf[rxq.groTh - 12] &&
        dv.getUint16(th + 14) === held.dv.getUint16(rxq.groTh + 14) &&
        held.unreadable === skb.unreadable && held.nrFrags + skb.nrFrags <= MAX_SKB_FRAGS && sameOptions(held.buf, rxq.groTh, b, th, doff)
      ) {
        skb.data += l4 + doff;
        skb.len -= l4 + doff;
        skbTryCoalesce(held, skb);
        skbFree(skb);
        rxq.groNextSeq = (seq + payload) >>> 0;
        rxq.groSegs++;
        if (flags & 0x08) held.buf[rxq.groTh + 13] = held.buf[rxq.groTh + 13]! | 0x08;
        if (payload < rxq.groMss || flags & 0x08) this.groFlush(rxq);
        return;
      }
      this.groFlush(rxq);
    }
    if (payload === 0 || flags & 0x27 /* FIN SYN RST URG */) {
      this.deliver(skb);
      return;
    }
    rxq.groSkb = skb;
    rxq.groSrc = src;
    rxq.groDst = dst;
    rxq.groPorts = ports;
    rxq.groNextSeq = (seq + payload) >>> 0;
    rxq.groAck = ack;
    rxq.groFlags = flags;
    rxq.groDoff = doff;
    rxq.groMss = payload;
    rxq.groSegs = 1;
    rxq.groTh = th;
    if (flags & 0x08) this.groFlush(rxq);
    else if (!this.groTimer.armed) this.sched.arm(this.groTimer, this.sched.now());
  }

  /** completes and delivers the merged skb of `rxq` (Linux `napi_gro_complete`) */
  groFlush(rxq: RxQueue): void {
    const skb = rxq.groSkb;
    if (skb === null) return;
    rxq.groSkb = null;
    if (rxq.groSegs > 1) {
      // the head's IPv4 header now describes the whole train
      const ip = skb.data + ETH_HLEN;
      skb.dv.setUint16(ip + 2, skb.len - ETH_HLEN);
      skb.dv.setUint16(ip + 10, 0);
      skb.dv.setUint16(ip + 10, csumFinish(csumPartial(skb.buf, skb.dv, ip, 20, 0)));
      skb.gsoSize = rxq.groMss;
    }
    this.deliver(skb);
  }

  /** end of the rx batch ("NAPI poll"): flush every queue's GRO train */
  onTimer(_t: Timer): void {
    for (let i = 0; i < this.rxQueues.length; i++) if (this.rxQueues[i]!.groSkb !== null) this.groFlush(this.rxQueues[i]!);
  }

  // ---- TX ----

  /** sends a complete Ethernet frame; takes ownership of `skb` */
  xmit(skb: SkBuff, txq = 0): void {
    const q = this.txQueues[txq] ?? this.txQueues[0]!;
    if (!this.up || !this.present || this.link === null) {
      this.counters.txDropped++;
      skbFree(skb);
      return;
    }
    if (skb.gsoSize > 0 && skb.len > this.mtu + ETH_HLEN && this.tso && !skb.unreadable) {
      this.xmitGso(skb, q);
      return;
    }
    this.xmitOne(skb, q);
  }

  /**
   * TSO (Linux `skb_segment` done by the NIC): cuts a GSO TCP skb into MSS-sized frames. Each
   * frame gets a copy of the headers with its IPv4 total length, id and checksum, TCP sequence
   * number, flags (FIN/PSH only on the last) and pseudo-header sum, and frag references to its
   * slice of the payload. Takes ownership of `skb`.
   */
  private xmitGso(skb: SkBuff, q: TxQueue): void {
    const hdrLen = skb.tail - skb.data;
    const b = skb.buf;
    const dv = skb.dv;
    const ip = skb.data + ETH_HLEN;
    const ihl = (b[ip]! & 0x0f) << 2;
    const th = ip + ihl;
    if (b[ip + 9] !== IPPROTO_TCP || th + 20 > skb.tail) {
      q.stats.txHwDropErrors++;
      skbFree(skb);
      return;
    }
    const doff = (b[th + 12]! >> 4) << 2;
    const mss = skb.gsoSize;
    const payload = skb.len - hdrLen;
    const seq0 = dv.getUint32(th + 4);
    const flags0 = b[th + 13]!;
    const id0 = dv.getUint16(ip + 4);
    const src = dv.getUint32(ip + 12);
    const dst = dv.getUint32(ip + 16);
    const mem = skb.mem;
    let fi = 0;
    let fpos = 0;
    q.stats.txHwGsoPackets++;
    q.stats.txHwGsoBytes += skb.len;
    for (let off = 0, i = 0; off < payload; off += mss, i++) {
      const n = payload - off < mss ? payload - off : mss;
      const seg = this.skbs.alloc(hdrLen, 0);
      if (seg === null) break;
      skbPut(seg, hdrLen);
      seg.buf.set(b.subarray(skb.data, skb.tail), seg.data);
      const sdv = seg.dv;
      const sip = seg.data + ETH_HLEN;
      const sth = sip + ihl;
      sdv.setUint16(sip + 2, ihl + doff + n);
      sdv.setUint16(sip + 4, (id0 + i) & 0xffff);
      sdv.setUint16(sip + 10, 0);
      sdv.setUint16(sip + 10, csumFinish(csumPartial(seg.buf, sdv, sip, ihl, 0)));
      sdv.setUint32(sth + 4, (seq0 + off) >>> 0);
      if (off + n < payload) seg.buf[sth + 13] = flags0 & ~0x09; // no FIN, no PSH before the end
      sdv.setUint16(sth + 16, csumFold(pseudoHeaderSumV4(src, dst, IPPROTO_TCP, doff + n)));
      let left = n;
      while (left > 0) {
        const flen = skb.fragLen[fi]!;
        const k = flen - fpos < left ? flen - fpos : left;
        const ref = skb.fragRef[fi]!;
        mem.get(ref);
        skbAddFrag(seg, ref, skb.fragOff[fi]! + fpos, k);
        left -= k;
        fpos += k;
        if (fpos === flen) {
          fi++;
          fpos = 0;
        }
      }
      seg.protocol = skb.protocol;
      seg.ifindex = skb.ifindex;
      seg.ipSummed = CHECKSUM_PARTIAL;
      seg.csumStart = sth;
      seg.csumOffset = 16;
      q.stats.txHwGsoWirePackets++;
      q.stats.txHwGsoWireBytes += seg.len;
      this.xmitOne(seg, q);
    }
    skbFree(skb);
  }

  private xmitOne(skb: SkBuff, q: TxQueue): void {
    if (this.link === null) {
      skbFree(skb);
      return;
    }
    if (skb.len > this.mtu + ETH_HLEN) {
      q.stats.txHwDropErrors++;
      this.counters.txDropped++;
      skbFree(skb);
      return;
    }
    if (skb.unreadable && !this.netmemTx) {
      // validate_xmit_unreadable_skb: silent drop
      q.stats.txHwDrops++;
      skbFree(skb);
      return;
    }
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      q.stats.txNeedsCsum++;
      // sum the linear part and the frags separately, keeping the frag sum with the frame so
      // that a receiving NIC can verify without re-reading unchanged payload bytes
      const start = skb.csumStart - skb.data;
      const headlen = skb.tail - skb.data;
      let sum = csumPartial(skb.buf, skb.dv, skb.csumStart, headlen - start, 0);
      if (skb.dataLen > 0 && !skb.unreadable) {
        const fsum = skbChecksum(skb, headlen, skb.dataLen, 0);
        skb.fragCsum = fsum;
        skb.fragCsumValid = true;
        sum = csumBlockAdd(sum, fsum, headlen - start);
      } else if (skb.dataLen > 0) {
        // device-memory frags: the NIC reads them over DMA, as it does to send them
        sum = csumBlockAdd(sum, this.dmaChecksumFrags(skb), headlen - start);
      }
      skb.dv.setUint16(skb.csumStart + skb.csumOffset, csumFinish(sum));
      skb.ipSummed = CHECKSUM_NONE;
    } else {
      q.stats.txCsumNone++;
    }
    q.stats.txPackets++;
    q.stats.txBytes += skb.len;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!.tap(skb, 'tx', this);
    this.link.transmit(skb, this);
  }

  /** checksum accumulator of all frag bytes of `skb`, reading net_iovs through DMA */
  private dmaChecksumFrags(skb: SkBuff): number {
    const mem = skb.mem;
    let sum = 0;
    let pos = 0;
    for (let i = 0; i < skb.nrFrags; i++) {
      const ref = skb.fragRef[i]!;
      const len = skb.fragLen[i]!;
      let part: number;
      if (netmemIsNetIov(ref)) {
        part = 0;
        for (let done = 0; done < len; ) {
          const n = Math.min(len - done, this.scratch.length);
          mem.dmaFromNetIov(ref, skb.fragOff[i]! + done, this.scratch, 0, n);
          part = csumBlockAdd(part, csumPartial(this.scratch, this.scratchDv, 0, n, 0), done);
          done += n;
        }
      } else {
        const o = mem.offset(ref) + skb.fragOff[i]!;
        part = csumPartial(mem.buf(ref), mem.dv(ref), o, len, 0);
      }
      sum = csumBlockAdd(sum, part, pos);
      pos += len;
    }
    return sum;
  }

  // ---- configuration (ethtool) ----

  /** `ethtool -G tcp-data-split / hds-thresh`; refused while a memory provider needs them */
  setRings(cfg: { tcpDataSplit?: TcpDataSplit; hdsThresh?: number }): number {
    const split = cfg.tcpDataSplit ?? this.tcpDataSplit;
    const thresh = cfg.hdsThresh ?? this.hdsThresh;
    if (!Number.isInteger(thresh) || thresh < 0 || thresh > this.headerBufSize) return -ERRNO.EINVAL;
    if (this.hasMemoryProvider() && (split !== 'on' || thresh !== 0)) return -ERRNO.EINVAL;
    this.tcpDataSplit = split;
    this.hdsThresh = thresh;
    return 0;
  }

  /** `ethtool -X equal n` (queues 0..n-1 in the indirection table) */
  setRssEqual(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > this.rxQueues.length) return -ERRNO.EINVAL;
    fillIndirEqual(this.indir, n);
    return 0;
  }

  /** sets the whole indirection table */
  setRssIndir(table: ArrayLike<number>): number {
    if (table.length !== this.indir.length) return -ERRNO.EINVAL;
    for (let i = 0; i < table.length; i++) {
      const q = table[i]!;
      if (!Number.isInteger(q) || q < 0 || q >= this.rxQueues.length) return -ERRNO.EINVAL;
    }
    for (let i = 0; i < table.length; i++) this.indir[i] = table[i]!;
    return 0;
  }
}

/** DMA `n` frame bytes at `frameOff` into net_iov `ref` at `pageOff` */
function dmaFrameToNetIov(mem: MemSpace, frame: SkBuff, frameOff: number, ref: number, pageOff: number, n: number): void {
  // walk the frame's linear part and frags, DMAing each piece (no intermediate host copy)
  const headlen = frame.tail - frame.data;
  let pos = frameOff;
  let left = n;
  let dst = pageOff;
  if (pos < headlen) {
    const k = Math.min(headlen - pos, left);
    mem.dmaToNetIov(ref, dst, frame.buf, frame.data + pos, k);
    pos += k;
    dst += k;
    left -= k;
  }
  let start = headlen;
  const fm = frame.mem;
  for (let i = 0; i < frame.nrFrags && left > 0; i++) {
    const fl = frame.fragLen[i]!;
    const end = start + fl;
    if (pos < end) {
      const inFrag = pos - start;
      const k = Math.min(fl - inFrag, left);
      const fref = frame.fragRef[i]!;
      mem.dmaToNetIov(ref, dst, fm.buf(fref), fm.offset(fref) + frame.fragOff[i]! + inFrag, k);
      pos += k;
      dst += k;
      left -= k;
    }
    start = end;
  }
}

/** the TCP options of two headers are byte-identical */
function sameOptions(a: Uint8Array, ta: number, b: Uint8Array, tb: number, doff: number): boolean {
  for (let i = 20; i < doff; i++) if (a[ta + i] !== b[tb + i]) return false;
  return true;
}

/** true when the frame's linear part holds its Ethernet, IPv4 and TCP/UDP headers */
function headersInHead(frame: SkBuff, hl: number): boolean {
  const b = frame.buf;
  const o = frame.data;
  if (hl < ETH_HLEN + 20) return false;
  if (b[o + 12] !== 0x08 || b[o + 13] !== 0x00) return hl >= ETH_HLEN + 2; // not IPv4: only the type is needed
  const ihl = (b[o + ETH_HLEN]! & 0x0f) << 2;
  const l4 = ETH_HLEN + ihl;
  const proto = b[o + ETH_HLEN + 9];
  if (proto === IPPROTO_TCP) return hl >= l4 + 20 && hl >= l4 + ((b[o + l4 + 12]! >> 4) << 2);
  if (proto === IPPROTO_UDP) return hl >= l4 + 8;
  return hl >= l4;
}

function readU16(frame: SkBuff, off: number, dv: DataView, scratch: Uint8Array): number {
  if (off + 2 <= frame.tail - frame.data) return frame.dv.getUint16(frame.data + off);
  skbCopyBits(frame, off, scratch, 0, 2);
  return dv.getUint16(0);
}

