/**
 * `devmem demo --report FILE`: the visual report of one run. `RunSampler` (a TransferProbe)
 * samples the run's counters per virtual-time tick, `buildCharts` turns the samples into charts,
 * `renderReport` makes one self-contained HTML page; `demoReport` assembles the page of a demo
 * run (its parameters, its summary, its verdict). `browser.ts` drives a headless Chromium on the
 * page (the CI check, the README screenshot). Nothing here runs unless a report was asked for.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TransferOptions, TransferResult } from '../transfer.js';
import { UsageError, fmtBytes } from '../args.js';
import { buildCharts } from './model.js';
import { renderReport } from './html.js';
import { RunSampler } from './sampler.js';

export { RunSampler, SAMPLE_COLUMNS, type SampleColumn, type SamplerOptions } from './sampler.js';
export { SampleTable } from './series.js';
export { buildCharts, deltas, rates, type ChartContext } from './model.js';
export { renderReport, escHtml, scriptJson, type ReportPage } from './html.js';
export { chartSvg, drawSource, fmtNum, niceTicks, rowAt, type DrawChart, type DrawSeries, type DrawResult } from './draw.js';

function pct(p: number | undefined): string {
  return `${+((p ?? 0) * 100).toPrecision(4)} %`;
}

function rate(gbps: number): string {
  return gbps >= 1 ? `${+gbps.toPrecision(4)} Gbit/s` : `${+(gbps * 1000).toPrecision(4)} Mbit/s`;
}

/** the page of one `devmem demo` run */
export function demoReport(o: TransferOptions, r: TransferResult, s: RunSampler, command: string): string {
  const ok = r.failure === null && r.validated && r.tokensIssued === r.tokensReturned && r.hostPayloadBytesRead === 0;
  const verdict = r.failure !== null
    ? `FAILED: ${r.failure}`
    : ok
      ? `Completed: ${fmtBytes(r.bytes)} delivered and validated on the device${r.mode === 'devmem' ? ', every token returned, no payload byte read by the host' : ''}`
      : `NOT valid: ${r.mismatches} mismatching bytes, ${r.steeringErrors} steering errors, ${r.tokensIssued - r.tokensReturned} tokens not returned, ${r.hostPayloadBytesRead} payload bytes read by the host`;
  const params: [string, string][] = [
    ['mode', r.mode === 'devmem' ? 'devmem (MSG_SOCK_DEVMEM into a bound dma-buf)' : 'copy (recv into host memory)'],
    ['transfer size', fmtBytes(o.size)],
    ['IP version / MTU', `IPv${r.family} / ${o.mtu}`],
    ['link', `${rate(o.gbps)}, ${o.delayUs} µs one-way delay`],
    ['wire faults', `loss ${pct(o.loss)}, duplicate ${pct(o.duplicate)}, reorder ${pct(o.reorder)}, corrupt ${pct(o.corrupt)}`],
    ['rx queues', `${o.rxQueues} (queue ${o.rxQueues - 1} steered${r.mode === 'devmem' ? ', bound to device memory' : ''})`],
    ['dma-buf', r.mode === 'devmem' ? `${fmtBytes(o.dmabufSize)} (${s.dmabufPages} buffers of 4 KiB)` : '–'],
    ['seed', String(o.seed)],
    ['stall timeout', `${(o.stallUs ?? 0) / 1e6} s virtual`],
  ];
  const p = r.packets;
  const lastT = s.table.length > 0 ? s.table.column('t')[s.table.length - 1]! : 0;
  const summary: [string, string][] = [
    ['delivered', `${fmtBytes(r.bytes)} of ${fmtBytes(r.size)}`],
    ['goodput', `${rate(r.virtualGbps)} in virtual time (${rate(r.gbps)} wall clock)`],
    ['time', `${r.virtualSeconds.toFixed(4)} s virtual, ${r.wallSeconds.toFixed(2)} s wall`],
    ['TCP', `${p.dataSegsOut} data segments, ${p.retransSegs} retransmitted (${p.fastRetrans} fast, ${p.timeouts} RTO expiries)`],
    ['wire (A → B)', `${p.wireFrames} frames, ${p.wireLost} lost, ${p.wireDuplicated} duplicated, ${p.wireReordered} reordered, ${p.wireCorrupted} corrupted`],
    ['rx queue', `${r.rxQueue.rxPackets} packets, rx-alloc-fail ${r.rxQueue.rxAllocFail}, hw drops ${r.rxQueue.rxHwDrops}`],
    ['tokens', `issued ${r.tokensIssued}, returned ${r.tokensReturned}, most held at once ${r.tokensHighWater}`],
    ['host payload read', `${r.hostPayloadBytesRead} bytes`],
    ['samples', `${s.table.length} rows every ${+(s.table.intervalUs / 1000).toPrecision(3)} ms of virtual time (last at ${(lastT / 1000).toFixed(3)} ms)`],
  ];
  return renderReport({
    title: `devmem demo: ${fmtBytes(o.size)} over TCP, ${r.mode} mode, loss ${pct(o.loss)}`,
    command,
    ok,
    verdict,
    params,
    summary,
    charts: buildCharts(s.table, { mode: r.mode, dmabufPages: s.dmabufPages, mss: s.mss }),
  });
}

export interface OpenReport {
  path: string;
  sampler: RunSampler;
  /** writes the page and closes the file */
  write(html: string): void;
}

/**
 * `--report FILE`: opens (creates or truncates) the file before the run, so a path that cannot be
 * written is a one-line usage error at once rather than after a long run; null without the option
 */
export function openReport(path: string | undefined): OpenReport | null {
  if (path === undefined) return null;
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : String(e);
    throw new UsageError(`--report: cannot write '${path}' (${code})`);
  }
  return {
    path,
    sampler: new RunSampler(),
    write(html: string): void {
      try {
        writeSync(fd, html);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** an argument as a shell would need it quoted */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
