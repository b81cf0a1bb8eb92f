/**
 * The chart drawer that runs in the report's page: pure functions from a chart's data to SVG
 * markup. The page carries their source text (`DRAW_SOURCE`, from Function.prototype.toString),
 * so the browser draws with exactly the code the unit tests call in Node. Therefore every
 * function here is self-contained: no imports, no module-level values, only the functions listed
 * in `DRAW_FUNCTIONS` calling each other, plain ES2022.
 */

/** one line of a chart: a value per row of the chart's `t` (null or NaN: a gap) */
export interface DrawSeries {
  name: string;
  color: string;
  values: (number | null)[];
  /** 'step': the value holds over the interval that ends at its row (rates, per-interval counts) */
  shape?: 'line' | 'step';
  /** draw dashed (a limit, a capacity) */
  dashed?: boolean;
}

/** intervals shaded behind the lines, where `values[i]` > 0 over (t[i-1], t[i]] */
export interface DrawBand {
  name: string;
  color: string;
  values: (number | null)[];
}

export interface DrawChart {
  id: string;
  title: string;
  /** y unit, shown on the axis */
  unit: string;
  /** x positions, virtual ms, ascending */
  t: number[];
  series: DrawSeries[];
  bands?: DrawBand[];
  /** one sentence under the title: how to read it */
  note?: string;
}

export interface DrawResult {
  svg: string;
  /** finite values drawn, over all series (0: the chart is empty) */
  points: number;
}

/** ~`count` round tick values covering [lo, hi] */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9) * step;
  for (let v = first; v <= hi + step * 1e-9 && out.length < 50; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** a short label: 1.5k, 2M, 0.25, 3.2e-5 */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
  if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
  if (a >= 1e-3) return String(+v.toPrecision(3));
  return v.toExponential(1);
}

/** text safe inside SVG/HTML markup */
export function escXml(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** the chart as an SVG element of `width` × `height` px */
export function chartSvg(c: DrawChart, width: number, height: number): DrawResult {
  const L = 58;
  const R = 12;
  const T = 10;
  const B = 30;
  const pw = width - L - R;
  const ph = height - T - B;
  const t = c.t;
  const n = t.length;
  const x0 = n > 0 ? t[0]! : 0;
  let x1 = n > 0 ? t[n - 1]! : 1;
  if (!(x1 > x0)) x1 = x0 + 1;
  let y0 = 0;
  let y1 = -Infinity;
  for (const s of c.series) {
    for (const v of s.values) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v > y1) y1 = v;
      if (v < y0) y0 = v;
    }
  }
  if (!(y1 > y0)) y1 = y0 + 1;
  const yt = niceTicks(y0, y1, 4);
  y1 = Math.max(y1, yt[yt.length - 1]!);
  y0 = Math.min(y0, yt[0]!);
  const xt = niceTicks(x0, x1, 6);
  const px = (x: number): number => L + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => T + ph - ((y - y0) / (y1 - y0)) * ph;
  const r1 = (v: number): string => String(Math.round(v * 10) / 10);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escXml(c.title)}">`);
  parts.push(`<rect class="plot-area" x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#fbfbfd" stroke="#d0d4dc"/>`);
  for (const b of c.bands || []) {
    for (let i = 1; i < n; i++) {
      const v = b.values[i];
      if (v === null || v === undefined || !(v > 0)) continue;
      let j = i;
      while (j + 1 < n && (b.values[j + 1] ?? 0) > 0) j++;
      parts.push(`<rect class="band" data-band="${escXml(b.name)}" x="${r1(px(t[i - 1]!))}" y="${T}" width="${r1(Math.max(1, px(t[j]!) - px(t[i - 1]!)))}" height="${ph}" fill="${escXml(b.color)}" fill-opacity="0.16"/>`);
      i = j;
    }
  }
  for (const v of yt) {
    const y = r1(py(v));
    parts.push(`<line x1="${L}" x2="${L + pw}" y1="${y}" y2="${y}" stroke="#e3e6ec"/>`);
    parts.push(`<text x="${L - 6}" y="${y}" dy="0.32em" text-anchor="end" font-size="11" fill="#555">${escXml(fmtNum(v))}</text>`);
  }
  for (const v of xt) {
    const x = r1(px(v));
    parts.push(`<line x1="${x}" x2="${x}" y1="${T + ph}" y2="${T + ph + 4}" stroke="#888"/>`);
    parts.push(`<text x="${x}" y="${T + ph + 16}" text-anchor="middle" font-size="11" fill="#555">${escXml(fmtNum(v))}</text>`);
  }
  parts.push(`<text x="${L + pw}" y="${height - 2}" text-anchor="end" font-size="10" fill="#777">virtual time, ms</text>`);
  parts.push(`<text x="12" y="${T + ph / 2}" transform="rotate(-90 12 ${T + ph / 2})" text-anchor="middle" font-size="10" fill="#777">${escXml(c.unit)}</text>`);
  let points = 0;
  for (const s of c.series) {
    let d = '';
    let pen = false;
    let prevX = 0;
    for (let i = 0; i < n && i < s.values.length; i++) {
      const v = s.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      points++;
      const x = px(t[i]!);
      const y = py(v);
      if (s.shape === 'step') {
        // the value covers (t[i-1], t[i]]
        const xs = i > 0 ? px(t[i - 1]!) : x;
        if (!pen || xs !== prevX) d += `M${r1(xs)},${r1(y)}`;
        else d += `V${r1(y)}`;
        d += `H${r1(x)}`;
      } else {
        d += `${pen ? 'L' : 'M'}${r1(x)},${r1(y)}`;
      }
      pen = true;
      prevX = x;
    }
    // a lone point still shows: a round cap on a zero-length segment
    const dash = s.dashed ? ' stroke-dasharray="5 4"' : '';
    parts.push(`<path class="series" data-series="${escXml(s.name)}" d="${d}" fill="none" stroke="${escXml(s.color)}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
  }
  parts.push('<line class="cursor" x1="0" x2="0" y1="' + T + '" y2="' + (T + ph) + '" stroke="#333" stroke-width="0.6" visibility="hidden"/>');
  parts.push('</svg>');
  return { svg: parts.join(''), points };
}

/** the x pixel ↔ row mapping the page's hover readout uses (same margins as chartSvg) */
export function rowAt(c: DrawChart, width: number, xPixel: number): number {
  const L = 58;
  const R = 12;
  const t = c.t;
  const n = t.length;
  if (n === 0) return -1;
  const x0 = t[0]!;
  const x1 = t[n - 1]! > x0 ? t[n - 1]! : x0 + 1;
  const x = x0 + ((xPixel - L) / (width - L - R)) * (x1 - x0);
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(t[lo - 1]! - x) < Math.abs(t[lo]! - x)) lo--;
  return lo;
}

/** the functions the page needs, in an order where each is defined before it runs */
export const DRAW_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [niceTicks, fmtNum, escXml, chartSvg, rowAt];

/** their source, ready to inline in a <script> */
export function drawSource(): string {
  return DRAW_FUNCTIONS.map((f) => f.toString()).join('\n');
}
