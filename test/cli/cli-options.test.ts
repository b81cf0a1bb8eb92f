// The option table: parser and help generated from one table, so the ranges agree.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, fmtSize } from '../../src/cli/args.js';
import { formatHelp, parseOptions, type CommandSpec } from '../../src/cli/options/table.js';
import { DEMO_COMMAND } from '../../src/cli/demo/options.js';

const T: CommandSpec = {
  name: 't',
  summary: 'a test command',
  options: [
    { name: 'n', kind: 'int', arg: 'N', min: -10, max: 10, default: '3', help: 'an int' },
    { name: 'p', kind: 'number', arg: 'P', min: 0, max: 1, help: 'a probability' },
    { name: 's', kind: 'size', arg: 'N', min: 4096, max: 4 * 1024 ** 3, multipleOf: 4096, default: '64M', help: 'a size' },
    { name: 'm', kind: 'choice', choices: ['x', 'y'], default: 'x', help: 'a choice' },
    { name: 'f', kind: 'flag', help: 'a flag' },
    { name: 'o', kind: 'string', arg: 'FILE', aliases: ['old'], help: 'a file' },
    { name: 'help', short: 'h', kind: 'flag', help: 'help' },
  ],
};

function usage(argv: string[]): string {
  try {
    parseOptions(T, argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
}

describe('option table', () => {
  it('defaults, both value forms, aliases, short flags', () => {
    const d = parseOptions(T, []);
    assert.equal(d.num('n'), 3);
    assert.equal(d.num('s'), 64 << 20);
    assert.equal(d.str('m'), 'x');
    assert.equal(d.flag('f'), false);
    assert.equal(d.has('p'), false);
    assert.equal(d.str('o'), undefined);
    const v = parseOptions(T, ['--n=7', '--p', '0.25', '--old', 'a.pcap', '-h', '--f', '--m', 'y', '--s', '4G']);
    assert.equal(v.num('n'), 7);
    assert.equal(v.num('p'), 0.25);
    assert.equal(v.str('o'), 'a.pcap');
    assert.equal(v.flag('help'), true);
    assert.equal(v.flag('f'), true);
    assert.equal(v.str('m'), 'y');
    assert.equal(v.num('s'), 4 * 1024 ** 3);
  });

  it('a value starting with "-" is a value: negative numbers parse, and out-of-range ones are refused by the range', () => {
    assert.equal(parseOptions(T, ['--n', '-5']).num('n'), -5);
    assert.equal(parseOptions(T, ['--n=-10']).num('n'), -10);
    assert.equal(usage(['--p', '-0.5']), "--p: expected a number in 0..1, got '-0.5'");
    assert.equal(usage(['--n', '-11']), "--n: expected an integer in -10..10, got '-11'");
    assert.equal(parseOptions(T, ['--o', '-']).str('o'), '-');
  });

  it('the range in the help is the range enforced, both ends inclusive', () => {
    const help = formatHelp(T);
    assert.match(help, /--n N +an int \(-10\.\.10\) \[default 3\]/);
    assert.match(help, /--p P +a probability \(0\.\.1\)/);
    assert.match(help, /--s N +a size \(4K\.\.4G\) \[default 64M\]/);
    assert.match(help, /--m V +a choice \(x \| y\)/);
    assert.match(help, /-h, --help/);
    assert.match(help, /\(also --old\)/);
    assert.equal(parseOptions(T, ['--p', '1']).num('p'), 1);
    assert.equal(parseOptions(T, ['--p', '0']).num('p'), 0);
    assert.equal(parseOptions(T, ['--s', '4K']).num('s'), 4096);
  });

  for (const [argv, msg] of [
    [['--bogus'], "unknown option '--bogus' (try 'devmem t --help')"],
    [['--bogus=1'], "unknown option '--bogus' (try 'devmem t --help')"],
    [['stray'], "unexpected argument 'stray' (try 'devmem t --help')"],
    [['--n'], '--n: missing value'],
    [['--n', '1.5'], "--n: expected an integer in -10..10, got '1.5'"],
    [['--n', ''], "--n: expected an integer in -10..10, got ''"],
    [['--n', 'NaN'], "--n: expected an integer in -10..10, got 'NaN'"],
    [['--p', '1.0001'], "--p: expected a number in 0..1, got '1.0001'"],
    [['--p', 'Infinity'], "--p: expected a number in 0..1, got 'Infinity'"],
    [['--s', '5G'], "--s: expected a size in 4K..4G, got '5G'"],
    [['--s', '4097'], "--s: expected a multiple of 4K, got '4097'"],
    [['--s', '-4K'], "--s: not a size: '-4K'"],
    [['--s', 'lots'], "--s: not a size: 'lots'"],
    [['--m', 'z'], "--m: expected x or y, got 'z'"],
    [['--f=1'], '--f takes no value'],
    [['--o', ''], '--o: empty value'],
  ] as const) {
    it(`refuses ${JSON.stringify(argv)} with one line: ${msg}`, () => {
      assert.equal(usage([...argv]), msg);
    });
  }

  it('fmtSize writes exact multiples with a suffix, anything else in bytes', () => {
    assert.deepEqual([4096, 64 << 20, 4 * 1024 ** 3, 1536, 1000].map(fmtSize), ['4K', '64M', '4G', '1536', '1000']);
  });

  it('the demo table: every wire fault is an option, ranges as the issue states', () => {
    const help = formatHelp(DEMO_COMMAND);
    for (const f of ['loss', 'duplicate', 'reorder', 'corrupt']) assert.match(help, new RegExp(`--${f} P .*\\(0\\.\\.1\\)`));
    assert.match(help, /--delay US .*\(0\.\.10000000\)/);
    assert.match(help, /--rate GBPS .*\(0\.001\.\.10000\)/);
    assert.match(help, /--mtu N +link MTU \(68\.\.65535; 1280\.\.65535 with --ipv6\) \[default 1500\]/);
    assert.match(help, /--dmabuf-size N .*\(4K\.\.4G\)/);
    const v = parseOptions(DEMO_COMMAND, ['--gbps', '10', '--delay-us', '7']);
    assert.equal(v.num('rate'), 10);
    assert.equal(v.num('delay'), 7);
  });
});
