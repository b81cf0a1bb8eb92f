/**
 * A conformance run over a directory of scripts: finds the `.pkt` files (sorted, paths relative
 * to the directory), runs each in one mode, and renders the results as text lines, a JSON
 * object `{ passed, failed, skipped, total, scripts: [{ script, result, reason }] }` or a
 * Markdown report.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runScriptFile, type Mode, type ScriptResult } from './runner.js';

export interface ScriptEntry extends ScriptResult {
  script: string;
}

export interface SuiteResult {
  mode: Mode;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  scripts: ScriptEntry[];
}

/** every `.pkt` file under `dir`, relative paths, sorted */
export function findScripts(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (e.endsWith('.pkt')) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** runs the scripts of `dir` whose path contains `filter` (all when empty) */
export function runSuite(
  dir: string, mode: Mode, filter = '', onScript?: (e: ScriptEntry) => void, defines: ReadonlyMap<string, string> = new Map(),
): SuiteResult {
  const scripts: ScriptEntry[] = [];
  for (const s of findScripts(dir)) {
    if (filter !== '' && !s.includes(filter)) continue;
    const r = runScriptFile(join(dir, s), mode, defines);
    const e = { script: s, ...r };
    scripts.push(e);
    onScript?.(e);
  }
  return summarize(mode, scripts);
}

export function summarize(mode: Mode, scripts: ScriptEntry[]): SuiteResult {
  const count = (k: ScriptResult['result']): number => scripts.filter((s) => s.result === k).length;
  return { mode, passed: count('pass'), failed: count('fail'), skipped: count('skip'), total: scripts.length, scripts };
}

/** one line per script */
export function formatLine(e: ScriptEntry): string {
  return e.result === 'pass' ? `pass  ${e.script}` : `${e.result}  ${e.script}: ${e.reason}`;
}

export function formatTotal(r: SuiteResult): string {
  return `${r.mode}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.total} total`;
}

/** the JSON shape of `--json` */
export function toJson(r: SuiteResult): { passed: number; failed: number; skipped: number; total: number; scripts: { script: string; result: string; reason: string }[] } {
  return {
    passed: r.passed, failed: r.failed, skipped: r.skipped, total: r.total,
    scripts: r.scripts.map((s) => ({ script: s.script, result: s.result, reason: s.reason })),
  };
}

/**
 * `LINUX-RESULTS.md` of the script directory (what the real kernel gives per script and mode),
 * or null when absent: script → mode → passed.
 */
export function linuxResults(dir: string): Map<string, Partial<Record<Mode, boolean>>> | null {
  const f = join(dir, 'LINUX-RESULTS.md');
  if (!existsSync(f)) return null;
  const m = new Map<string, Partial<Record<Mode, boolean>>>();
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    const c = line.split('|').map((x) => x.trim());
    if (c.length < 6 || !c[1]!.endsWith('.pkt')) continue;
    const v = (x: string): boolean | undefined => (x === 'pass' ? true : x === 'fail' ? false : undefined);
    m.set(c[1]!, { ipv4: v(c[2]!), ipv6: v(c[3]!), 'ipv4-mapped-ipv6': v(c[4]!) });
  }
  return m;
}

/** the acceptance measure: of the non-Fast-Open scripts Linux passes in this mode, how many pass here */
export function acceptance(r: SuiteResult, linux: Map<string, Partial<Record<Mode, boolean>>>): { linuxPasses: number; passed: number } {
  let linuxPasses = 0;
  let passed = 0;
  for (const s of r.scripts) {
    if (s.script.includes('fastopen/')) continue;
    if (linux.get(s.script)?.[r.mode] !== true) continue;
    linuxPasses++;
    if (s.result === 'pass') passed++;
  }
  return { linuxPasses, passed };
}

/** a Markdown section per mode: counts, then every failing and skipped script with its cause */
export function toMarkdown(results: SuiteResult[], linux: Map<string, Partial<Record<Mode, boolean>>> | null = null): string {
  const lines: string[] = [];
  lines.push('| mode | passed | failed | skipped | total | non-Fast-Open scripts Linux passes: passed here |', '|---|---|---|---|---|---|');
  for (const r of results) {
    let acc = 'n/a (no LINUX-RESULTS.md)';
    if (linux !== null) {
      const a = acceptance(r, linux);
      acc = `${a.passed} of ${a.linuxPasses} (${a.linuxPasses === 0 ? 0 : Math.round((100 * a.passed) / a.linuxPasses)}%)`;
    }
    lines.push(`| ${r.mode} | ${r.passed} | ${r.failed} | ${r.skipped} | ${r.total} | ${acc} |`);
  }
  // one row per script that does not pass in every mode; the cause once when the modes agree
  lines.push('', `| script | ${results.map((r) => r.mode).join(' | ')} | cause |`, `|---|${results.map(() => '---|').join('')}---|`);
  const names = [...new Set(results.flatMap((r) => r.scripts.map((s) => s.script)))].sort();
  const esc = (t: string): string => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  for (const name of names) {
    const per = results.map((r) => r.scripts.find((s) => s.script === name));
    if (per.every((e) => e === undefined || e.result === 'pass')) continue;
    const reasons = new Map<string, string[]>();
    per.forEach((e, i) => {
      if (e === undefined || e.result === 'pass') return;
      const list = reasons.get(e.reason) ?? [];
      list.push(results[i]!.mode);
      reasons.set(e.reason, list);
    });
    const cause = reasons.size === 1 ? [...reasons.keys()][0]! : [...reasons].map(([r, ms]) => `${ms.join(', ')}: ${r}`).join('; ');
    lines.push(`| ${name} | ${per.map((e) => e?.result ?? '-').join(' | ')} | ${esc(cause)} |`);
  }
  return lines.join('\n') + '\n';
}
