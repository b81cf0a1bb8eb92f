/**
 * `NetDevice`: the NIC model. RX: one flow-dissector pass per frame (IPv4 or IPv6), whose result
 * drives everything after it: the frame is classified (n-tuple rule, else RSS over the 2- or
 * 4-tuple), split (headers → a host buffer from the queue's header pool, payload → the queue's
 * page pool, which may be backed by device memory), checksum-verified, merged by GRO, and handed
 * up as an `SkBuff`. TX (`tx/`, `NicTx`): the stack hands over a complete frame; the NIC
 * validates unreadable skbs, cuts GSO skbs (TSO), reads device-memory payload by DMA, finishes a
 * CHECKSUM_PARTIAL checksum and gives the frame to the link. Queues restart (new page
 * pools) when a memory provider is installed or removed, through the queue-management ops.
 *
 * Ownership: `xmit` takes the skb; `receiveFrame` borrows the frame (the NIC copies it, as DMA
 * does) and the link frees it. Skbs passed to `rxHandler` belong to the handler.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { csumBlockAdd, csumFinish, csumFold, csumPartial } from '../wire/checksum.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { MutAddr, addrEquals, pseudoHeaderSum } from '../inet/index.js';
import {
  HostPageProvider, PP_FLAG_ALLOW_UNREADABLE_NETMEM, PP_FLAG_DMA_MAP, PP_FLAG_DMA_SYNC_DEV,
  PageFragCarver, PagePool, netmemIsNetIov, type MemSpace, type MemoryProvider,
} from '../mem/index.js';
import {
  CHECKSUM_NONE, CHECKSUM_UNNECESSARY, SkbPieceIter, skbAddFrag, skbChecksum, skbCopyBits, skbFree,
  skbTryCoalesce, type SkBuff, type SkbCache,
} from '../skb/index.js';
import { FlowDissect, flowDissect } from './dissector.js';
import { NicTx, copySmall } from './tx/nic-tx.js';
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

/**
 * told when a NAPI-style poll batch ends (`napiComplete`, after the GRO flush): the host's TCP
 * sends the ACKs it deferred while the batch ran (Linux TCP_ACK_DEFERRED)
 */
export interface NapiDoneHook {
  napiDone(): void;
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
  /**
   * largest payload page-pool order the driver honours from a queue's memory provider (Linux 7.3
   * `rx_page_size`, opted into through the queue-management ops); 0 = not supported (a binding
   * with larger net_iovs is refused EOPNOTSUPP). A provider asking for more gets a pool of this
   * order, which the provider refuses (E2BIG). Default 9 (2 MiB buffers).
   */
  maxRxPageOrder?: number;
}

export const HDR_BUF_SIZE = 256;
export const MAX_MTU = 65535;
/** GRO stops merging before the datagram (IPv4 total length, IPv6 payload length bound) passes 64 KiB */
const GRO_MAX_IP_LEN = 65535;

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
  groFamily: 0 | 4 | 6 = 0;
  readonly groSrc = new MutAddr();
  readonly groDst = new MutAddr();
  groPorts = 0;
  groTos = 0;
  groTtl = 0;
  groFlowLabel = 0;
  groNextSeq = 0;
  groAck = 0;
  groFlags = 0;
  groDoff = 0;
  groMss = 0;
  groSegs = 0;
  /** absolute offset of the held skb's TCP header */
  groTh = 0;
  /** IPv4: the IP ID of the train's first segment, its DF bit, and whether the flow keeps a fixed ID (DF set, ID repeated) */
  groIpId = 0;
  groDf = 0;
  groFixedId = false;

  constructor(readonly dev: NetDevice, readonly idx: number) {
    this.napiId = dev.napiBase + idx;
    const mem = dev.mem;
    this.pool = dev.createPayloadPool(this);
    this.hdrPool = dev.createHeaderPool(this);
    this.payload = new PageFragCarver(mem, this.pool, 64, this.pool.bufSize);
    this.header = new PageFragCarver(mem, this.hdrPool, 64);
  }
}

