/**
 * `devmem conformance [DIR]`: runs the packetdrill scripts under DIR (default `$PACKETDRILL_DIR`,
 * else `../shared/packetdrill` next to the repository) against the stack in virtual time and
 * prints one line per script (pass / fail with the first mismatch / skip with the missing
 * feature) and a total; `--json` prints one object, `--markdown` the report docs/conformance.md
 * holds. `--baseline FILE` turns the run into a gate: exit 1 when a mode passes fewer scripts
 * than FILE records. A missing DIR prints one line and exits 2.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  acceptance, findScripts, formatLine, formatTotal, linuxResults, runSuite, toJson, toMarkdown, type SuiteResult,
} from '../conformance/index.js';
import { UsageError } from './args.js';
import { formatHelp } from './options/table.js';
import { CONFORMANCE_COMMAND, parseConformanceArgs } from './options/conformance.js';

/** the repository root (this file is dist/src/cli/conformance.js) */
function repoRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url));
}

export function defaultDir(): string {
  const env = process.env.PACKETDRILL_DIR;
  if (env !== undefined && env !== '') return resolve(env);
  return resolve(repoRoot(), '../shared/packetdrill');
}

export function runConformanceCli(argv: string[]): number {
  // syntax and the mode exclusion: the option table (options/conformance.ts), which also writes --help
  const args = parseConformanceArgs(argv);
  if (args.help) {
    console.log(formatHelp(CONFORMANCE_COMMAND));
    return 0;
  }
  const dir = args.dir !== undefined ? resolve(args.dir) : defaultDir();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`devmem conformance: no script directory at ${dir} (give DIR or set PACKETDRILL_DIR)`);
    return 2;
  }
  const { modes, defines, filter } = args;
  // nothing to run is a mistake (a mistyped --filter, a wrong DIR), not a clean "0 total"
  let scripts: string[];
  try {
    scripts = findScripts(dir);
  } catch (e) {
    throw new UsageError(`conformance: cannot list the scripts under ${dir} (${e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : String(e)})`);
  }
  if (scripts.length === 0) throw new UsageError(`conformance: no *.pkt scripts under ${dir}`);
  if (!scripts.some((s) => s.includes(filter))) throw new UsageError(`--filter: no script path under ${dir} contains '${filter}'`);
  const lines = !args.json && !args.markdown;
  const results: SuiteResult[] = [];
  const linux = linuxResults(dir);
  for (const mode of modes) {
    if (lines && modes.length > 1) console.log(`# ${mode}`);
    const r = runSuite(dir, mode, filter, lines ? (e) => console.log(formatLine(e)) : undefined, defines);
    if (lines) {
      console.log(formatTotal(r));
      if (linux !== null && filter === '') {
        const a = acceptance(r, linux);
        console.log(`${mode}: ${a.passed} of the ${a.linuxPasses} non-Fast-Open scripts Linux passes`);
      }
    }
    results.push(r);
  }
  if (args.json) {
    if (results.length === 1) console.log(JSON.stringify(toJson(results[0]!), null, 2));
    else console.log(JSON.stringify(Object.fromEntries(results.map((r) => [r.mode, toJson(r)])), null, 2));
  }
  if (args.markdown) process.stdout.write(toMarkdown(results, linux));
  if (args.baseline !== undefined) return checkBaseline(args.baseline, results);
  return results.every((r) => r.failed === 0) ? 0 : 1;
}

/** exit status of the gate: 1 when a mode fell below its recorded pass count */
function checkBaseline(file: string, results: SuiteResult[]): number {
  let base: Record<string, unknown>;
  try {
    base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--baseline: cannot read ${file}: ${(e as Error).message}`);
  }
  const passes = (base.passes ?? base) as Record<string, unknown>;
  let bad = 0;
  for (const r of results) {
    const want = passes[r.mode];
    if (typeof want !== 'number') continue;
    if (r.passed < want) {
      console.error(`devmem conformance: ${r.mode} passes ${r.passed} scripts, below the baseline of ${want}`);
      bad++;
    }
  }
  return bad === 0 ? 0 : 1;
}
