// The report of real runs: the sampler sees the run's counters over its whole length without
// changing the run (same result, packet for packet, as without it), a stalled run's report shows
// the stall's cause, and `devmem demo --report` writes the page (also for a failed run) or
// refuses an unwritable path at once, in one line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRANSFER, runTransfer, type TransferResult } from '../../src/cli/transfer.js';
import { RunSampler, SAMPLE_COLUMNS, buildCharts, demoReport } from '../../src/cli/report/index.js';
import { inspectReport } from '../../src/cli/report/browser.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** the result without its wall-clock fields */
function stable(r: TransferResult): Omit<TransferResult, 'wallSeconds' | 'gbps'> {
  const { wallSeconds: _w, gbps: _g, ...rest } = r;
  return rest;
}

describe('RunSampler on a run', () => {
  it('a lossy 4 MiB run: rows over the whole run, counters monotone, the run itself unchanged', async () => {
    const o = { ...DEFAULT_TRANSFER, size: 4 << 20, loss: 0.02 };
    const plain = await runTransfer(o);
    const s = new RunSampler();
    const seen = await runTransfer({ ...o, probe: s });
    assert.deepEqual(stable(seen), stable(plain), 'sampling changed the run');
    assert.ok(seen.completed && seen.packets.retransSegs > 0, 'the run retransmitted (the charts have something to show)');
    const tab = s.table;
    assert.ok(tab.length >= 64 && tab.length <= 512, `${tab.length} rows`);
    const t = tab.column('t');
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! > t[i - 1]!, `t ascending at ${i}`);
    assert.equal(t[0], 0);
    assert.equal(t[t.length - 1], seen.virtualSeconds * 1e6, 'the last row is the end of the run');
    for (const c of ['rxBytes', 'retrans', 'fastRetrans', 'timeouts', 'tokensIssued', 'tokensReturned', 'dropWire', 'recycleRing'] as const) {
      const v = tab.column(c);
      for (let i = 1; i < v.length; i++) assert.ok(v[i]! >= v[i - 1]!, `${c} never decreases`);
    }
    const last = (c: (typeof SAMPLE_COLUMNS)[number]): number => tab.column(c)[tab.length - 1]!;
    assert.equal(last('rxBytes'), o.size);
    assert.equal(last('retrans'), seen.packets.retransSegs);
    assert.equal(last('tokensIssued'), seen.tokensIssued);
    assert.equal(last('tokensHighWater'), seen.tokensHighWater);
    assert.ok(last('dropWire') >= seen.packets.wireLost && seen.packets.wireLost > 0, 'wire losses of both directions');
    assert.equal(last('tokens'), 0, 'every token returned at the end');
    // the tokens are returned in the instant they arrive: never seen outstanding, age 0
    assert.ok(tab.column('tokenAge').every((a) => a === 0));
    const cwnd = tab.column('cwnd').filter(Number.isFinite);
    assert.ok(Math.max(...cwnd) > 10, 'cwnd grew');
    // every chart has data to draw
    for (const c of buildCharts(tab, { mode: 'devmem', dmabufPages: s.dmabufPages, mss: s.mss })) {
      const finite = c.series.reduce((n, x) => n + x.values.filter((v) => v !== null && Number.isFinite(v)).length, 0);
      assert.ok(finite > 0, `chart ${c.id} has values`);
    }
  });

  it('a stalled run (device memory pinned by the out-of-order queue): the samples show the pool full and rx-alloc-fail rising', async () => {
    const o = { ...DEFAULT_TRANSFER, size: 1 << 20, dmabufSize: 128 << 10, stallUs: 200_000 };
    const s = new RunSampler();
    const r = await runTransfer({ ...o, probe: s });
    assert.ok(r.failure !== null && !r.completed);
    const tab = s.table;
    const inUse = tab.column('poolInflight');
    assert.equal(Math.max(...inUse), 32, 'all 32 device buffers in use');
    const fails = tab.column('rxAllocFail');
    assert.equal(fails[0], 0);
    assert.equal(fails[fails.length - 1], r.rxQueue.rxAllocFail);
    assert.ok(r.rxQueue.rxAllocFail > 0);
    const html = demoReport(o, r, s, 'devmem demo --dmabuf-size 128K --size 1M');
    assert.match(html, /class="verdict fail">FAILED: no progress/);
    assert.match(html, /device memory exhausted/);
    assert.equal(inspectReport(html).figures.length, 12);
  });

  it('a copy-mode run: no tokens, host pages in the pool', async () => {
    const s = new RunSampler({ capacity: 64 });
    const r = await runTransfer({ ...DEFAULT_TRANSFER, size: 1 << 20, mode: 'copy', probe: s });
    assert.ok(r.completed);
    assert.ok(s.table.length <= 64);
    assert.ok(s.table.column('tokensIssued').every((v) => v === 0));
    const html = demoReport({ ...DEFAULT_TRANSFER, size: 1 << 20, mode: 'copy' }, r, s, 'devmem demo --mode copy');
    assert.match(html, /Page pool occupancy \(host pages\)/);
    assert.match(html, /copy mode: no tokens/);
  });

  it('a sampler is started once', () => {
    const s = new RunSampler();
    s.stop(); // stopping one never started is a no-op
    assert.equal(s.table.length, 0);
  });
});

function demo(args: string[]) {
  return spawnSync(process.execPath, [MAIN, 'demo', '--quiet', ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('devmem demo --report', () => {
  it('writes one self-contained page and names it in the summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-report-'));
    try {
      const file = join(dir, 'run.html');
      const r = demo(['--size', '2M', '--loss', '0.02', '--report', file]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`report\\s+${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const html = readFileSync(file, 'utf8');
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /class="verdict ok">Completed: 2\.0 MiB delivered and validated/);
      assert.match(html, /devmem demo --quiet --size 2M --loss 0\.02 --report /);
      assert.equal(inspectReport(html).figures.length, 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --json stdout stays one JSON object; a failed run still writes its report (exit 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-report-'));
    try {
      const file = join(dir, 'stall.html');
      const r = demo(['--size', '1M', '--dmabuf-size', '128K', '--stall-timeout', '0.2', '--json', '--report', file]);
      assert.equal(r.status, 1, r.stderr);
      const j = JSON.parse(r.stdout) as TransferResult;
      assert.equal(j.completed, false);
      assert.match(readFileSync(file, 'utf8'), /class="verdict fail">FAILED: no progress for 0\.2 s/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unwritable path: one line, exit 2, before any run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-report-'));
    try {
      const file = join(dir, 'no', 'such', 'dir.html');
      const r = demo(['--size', '256M', '--report', file]);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `devmem: --report: cannot write '${file}' (ENOENT)\n`);
      assert.ok(!existsSync(file));
      const e = demo(['--report']);
      assert.equal(e.status, 2);
      assert.equal(e.stderr, 'devmem: --report: missing value\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is in the help, generated from the option table', () => {
    const r = spawnSync(process.execPath, [MAIN, 'help', 'demo'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--report FILE\s+write a self-contained HTML report/);
  });
});
