// bench and conformance parse like the option tables: a value starting with '-' is a value (the
// range check rejects it), and every parse mistake is one line naming the command's help, exit 2,
// nothing on stdout — never Node's multi-line "argument is ambiguous".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/cli/args.js';
import { joinDashValues, parseCommandArgs } from '../../src/cli/options/node-args.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const OPTS = {
  runs: { type: 'string' },
  define: { type: 'string', short: 'D', multiple: true },
  json: { type: 'boolean' },
} as const;

describe('joinDashValues / parseCommandArgs', () => {
  it('joins a dash-leading value to its option, leaves flags, positionals and everything after -- alone', () => {
    assert.deepEqual(joinDashValues(['--runs', '-1', '--json', '-D', '-x=1', 'DIR', '--', '--runs', '-2'], OPTS), [
      '--runs=-1', '--json', '-D-x=1', 'DIR', '--', '--runs', '-2',
    ]);
    assert.deepEqual(joinDashValues(['--json', '-5'], OPTS), ['--json', '-5'], 'a flag takes no value');
    assert.deepEqual(joinDashValues(['--runs'], OPTS), ['--runs']);
  });

  it('parses negative values; maps every Node parse error to a one-line UsageError', () => {
    const cfg = { options: OPTS, strict: true, allowPositionals: false } as const;
    assert.equal(parseCommandArgs('x', ['--runs', '-3'], cfg).values.runs, '-3');
    assert.deepEqual(parseCommandArgs('x', ['-D', '-a', '--define', 'b'], cfg).values.define, ['-a', 'b']);
    const cases: [string[], string][] = [
      [['--nope'], "unknown option '--nope' (try 'devmem x --help')"],
      [['extra'], "unexpected argument 'extra' (try 'devmem x --help')"],
      [['--runs'], '--runs: missing value'],
      [['-D'], '--define: missing value'],
      [['--json=1'], '--json takes no value'],
    ];
    for (const [argv, msg] of cases) {
      assert.throws(() => parseCommandArgs('x', argv, cfg), (e: unknown) => e instanceof UsageError && e.message === msg, argv.join(' '));
    }
  });
});

describe('bench, conformance and demo --pcap: bad values from the shell', () => {
  const cases: [string[], string][] = [
    [['bench', '--runs', '-1'], "devmem: --runs: expected an integer in 1..50, got '-1'"],
    [['bench', '--size', '-5'], "devmem: --size: not a size: '-5'"],
    [['bench', '--runs'], 'devmem: --runs: missing value'],
    [['bench', '--bogus'], "devmem: unknown option '--bogus' (try 'devmem bench --help')"],
    [['bench', 'extra'], "devmem: unexpected argument 'extra' (try 'devmem bench --help')"],
    [['conformance', '--filter'], 'devmem: --filter: missing value'],
    [['conformance', '--bogus'], "devmem: unknown option '--bogus' (try 'devmem conformance --help')"],
    [['conformance', '--json=x'], 'devmem: --json takes no value'],
    // a capture that cannot be written is a bad value, found before the run (not a raw ENOENT, exit 1)
    [['demo', '--pcap', '/nonexistent-dir/x.pcap', '--size', '64K'], "devmem: --pcap: cannot write '/nonexistent-dir/x.pcap' (ENOENT)"],
    [['demo', '--pcap', '/', '--size', '64K'], "devmem: --pcap: cannot write '/' (EISDIR)"],
    [['--version', 'extra'], "devmem: --version takes no arguments (got 'extra')"],
  ];
  for (const [argv, line] of cases) {
    it(`${argv.join(' ')} → exit 2, "${line}"`, () => {
      const r = spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${line}\n`);
    });
  }
});

describe('devmem conformance: nothing to run is a mistake, not "0 total" and exit 0', () => {
  it('an empty DIR, and a --filter that matches no script path: one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-conf-'));
    try {
      const empty = spawnSync(process.execPath, [MAIN, 'conformance', dir], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(empty.status, 2, empty.stderr);
      assert.equal(empty.stdout, '');
      assert.equal(empty.stderr, `devmem: conformance: no *.pkt scripts under ${dir}\n`);
      mkdirSync(join(dir, 'tcp'));
      writeFileSync(join(dir, 'tcp', 'one.pkt'), '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
      const none = spawnSync(process.execPath, [MAIN, 'conformance', dir, '--filter', 'tcp/two'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(none.status, 2, none.stderr);
      assert.equal(none.stdout, '');
      assert.equal(none.stderr, `devmem: --filter: no script path under ${dir} contains 'tcp/two'\n`);
      // the same DIR with a filter that matches runs the script
      const one = spawnSync(process.execPath, [MAIN, 'conformance', dir, '--filter', 'tcp/one', '--json'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal((JSON.parse(one.stdout) as { total: number }).total, 1, one.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
