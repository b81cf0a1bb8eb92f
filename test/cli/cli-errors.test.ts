// Every CLI failure path ends with one line on stderr and a defined exit status: 2 for a mistake
// on the command line, 1 for a run that failed (a stall, with a diagnosis from the counters).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function devmem(args: string[], timeoutMs = 60_000) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
}

describe('devmem: usage, version, help', () => {
  it('--version prints the package version and exits 0', () => {
    const r = devmem(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${PKG.version}\n`);
  });

  it('`devmem help demo` prints the demo options (not the top-level help), generated from the table', () => {
    const r = devmem(['help', 'demo']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^usage: devmem demo \[options\]/);
    assert.match(r.stdout, /--loss P .*\(0\.\.1\)/);
    assert.doesNotMatch(r.stdout, /^commands:/m);
    assert.equal(devmem(['demo', '--help']).stdout, r.stdout);
    for (const cmd of ['bench', 'ncdevmem', 'conformance']) {
      const h = devmem(['help', cmd]);
      assert.equal(h.status, 0, `${cmd}: ${h.stderr}`);
      assert.match(h.stdout, new RegExp(`^usage: devmem ${cmd}`));
      assert.equal(h.stdout, devmem([cmd, '--help']).stdout);
    }
  });

  it('no command: the usage and exit 2', () => {
    const r = devmem([]);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /usage: devmem <command>/);
  });

  for (const [args, line] of [
    [['frobnicate'], "devmem: unknown command 'frobnicate' (try 'devmem --help')"],
    [['help', 'frobnicate'], "devmem: help: unknown command 'frobnicate' (try 'devmem --help')"],
    [['help', 'toString'], "devmem: help: unknown command 'toString' (try 'devmem --help')"],
    [['help', 'demo', 'bench'], "devmem: help: one command at a time (got 'demo bench')"],
    [['demo', '--size', 'lots'], "devmem: --size: not a size: 'lots'"],
    [['demo', '--loss', '2'], "devmem: --loss: expected a number in 0..1, got '2'"],
    [['demo', '--loss', '-0.1'], "devmem: --loss: expected a number in 0..1, got '-0.1'"],
    [['demo', '--duplicate', '1.5'], "devmem: --duplicate: expected a number in 0..1, got '1.5'"],
    [['demo', '--reorder', 'x'], "devmem: --reorder: expected a number in 0..1, got 'x'"],
    [['demo', '--corrupt', '-1'], "devmem: --corrupt: expected a number in 0..1, got '-1'"],
    [['demo', '--delay', '-5'], "devmem: --delay: expected a number in 0..10000000, got '-5'"],
    [['demo', '--rate', '0'], "devmem: --rate: expected a number in 0.001..10000, got '0'"],
    [['demo', '--mtu', '70000'], "devmem: --mtu: expected an integer in 68..65535, got '70000'"],
    [['demo', '--mtu', '67'], "devmem: --mtu: expected an integer in 68..65535, got '67'"],
    [['demo', '--mtu', '1279', '--ipv6'], "devmem: --mtu: IPv6 needs 1280..65535, got '1279'"],
    [['demo', '--dmabuf-size', '5G'], "devmem: --dmabuf-size: expected a size in 4K..4G, got '5G'"],
    [['demo', '--dmabuf-size', '1000'], "devmem: --dmabuf-size: expected a size in 4K..4G, got '1000'"],
    [['demo', '--stall-timeout', '0'], "devmem: --stall-timeout: expected a number in 0.01..3600, got '0'"],
    [['demo', '--mode', 'zero'], "devmem: --mode: expected devmem or copy, got 'zero'"],
    [['demo', '--bogus'], "devmem: unknown option '--bogus' (try 'devmem demo --help')"],
    [['demo', '--mtu'], 'devmem: --mtu: missing value'],
    [['demo', 'extra'], "devmem: unexpected argument 'extra' (try 'devmem demo --help')"],
    [['demo', '--json=yes'], 'devmem: --json takes no value'],
  ] as const) {
    it(`'${args.join(' ')}': exit 2 and one line`, () => {
      const r = devmem([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `${line}\n`);
      assert.equal(r.stdout, '');
    });
  }

  it('a mistake in another command (Node parseArgs, "argument is ambiguous") is still one line, exit 2', () => {
    const r = devmem(['bench', '--runs', '-3']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^devmem: /);
  });
});
