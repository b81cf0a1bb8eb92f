// Every command's help and parser come from one option table, so they cannot drift: for each
// command (demo, bench, conformance, ncdevmem) the options are read back from the HELP TEXT and
// fed to the command's own parse function (the one the command runs): every option the help lists
// is accepted, every spelling the parser accepts is listed, and every range the help prints is the
// range the parser enforces (both ends accepted, one step outside refused with one line).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, parseSize } from '../../src/cli/args.js';
import { formatHelp, helpForm, optLabel, parseOptions, type CommandSpec, type OptSpec } from '../../src/cli/options/table.js';
import { DEMO_COMMAND } from '../../src/cli/demo/options.js';
import { BENCH_COMMAND, parseBenchArgs } from '../../src/cli/options/bench.js';
import { CONFORMANCE_COMMAND, parseConformanceArgs } from '../../src/cli/options/conformance.js';
import { NCDEVMEM_COMMAND, parseNcdevmemArgs } from '../../src/cli/ncdevmem/args.js';

interface Cmd {
  spec: CommandSpec;
  /** the parse function the command itself calls */
  parse: (argv: readonly string[]) => unknown;
}

const COMMANDS: Cmd[] = [
  { spec: DEMO_COMMAND, parse: (argv) => parseOptions(DEMO_COMMAND, argv) },
  { spec: BENCH_COMMAND, parse: (argv) => parseBenchArgs(argv, {}) },
  { spec: CONFORMANCE_COMMAND, parse: parseConformanceArgs },
  { spec: NCDEVMEM_COMMAND, parse: parseNcdevmemArgs },
];

interface HelpRow {
  /** the left column as printed: `-x, --name ARG`, `-x ARG`, `--name` */
  left: string;
  /** every spelling the row names (`-x`, `--name`, and `--old` from "(also --old)") */
  spellings: string[];
  /** the spelling the row's messages use (the long one when there is one) */
  main: string;
  takesValue: boolean;
  /** the right column, continuation lines joined */
  text: string;
}

/** the option rows of a help text: lines that start with two spaces and a dash */
function helpRows(help: string): HelpRow[] {
  const rows: HelpRow[] = [];
  let cur: HelpRow | null = null;
  for (const line of help.split('\n')) {
    const m = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (m !== null) {
      const left = m[1]!;
      const words = left.replace(',', '').split(' ');
      const spellings = words.filter((w) => w.startsWith('-'));
      cur = { left, spellings, main: spellings[spellings.length - 1]!, takesValue: words.length > spellings.length, text: m[2] ?? '' };
      rows.push(cur);
    } else if (cur !== null && /^ {4,}\S/.test(line)) cur.text += ` ${line.trim()}`;
    else cur = null; // a heading, a blank line or the epilog ends the row
  }
  for (const r of rows) {
    const also = /\(also ([^)]*)\)/.exec(r.text);
    if (also !== null) r.spellings.push(...also[1]!.split(', '));
  }
  return rows;
}

/** the numeric range a help row prints, "(A..B" */
function rangeOf(r: HelpRow): [string, string] | null {
  const m = /\((-?[\d.]+[KMG]?)\.\.(-?[\d.]+[KMG]?)[;)]/.exec(r.text);
  return m === null ? null : [m[1]!, m[2]!];
}

function specOf(cmd: Cmd, r: HelpRow): OptSpec {
  const o = cmd.spec.options.find((x) => helpForm(x) === r.left);
  assert.ok(o !== undefined, `${cmd.spec.name}: help row '${r.left}' belongs to an option of the table`);
  return o;
}

