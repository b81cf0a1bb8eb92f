// Regenerates docs/report-loss2.png, the README's picture of `devmem demo --report`: runs
// `devmem demo --size 64M --loss 0.02 --report` (virtual time, seed 1: the same run every time),
// checks in headless Chromium that every chart drew and the page recorded no error, then takes
// a screenshot of the whole page. Needs a build (`npm run build`) and Chromium
// (`apt-get install chromium`, or $CHROMIUM). Usage: node scripts/report-screenshot.mjs [OUT.png]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? join(root, 'docs', 'report-loss2.png');
const { consoleMessages, dumpDom, findChromium, inspectReport, screenshot } = await import(join(root, 'dist/src/cli/report/browser.js'));

const bin = findChromium();
if (bin === null) {
  console.error('report-screenshot: no Chromium (apt-get install chromium, or set $CHROMIUM)');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'devmem-report-shot-'));
try {
  const page = join(dir, 'run.html');
  // run in the temporary folder: the page shows the command line, with a path worth reading
  const args = ['demo', '--quiet', '--size', '64M', '--loss', '0.02', '--report', 'run.html'];
  const run = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`devmem ${args.join(' ')}: exit ${run.status}`);
  const dom = await dumpDom(bin, page);
  const st = inspectReport(dom.stdout);
  const empty = st.figures.filter((f) => f.points === 0).map((f) => f.id);
  const logged = consoleMessages(dom.stderr);
  if (dom.status !== 0 || st.errors !== null || empty.length > 0 || logged.length > 0 || st.height === 0) {
    throw new Error(`the page did not draw cleanly: status ${dom.status}, errors ${st.errors}, empty charts [${empty}], console [${logged}]`);
  }
  const shot = await screenshot(bin, page, out, st.width, st.height);
  if (shot.status !== 0) throw new Error(`screenshot failed (exit ${shot.status}): ${shot.stderr.slice(-500)}`);
  console.log(`${out}: ${st.width}×${st.height} px, ${statSync(out).size} bytes, ${st.figures.length} charts`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
