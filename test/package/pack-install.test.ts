// The package installs anywhere: `npm pack`, install the tarball into an empty project offline
// (dependencies come from the npm cache that `npm ci` filled), import it, and run
// `npx devmem demo` from there. What the tarball holds is checked too (the built library and
// command, no tests, no build state).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { cwd: string }) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${String(r.stderr)}${String(r.stdout).slice(-2000)}`);
  return String(r.stdout);
}

it('package.json: `prepare` builds (so a git install gets dist/), the build is incremental', () => {
  assert.equal(PKG.scripts.prepare, 'npm run build');
  const tsconfig = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8');
  assert.match(tsconfig, /"incremental": true/);
});

it('npm pack → install the tarball offline into an empty project → import it → npx devmem demo --size 8M --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devmem-pack-'));
  try {
    // the tree is already built (pretest): pack what is there, without running prepare again
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], { cwd: ROOT });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.equal(tgz, `${PKG.name}-${PKG.version}.tgz`);
    const files = run('tar', ['-tzf', join(dir, tgz!)], { cwd: dir }).trim().split('\n');
    for (const f of ['package/package.json', 'package/README.md', 'package/dist/src/index.js', 'package/dist/src/index.d.ts', 'package/dist/src/cli/main.js']) {
      assert.ok(files.includes(f), `the tarball holds ${f}`);
    }
    assert.ok(!files.some((f) => f.startsWith('package/dist/test/') || f.endsWith('.tsbuildinfo') || f.endsWith('.pcap')), 'no tests, build state or captures');

    const proj = join(dir, 'proj');
    mkdirSync(proj);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tgz!)], { cwd: proj });

    // the library: named exports through the package's "exports"
    const imp = run(process.execPath, ['--input-type=module', '-e',
      "import { Network, DeviceMemory, constants } from 'devmem-tcp'; console.log(typeof Network, typeof DeviceMemory, constants.MSG_SOCK_DEVMEM);"], { cwd: proj });
    assert.match(imp, /^function function \d+\n$/);

    // the command, through the bin link npm made
    const env = { ...process.env, npm_config_offline: 'true' };
    assert.equal(run('npx', ['--offline', 'devmem', '--version'], { cwd: proj, env }), `${PKG.version}\n`);
    const out = run('npx', ['--offline', 'devmem', 'demo', '--size', '8M', '--json'], { cwd: proj, env });
    const j = JSON.parse(out) as { bytes: number; validated: boolean; completed: boolean; tokensIssued: number; tokensReturned: number; hostPayloadBytesRead: number };
    assert.equal(j.bytes, 8 << 20);
    assert.equal(j.completed, true);
    assert.equal(j.validated, true);
    assert.equal(j.tokensIssued, j.tokensReturned);
    assert.equal(j.hostPayloadBytesRead, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
