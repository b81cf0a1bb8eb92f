// The report's parts in isolation: the bounded sample table, the time observer of the virtual
// scheduler (called on its grid, never an event), the chart drawer (the same source runs in the
// page: checked by evaluating it in a bare VM context), the page (self-contained, escaped).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { SampleTable } from '../../src/cli/report/series.js';
import { chartSvg, drawSource, fmtNum, niceTicks, rowAt, type DrawChart } from '../../src/cli/report/draw.js';
import { deltas, rates } from '../../src/cli/report/model.js';
import { escHtml, renderReport, scriptJson } from '../../src/cli/report/html.js';
import { findChromium, inspectReport } from '../../src/cli/report/browser.js';
import { shellWord } from '../../src/cli/report/index.js';
import { VirtualScheduler, Timer } from '../../src/time/index.js';
import { Network } from '../../src/index.js';

describe('SampleTable', () => {
  it('keeps at most `capacity` rows: full, it drops every other row and doubles the interval', () => {
    const tab = new SampleTable(['t', 'v'] as const, 8, 10);
    let t = 0;
    for (let i = 0; i < 8; i++, t += tab.intervalUs) tab.push({ t, v: t * 2 });
    assert.equal(tab.length, 8);
    assert.deepEqual(tab.column('t'), [0, 10, 20, 30, 40, 50, 60, 70]);
    // the 9th row squeezes: rows 0,2,4,6 stay, the new one follows at the doubled spacing
    assert.equal(tab.push({ t: 80, v: 160 }), true);
    assert.equal(tab.intervalUs, 20);
    assert.deepEqual(tab.column('t'), [0, 20, 40, 60, 80]);
    assert.deepEqual(tab.column('v'), [0, 40, 80, 120, 160]);
    for (let i = 0; i < 1000; i++) tab.push({ t: 0, v: 0 });
    assert.ok(tab.length <= 8 && tab.length >= 4);
    assert.ok(tab.decimations >= 2);
  });

  it('rejects a capacity that cannot halve evenly and a non-positive interval', () => {
    assert.throws(() => new SampleTable(['t'] as const, 7, 10), RangeError);
    assert.throws(() => new SampleTable(['t'] as const, 2, 10), RangeError);
    assert.throws(() => new SampleTable(['t'] as const, 8, 0), RangeError);
    assert.throws(() => new SampleTable(['t'] as const, 8, NaN), RangeError);
    assert.throws(() => new SampleTable(['t'] as const, 8, 1).column('x' as 't'), RangeError);
  });

  it('a cumulative counter stays exact after decimation: the sum of the deltas is the total', () => {
    const tab = new SampleTable(['t', 'c'] as const, 16, 1);
    let c = 0;
    for (let t = 0; t < 1000; t += 1) {
      c += (t * 7) % 5;
      tab.push({ t, c });
    }
    const d = deltas(tab.column('c'));
    const col = tab.column('c');
    assert.equal(d.slice(1).reduce((a: number, b) => a + b!, 0), col[col.length - 1]! - col[0]!);
    assert.equal(d[0], null);
  });
});

describe('rates', () => {
  it('per-interval rate in units per `perUs`, null for the first row and for a zero interval', () => {
    assert.deepEqual(rates([0, 100, 300, 300], [0, 10, 20, 20], 1000), [null, 10_000, 20_000, null]);
  });
});