export class TxQueue {
  readonly stats: TxQueueStats = newTxQueueStats();
  /** the link refused a frame (Linux `netif_tx_stop_queue`); frames wait in the link port's queue until it wakes */
  stopped = false;
  constructor(readonly idx: number) {}
}

let nextNapiBase = 1;

export class NetDevice implements TimerTarget {
  readonly name: string;
  ifindex: number;
  mac: number;
  mtu: number;
  up = true;
  /** device present (Linux `netif_device_present`): false while detached, and after unregister */
  present = true;
  /** registered with the kernel; false after `unregister()` */
  registered = true;
  /**
   * extack message of the last configuration call this device refused (Linux `NL_SET_ERR_MSG`),
   * null when it gave none; read right after a negative return
   */
  extack: string | null = null;
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
  /**
   * The link completes CHECKSUM_PARTIAL checksums itself (a virtio-net / TAP peer: `NEEDS_CSUM`):
   * the NIC hands such frames over with `ipSummed` still CHECKSUM_PARTIAL. Default false.
   */
  txCsumOffload = false;
  /** the link carries TCP GSO super-frames of this family unsegmented (virtio-net GSO); default false */
  txGsoTcp4 = false;
  txGsoTcp6 = false;
  /**
   * Receive runs from a NAPI-style poll (a link port) that ends every batch with `napiComplete()`,
   * which flushes GRO; no flush timer is armed. Default false: the flush is a timer at "now"
   * (virtual time: deterministic order with every other event).
   */
  napiPoll = false;
  /**
   * While `link.transmit` runs: the unfolded Internet-checksum accumulator of the frame's frag
   * bytes (taken as an even-aligned block) that the NIC summed filling a CHECKSUM_PARTIAL
   * checksum, or -1. A simulated wire may carry it with the frame so that the receiving NIC need
   * not re-read unchanged payload bytes (`receiveFrame`'s `fragCsum`); it never rides on the skb.
   */
  txFragCsum = -1;
  /** an XDP program is installed (`attachXdp`); `xdpFrags`: it handles multi-buffer frames */
  xdpAttached = false;
  xdpFrags = false;
  readonly queueMgmt: boolean;
  readonly honorsMemoryProvider: boolean;
  readonly netmemTx: boolean;
  readonly headerBufSize: number;
  readonly ringSize: number;
  readonly maxRxPageOrder: number;
  readonly ntuple = new NtupleTable();
  readonly indir = new Int32Array(RSS_INDIR_SIZE);
  rssHasher = new ToeplitzHasher();
  link: LinkPort | null = null;
  rxHandler: RxHandler | null = null;
  /** called at the end of every `napiComplete()` (set by the host; null: none) */
  napiDoneHook: NapiDoneHook | null = null;
  readonly taps: PacketTap[] = [];
  readonly napiBase: number;
  /** payload pools of previous queue generations (detached, still draining) */
  readonly oldPools: PagePool[] = [];
  private readonly groTimer: Timer;
  private readonly scratch = new Uint8Array(HDR_BUF_SIZE);
  private readonly scratchDv = new DataView(this.scratch.buffer);
  /** the rx dissector result, reused for every frame */
  private readonly rxFd = new FlowDissect();
  private rxDepth = 0;
  private readonly rxIter = new SkbPieceIter();
  /** the transmit path (validation, TSO, DMA read of device memory, checksum offload) */
  readonly tx: NicTx = new NicTx(this);

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
    this.maxRxPageOrder = opts.maxRxPageOrder ?? 9;
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
      // the queue config's rx_page_size, as far as the driver goes
      order: Math.min(provider.bufOrder(), this.maxRxPageOrder),
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
    // the provider refused the pool (E2BIG: order ≠ its net_iov size), or the driver did not adopt it (ENODATA)
    const err = pool.initErr !== 0 ? pool.initErr : rxq.mpProvider !== null && pool.provider !== rxq.mpProvider ? -ERRNO.ENODATA : 0;
    if (err !== 0) {
      pool.destroy(this.nowSeconds());
      hdrPool.destroy(this.nowSeconds());
      return err;
    }
    this.retireQueueMem(rxq);
    rxq.pool = pool;
    rxq.hdrPool = hdrPool;
    rxq.payload = new PageFragCarver(this.mem, pool, 64, pool.bufSize);
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

