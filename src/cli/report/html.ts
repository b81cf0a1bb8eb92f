/**
 * The report page: one self-contained HTML document (inline CSS, inline data, inline script, no
 * URL to fetch; a Content-Security-Policy that forbids any fetch at all). The charts are drawn in
 * the page by `draw.ts`'s functions (their source is inlined) from the JSON data block; each
 * figure then carries `data-points` (values drawn) and the body `data-drawn` (the total), and any
 * script error, console.error or CSP violation is recorded on <html data-errors>, so a headless
 * browser's DOM dump tells whether every chart drew. Pure: returns the text, writes nothing.
 */
import { drawSource, fmtNum, type DrawChart } from './draw.js';

export interface ReportPage {
  title: string;
  /** the command line that produced the run */
  command: string;
  /** true: the run succeeded */
  ok: boolean;
  /** one line: the outcome (or the failure's diagnosis) */
  verdict: string;
  /** the run's parameters and its summary, as label / value rows */
  params: readonly (readonly [string, string])[];
  summary: readonly (readonly [string, string])[];
  charts: readonly DrawChart[];
  /** rendered chart size, px */
  chartWidth?: number;
  chartHeight?: number;
}

/** text safe in HTML content and attribute values */
export function escHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside <script>: no '<' (so no '</script>' or '<!--'), NaN and ±Infinity as null */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
*{box-sizing:border-box}
body{margin:0;padding:20px 24px 40px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#f3f5f8;width:1280px}
h1{font-size:22px;margin:0 0 6px}
.verdict{font-size:16px;font-weight:600;padding:8px 12px;border-radius:6px;margin:8px 0}
.verdict.ok{background:#e3f5ea;color:#0b5d2a;border:1px solid #9fd8b3}
.verdict.fail{background:#fde8e4;color:#8a1c0c;border:1px solid #f0a899}
.cmd{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;color:#444;margin:4px 0 12px;word-break:break-all}
.tables{display:flex;gap:16px;margin-bottom:16px}
.tables section{flex:1;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:8px 12px}
.tables h2{font-size:14px;margin:2px 0 6px;color:#333}
table{border-collapse:collapse;width:100%;font-size:13px}
td{padding:2px 6px;border-bottom:1px solid #eef0f4;vertical-align:top}
td:first-child{color:#555;white-space:nowrap;width:40%}
.grid{display:grid;grid-template-columns:repeat(2,1fr);gap:14px}
figure{margin:0;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:8px 10px 6px}
figcaption b{font-size:14px}
.note{font-size:12px;color:#666;margin:2px 0 4px;min-height:2.8em}
.legend{font-size:12px;color:#333;margin:2px 0}
.legend span{margin-right:12px;white-space:nowrap}
.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px;border-radius:1px}
.readout{font:11px ui-monospace,"DejaVu Sans Mono",monospace;color:#444;min-height:1.3em}
.plot svg{display:block}
`;

/** runs first: records any error the page meets, where a DOM dump shows it */
const TRAP = `(function(){var errs=[];function rec(m){errs.push(String(m));document.documentElement.setAttribute('data-errors',errs.join(' | '));}
window.addEventListener('error',function(e){rec(e.message||'error');});
window.addEventListener('unhandledrejection',function(e){rec('unhandled rejection: '+(e.reason&&e.reason.message||e.reason));});
document.addEventListener('securitypolicyviolation',function(e){rec('CSP: '+e.violatedDirective+' '+e.blockedURI);});
var ce=console.error;console.error=function(){rec(Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};})();`;

/** draws every figure from the data block (one failing chart is recorded, the others still draw), wires the hover readout, marks the body as drawn */
const MAIN = `(function(){
var data=JSON.parse(document.getElementById('report-data').textContent);
var W=data.width,H=data.height,total=0;
document.querySelectorAll('figure[data-chart]').forEach(function(fig){
  try{drawFigure(fig);}catch(e){console.error('chart '+fig.id+': '+(e&&e.message||e));}
});
document.body.setAttribute('data-drawn',String(total));
// the laid-out size, for a screenshot of the whole page
document.documentElement.setAttribute('data-size',document.documentElement.scrollWidth+'x'+document.documentElement.scrollHeight);
function drawFigure(fig){
  var c=data.charts[Number(fig.getAttribute('data-chart'))];
  var r=chartSvg(c,W,H);
  fig.querySelector('.plot').innerHTML=r.svg;
  fig.setAttribute('data-points',String(r.points));
  total+=r.points;
  var svg=fig.querySelector('svg'),cur=svg.querySelector('.cursor'),out=fig.querySelector('.readout');
  var t=c.t,x0=t[0],x1=t[t.length-1]>x0?t[t.length-1]:x0+1;
  svg.addEventListener('mousemove',function(ev){
    var b=svg.getBoundingClientRect(),i=rowAt(c,W,(ev.clientX-b.left)*W/b.width);
    if(i<0)return;
    var x=58+(t[i]-x0)/(x1-x0)*(W-70);
    cur.setAttribute('x1',x);cur.setAttribute('x2',x);cur.setAttribute('visibility','visible');
    out.textContent='t '+fmtNum(t[i])+' ms   '+c.series.map(function(s){var v=s.values[i];return s.name+' '+(v===null||v===undefined?'–':fmtNum(v));}).join('   ');
  });
  svg.addEventListener('mouseleave',function(){cur.setAttribute('visibility','hidden');out.textContent='';});
}
})();`;

function table(rows: readonly (readonly [string, string])[]): string {
  return `<table>${rows.map(([k, v]) => `<tr><td>${escHtml(k)}</td><td>${escHtml(v)}</td></tr>`).join('')}</table>`;
}

/** legend entry: the series' maximum and final value, readable without hovering */
function legend(c: DrawChart): string {
  return c.series
    .map((s) => {
      let max = -Infinity;
      let last = NaN;
      for (const v of s.values) {
        if (v === null || !Number.isFinite(v)) continue;
        if (v > max) max = v;
        last = v;
      }
      const stats = Number.isFinite(max) ? ` (max ${fmtNum(max)}, end ${fmtNum(last)})` : ' (no data)';
      const style = s.dashed ? `background:repeating-linear-gradient(90deg,${s.color} 0 4px,transparent 4px 7px)` : `background:${s.color}`;
      return `<span><i style="${escHtml(style)}"></i>${escHtml(s.name)}${escHtml(stats)}</span>`;
    })
    .join('');
}

export function renderReport(p: ReportPage): string {
  const width = p.chartWidth ?? 590;
  const height = p.chartHeight ?? 230;
  const code = drawSource();
  if (/<\/script|<!--/i.test(code)) throw new Error('report: the drawing code cannot be inlined in a <script>');
  const figures = p.charts
    .map((c, i) =>
      `<figure id="chart-${escHtml(c.id)}" data-chart="${i}" data-points="0"><figcaption><b>${escHtml(c.title)}</b> <span class="unit">(${escHtml(c.unit)})</span>` +
      `<div class="note">${escHtml(c.note ?? '')}</div><div class="legend">${legend(c)}</div></figcaption>` +
      `<div class="plot" style="width:${width}px;height:${height}px"></div><div class="readout"></div></figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=1280">
<link rel="icon" href="data:,">
<title>${escHtml(p.title)}</title>
<style>${STYLE}</style>
<script>${TRAP}</script>
</head>
<body data-drawn="0">
<h1>${escHtml(p.title)}</h1>
<div class="verdict ${p.ok ? 'ok' : 'fail'}">${escHtml(p.verdict)}</div>
<div class="cmd">${escHtml(p.command)}</div>
<div class="tables"><section><h2>Run parameters</h2>${table(p.params)}</section><section><h2>Summary</h2>${table(p.summary)}</section></div>
<div class="grid">
${figures}
</div>
<noscript><p>The charts are drawn by the page's inline script: enable JavaScript to see them.</p></noscript>
<script type="application/json" id="report-data">${scriptJson({ width, height, charts: p.charts })}</script>
<script>${code}
${MAIN}</script>
</body>
</html>
`;
}
