/**
 * A headless Chromium run on a report page, with no network and a fresh profile each time:
 * `dumpDom` (the DOM after the page's scripts ran: what the CI check inspects) and `screenshot`
 * (the PNG in docs/). `inspectReport` reads a DOM dump: the errors the page recorded, the total
 * drawn, and each figure's `data-points` and path lengths. Used by test/report and
 * scripts/report-screenshot.mjs, never by the stack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** the flags of every run: headless, no sandbox (containers), nothing fetched, no profile state */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-extensions', '--disable-dev-shm-usage', '--hide-scrollbars',
  '--mute-audio', '--enable-logging=stderr', '--v=0',
];

/** where Debian installs it */
export const CHROMIUM_PATHS: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** $CHROMIUM, else the first of `paths` that exists; null when none */
export function findChromium(env: NodeJS.ProcessEnv = process.env, paths: readonly string[] = CHROMIUM_PATHS): string | null {
  for (const c of [env.CHROMIUM, ...paths]) if (c !== undefined && c !== '' && existsSync(c)) return c;
  return null;
}

export interface ChromiumRun {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** runs `bin` with the common flags, `args` and the page, in a fresh --user-data-dir removed after */
export function runChromium(bin: string, args: readonly string[], page: string, timeoutMs = 60_000): Promise<ChromiumRun> {
  const profile = mkdtempSync(join(tmpdir(), 'devmem-report-chromium-'));
  const url = pathToFileURL(resolve(page)).href;
  return new Promise((done, fail) => {
    const child = spawn(bin, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // no proxy, no display: nothing to reach
      env: { ...process.env, DISPLAY: '', http_proxy: '', https_proxy: '' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      fail(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      done({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
  });
}

/** the page's DOM once its scripts ran */
export async function dumpDom(bin: string, page: string, timeoutMs?: number): Promise<ChromiumRun> {
  return runChromium(bin, ['--dump-dom', '--virtual-time-budget=5000'], page, timeoutMs);
}

/** a PNG of the page's first `width` × `height` CSS px */
export async function screenshot(bin: string, page: string, png: string, width: number, height: number, timeoutMs?: number): Promise<ChromiumRun> {
  return runChromium(
    bin,
    [`--screenshot=${resolve(png)}`, `--window-size=${width},${height}`, '--force-device-scale-factor=1', '--virtual-time-budget=5000', '--run-all-compositor-stages-before-draw'],
    page, timeoutMs,
  );
}

export interface FigureState {
  id: string;
  /** the figure's data-points attribute (values drawn) */
  points: number;
  /** characters of path data in its series paths (0: nothing drawn) */
  pathChars: number;
  /** series paths in the figure */
  paths: number;
}

export interface ReportState {
  /** what the page recorded on <html data-errors>, null when nothing */
  errors: string | null;
  /** the laid-out page size in CSS px (<html data-size>), 0 × 0 before the script ran */
  width: number;
  height: number;
  /** <body data-drawn>: values drawn over all charts */
  drawn: number;
  figures: FigureState[];
}

function unescapeAttr(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** reads a DOM dump of a report page */
export function inspectReport(dom: string): ReportState {
  const err = /<html[^>]*\sdata-errors="([^"]*)"/.exec(dom);
  const drawn = /<body[^>]*\sdata-drawn="(\d+)"/.exec(dom);
  const figures: FigureState[] = [];
  const figRe = /<figure\b([^>]*)>([\s\S]*?)<\/figure>/g;
  for (let m = figRe.exec(dom); m !== null; m = figRe.exec(dom)) {
    const attrs = m[1]!;
    const id = /\sid="([^"]*)"/.exec(attrs);
    const pts = /\sdata-points="(\d+)"/.exec(attrs);
    let pathChars = 0;
    let paths = 0;
    const pathRe = /<path\b[^>]*\bclass="series"[^>]*>/g;
    for (let p = pathRe.exec(m[2]!); p !== null; p = pathRe.exec(m[2]!)) {
      paths++;
      const d = /\sd="([^"]*)"/.exec(p[0]);
      pathChars += d !== null ? d[1]!.length : 0;
    }
    figures.push({ id: id !== null ? unescapeAttr(id[1]!) : '', points: pts !== null ? Number(pts[1]) : 0, pathChars, paths });
  }
  const size = /<html[^>]*\sdata-size="(\d+)x(\d+)"/.exec(dom);
  return {
    errors: err !== null ? unescapeAttr(err[1]!) : null,
    width: size !== null ? Number(size[1]) : 0,
    height: size !== null ? Number(size[2]) : 0,
    drawn: drawn !== null ? Number(drawn[1]) : 0,
    figures,
  };
}

/**
 * the page's console messages and uncaught exceptions, from Chromium's stderr log (it logs them
 * all at INFO, whatever their level: the report page logs nothing, so any is a fault)
 */
export function consoleMessages(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));
}
