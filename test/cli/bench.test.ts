// `devmem bench`: the lossy rows as a smoke run (JSON parsed, rows present and validated,
// retransmissions counted where frames are lost and only there), `--real` without root (one line,
// exit 2; a root test process drops to uid 65534 for it), argument mistakes, the help text, and
// the real rows' pure helpers. Throughput itself is never asserted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePingRtts, realRowName, realRowSpecs } from '../../src/cli/bench/real.js';
import { leftovers, realSupport } from '../../src/cli/bench/netns.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** the build's dist/ folder (this file runs as dist/test/cli/bench.test.js) */
const DIST = fileURLToPath(new URL('../../', import.meta.url));

/** makes every folder and file under `dir` readable (and folders enterable) by anyone */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodTree(p);
    else chmodSync(p, 0o644);
  }
}

function bench(args: string[], opts: SpawnSyncOptions = {}) {
  return spawnSync(process.execPath, [MAIN, 'bench', ...args], { encoding: 'utf8', timeout: 240_000, ...opts });
}

interface Row {
  name: string;
  kind: string;
  mtu: number;
  loss?: number;
  retransPerMB?: number | null;
  validated: boolean;
  runs: number;
  bytesPerRun: number;
  gbps: { median: number };
}

describe('devmem bench', () => {
  it('--rows lossy --json: copy MTU 1500 at 0 %, 1 % and 5 % loss, validated, retransmissions only under loss', () => {
    const r = bench(['--rows', 'lossy', '--size', '2M', '--runs', '1', '--json']);
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(r.stderr, '', 'nothing on stderr with --json');
    const lines = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as Row & Record<string, unknown>);
    const meta = lines.pop()!;
    assert.equal(meta.name, 'meta');
    assert.deepEqual(meta.groups, ['lossy']);
    assert.deepEqual(lines.map((x) => x.name), ['copy-mtu1500', 'copy-loss1-mtu1500', 'copy-loss5-mtu1500']);
    for (const row of lines) {
      assert.equal(row.kind, 'sim');
      assert.equal(row.mtu, 1500);
      assert.equal(row.validated, true, row.name);
      assert.equal(row.runs, 1);
      assert.equal(row.bytesPerRun, 2 << 20);
      assert.ok(row.gbps.median > 0, row.name);
    }
    assert.deepEqual(lines.map((x) => x.loss), [0, 0.01, 0.05]);
    const [l0, l1, l5] = lines.map((x) => x.retransPerMB);
    assert.equal(l0, 0, 'a loss-free wire needs no retransmission');
    assert.ok(typeof l1 === 'number' && l1 > 0, `1 % loss retransmits (${l1})`);
    assert.ok(typeof l5 === 'number' && l5 > l1, `5 % loss retransmits more than 1 % (${l5} vs ${l1})`);
    // 1 MB is about 685 full segments: the retransmissions stay within a few times the loss
    assert.ok(l5 < 685 * 0.05 * 4, `retransmissions per MB at 5 % loss are bounded (${l5})`);
  });

  it('--real without root: one line naming the reason, exit 2, nothing built', () => {
    let main = MAIN;
    let opts: SpawnSyncOptions = {};
    let copy: string | null = null;
    if (process.getuid?.() === 0) {
      // as root, run as uid 65534 from a world-readable copy of the build (the checkout itself
      // may sit where nobody cannot read it)
      copy = mkdtempSync(join(tmpdir(), 'devmem-nobody-'));
      cpSync(DIST, join(copy, 'dist'), { recursive: true });
      cpSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), join(copy, 'package.json'));
      chmodTree(copy);
      main = join(copy, 'dist', 'src', 'cli', 'main.js');
      opts = { uid: 65534, gid: 65534 };
    }
    try {
      const r = spawnSync(process.execPath, [main, 'bench', '--real', '--rows', 'lossy'], { encoding: 'utf8', timeout: 240_000, ...opts });
      assert.equal(r.status, 2, String(r.stderr));
      assert.equal(String(r.stderr).trim().split('\n').length, 1, String(r.stderr));
      assert.match(String(r.stderr), /^devmem: --real: not root/);
      assert.equal(r.stdout, '');
    } finally {
      if (copy !== null) rmSync(copy, { recursive: true, force: true });
    }
  });

  for (const args of [
    ['--rows', 'bogus'], ['--rows', 'lossy,'], ['--real-size', 'lots'], ['--runs', '0'], ['--size', '1K'],
    ['--ipv6', '--no-ipv6'], ['--recv', 'read'], ['--frob'],
  ]) {
    it(`mistake '${args.join(' ')}' gives one line on stderr and exit 2`, () => {
      const r = bench(args);
      assert.equal(r.status, 2, String(r.stderr));
      assert.equal(String(r.stderr).trim().split('\n').length, 1, String(r.stderr));
      assert.match(String(r.stderr), /^devmem: /);
      assert.equal(r.stdout, '');
    });
  }

  it('--help names every option the command accepts, and the row groups', () => {
    const r = bench(['--help']);
    assert.equal(r.status, 0);
    for (const o of ['--runs', '--size', '--node-size', '--real-size', '--quick', '--rows', '--real', '--json', '--lib', '--compare', '--ipv6', '--no-ipv6', '--recv', '--help']) {
      assert.match(String(r.stdout), new RegExp(`${o}\\b`), o);
    }
    for (const g of ['baselines', 'devmem', 'copy', 'ipv6', 'lossy', 'real']) assert.match(String(r.stdout), new RegExp(`\\b${g}\\b`), g);
  });

  it('--real --rows real (root only): every real row and ping row validated, goals reported, nothing left behind', (t) => {
    const why = realSupport();
    if (why !== '') {
      // CI runs as root with the tools .ci/run installs: there the real rows must run
      if (process.env.CI) assert.fail(`--real cannot run in CI: ${why}`);
      t.skip(`--real cannot run here: ${why}`);
      return;
    }
    const r = bench(['--real', '--rows', 'real', '--runs', '1', '--real-size', '1M', '--json']);
    assert.equal(r.status, 0, String(r.stderr) + String(r.stdout));
    const lines = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const meta = lines.pop()!;
    assert.equal(meta.name, 'meta');
    const rows = lines.filter((x) => x.kind === 'real') as unknown as (Row & { ratioVeth: number; link: string })[];
    assert.deepEqual(rows.map((x) => x.name), realRowSpecs().map(realRowName));
    for (const row of rows) {
      assert.equal(row.validated, true, row.name);
      assert.ok(row.gbps.median > 0, row.name);
    }
    assert.equal(rows.find((x) => x.name === 'veth-k2k-mtu1500')!.ratioVeth, 1);
    const pings = lines.filter((x) => x.kind === 'ping') as { name: string; count: number; rttMs: { median: number }; ratioVeth: number; floor?: boolean }[];
    assert.deepEqual(pings.map((p) => p.name), ['ping-vxlan-mtu1500', 'ping-veth-mtu1500', 'ping-tap-mtu1500', 'udp-echo-floor-mtu1500', 'vxlan-echo-floor-mtu1500', 'vxlan-link-echo-floor-mtu1500']);
    for (const p of pings) {
      assert.equal(p.count, 20, p.name);
      assert.ok(p.rttMs.median > 0, p.name);
    }
    // the floor rows: a userspace echo over the veth and one over VXLAN, named as such, their
    // ratios in the notes (every echo answered: the VXLAN responder's replies reach the kernel)
    const floors = pings.filter((p) => p.floor === true);
    assert.deepEqual(floors.map((p) => p.name), ['udp-echo-floor-mtu1500', 'vxlan-echo-floor-mtu1500', 'vxlan-link-echo-floor-mtu1500']);
    for (const f of floors) assert.ok(Number.isFinite(f.ratioVeth) && f.ratioVeth > 0, f.name);
    assert.ok((meta.notes as string[]).some((n) => n.startsWith('ping floor: a python UDP echo over the veth')));
    assert.ok((meta.notes as string[]).some((n) => n.startsWith('ping floor over VXLAN: a python ICMP echo')));
    assert.ok((meta.notes as string[]).some((n) => n.startsWith('ping floor of our VXLAN link: the same echo on our VxlanLink')));
    const goals = meta.goals as { row: string; met: boolean }[];
    assert.deepEqual(goals.map((g) => g.row), ['tap-k2us-mtu1500', 'tap-k2us-mtu9000', 'vxlan-k2us-mtu9000', 'vxlan-us2k-mtu9000', 'ping-vxlan-mtu1500']);
    const links = meta.realLinks as Record<string, Record<string, number>>;
    assert.deepEqual(Object.keys(links).sort(), ['tap-mtu1500', 'tap-mtu9000', 'vxlan-mtu1500', 'vxlan-mtu9000']);
    assert.ok(links['tap-mtu1500']!.rxGso! > 0, 'the kernel handed the TAP link GSO frames (vnet-hdr offloads on)');
    assert.equal(links['vxlan-mtu9000']!.rxForeignSource, 0);
    assert.deepEqual(leftovers(`dmb${r.pid}`), [], 'the run removed its namespaces and devices');
  });

  it('real rows: kernel ↔ kernel over veth next to TAP and VXLAN both ways, at MTU 1500 and 9000', () => {
    const names = realRowSpecs().map(realRowName);
    assert.equal(new Set(names).size, names.length);
    for (const mtu of [1500, 9000]) {
      assert.ok(names.includes(`veth-k2k-mtu${mtu}`));
      for (const l of ['tap', 'vxlan']) for (const d of ['k2us', 'us2k']) assert.ok(names.includes(`${l}-${d}-mtu${mtu}`));
    }
    assert.equal(names.length, 10);
  });

  it('ping output: RTTs in order; lines without a time (timeouts, summary) are ignored', () => {
    const out = [
      'PING 198.19.1.2 (198.19.1.2) 56(84) bytes of data.',
      '64 bytes from 198.19.1.2: icmp_seq=1 ttl=64 time=1.25 ms',
      '64 bytes from 198.19.1.2: icmp_seq=3 ttl=64 time=0.071 ms',
      'From 198.19.1.1 icmp_seq=4 Destination Host Unreachable',
      '--- 198.19.1.2 ping statistics ---',
      'rtt min/avg/max/mdev = 0.071/0.660/1.250/0.589 ms',
    ].join('\n');
    assert.deepEqual(parsePingRtts(out), [1.25, 0.071]);
    assert.deepEqual(parsePingRtts(''), []);
  });
});
