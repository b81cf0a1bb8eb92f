/**
 * The `--report` sampler: a `TransferProbe` that reads the run's existing counters once per
 * virtual-time tick (never per packet) into a bounded `SampleTable`. The ticks come from
 * `Network.observe`, which is not an event: the observed run is the same run, packet for packet,
 * as the unobserved one. It exists only when a report was asked for: without it the transfer
 * observes nothing and reads nothing. Every reading is a stable surface: tcpInfo of both sockets, host.snmp(),
 * the rx queue's qstats and page pool, the devices' drop counters, the wire's counters.
 *
 * The first tick is `intervalUs` (default 10 µs of virtual time); the table doubles the interval
 * when full, so any run ends with 256..512 rows (default capacity) spread over its whole length.
 */
import type { Host, NetDevice } from '../../index.js';
import type { TransferProbe, TransferView } from '../transfer.js';
import { SampleTable } from './series.js';

export const SAMPLE_COLUMNS = [
  /** virtual µs */
  't',
  /** payload bytes the application received (cumulative) */
  'rxBytes',
  /** sender: cwnd / ssthresh in segments, srtt / rttvar / rto in µs */
  'cwnd', 'ssthresh', 'srtt', 'rttvar', 'rto',
  /** sender: bytes sent and not yet acknowledged (snd_nxt − snd_una), bytes in the send queue */
  'outstanding', 'sndQueued',
  /** sender (cumulative): segments retransmitted, of which fast (outside RTO recovery), RTO expiries */
  'retrans', 'fastRetrans', 'timeouts',
  /** sender: icsk_ca_state (0 Open … 4 Loss) */
  'caState',
  /** receiver: bytes readable and not read */
  'rcvQueued',
  /** the steered rx queue's page pool: buffers handed out and not returned (gauge) */
  'poolInflight',
  /** page pool (cumulative): recycled through the ring / the cache, slow allocs, empty allocs */
  'recycleRing', 'recycleCached', 'allocSlow', 'allocEmpty',
  /**
   * devmem tokens held by the application now, the most it held at once so far (also within one
   * instant: the demo returns them in the same instant), an upper bound on the oldest one's age (µs)
   */
  'tokens', 'tokensHighWater', 'tokenAge',
  /** tokens handed out / returned with SO_DEVMEM_DONTNEED (cumulative) */
  'tokensIssued', 'tokensReturned',
  /** the steered rx queue (cumulative): rx-alloc-fail, hardware drops */
  'rxAllocFail', 'rxHwDrops',
  /** drops by layer, both hosts and directions (cumulative) */
  'dropWire', 'dropCorrupt', 'dropNic', 'dropNetif', 'dropIp', 'dropTcp',
] as const;

export type SampleColumn = (typeof SAMPLE_COLUMNS)[number];

export interface SamplerOptions {
  /** rows kept at most (even, default 512) */
  capacity?: number;
  /** first sampling interval, virtual µs (default 10) */
  intervalUs?: number;
}

/** sender state with no socket to read (before connect, after an abort): NaN draws as a gap */
const NO_SOCKET = NaN;

function nicDrops(d: NetDevice): number {
  const c = d.counters;
  let n = c.rxLengthErrors + c.rxDropped + c.txDropped + c.rxNoHandler;
  for (const q of d.rxQueues) n += q.stats.rxHwDrops;
  for (const q of d.txQueues) n += q.stats.txHwDrops + q.stats.txHwDropErrors;
  return n;
}

function stackDrops(h: Host): { netif: number; ip: number; tcp: number } {
  const s = h.snmp();
  const v4 = s.ip;
  const v6 = s.ip6;
  return {
    netif: s.netif.rxOtherHost + s.netif.rxLengthErrors + s.netif.rxUnknownEtherType,
    ip:
      v4.inHdrErrors + v4.inAddrErrors + v4.inTruncatedPkts + v4.inCsumErrors + v4.inDiscards + v4.inUnknownProtos +
      v4.outNoRoutes + v4.outDiscards + v4.reasmFails +
      v6.inHdrErrors + v6.inAddrErrors + v6.inTruncatedPkts + v6.inDiscards + v6.inUnknownProtos + v6.outNoRoutes +
      v6.outDiscards + v6.reasmFails,
    // InErrs includes checksum errors (Linux counts both)
    tcp: s.tcp.inErrs + s.tcp.noPort + s.tcp.listenDrops + s.tcp.rcvPruned + s.tcp.pawsEstabRejected,
  };
}

