/**
 * From a run's samples to the report's charts: turns the raw columns (cumulative counters,
 * gauges) into what a reader wants to see (rates per interval, segments, ms), one `DrawChart`
 * per question: how fast, why that fast (cwnd, RTT, in flight), what went wrong (retransmits,
 * drops by layer, rx-alloc-fail), and what device memory did (page-pool occupancy and
 * recycling, tokens held and for how long). Pure: no I/O.
 */
import type { DrawChart, DrawSeries } from './draw.js';
import type { SampleTable } from './series.js';
import type { SampleColumn } from './sampler.js';

/** colours readable on white and by most colour-blind readers (Okabe–Ito) */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8c6d31'] as const;

/** per-interval differences of a cumulative column (row 0: null) */
export function deltas(v: readonly number[]): (number | null)[] {
  return v.map((x, i) => (i === 0 ? null : x - v[i - 1]!));
}

/** per-interval rate of a cumulative column, in units per `perUs` µs (row 0: null) */
export function rates(v: readonly number[], t: readonly number[], perUs: number): (number | null)[] {
  return v.map((x, i) => {
    if (i === 0) return null;
    const dt = t[i]! - t[i - 1]!;
    return dt > 0 ? ((x - v[i - 1]!) * perUs) / dt : null;
  });
}

function gauge(v: readonly number[], scale = 1): (number | null)[] {
  return v.map((x) => (Number.isFinite(x) ? x * scale : null));
}

function line(name: string, i: number, values: (number | null)[], extra: Partial<DrawSeries> = {}): DrawSeries {
  return { name, color: PALETTE[i % PALETTE.length]!, values, shape: 'line', ...extra };
}

function step(name: string, i: number, values: (number | null)[]): DrawSeries {
  return { name, color: PALETTE[i % PALETTE.length]!, values, shape: 'step' };
}

export interface ChartContext {
  mode: 'devmem' | 'copy';
  /** device buffers in the bound dma-buf (0 in copy mode) */
  dmabufPages: number;
  /** the sender's MSS, to show bytes in flight next to cwnd × MSS */
  mss: number;
}

