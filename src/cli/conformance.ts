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
  acceptance, findScripts, formatLine, formatTotal, linuxResults, runSuite, toJson, toMarkdown, type Mode, type SuiteResult,
} from '../conformance/index.js';
import { UsageError } from './args.js';
import { parseCommandArgs } from './options/node-args.js';

const USAGE = `usage: devmem conformance [DIR] [options]

Runs packetdrill scripts (*.pkt under DIR) against the stack in virtual time.
DIR defaults to $PACKETDRILL_DIR, else ../shared/packetdrill next to the repository.

  --ipv6               IPv6 addresses and sockets (packetdrill's ipv6 mode)
  --ipv4-mapped-ipv6   IPv4 on the wire, AF_INET6 sockets
  --all-modes          ipv4, ipv6 and ipv4-mapped-ipv6 in turn
  --filter SUBSTR      only scripts whose path contains SUBSTR
  -D, --define SYM=VAL a packetdrill symbol (repeatable; adds to the mode's defaults)
  --json               one JSON object: {passed, failed, skipped, total, scripts:[{script, result, reason}]}
                       (with --all-modes: an object per mode)
  --markdown           the Markdown report (counts, every failing and skipped script with its cause)
  --baseline FILE      exit 1 when a mode passes fewer scripts than FILE ({"ipv4": N, ...}) records
  -h, --help           this help`;

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
  const { values, positionals } = parseCommandArgs('conformance', argv, {
    options: {
      ipv6: { type: 'boolean', default: false },
      'ipv4-mapped-ipv6': { type: 'boolean', default: false },
      'all-modes': { type: 'boolean', default: false },
      filter: { type: 'string', default: '' },
      define: { type: 'string', short: 'D', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('conformance: at most one DIR');
  if (values.ipv6 && values['ipv4-mapped-ipv6']) throw new UsageError('conformance: --ipv6 and --ipv4-mapped-ipv6 exclude each other');
  const dir = positionals[0] !== undefined ? resolve(positionals[0]) : defaultDir();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`devmem conformance: no script directory at ${dir} (give DIR or set PACKETDRILL_DIR)`);
    return 2;
  }
  const modes: Mode[] = values['all-modes'] ? ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'] : [values.ipv6 ? 'ipv6' : values['ipv4-mapped-ipv6'] ? 'ipv4-mapped-ipv6' : 'ipv4'];
  const defines = new Map<string, string>();
  for (const d of values.define) {
    const eq = d.indexOf('=');
    if (eq <= 0) throw new UsageError(`--define: expected SYM=VALUE, got '${d}'`);
    defines.set(d.slice(0, eq), d.slice(eq + 1));
  }
  // nothing to run is a mistake (a mistyped --filter, a wrong DIR), not a clean "0 total"
  let scripts: string[];
  try {
    scripts = findScripts(dir);
  } catch (e) {
    throw new UsageError(`conformance: cannot list the scripts under ${dir} (${e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : String(e)})`);
  }
  if (scripts.length === 0) throw new UsageError(`conformance: no *.pkt scripts under ${dir}`);
  if (!scripts.some((s) => s.includes(values.filter))) throw new UsageError(`--filter: no script path under ${dir} contains '${values.filter}'`);
  const lines = !values.json && !values.markdown;
  const results: SuiteResult[] = [];
  const linux = linuxResults(dir);
  for (const mode of modes) {
    if (lines && modes.length > 1) console.log(`# ${mode}`);
    const r = runSuite(dir, mode, values.filter, lines ? (e) => console.log(formatLine(e)) : undefined, defines);
    if (lines) {
      console.log(formatTotal(r));
      if (linux !== null && values.filter === '') {
        const a = acceptance(r, linux);
        console.log(`${mode}: ${a.passed} of the ${a.linuxPasses} non-Fast-Open scripts Linux passes`);
      }
    }
    results.push(r);
  }
  if (values.json) {
    if (results.length === 1) console.log(JSON.stringify(toJson(results[0]!), null, 2));
    else console.log(JSON.stringify(Object.fromEntries(results.map((r) => [r.mode, toJson(r)])), null, 2));
  }
  if (values.markdown) process.stdout.write(toMarkdown(results, linux));
  if (values.baseline !== undefined) return checkBaseline(values.baseline, results);
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