describe('VirtualScheduler observer (Network.observe)', () => {
  function counting(s: VirtualScheduler, at: number[]): Timer {
    return new Timer({ onTimer: () => at.push(s.now()) }, 0);
  }

  it('is called for the first and the last grid point each move of the clock passes, twice at most however long the gap', () => {
    const s = new VirtualScheduler();
    const fired: number[] = [];
    const seen: number[] = [];
    s.setObserver(10, 10, (at) => {
      seen.push(at);
      return 10;
    });
    for (const d of [5, 15, 15, 42, 1000]) s.arm(counting(s, fired), d);
    while (s.step());
    assert.deepEqual(fired, [5, 15, 15, 42, 1000]);
    // 5: before the first point; 15: passes 10; 15 again: no move; 42: passes 20,30,40 → 20, 40;
    // 1000: passes 50..990 → 50, 990
    assert.deepEqual(seen, [10, 20, 40, 50, 990]);
  });

  it('takes the spacing the observer returns, and stops when removed', () => {
    const s = new VirtualScheduler();
    const seen: number[] = [];
    s.setObserver(1, 1, (at) => {
      seen.push(at);
      return 100;
    });
    s.advanceTo(2);
    s.advanceTo(50);
    s.advanceTo(102);
    s.setObserver(0, 0, null);
    s.advanceTo(10_000);
    assert.deepEqual(seen, [1, 101]);
    assert.throws(() => s.setObserver(0, 0, () => 1), RangeError);
  });

  it('is not an event: the same timers fire at the same instants, in the same order, and nothing is pending', () => {
    const run = (observe: boolean): { log: string[]; fired: number; pending: number } => {
      const s = new VirtualScheduler();
      const log: string[] = [];
      if (observe) s.setObserver(3, 3, () => 3);
      let k = 0;
      const chain = (): void => {
        log.push(`${k}@${s.now()}`);
        if (++k < 50) s.arm(new Timer({ onTimer: chain }, 0), s.now() + ((k * 37) % 11));
      };
      s.arm(new Timer({ onTimer: chain }, 0), 0);
      while (s.step());
      return { log, fired: s.fired, pending: s.pending };
    };
    assert.deepEqual(run(true), run(false));
  });

  it('Network.observe refuses real mode and hands back a remover', () => {
    const real = new Network({ mode: 'real', seed: 1 });
    assert.throws(() => real.observe(10, () => 10));
    void real.close();
    const net = new Network({ seed: 1 });
    const seen: number[] = [];
    const stop = net.observe(10, (at) => {
      seen.push(at);
      return 10;
    });
    // nothing is due: one move of the clock to 35 passes 10, 20, 30
    net.runFor(35);
    stop();
    net.runFor(100);
    assert.deepEqual(seen, [10, 30]);
    void net.close();
  });
});

const CHART: DrawChart = {
  id: 'c', title: 'T', unit: 'u', t: [0, 1, 2, 3, 4, 5],
  series: [
    { name: 'a', color: '#123456', values: [0, 1, NaN, 3, 4, 5], shape: 'line' },
    { name: 'b', color: '#654321', values: [null, 2, 2, null, 1, 1], shape: 'step' },
  ],
};

describe('chartSvg', () => {
  it('draws each finite value, lifts the pen over gaps, counts the points', () => {
    const r = chartSvg(CHART, 400, 200);
    assert.equal(r.points, 5 + 4);
    const paths = [...r.svg.matchAll(/<path class="series" data-series="(\w)" d="([^"]*)"/g)];
    assert.deepEqual(paths.map((p) => p[1]), ['a', 'b']);
    const a = paths[0]![2]!;
    // two runs: [0,1] and [3,4,5]
    assert.equal((a.match(/M/g) ?? []).length, 2);
    assert.equal((a.match(/L/g) ?? []).length, 3);
    const b = paths[1]![2]!;
    // steps: each value a horizontal run over its interval
    assert.equal((b.match(/H/g) ?? []).length, 4);
    assert.ok(r.svg.startsWith('<svg ') && r.svg.endsWith('</svg>'));
  });

  it('an empty chart, a flat zero chart and a one-row chart draw without throwing', () => {
    assert.equal(chartSvg({ id: 'e', title: 'e', unit: '', t: [], series: [{ name: 'x', color: '#000', values: [] }] }, 300, 150).points, 0);
    const flat = chartSvg({ id: 'z', title: 'z', unit: '', t: [0, 1, 2], series: [{ name: 'x', color: '#000', values: [0, 0, 0] }] }, 300, 150);
    assert.equal(flat.points, 3);
    assert.doesNotMatch(flat.svg, /NaN|Infinity/);
    const one = chartSvg({ id: 'o', title: 'o', unit: '', t: [7], series: [{ name: 'x', color: '#000', values: [3] }] }, 300, 150);
    assert.equal(one.points, 1);
    assert.doesNotMatch(one.svg, /NaN|Infinity/);
  });

  it('escapes names, titles and colours (a hostile label stays text)', () => {
    const evil = '"><script>alert(1)</script>';
    const r = chartSvg({ id: 'x', title: evil, unit: evil, t: [0, 1], series: [{ name: evil, color: evil, values: [1, 2] }] }, 300, 150);
    assert.doesNotMatch(r.svg, /<script/);
    assert.match(r.svg, /&lt;script&gt;/);
  });

  it('shades the bands where their value is positive', () => {
    const r = chartSvg({ ...CHART, bands: [{ name: 'loss', color: '#f00', values: [0, 0, 1, 1, 0, 1] }] }, 400, 200);
    assert.equal((r.svg.match(/class="band"/g) ?? []).length, 2);
  });

  it('the inlined source is self-contained: evaluated in a bare context it draws the same SVG', () => {
    const ctx: Record<string, unknown> = { chart: CHART };
    const svg = runInNewContext(`${drawSource()}\nchartSvg(chart, 400, 200).svg`, ctx) as string;
    assert.equal(svg, chartSvg(CHART, 400, 200).svg);
    const row = runInNewContext(`${drawSource()}\nrowAt(chart, 400, 300)`, ctx) as number;
    assert.equal(row, rowAt(CHART, 400, 300));
  });
});

