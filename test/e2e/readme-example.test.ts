// The README's example, extracted from README.md at run time (no hand copy) and run as written,
// with its pcap, in a temp directory where `devmem-tcp` resolves to this package: the docs stay
// true by construction. The capture must be non-empty and readable (tshark too when present; CI
// installs it, so under CI its absence fails the test).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { readPcap } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** the first ```ts block under the '## Example' heading */
export function exampleFromReadme(md: string): string {
  const at = md.indexOf('\n## Example');
  assert.ok(at >= 0, "README.md has an '## Example' section");
  const m = /```ts\n([\s\S]*?)```/.exec(md.slice(at));
  assert.ok(m, 'the Example section has a ```ts block');
  return m[1]!;
}

function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

it('README example (extracted from README.md): runs as written, the host reads no payload, its run.pcap is non-empty and readable', () => {
  const src = exampleFromReadme(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.match(src, /from 'devmem-tcp'/, 'the example imports the package by name');
  assert.match(src, /pcap: 'run\.pcap'/, 'the example writes run.pcap');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const dir = mkdtempSync(join(tmpdir(), 'devmem-readme-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'devmem-tcp'), 'dir');
    writeFileSync(join(dir, 'example.mjs'), js);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').at(-1), '0 0', 'the example prints hostBytesRead = 0 and hostVisibleBytes = 0');
    const pcap = join(dir, 'run.pcap');
    assert.ok(statSync(pcap).size > 24, `run.pcap holds records (${statSync(pcap).size} bytes)`);
    const recs = readPcap(new Uint8Array(readFileSync(pcap))).records;
    assert.ok(recs.length > 100, `${recs.length} records`);
    assert.ok(recs.some((x) => x.capLen < x.origLen), 'devmem payload frames captured headers-only');
    if (hasTshark()) {
      const out = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'tcp.flags.str', '-Y', 'tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
      const flags = out.trim().split('\n').map((l) => l.replace(/[^A-Z]/g, ''));
      assert.ok(flags.some((f) => f === 'S'), 'tshark decodes the SYN');
      assert.ok(flags.length >= recs.length - 10, 'tshark decodes (nearly) every frame as TCP');
    } else {
      assert.ok(process.env.CI === undefined, 'tshark must be installed under CI (.ci/run installs it)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