export class RunSampler implements TransferProbe {
  readonly table: SampleTable<SampleColumn>;
  /** the run's constants the report shows next to the series */
  dmabufPages = 0;
  /** the sender's MSS, last seen */
  mss = 0;
  private view: TransferView | null = null;
  private unobserve: (() => void) | null = null;
  /** virtual µs since the application last held no token, -1 while it holds none */
  private tokensSince = -1;
  private readonly row = Object.fromEntries(SAMPLE_COLUMNS.map((c) => [c, 0])) as Record<SampleColumn, number>;

  constructor(opts: SamplerOptions = {}) {
    this.table = new SampleTable<SampleColumn>(SAMPLE_COLUMNS, opts.capacity ?? 512, opts.intervalUs ?? 10);
  }

  start(view: TransferView): void {
    if (this.view !== null) throw new Error('RunSampler: started twice');
    this.view = view;
    this.dmabufPages = view.dmabufPages;
    this.sample(view.net.now);
    this.unobserve = view.net.observe(this.table.intervalUs, (at) => {
      this.sample(at);
      return this.table.intervalUs;
    });
  }

  /** takes the last row (the run's end) and stops observing */
  stop(): void {
    if (this.unobserve === null) return;
    this.unobserve();
    this.unobserve = null;
    this.sample(this.view!.net.now);
  }

  /** one row: the counters now, which are those at `now` (see Network.observe) */
  private sample(now: number): void {
    const v = this.view!;
    const r = this.row;
    r.t = now;
    r.rxBytes = v.progress.bytes;
    r.tokensIssued = v.progress.tokensIssued;
    r.tokensReturned = v.progress.tokensReturned;
    try {
      const ti = v.sender.tcpInfo();
      r.cwnd = ti.sndCwnd;
      this.mss = ti.sndMss;
      // "infinite" ssthresh (no loss yet) is not a value to plot
      r.ssthresh = ti.sndSsthresh >= 0x3fffffff ? NaN : ti.sndSsthresh;
      r.srtt = ti.rtt;
      r.rttvar = ti.rttvar;
      r.rto = ti.rto;
      r.outstanding = Math.max(0, ti.bytesSent - ti.bytesRetrans - ti.bytesAcked);
      r.sndQueued = ti.sndQueued;
      r.retrans = ti.retransSegs;
      r.fastRetrans = ti.fastRetrans;
      r.timeouts = ti.timeouts;
      r.caState = ti.caState;
    } catch {
      // the sending socket is closed: its gauges are gaps, its counters keep their last value
      r.cwnd = r.ssthresh = r.srtt = r.rttvar = r.rto = r.outstanding = r.sndQueued = r.caState = NO_SOCKET;
    }
    let tokens = 0;
    const conn = v.receiver();
    r.rcvQueued = 0;
    if (conn !== null) {
      try {
        const ti = conn.tcpInfo();
        tokens = ti.devmemTokens;
        r.tokensHighWater = ti.devmemTokensHighWater;
        r.rcvQueued = ti.rcvQueued;
      } catch {
        // closed: it holds no token any more (close returns them)
      }
    }
    r.tokens = tokens;
    if (tokens === 0) this.tokensSince = -1;
    else if (this.tokensSince < 0) this.tokensSince = now;
    r.tokenAge = this.tokensSince < 0 ? 0 : now - this.tokensSince;
    const q = v.rxq;
    const pool = q.pool;
    r.poolInflight = pool.inflight();
    r.recycleRing = pool.stats.recycleRing;
    r.recycleCached = pool.stats.recycleCached;
    r.allocSlow = pool.stats.allocSlow;
    r.allocEmpty = pool.stats.allocEmpty;
    r.rxAllocFail = q.stats.rxAllocFail;
    r.rxHwDrops = q.stats.rxHwDrops;
    const w = v.wire;
    r.dropWire = w.aToB.lost + w.aToB.queueDrops + w.aToB.mtuDrops + w.bToA.lost + w.bToA.queueDrops + w.bToA.mtuDrops;
    r.dropCorrupt = v.devA.counters.rxCrcErrors + v.devB.counters.rxCrcErrors;
    r.dropNic = nicDrops(v.devA) + nicDrops(v.devB);
    const da = stackDrops(v.a);
    const db = stackDrops(v.b);
    r.dropNetif = da.netif + db.netif;
    r.dropIp = da.ip + db.ip;
    r.dropTcp = da.tcp + db.tcp;
    this.table.push(r);
  }
}