/** a value the help says is valid: the low end of its range, its first choice, else the table's example */
function sampleValue(cmd: Cmd, r: HelpRow): string {
  const range = rangeOf(r);
  if (range !== null) return range[0];
  const choice = /\(([\w-]+) \|/.exec(r.text);
  if (choice !== null) return choice[1]!;
  return specOf(cmd, r).example ?? 'x';
}

/** the message of the UsageError `parse(argv)` throws, or null when it is accepted */
function refusal(cmd: Cmd, argv: string[]): string | null {
  try {
    cmd.parse(argv);
    return null;
  } catch (e) {
    assert.ok(e instanceof UsageError, `${cmd.spec.name} ${argv.join(' ')}: ${String(e)}`);
    assert.ok(e.message !== '' && !e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  }
}

for (const cmd of COMMANDS) {
  const name = cmd.spec.name;
  const help = formatHelp(cmd.spec);
  const rows = helpRows(help);

  describe(`devmem ${name}: help and parser from one table`, () => {
    it('the help lists every option of the table once, and nothing else', () => {
      assert.equal(rows.length, cmd.spec.options.length);
      const all = rows.flatMap((r) => r.spellings);
      assert.equal(new Set(all).size, all.length, `no spelling twice: ${all.join(' ')}`);
      for (const r of rows) specOf(cmd, r);
    });

    it('every option the help lists is accepted by the parser, with a value the help calls valid', () => {
      for (const r of rows) {
        for (const sp of r.spellings) {
          const argv = r.takesValue ? [sp, sampleValue(cmd, r)] : [sp];
          assert.equal(refusal(cmd, argv), null, `${name} ${argv.join(' ')}`);
          if (r.takesValue && sp.startsWith('--')) assert.equal(refusal(cmd, [`${sp}=${argv[1]}`]), null, `${name} ${sp}=${argv[1]}`);
        }
      }
    });

    it('every spelling the parser accepts is in the help (every letter, every table name, short-only names refused as long)', () => {
      const listed = new Set(rows.flatMap((r) => r.spellings));
      const probes = new Set<string>(['--nope', '--', '---x']);
      for (let c = 0; c < 26; c++) {
        probes.add(`-${String.fromCharCode(97 + c)}`);
        probes.add(`-${String.fromCharCode(65 + c)}`);
      }
      for (const o of cmd.spec.options) {
        probes.add(`--${o.name}`);
        for (const a of o.aliases ?? []) probes.add(`--${a}`);
      }
      for (const p of probes) {
        if (p === '--') continue;
        const why = refusal(cmd, [p]);
        const known = why === null || !why.startsWith('unknown option');
        assert.equal(known, listed.has(p), `${name} ${p}: ${why ?? 'accepted'}`);
      }
    });

    it('every range in the help is the range the parser enforces: both ends accepted, one step outside refused', () => {
      let ranges = 0;
      for (const r of rows) {
        const range = rangeOf(r);
        if (range === null) continue;
        ranges++;
        const o = specOf(cmd, r);
        const [lo, hi] = range;
        assert.equal(refusal(cmd, [r.main, lo]), null, `${name} ${r.main} ${lo}`);
        assert.equal(refusal(cmd, [r.main, hi]), null, `${name} ${r.main} ${hi}`);
        let below: number;
        let above: number;
        if (o.kind === 'size') {
          below = parseSize(lo, 'lo') - 1;
          above = parseSize(hi, 'hi') + 1;
        } else if (o.kind === 'int') {
          below = Number(lo) - 1;
          above = Number(hi) + 1;
        } else {
          below = Number(lo) - Math.max(1e-6, Math.abs(Number(lo)) * 1e-6);
          above = Number(hi) + Math.max(1e-6, Math.abs(Number(hi)) * 1e-6);
        }
        for (const bad of [below, above]) {
          const why = refusal(cmd, [r.main, String(bad)]);
          assert.ok(why !== null, `${name} ${r.main} ${bad} is refused`);
          assert.ok(why.startsWith(`${optLabel(o)}: `), `names the option: ${why}`);
        }
      }
      const bounded = cmd.spec.options.filter((o) => o.min !== undefined && o.max !== undefined).length;
      assert.equal(ranges, bounded, 'the help prints the range of every bounded option');
    });
  });
}

describe('the option table: getopt rules, lists, repeats, positionals', () => {
  const T: CommandSpec = {
    name: 't',
    summary: 'test',
    positionals: { arg: 'DIR', max: 1 },
    options: [
      { name: 'listen', short: 'l', long: false, kind: 'flag', help: 'a short-only flag' },
      { name: 'port', short: 'p', long: false, kind: 'int', arg: 'PORT', min: 1, max: 65535, help: 'a short-only int' },
      { name: 'verbose', short: 'v', kind: 'flag', help: 'both forms' },
      { name: 'rows', kind: 'list', arg: 'LIST', choices: ['a', 'b', 'c'], help: 'a list' },
      { name: 'define', short: 'D', kind: 'string', arg: 'S', repeat: true, check: (r) => (r.includes('=') ? undefined : 'needs ='), help: 'repeatable' },
      { name: 'filter', kind: 'string', arg: 'S', allowEmpty: true, help: 'may be empty' },
      { name: 'sim-x', kind: 'int', arg: 'N', min: 0, max: 9, default: '3', help: 'with a default' },
    ],
  };
  const refused = (argv: string[]): string => {
    try {
      parseOptions(T, argv);
    } catch (e) {
      assert.ok(e instanceof UsageError);
      return e.message;
    }
    assert.fail(`accepted ${argv.join(' ')}`);
  };

  it('clusters and attached values as getopt: -lp5201, -lp 5201, -vl; the last of a repeated option wins', () => {
    for (const argv of [['-lp5201'], ['-lp', '5201'], ['-l', '-p', '5201'], ['-p', '1', '-p5201', '-l']]) {
      const v = parseOptions(T, argv);
      assert.equal(v.flag('listen'), true, argv.join(' '));
      assert.equal(v.num('port'), 5201, argv.join(' '));
    }
    const v = parseOptions(T, ['-vl']);
    assert.equal(v.flag('verbose'), true);
    assert.equal(v.flag('listen'), true);
    assert.equal(refused(['-p', '-5', '-l']), "-p: expected an integer in 1..65535, got '-5'", 'a value starting with - is the value');
  });

  it('short-only options have no long spelling; the help shows them without one', () => {
    assert.equal(refused(['--listen']), "unknown option '--listen' (try 'devmem t --help')");
    assert.equal(refused(['--port=1']), "unknown option '--port' (try 'devmem t --help')");
    assert.equal(refused(['-p']), '-p: missing value');
    assert.equal(refused(['-lp']), '-p: missing value');
    assert.equal(refused(['-p', '0']), "-p: expected an integer in 1..65535, got '0'");
    assert.equal(refused(['-lx']), "unknown option '-x' (try 'devmem t --help')");
    const help = formatHelp(T);
    assert.match(help, /^ {2}-l {2,}a short-only flag$/m);
    assert.match(help, /^ {2}-p PORT {2,}a short-only int \(1\.\.65535\)$/m);
    assert.match(help, /^ {2}-v, --verbose {2,}both forms$/m);
    assert.match(help, /^usage: devmem t \[options\]$/m);
  });

  it('lists: comma-separated, each item one of the choices; empty items refused', () => {
    assert.deepEqual(parseOptions(T, ['--rows', 'c,a']).list('rows'), ['c', 'a']);
    assert.deepEqual(parseOptions(T, []).list('rows'), []);
    for (const bad of ['a,', ',a', 'd', '', 'a,,b']) {
      assert.equal(refused(['--rows', bad]), `--rows: expected a comma-separated list of a, b, c, got '${bad}'`);
    }
    assert.match(formatHelp(T), /--rows LIST +a list \(a \| b \| c, comma-separated\)/);
  });

  it('repeatable options keep every value in order; check() refuses with one line naming the option', () => {
    assert.deepEqual(parseOptions(T, ['-D', 'a=1', '--define=b=2', '-Dc=3']).list('define'), ['a=1', 'b=2', 'c=3']);
    assert.equal(refused(['-D', 'a=1', '-D', 'nope']), '--define: needs =');
    assert.match(formatHelp(T), /-D, --define S +repeatable \(repeatable\)/);
  });

  it('empty values only where allowed; given lists what was typed, in order, once', () => {
    assert.equal(parseOptions(T, ['--filter=']).str('filter'), '');
    assert.equal(refused(['--define=']), '--define: empty value');
    const v = parseOptions(T, ['--sim-x', '4', '-l', '--sim-x', '5']);
    assert.deepEqual(v.given, ['sim-x', 'listen']);
    assert.equal(v.num('sim-x'), 5);
    assert.deepEqual(parseOptions(T, []).given, [], 'defaults are not "given"');
    assert.equal(parseOptions(T, []).num('sim-x'), 3);
  });

  it('positionals: up to the declared count, anywhere, and everything after --', () => {
    assert.deepEqual(parseOptions(T, ['dir', '-l']).positionals, ['dir']);
    assert.deepEqual(parseOptions(T, ['-l', '--', '-p']).positionals, ['-p']);
    assert.deepEqual(parseOptions(T, ['--']).positionals, []);
    assert.equal(refused(['a', 'b']), "at most 1 DIR, got 'b' too (try 'devmem t --help')");
    const none: CommandSpec = { ...T, positionals: undefined };
    assert.throws(() => parseOptions(none, ['-l', '--', 'x']), /unexpected argument 'x'/);
    assert.throws(() => parseOptions(none, ['x']), /unexpected argument 'x'/);
    assert.equal(parseOptions(none, ['-l', '--']).flag('listen'), true);
  });
});

describe('the commands read back from their tables', () => {
  it('bench: --quick defaults, --rows with --real / --ipv6 / --no-ipv6, env fallbacks for --lib and --compare', () => {
    const d = parseBenchArgs([], {});
    assert.deepEqual([d.runs, d.size, d.nodeSize, d.realSize], [5, 1 << 30, 1 << 30, 256 << 20]);
    assert.deepEqual([...d.groups], ['baselines', 'devmem', 'copy', 'ipv6', 'lossy', 'tx']);
    const q = parseBenchArgs(['--quick', '--runs', '7'], {});
    assert.deepEqual([q.runs, q.size, q.nodeSize, q.realSize], [7, 64 << 20, 128 << 20, 32 << 20]);
    assert.deepEqual([...parseBenchArgs(['--rows', 'lossy,tx', '--real', '--ipv6'], {}).groups], ['lossy', 'tx', 'real', 'ipv6']);
    assert.deepEqual([...parseBenchArgs(['--no-ipv6'], {}).groups], ['baselines', 'devmem', 'copy', 'lossy', 'tx']);
    assert.throws(() => parseBenchArgs(['--ipv6', '--no-ipv6'], {}), /--ipv6 and --no-ipv6 exclude each other/);
    const e = parseBenchArgs([], { DEVMEM_BENCH_LIB: '/a', DEVMEM_BENCH_COMPARE: '/b' });
    assert.deepEqual([e.lib, e.compare], ['/a', '/b']);
    assert.equal(parseBenchArgs(['--lib', '/c'], { DEVMEM_BENCH_LIB: '/a' }).lib, '/c', 'the option wins over the environment');
    assert.equal(parseBenchArgs([], { DEVMEM_BENCH_LIB: '' }).lib, undefined, 'an empty variable is unset');
  });

  it('conformance: DIR, modes, repeated -D, the mode exclusion', () => {
    const c = parseConformanceArgs(['--ipv6', 'dir', '-D', 'a=1', '-Db=x=y']);
    assert.equal(c.dir, 'dir');
    assert.deepEqual(c.modes, ['ipv6']);
    assert.deepEqual([...c.defines], [['a', '1'], ['b', 'x=y']]);
    assert.deepEqual(parseConformanceArgs(['--all-modes']).modes, ['ipv4', 'ipv6', 'ipv4-mapped-ipv6']);
    assert.deepEqual(parseConformanceArgs([]).modes, ['ipv4']);
    assert.throws(() => parseConformanceArgs(['--ipv6', '--ipv4-mapped-ipv6']), /exclude each other/);
    assert.throws(() => parseConformanceArgs(['a', 'b']), /at most 1 DIR/);
    assert.throws(() => parseConformanceArgs(['-D', '=1']), /--define: expected SYM=VALUE, got '=1'/);
  });

  it('ncdevmem: the tool flags are short only, the --sim-* options given are recorded in order', () => {
    const o = parseNcdevmemArgs(['-f', 'eth0', '--sim-mtu', '9000', '--queues', '8', '--sim-bytes', '4K', '--sim-mtu', '1500', '--link', 'tap:a', '--link', 'tap:b']);
    assert.deepEqual(o.simGiven, ['sim-mtu', 'sim-bytes']);
    assert.equal(o.sim.mtu, 1500);
    assert.deepEqual(o.links, ['tap:a', 'tap:b']);
    assert.equal(o.queues, 8);
    assert.equal(o.dmabufSize, 16000 * 4096, 'the default dma-buf is the tool\'s 16000 pages');
    assert.equal(o.stallUs, 30_000_000);
    for (const long of ['--listen', '--port', '--ifname', '--validation']) {
      assert.throws(() => parseNcdevmemArgs(['-f', 'eth0', long]), /unknown option/, long);
    }
    assert.throws(() => parseNcdevmemArgs(['-f', 'eth0', '-v', '1']), /-v: the pattern period must be 0 \(off\) or 2\.\.256, got '1'/);
    assert.throws(() => parseNcdevmemArgs(['-s', '10.0.0.300']), /-s: not an IPv4 or IPv6 address/);
    assert.throws(() => parseNcdevmemArgs(['-f', 'a name']), /-f: not an interface name/);
    assert.throws(() => parseNcdevmemArgs(['--link', ' ']), /--link: empty link spec/);
  });
});
