// From the shell: the commands `devmem --help` lists are the ones that run; for each, `devmem help
// CMD`, `devmem CMD --help` and `devmem CMD -h` print the help generated from its option table;
// a value one step outside a range the help prints is one line on stderr and exit 2. And the
// ncdevmem client against the simulated peer on a very lossy wire ends with its own diagnosis,
// not the peer's "accept: EBADF".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatHelp, type CommandSpec } from '../../src/cli/options/table.js';
import { DEMO_COMMAND } from '../../src/cli/demo/options.js';
import { BENCH_COMMAND } from '../../src/cli/options/bench.js';
import { CONFORMANCE_COMMAND } from '../../src/cli/options/conformance.js';
import { NCDEVMEM_COMMAND } from '../../src/cli/ncdevmem/args.js';
import { runNcdevmem } from '../../src/cli/ncdevmem/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SPECS: Record<string, CommandSpec> = { demo: DEMO_COMMAND, bench: BENCH_COMMAND, conformance: CONFORMANCE_COMMAND, ncdevmem: NCDEVMEM_COMMAND };

function devmem(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** the command names in the "commands:" section of the top-level help */
function listedCommands(help: string): string[] {
  const section = help.split('\n\n').find((p) => p.startsWith('commands:'));
  assert.ok(section !== undefined, 'the top-level help has a commands section');
  return section.split('\n').map((l) => /^ {2}([a-z]+) {2,}/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
}

describe('devmem help: generated from the tables, the same whichever way it is asked for', () => {
  const top = devmem(['--help']);

  it('`devmem help` is `devmem --help`; every listed command has an option table, and every table is listed', () => {
    assert.equal(top.status, 0);
    assert.equal(devmem(['help']).stdout, top.stdout);
    assert.equal(devmem(['-h']).stdout, top.stdout);
    assert.deepEqual(listedCommands(top.stdout).sort(), Object.keys(SPECS).sort());
    assert.match(top.stdout, /^ {2}help CMD {2,}/m);
    assert.match(top.stdout, /--version/);
  });

  for (const name of Object.keys(SPECS)) {
    it(`\`devmem help ${name}\` = \`devmem ${name} --help\` = \`devmem ${name} -h\` = the help of its table, exit 0`, () => {
      const want = `${formatHelp(SPECS[name]!)}\n`;
      for (const args of [['help', name], [name, '--help'], [name, '-h']]) {
        const r = devmem(args);
        assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, '');
        assert.equal(r.stdout, want, args.join(' '));
      }
    });
  }

  it('no help line is wider than 100 columns', () => {
    for (const spec of Object.values(SPECS)) {
      for (const l of formatHelp(spec).split('\n')) assert.ok(l.length <= 100, `${spec.name}: ${l}`);
    }
    for (const l of top.stdout.split('\n')) assert.ok(l.length <= 100, l);
  });
});

describe('a value just outside a range the help prints: one line on stderr, nothing on stdout, exit 2', () => {
  const cases: [string[], string][] = [
    [['demo', '--queues', '1'], "devmem: --queues: expected an integer in 2..64, got '1'"],
    [['demo', '--stall-timeout', '3600.001'], "devmem: --stall-timeout: expected a number in 0.01..3600, got '3600.001'"],
    [['bench', '--runs', '51'], "devmem: --runs: expected an integer in 1..50, got '51'"],
    [['bench', '--size', '1048575'], "devmem: --size: expected a size in 1M..1024G, got '1048575'"],
    [['bench', '--rows', 'lossy,'], "devmem: --rows: expected a comma-separated list of baselines, devmem, copy, ipv6, lossy, tx, real, got 'lossy,'"],
    [['ncdevmem', '-f', 'eth0', '-p', '0'], "devmem: -p: expected an integer in 1..65535, got '0'"],
    [['ncdevmem', '-f', 'eth0', '-lq257'], "devmem: -q: expected an integer in 1..256, got '257'"],
    [['ncdevmem', '-f', 'eth0', '--sim-bytes', '1073741825'], "devmem: --sim-bytes: expected a size in 1..1G, got '1073741825'"],
    [['conformance', '-D', 'nosym'], "devmem: --define: expected SYM=VALUE, got 'nosym'"],
    [['conformance', 'a', 'b'], "devmem: at most 1 DIR, got 'b' too (try 'devmem conformance --help')"],
  ];
  for (const [args, msg] of cases) {
    it(args.join(' '), () => {
      const r = devmem(args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${msg}\n`);
    });
  }
});

describe('devmem ncdevmem client against the simulated peer at 90 % loss', () => {
  it('fails with the client\'s own one-line diagnosis (a stall or a connect error), never the peer\'s "accept: EBADF"', async () => {
    const ends: string[] = [];
    for (const seed of [1, 2, 3]) {
      let out = '';
      let err = '';
      const code = await runNcdevmem(['-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '--sim-loss', '0.9', '--seed', String(seed)], {
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        stdin: () => Promise.resolve(new TextEncoder().encode('hello\nworld\n')),
      });
      assert.equal(code, 1, `seed ${seed}: a run that delivered nothing fails\n${err}`);
      assert.doesNotMatch(err, /EBADF|the peer stopped/, `seed ${seed}`);
      const last = err.trim().split('\n').pop()!;
      assert.match(last, /^ncdevmem: (stalled: no progress|connect: )/, `seed ${seed}: ${last}`);
      assert.equal(out, '', 'the peer printed nothing');
      ends.push(last.slice(0, 20));
    }
    // the three seeds cover both endings: a connection that stalls and one that never opens
    assert.ok(ends.some((e) => e.startsWith('ncdevmem: stalled')) && ends.some((e) => e.startsWith('ncdevmem: connect')), ends.join(' | '));
  });
});