  /** a refusal: the errno, with the kernel's extack message kept in `extack` */
  private refuse(errno: number, msg: string | null): number {
    this.extack = msg;
    return -errno;
  }

  /**
   * changes the number of rx queues (ethtool -L); returns 0 or -errno. A count that would drop a
   * queue with a memory provider is refused (Linux `ethtool_check_max_channel`): EINVAL, extack
   * naming the smallest allowed count (the highest bound index + 1).
   */
  setRxQueueCount(n: number): number {
    this.extack = null;
    if (!Number.isInteger(n) || n < 1 || n > 256) return -ERRNO.EINVAL;
    const min = this.minMpChannelCount();
    if (n < min) return this.refuse(ERRNO.EINVAL, `requested channel counts are too low for existing memory provider setting (${min})`);
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

  /** Linux `dev_get_min_mp_channel_count`: highest rx queue index with a provider + 1, 0 for none */
  minMpChannelCount(): number {
    for (let i = this.rxQueues.length - 1; i >= 0; i--) if (this.rxQueues[i]!.mpProvider !== null) return i + 1;
    return 0;
  }

  /**
   * Installs an XDP program (Linux `dev_xdp_install`); `frags`: the program handles multi-buffer
   * frames (`xdp_has_frags`). Refused with EBUSY while tcp-data-split is on for a single-buffer
   * program, and while any rx queue has a memory provider (XDP could read or redirect unreadable
   * payload), each with the kernel's extack. Returns 0 or -errno.
   */
  attachXdp(opts: { frags?: boolean } = {}): number {
    this.extack = null;
    const frags = opts.frags ?? false;
    if (this.tcpDataSplit === 'on' && !frags) return this.refuse(ERRNO.EBUSY, 'unable to install XDP to device using tcp-data-split');
    if (this.minMpChannelCount() > 0) return this.refuse(ERRNO.EBUSY, 'unable to install XDP to device using memory provider');
    this.xdpAttached = true;
    this.xdpFrags = frags;
    return 0;
  }

  /** removes the XDP program */
  detachXdp(): void {
    this.xdpAttached = false;
    this.xdpFrags = false;
  }

  /**
   * Netdev unregister (Linux `unregister_netdevice_many_notify`): the device stops receiving and
   * sending, every memory provider is uninstalled from its rx queue (the binding forgets the
   * queue, and its device once no queue is left: `mp_ops->uninstall`), and every queue's page
   * pools are destroyed: detached, they stay alive while buffers they handed out are in flight
   * and then drop their binding reference. Bindings made for this device for TX lose it through
   * their table (`BindingTable.deviceGone`, done by whoever unregisters). Idempotent.
   */
  unregister(): void {
    if (!this.registered) return;
    this.registered = false;
    this.present = false;
    this.up = false;
    if (this.groTimer.armed) this.sched.cancel(this.groTimer);
    for (const q of this.rxQueues) {
      this.groFlush(q);
      const mp = q.mpProvider;
      if (mp !== null) {
        mp.uninstall(q);
        q.mpProvider = null;
      }
      this.retireQueueMem(q);
    }
  }

  // ---- RX ----

  /**
   * A frame arrives from the link. Borrows `frame` (readable); copies it into this host's
   * buffers and hands the resulting skb up. `fcsOk` false means the frame was corrupted on the
   * wire and fails the Ethernet FCS check.
   */
  receiveFrame(frame: SkBuff, fcsOk = true, fragCsum = -1): void {
    this.rxFrame(frame, fcsOk, fragCsum, -1, 0, false);
  }

  /**
   * A frame from a link port (virtio-net meta): `queue` (>= 0) picks the rx queue where no
   * n-tuple rule does (multi-queue links; else RSS); `gsoSize` > 0 marks a TCP GSO super-frame
   * (longer than the MTU allows, up to 64 KiB of IP datagram), handed up as one skb with that
   * segment size, like a GRO train; `csumTrusted` (NEEDS_CSUM or DATA_VALID) makes the L4
   * checksum CHECKSUM_UNNECESSARY without reading it. Borrows `frame` as `receiveFrame` does.
   */
  receiveFrameMeta(frame: SkBuff, queue: number, gsoSize: number, csumTrusted: boolean): void {
    this.rxFrame(frame, true, -1, queue, gsoSize, csumTrusted);
  }

  /**
   * ends a receive batch (Linux `napi_complete_done`): flushes every queue's GRO train, then
   * tells `napiDoneHook` (deferred ACKs go out once per batch)
   */
  napiComplete(): void {
    for (let i = 0; i < this.rxQueues.length; i++) if (this.rxQueues[i]!.groSkb !== null) this.groFlush(this.rxQueues[i]!);
    if (this.napiDoneHook !== null) this.napiDoneHook.napiDone();
  }

  private rxFrame(frame: SkBuff, fcsOk: boolean, fragCsum: number, queueHint: number, gsoSize: number, trusted: boolean): void {
    if (!this.up || !this.present) {
      this.counters.rxDropped++;
      return;
    }
    const flen = frame.len;
    if (!fcsOk) {
      this.counters.rxCrcErrors++;
      return;
    }
    if (flen < ETH_HLEN || (flen > this.mtu + ETH_HLEN && !(gsoSize > 0 && flen <= ETH_HLEN + 40 + GRO_MAX_IP_LEN))) {
      this.counters.rxLengthErrors++;
      return;
    }
    // one dissector pass per frame; a nested receive (a synchronous link) gets its own result
    const fd = this.rxDepth === 0 ? this.rxFd : new FlowDissect();
    this.rxDepth++;
    try {
      this.receiveDissected(frame, flen, fd, fragCsum, queueHint, gsoSize, trusted);
    } finally {
      this.rxDepth--;
    }
  }

  private receiveDissected(
    frame: SkBuff, flen: number, fd: FlowDissect, fragCsum: number, queueHint: number, gsoSize: number, trusted: boolean,
  ): void {
    // parse from the frame head when it holds the headers, else from a scratch copy
    let hb = frame.buf;
    let ho = frame.data;
    let hl = frame.tail - frame.data;
    flowDissect(fd, frame.dv, ho, hl, flen);
    if (fd.truncated && hl < HDR_BUF_SIZE) {
      const n = Math.min(flen, HDR_BUF_SIZE);
      if (skbCopyBits(frame, 0, this.scratch, 0, n) !== 0) {
        this.counters.rxDropped++;
        return;
      }
      hb = this.scratch;
      ho = 0;
      hl = n;
      flowDissect(fd, this.scratchDv, 0, n, flen);
    }
    const family = fd.family;
    const proto = fd.proto;
    const split = fd.split;
    // queue selection: n-tuple rule, else RSS (fragments and other protocols hash the 2-tuple)
    const hinted = queueHint >= 0 && queueHint < this.rxQueues.length;
    let q = hinted ? queueHint : 0;
    let hash = 0;
    if (family !== 0) {
      const rule = this.ntuple.rules.length > 0 ? this.ntuple.match(fd) : -2;
      if (rule === -1) {
        this.counters.rxDropped++;
        return;
      }
      if (rule >= 0 && rule < this.rxQueues.length) {
        q = rule;
      } else {
        hash = this.rssHasher.hash(family, fd.src, fd.dst, fd.sport, fd.dport, fd.hasL4Ports);
        if (!hinted) q = this.indir[hash & (RSS_INDIR_SIZE - 1)]!;
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
    if (rxq.header.carve(this.headerBufSize, true) === 0) {
      rxq.stats.rxAllocFail++;
      rxq.stats.rxHwDrops++;
      return;
    }
    const skb = this.skbs.allocOnPage(rxq.header.ref, rxq.header.off, this.headerBufSize, 0);
    // DMA the header bytes
    if (hb === frame.buf && hl >= hlen) {
      copySmall(hb, frame.dv, ho, skb.buf, skb.dv, skb.data, hlen);
    } else {
      skbCopyBits(frame, 0, skb.buf, skb.data, hlen);
    }
    skb.tail = skb.data + hlen;
    skb.len = hlen;
    // DMA the payload into page-pool buffers
    let off = hlen;
    const mem = this.mem;
    const maxFrags = skb.fragRef.length;
    while (off < flen) {
      const want = flen - off;
      const n = skb.nrFrags < maxFrags ? rxq.payload.carve(want, false) : 0;
      if (n === 0) {
        rxq.stats.rxAllocFail++;
        rxq.stats.rxHwDrops++;
        skbFree(skb);
        return;
      }
      const ref = rxq.payload.ref;
      const poff = rxq.payload.off;
      if (netmemIsNetIov(ref)) this.dmaFrameToNetIov(frame, off, ref, poff, n);
      else skbCopyBits(frame, off, mem.buf(ref), mem.offset(ref) + poff, n);
      skbAddFrag(skb, ref, poff, n);
      off += n;
    }
    // checksum offload: verify TCP/UDP over the frame bytes (not for fragments)
    if (trusted) {
      rxq.stats.rxCsumUnnecessary++;
      skb.ipSummed = CHECKSUM_UNNECESSARY;
    } else {
      skb.ipSummed = this.rxChecksumOffload(frame, flen, fd, rxq, fragCsum);
    }
    const l4 = fd.l4;
    skb.protocol = fd.etherType;
    skb.macHeader = skb.data;
    skb.queueMapping = q;
    skb.hash = hash;
    skb.ifindex = this.ifindex;
    rxq.stats.rxPackets++;
    rxq.stats.rxBytes += flen;
    for (let i = 0; i < this.taps.length; i++) this.taps[i]!.tap(skb, 'rx', this);
    if (gsoSize > 0 && proto === IPPROTO_TCP && l4 >= 0 && flen - split > gsoSize) {
      // a GSO super-frame from the link: already one "train"
      if (rxq.groSkb !== null) this.groFlush(rxq);
      skb.gsoSize = gsoSize;
      this.deliver(skb);
      return;
    }
    if (
      this.gro && proto === IPPROTO_TCP && l4 >= 0 && !fd.isFragment && !fd.l3Opts && !fd.l4Bad && hlen === split &&
      split > l4 && fd.l3End === flen && skb.ipSummed === CHECKSUM_UNNECESSARY
    ) {
      this.groReceive(rxq, skb, fd, flen - split);
      return;
    }
    if (rxq.groSkb !== null) this.groFlush(rxq);
    this.deliver(skb);
  }

  /** rx checksum offload over the frame bytes: CHECKSUM_UNNECESSARY for a verified TCP/UDP checksum, else CHECKSUM_NONE */
  private rxChecksumOffload(frame: SkBuff, flen: number, fd: FlowDissect, rxq: RxQueue, fragCsum: number): number {
    const l4 = fd.l4;
    const proto = fd.proto;
    if (!this.rxChecksum || l4 < 0 || fd.isFragment || fd.l4Bad || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP)) {
      rxq.stats.rxCsumNone++;
      return CHECKSUM_NONE;
    }
    const l4len = fd.l3End - l4;
    // UDP: a zero checksum (IPv4) means none; a length field that disagrees with the IP
    // payload is left to the stack (it trims or drops by the UDP length, and the checksum
    // covers only that many bytes)
    if (proto === IPPROTO_UDP && (
      readU16(frame, l4 + 4, this.scratchDv, this.scratch) !== l4len ||
      (fd.family === 4 && readU16(frame, l4 + 6, this.scratchDv, this.scratch) === 0))) {
      rxq.stats.rxCsumNone++;
      return CHECKSUM_NONE;
    }
    const fhead = frame.tail - frame.data;
    const pseudo = pseudoHeaderSum(fd.src, fd.dst, proto, l4len);
    let sum: number;
    if (fragCsum >= 0 && l4 + l4len === flen && l4 <= fhead && frame.fragList === null) {
      // frag bytes unchanged since the sending NIC summed them (the simulated wire carried the
      // sum): reuse it, verify the headers and the pseudo-header from the bytes
      sum = csumPartial(frame.buf, frame.dv, frame.data + l4, fhead - l4, pseudo);
      sum = csumBlockAdd(sum, fragCsum, fhead - l4);
    } else if (frame.nrFrags === 0 && frame.fragList === null && l4 + l4len <= fhead) {
      // a linear frame (the usual link frame): sum the head bytes directly
      sum = csumPartial(frame.buf, frame.dv, frame.data + l4, l4len, pseudo);
    } else {
      sum = skbChecksum(frame, l4, l4len, pseudo);
    }
    if (csumFold(sum) === 0xffff) {
      rxq.stats.rxCsumUnnecessary++;
      return CHECKSUM_UNNECESSARY;
    }
    rxq.stats.rxCsumBad++;
    return CHECKSUM_NONE;
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
   * Software GRO (Linux `inet_gro_receive` / `ipv6_gro_receive` + `tcp_gro_receive`): merges
   * consecutive segments of one TCP flow into one skb by moving frag references (never bytes, so
   * unreadable payload merges too). Only IPv4 without options (IHL 5) and IPv6 without extension
   * headers reach here; anything else flushes the train and is delivered on its own, and so is
   * an IPv4 segment whose header checksum is wrong (`ip_fast_csum`: the IP layer must see and
   * drop it). A segment joins when it is the same flow (family, addresses, ports), continues the
   * sequence, has the same ACK, flags (but PSH and FIN; never CWR on a joining segment), window and
   * options, the same TOS/TTL/DF and an IP ID that increments by one per segment or, with DF,
   * stays fixed (Linux `inet_gro_flush`) for IPv4, or the same traffic class, flow label and hop
   * limit (IPv6), is no longer than the first, shares readability, the frags fit and the merged
   * datagram stays within 64 KiB; PSH, FIN or a short segment closes the train.
   */
  private groReceive(rxq: RxQueue, skb: SkBuff, fd: FlowDissect, payload: number): void {
    const b = skb.buf;
    const l4 = fd.l4;
    const doff = fd.tcpHlen;
    const th = skb.data + l4;
    const dv = skb.dv;
    const flags = fd.tcpFlags;
    const seq = dv.getUint32(th + 4);
    const ack = dv.getUint32(th + 8);
    const ports = ((fd.sport << 16) | fd.dport) >>> 0;
    const v4 = fd.family === 4;
    const ip = skb.data + fd.l3;
    let ipId = 0;
    let df = 0;
    if (v4) {
      if (ipv4HeaderSum(dv, ip) !== 0xffff) {
        // a bad IPv4 header checksum: not for GRO (inet_gro_receive), the IP layer drops it
        if (rxq.groSkb !== null) this.groFlush(rxq);
        this.deliver(skb);
        return;
      }
      ipId = dv.getUint16(ip + 4);
      df = dv.getUint16(ip + 6) & 0x4000;
    }
    const held = rxq.groSkb;
    if (held !== null) {
      if (
        payload > 0 && rxq.groFamily === fd.family && rxq.groPorts === ports && addrEquals(rxq.groSrc, fd.src) &&
        addrEquals(rxq.groDst, fd.dst) && rxq.groNextSeq === seq && rxq.groAck === ack && rxq.groDoff === doff &&
        (flags & 0x80) === 0 && (flags & ~0x89) === (rxq.groFlags & ~0x89) && payload <= rxq.groMss &&
        (!v4 || (df === rxq.groDf && this.groIpIdOk(rxq, ipId, df))) &&
        fd.tos === rxq.groTos && fd.ttl === rxq.groTtl && fd.flowLabel === rxq.groFlowLabel &&
        dv.getUint16(th + 14) === held.dv.getUint16(rxq.groTh + 14) &&
        held.unreadable === skb.unreadable && held.nrFrags + skb.nrFrags <= held.fragRef.length &&
        held.len - ETH_HLEN + payload <= GRO_MAX_IP_LEN && sameOptions(held.buf, rxq.groTh, b, th, doff)
      ) {
        skb.data += l4 + doff;
        skb.len -= l4 + doff;
        skbTryCoalesce(held, skb);
        skbFree(skb);
        rxq.groNextSeq = (seq + payload) >>> 0;
        rxq.groSegs++;
        // PSH and FIN join the train and close it (tcp_gro_receive ORs them into the held header)
        if (flags & 0x09) held.buf[rxq.groTh + 13] = held.buf[rxq.groTh + 13]! | (flags & 0x09);
        if (payload < rxq.groMss || flags & 0x09) this.groFlush(rxq);
        return;
      }
      this.groFlush(rxq);
    }
    if (payload === 0 || flags & 0x27 /* FIN SYN RST URG */) {
      this.deliver(skb);
      return;
    }
    rxq.groSkb = skb;
    rxq.groFamily = fd.family;
    rxq.groSrc.set(fd.src);
    rxq.groDst.set(fd.dst);
    rxq.groPorts = ports;
    rxq.groTos = fd.tos;
    rxq.groTtl = fd.ttl;
    rxq.groFlowLabel = fd.flowLabel;
    rxq.groNextSeq = (seq + payload) >>> 0;
    rxq.groAck = ack;
    rxq.groFlags = flags;
    rxq.groDoff = doff;
    rxq.groMss = payload;
    rxq.groSegs = 1;
    rxq.groTh = th;
    rxq.groIpId = ipId;
    rxq.groDf = df;
    rxq.groFixedId = false;
    if (flags & 0x08) this.groFlush(rxq);
    else if (!this.napiPoll && !this.groTimer.armed) this.sched.arm(this.groTimer, this.sched.now());
  }

  /**
   * IPv4 ID rule of a joining segment (Linux `inet_gro_flush`): the ID is the first one plus the
   * segments held so far; with DF set, the second segment may instead repeat the first ID and
   * the train then keeps that fixed ID.
   */
  private groIpIdOk(rxq: RxQueue, id: number, df: number): boolean {
    const delta = (id - rxq.groIpId) & 0xffff;
    if (rxq.groSegs === 1 && df !== 0 && delta === 0) rxq.groFixedId = true;
    return delta === (rxq.groFixedId ? 0 : rxq.groSegs & 0xffff);
  }

  /** completes and delivers the merged skb of `rxq` (Linux `napi_gro_complete`) */
  groFlush(rxq: RxQueue): void {
    const skb = rxq.groSkb;
    if (skb === null) return;
    rxq.groSkb = null;
    if (rxq.groSegs > 1) {
      // the head's IP header now describes the whole train
      const ip = skb.data + ETH_HLEN;
      if (rxq.groFamily === 4) {
        skb.dv.setUint16(ip + 2, skb.len - ETH_HLEN);
        skb.dv.setUint16(ip + 10, 0);
        skb.dv.setUint16(ip + 10, csumFinish(csumPartial(skb.buf, skb.dv, ip, 20, 0)));
      } else {
        skb.dv.setUint16(ip + 4, skb.len - ETH_HLEN - 40);
      }
      skb.gsoSize = rxq.groMss;
    }
    this.deliver(skb);
  }

  /** end of the rx batch ("NAPI poll"): flush every queue's GRO train */
  onTimer(_t: Timer): void {
    for (let i = 0; i < this.rxQueues.length; i++) if (this.rxQueues[i]!.groSkb !== null) this.groFlush(this.rxQueues[i]!);
  }

  // ---- TX ----

  /** sends a complete Ethernet frame; takes ownership of `skb` (see `NicTx`) */
  xmit(skb: SkBuff, txq = 0): void {
    this.tx.xmit(skb, txq);
  }

  /** DMA `n` frame bytes at `frameOff` into net_iov `ref` at `pageOff` (no intermediate host copy) */
  private dmaFrameToNetIov(frame: SkBuff, frameOff: number, ref: number, pageOff: number, n: number): void {
    const mem = this.mem;
    const headlen = frame.tail - frame.data;
    if (frameOff + n <= headlen) {
      // the common case: a linear frame from the link
      mem.dmaToNetIov(ref, pageOff, frame.buf, frame.data + frameOff, n);
      return;
    }
    if (frame.fragList === null && !frame.unreadable) {
      // a host-memory frame with page frags (TSO segments off the wire): one flat walk
      let pos = frameOff;
      let left = n;
      let dst = pageOff;
      if (pos < headlen) {
        const k = headlen - pos;
        mem.dmaToNetIov(ref, dst, frame.buf, frame.data + pos, k);
        pos += k;
        dst += k;
        left -= k;
      }
      const fm = frame.mem;
      let start = headlen;
      for (let i = 0; i < frame.nrFrags && left > 0; i++) {
        const fl = frame.fragLen[i]!;
        const end = start + fl;
        if (pos < end) {
          const inFrag = pos - start;
          const k = fl - inFrag < left ? fl - inFrag : left;
          const fref = frame.fragRef[i]!;
          mem.dmaToNetIov(ref, dst, fm.buf(fref), fm.offset(fref) + frame.fragOff[i]! + inFrag, k);
          pos += k;
          dst += k;
          left -= k;
        }
        start = end;
      }
      return;
    }
    const it = this.rxIter.reset(frame, frameOff, n);
    let dst = pageOff;
    while (it.next()) {
      if (it.netIov) {
        // a device-memory frame piece: device to device through the scratch buffer
        for (let done = 0; done < it.len; ) {
          const k = Math.min(it.len - done, this.scratch.length);
          frame.mem.dmaFromNetIov(it.ref, it.pageOff + done, this.scratch, 0, k);
          mem.dmaToNetIov(ref, dst + done, this.scratch, 0, k);
          done += k;
        }
      } else {
        mem.dmaToNetIov(ref, dst, it.buf, it.off, it.len);
      }
      dst += it.len;
    }
  }

  // ---- configuration (ethtool) ----

  /**
   * `ethtool -G tcp-data-split / hds-thresh` (Linux `ethnl_set_rings`): EINVAL with the kernel's
   * extack when tcp-data-split would be enabled under a single-buffer XDP program, and while a
   * memory provider is installed when it would turn tcp-data-split off or hds-thresh non-zero.
   */
  setRings(cfg: { tcpDataSplit?: TcpDataSplit; hdsThresh?: number }): number {
    this.extack = null;
    const split = cfg.tcpDataSplit ?? this.tcpDataSplit;
    const thresh = cfg.hdsThresh ?? this.hdsThresh;
    if (!Number.isInteger(thresh) || thresh < 0 || thresh > this.headerBufSize) return -ERRNO.EINVAL;
    if (split === 'on' && this.xdpAttached && !this.xdpFrags) return this.refuse(ERRNO.EINVAL, 'tcp-data-split can not be enabled with single buffer XDP');
    if (this.minMpChannelCount() > 0) {
      if (split !== 'on') return this.refuse(ERRNO.EINVAL, "can't disable tcp-data-split while device has memory provider enabled");
      if (thresh !== 0) return this.refuse(ERRNO.EINVAL, "can't set non-zero hds_thresh while device is memory provider enabled");
    }
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

/** one's complement sum of a 20-byte IPv4 header, folded (0xffff when its checksum is right) */
function ipv4HeaderSum(dv: DataView, ip: number): number {
  let s = dv.getUint16(ip) + dv.getUint16(ip + 2) + dv.getUint16(ip + 4) + dv.getUint16(ip + 6) + dv.getUint16(ip + 8) +
    dv.getUint16(ip + 10) + dv.getUint16(ip + 12) + dv.getUint16(ip + 14) + dv.getUint16(ip + 16) + dv.getUint16(ip + 18);
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/** the TCP options of two headers are byte-identical */
function sameOptions(a: Uint8Array, ta: number, b: Uint8Array, tb: number, doff: number): boolean {
  for (let i = 20; i < doff; i++) if (a[ta + i] !== b[tb + i]) return false;
  return true;
}

function readU16(frame: SkBuff, off: number, dv: DataView, scratch: Uint8Array): number {
  if (off + 2 <= frame.tail - frame.data) return frame.dv.getUint16(frame.data + off);
  skbCopyBits(frame, off, scratch, 0, 2);
  return dv.getUint16(0);
}
