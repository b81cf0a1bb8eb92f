/**
 * `devmem conformance` as a command: a line per script and a total, `--json` with the agreed
 * shape, `--filter`, the baseline gate's exit status, and exit 2 with one line for a missing
 * directory. Runs the built CLI on scripts written into a temporary directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const OPEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
`;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'conformance', ...args], { encoding: 'utf8', env: { ...process.env, PACKETDRILL_DIR: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('devmem conformance', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pktdrill-'));
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'good.pkt'), `${OPEN}+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n`);
    writeFileSync(join(dir, 'a', 'bad.pkt'), `${OPEN}+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 7\n`);
    writeFileSync(join(dir, 'skip.pkt'), `${OPEN}+0 splice(4, NULL, 5, NULL, 10, 0) = 10\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a line per script and a total; exit 1 when a script fails', () => {
    const r = cli(dir);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'fail  a/bad.pkt: line 9: expected P. 1:101(100) ack 7: ack: expected 7, actual 1 (actual P. 1:101(100) ack 1 win 65535)',
      'pass  a/good.pkt',
      'skip  skip.pkt: line 8: system call splice() is not supported by the interpreter',
      'ipv4: 1 passed, 1 failed, 1 skipped, 3 total',
    ]);
  });

  it('--json prints one object with the counts and the scripts', () => {
    const r = cli(dir, '--json', '--ipv6');
    const j = JSON.parse(r.stdout) as { passed: number; failed: number; skipped: number; total: number; scripts: { script: string; result: string; reason: string }[] };
    assert.deepEqual([j.passed, j.failed, j.skipped, j.total], [1, 1, 1, 3]);
    assert.deepEqual(j.scripts.map((s) => [s.script, s.result]), [['a/bad.pkt', 'fail'], ['a/good.pkt', 'pass'], ['skip.pkt', 'skip']]);
    assert.equal(j.scripts[1]!.reason, '');
  });

  it('--filter selects scripts; exit 0 when none fails', () => {
    const r = cli(dir, '--filter', 'good', '--ipv4-mapped-ipv6');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(r.stdout.trim().split('\n').at(-1), 'ipv4-mapped-ipv6: 1 passed, 0 failed, 0 skipped, 1 total');
  });

  it('--baseline fails only when passes fall below it', () => {
    writeFileSync(join(dir, 'base-ok.json'), JSON.stringify({ passes: { ipv4: 1 } }));
    writeFileSync(join(dir, 'base-high.json'), JSON.stringify({ passes: { ipv4: 2 } }));
    assert.equal(cli(dir, '--baseline', join(dir, 'base-ok.json')).status, 0);
    const high = cli(dir, '--baseline', join(dir, 'base-high.json'));
    assert.equal(high.status, 1);
    assert.match(high.stderr, /ipv4 passes 1 scripts, below the baseline of 2/);
  });

  it('-D defines a symbol the scripts use', () => {
    writeFileSync(join(dir, 'def.pkt'), `${OPEN}+0 write(4, ..., SZ) = SZ\n+0 > P. 1:101(100) ack 1\n`);
    const withDef = cli(dir, '--filter', 'def', '-D', 'SZ=100');
    assert.equal(withDef.stdout.trim().split('\n')[0], 'pass  def.pkt');
    const without = cli(dir, '--filter', 'def');
    assert.match(without.stdout, /^skip {2}def\.pkt: line 8: write: unknown symbol SZ/);
    assert.equal(cli(dir, '-D', 'oops').status, 2);
  });

  it('a missing directory: one line, exit 2', () => {
    const r = cli(join(dir, 'nope'));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^devmem conformance: no script directory at .*nope \(give DIR or set PACKETDRILL_DIR\)\n$/);
  });
});
