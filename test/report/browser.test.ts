// The report in a real browser: Debian's Chromium, headless, no network, a fresh profile, opens
// the page of a `--loss 0.02` run; after its scripts ran, every chart has drawn data and the page
// recorded no error (script errors, console.error, CSP violations) — and a page with one broken
// chart is caught by the same check (the check can fail). Without Chromium the test says why it
// did not run; under CI (CI set) a missing Chromium fails it.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleMessages, dumpDom, findChromium, inspectReport } from '../../src/cli/report/browser.js';
import { renderReport, type DrawChart } from '../../src/cli/report/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** the browser, or null after skipping (failing under CI) */
function chromium(t: TestContext): string | null {
  const bin = findChromium();
  if (bin !== null) return bin;
  const why = 'no Chromium (/usr/bin/chromium, or $CHROMIUM): apt-get install chromium';
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') assert.fail(`${why} (CI is set: this check must run)`);
  t.skip(why);
  return null;
}

describe('the report in headless Chromium', { timeout: 240_000 }, () => {
  it('a --loss 0.02 run: every chart drawn, no error, no console error', async (t) => {
    const bin = chromium(t);
    if (bin === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'devmem-report-browser-'));
    try {
      const file = join(dir, 'run.html');
      const r = spawnSync(process.execPath, [MAIN, 'demo', '--quiet', '--size', '4M', '--loss', '0.02', '--report', file], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const run = await dumpDom(bin, file, 90_000);
      assert.equal(run.timedOut, false, 'chromium did not finish');
      assert.equal(run.status, 0, run.stderr.slice(-2000));
      const st = inspectReport(run.stdout);
      assert.equal(st.errors, null, `the page recorded errors: ${st.errors}`);
      assert.deepEqual(consoleMessages(run.stderr), []);
      assert.equal(st.figures.length, 12);
      for (const f of st.figures) {
        assert.ok(f.points > 0, `${f.id}: data-points ${f.points}`);
        assert.ok(f.paths > 0 && f.pathChars > 20, `${f.id}: ${f.paths} paths, ${f.pathChars} chars of path data`);
      }
      assert.equal(st.drawn, st.figures.reduce((n, f) => n + f.points, 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a page with a broken chart fails the same check (the error is recorded, that chart stays empty)', async (t) => {
    const bin = chromium(t);
    if (bin === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'devmem-report-browser-'));
    try {
      const good: DrawChart = { id: 'good', title: 'good', unit: 'u', t: [0, 1, 2], series: [{ name: 'x', color: '#000', values: [1, 2, 3] }] };
      // no time axis: the drawer throws in the page
      const broken = { id: 'broken', title: 'broken', unit: 'u', t: null, series: [{ name: 'y', color: '#000', values: [1, 2] }] } as unknown as DrawChart;
      const file = join(dir, 'broken.html');
      writeFileSync(file, renderReport({ title: 'broken', command: 'test', ok: false, verdict: 'x', params: [], summary: [], charts: [good, broken] }));
      const run = await dumpDom(bin, file, 90_000);
      assert.equal(run.status, 0, run.stderr.slice(-2000));
      const st = inspectReport(run.stdout);
      assert.ok(st.errors !== null && /^chart chart-broken: Cannot read properties of null/.test(st.errors), `errors: ${st.errors}`);
      assert.ok(consoleMessages(run.stderr).some((l) => /chart chart-broken/.test(l)), 'the console error is in the browser log');
      assert.deepEqual(st.figures.map((f) => [f.id, f.points > 0]), [['chart-good', true], ['chart-broken', false]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