describe('niceTicks, fmtNum', () => {
  it('round ticks inside the range, ascending', () => {
    assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
    const t = niceTicks(3, 997, 4);
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! > t[i - 1]!);
    assert.ok(t[0]! >= 3 && t[t.length - 1]! <= 997);
    assert.deepEqual(niceTicks(5, 5, 4), niceTicks(5, 6, 4));
  });

  it('short labels', () => {
    assert.deepEqual([0, 1.5, 1500, 25_000, 2_000_000, 3e9, 0.25, 3.2e-5, NaN, -12_000].map(fmtNum), ['0', '1.5', '1500', '25k', '2M', '3G', '0.25', '3.2e-5', '–', '-12k']);
  });
});

describe('renderReport', () => {
  const page = renderReport({
    title: 'run </title><script>alert(1)</script>', command: "devmem demo --report '</script>.html'", ok: false,
    verdict: 'FAILED: <b>x</b>', params: [['a<', 'b>']], summary: [['c', 'd&']],
    charts: [{ ...CHART, title: '</script><script>alert(2)</script>' }],
  });

  it('is self-contained: a CSP forbidding every fetch, no external script, style, image or link', () => {
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    assert.doesNotMatch(page, /<script[^>]*\ssrc=/i);
    assert.doesNotMatch(page, /<link(?![^>]*href="data:)/i);
    assert.doesNotMatch(page, /@import|url\(/i);
    // the only URL is the SVG namespace (an identifier, never fetched)
    const urls = [...page.matchAll(/\bhttps?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
  });

  it('hostile text cannot leave its element: one inline data block, two scripts, all escaped', () => {
    assert.equal((page.match(/<script/g) ?? []).length, 3);
    assert.equal((page.match(/<\/script>/g) ?? []).length, 3);
    assert.doesNotMatch(page, /alert\(1\)<\/script>|<script>alert/);
    assert.match(page, /run &lt;\/title&gt;/);
    const data = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(page);
    assert.ok(data !== null);
    const parsed = JSON.parse(data[1]!) as { charts: DrawChart[] };
    assert.equal(parsed.charts[0]!.title, '</script><script>alert(2)</script>');
    // NaN travels as null (a gap)
    assert.equal(parsed.charts[0]!.series[0]!.values[2], null);
  });

  it('every figure starts undrawn (data-points 0): only the page script can mark it drawn', () => {
    const st = inspectReport(page);
    assert.equal(st.figures.length, 1);
    assert.equal(st.figures[0]!.points, 0);
    assert.equal(st.figures[0]!.pathChars, 0);
    assert.equal(st.drawn, 0);
    assert.equal(st.errors, null);
  });
});

describe('helpers', () => {
  it('findChromium: $CHROMIUM first, then the known paths, null when none exists', () => {
    const self = process.execPath;
    assert.equal(findChromium({ CHROMIUM: self }, ['/nonexistent/chromium']), self);
    assert.equal(findChromium({}, ['/nonexistent/chromium', self]), self);
    assert.equal(findChromium({ CHROMIUM: '/nonexistent/x' }, ['/nonexistent/chromium']), null);
    assert.equal(findChromium({ CHROMIUM: '' }, []), null);
  });

  it('escHtml, scriptJson, shellWord', () => {
    assert.equal(escHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(scriptJson({ a: '</script>', b: NaN, c: Infinity, d: '\u2028' }), '{"a":"\\u003c/script>","b":null,"c":null,"d":"\\u2028"}');
    assert.equal(shellWord('--size'), '--size');
    assert.equal(shellWord('a b'), "'a b'");
    assert.equal(shellWord("it's"), "'it'\\''s'");
  });

  it('inspectReport reads errors, the total and each figure', () => {
    const dom = `<html data-errors="x &amp; y"><body data-drawn="7"><figure id="chart-a" data-points="3"><path class="series" d="M1,2L3,4"></path></figure>` +
      `<figure id="chart-b" data-points="4"><path class="series" d=""></path><path class="series" d="M0,0"></path></figure></body></html>`;
    const st = inspectReport(dom.replace('<html ', '<html data-size="1288x2403" '));
    assert.equal(st.errors, 'x & y');
    assert.deepEqual([st.width, st.height], [1288, 2403]);
    assert.equal(st.drawn, 7);
    assert.deepEqual(st.figures, [
      { id: 'chart-a', points: 3, pathChars: 8, paths: 1 },
      { id: 'chart-b', points: 4, pathChars: 4, paths: 2 },
    ]);
  });
});