/** the report's charts, in reading order */
export function buildCharts(table: SampleTable<SampleColumn>, ctx: ChartContext): DrawChart[] {
  const col = (c: SampleColumn): number[] => table.column(c);
  const tUs = col('t');
  const t = tUs.map((x) => x / 1000);
  const retrans = col('retrans');
  const fast = col('fastRetrans');
  const caState = col('caState');
  const charts: DrawChart[] = [];
  charts.push({
    id: 'goodput', title: 'Goodput', unit: 'Gbit/s', t,
    note: 'payload bytes the receiving application got, per sampling interval',
    series: [step('goodput', 0, rates(col('rxBytes'), tUs, 8 / 1000))],
  });
  charts.push({
    id: 'cwnd', title: 'Congestion window', unit: 'segments', t,
    note: 'sender cwnd and ssthresh (none until the first loss); shaded: fast recovery (orange) and RTO loss recovery (red)',
    series: [line('cwnd', 0, gauge(col('cwnd'))), line('ssthresh', 1, gauge(col('ssthresh')), { dashed: true })],
    bands: [
      { name: 'recovery', color: '#E69F00', values: caState.map((s) => (s === 3 ? 1 : 0)) },
      { name: 'loss', color: '#D55E00', values: caState.map((s) => (s === 4 ? 1 : 0)) },
    ],
  });
  charts.push({
    id: 'rtt', title: 'Round-trip time', unit: 'µs', t,
    note: 'sender smoothed RTT and its variation (RTO is in the table above)',
    series: [line('srtt', 0, gauge(col('srtt'))), line('rttvar', 1, gauge(col('rttvar')))],
  });
  const inflight = gauge(col('outstanding'), 1 / 1024);
  const cwndBytes = col('cwnd').map((c) => (Number.isFinite(c) ? (c * ctx.mss) / 1024 : null));
  charts.push({
    id: 'inflight', title: 'Bytes in flight', unit: 'KiB', t,
    note: 'sent and not yet acknowledged, next to cwnd × MSS, the most the window allows',
    series: [line('in flight', 0, inflight), line('cwnd × MSS', 1, cwndBytes, { dashed: true }), line('send queue', 2, gauge(col('sndQueued'), 1 / 1024))],
  });
  charts.push({
    id: 'retrans', title: 'Retransmissions', unit: 'segments / interval', t,
    note: 'segments sent again per sampling interval: fast (SACK / dupACK / RACK) and after a timeout; RTO expiries',
    series: [
      step('fast', 0, deltas(fast)),
      step('after timeout', 1, deltas(retrans.map((r, i) => r - fast[i]!))),
      step('RTO expiries', 3, deltas(col('timeouts'))),
    ],
  });
  charts.push({
    id: 'drops', title: 'Drops by layer', unit: 'frames / packets (total)', t,
    note: 'cumulative, both hosts: lost on the wire, bad FCS, NIC (hw drops, no buffer), netif, IP, TCP (bad segments, no socket, pruned)',
    series: [
      line('wire lost', 0, col('dropWire')), line('bad FCS', 1, col('dropCorrupt')), line('NIC', 2, col('dropNic')),
      line('netif', 3, col('dropNetif')), line('IP', 4, col('dropIp')), line('TCP', 5, col('dropTcp')),
    ],
  });
  const inUse = col('poolInflight');
  const poolSeries: DrawSeries[] = [line('in use', 0, inUse)];
  // the capacity line only where it does not flatten the occupancy to nothing
  const showCap = ctx.dmabufPages > 0 && Math.max(0, ...inUse) * 4 >= ctx.dmabufPages;
  if (showCap) poolSeries.push(line('dma-buf buffers', 1, tUs.map(() => ctx.dmabufPages), { dashed: true }));
  charts.push({
    id: 'pool', title: ctx.mode === 'devmem' ? 'Page pool occupancy (device memory)' : 'Page pool occupancy (host pages)', unit: 'buffers', t,
    note: 'buffers of the steered rx queue\'s pool handed out and not yet returned: posted in the NIC\'s rx ring, held by the stack or by the application' +
      (ctx.dmabufPages > 0 ? `, of ${ctx.dmabufPages} in the dma-buf` : ''),
    series: poolSeries,
  });
  charts.push({
    id: 'recycle', title: 'Page pool recycling', unit: 'buffers / ms', t,
    note: 'buffers coming back through the recycle ring and the per-CPU cache; slow and empty allocations (the pool ran dry)',
    series: [
      step('recycled (ring)', 0, rates(col('recycleRing'), tUs, 1000)),
      step('recycled (cache)', 2, rates(col('recycleCached'), tUs, 1000)),
      step('alloc slow', 1, rates(col('allocSlow'), tUs, 1000)),
      step('alloc empty', 3, rates(col('allocEmpty'), tUs, 1000)),
    ],
  });
  charts.push({
    id: 'tokens', title: 'Devmem tokens held by the application', unit: 'tokens', t,
    note: ctx.mode === 'devmem'
      ? 'tokens received and not yet returned with SO_DEVMEM_DONTNEED; the demo returns each batch in the virtual instant it arrived, so only the high-water mark sees them'
      : 'copy mode: no tokens',
    series: [line('outstanding', 0, col('tokens')), line('most held at once', 1, col('tokensHighWater'), { dashed: true })],
  });
  charts.push({
    id: 'token-age', title: 'Age of the oldest outstanding token', unit: 'µs', t,
    note: 'an upper bound: time since the application last held no token at all',
    series: [line('oldest token', 0, col('tokenAge'))],
  });
  charts.push({
    id: 'token-rate', title: 'Token traffic', unit: 'tokens / ms', t,
    note: 'tokens handed out by recvmsg(MSG_SOCK_DEVMEM) and returned by SO_DEVMEM_DONTNEED',
    series: [step('issued', 0, rates(col('tokensIssued'), tUs, 1000)), step('returned', 2, rates(col('tokensReturned'), tUs, 1000))],
  });
  charts.push({
    id: 'alloc-fail', title: 'rx-alloc-fail and hardware drops', unit: 'frames (total)', t,
    note: 'the steered rx queue could not get a buffer for an arriving frame (device memory exhausted or pinned)',
    series: [line('rx-alloc-fail', 1, col('rxAllocFail')), line('rx hw drops', 0, col('rxHwDrops'), { dashed: true })],
  });
  return charts;
}
