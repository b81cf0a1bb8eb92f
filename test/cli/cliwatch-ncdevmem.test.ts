// `devmem ncdevmem` never waits forever: a server whose transfer stops moving (a dma-buf too small
// for the out-of-order queue, a wire that loses half the frames) fails with exit 1 and one
// "ncdevmem: stalled: …" line built from the stack's counters, within seconds of wall time; the
// client names why a completion did not come. Its NIC setup is undone and nothing stays bound.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { constants as C, NcdevmemPattern } from '../../src/index.js';
import { ncdevmemOverVxlan } from './ncdevmem-link.js';
import { runSim as run, type SimRun } from './ncdevmem-run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SERVER = ['-l', '-s', '10.0.0.2', '-p', '5201', '-f', 'eth0', '-v', '7'];

/** the one stall line (exactly one), without its "ncdevmem: stalled: " prefix */
function stallLine(r: SimRun): string {
  const hits = r.lines.filter((l) => l.startsWith('ncdevmem: stalled: '));
  assert.equal(hits.length, 1, r.lines.slice(-8).join('\n'));
  return hits[0]!.slice('ncdevmem: stalled: '.length);
}

describe('devmem ncdevmem server: a stalled transfer ends with a diagnosis, exit 1', () => {
  it('--dmabuf-size 128K --sim-bytes 1M: the out-of-order queue pins all 32 device buffers; rx-alloc-fail named', async () => {
    const r = await run([...SERVER, '--sim-bytes', '1M', '--dmabuf-size', '128K']);
    assert.equal(r.code, 1, r.lines.slice(-5).join('\n'));
    const line = stallLine(r);
    assert.match(line, /^no progress for 30 s \(virtual\): \d+ of 1048576 bytes delivered; /);
    assert.match(line, /device memory exhausted: 32 of 32 device buffers in use, held by the out-of-order queue \(nothing readable: a segment is missing\); rx-alloc-fail [1-9]\d*/);
    assert.match(line, /sender: \d+ segments retransmitted, [1-9]\d* timeouts \(backing off: RTO now \d+\.\d s/);
    assert.doesNotMatch(line, /tokens not returned/, 'ncdevmem returns every token it was given');
    const bytes = Number(/: (\d+) of 1048576/.exec(line)![1]);
    assert.ok(bytes > 0 && bytes < 1 << 20, `${bytes} bytes before the stall`);
    // no success line, and the setup is undone on the way out; nothing stays bound
    assert.ok(!r.lines.includes('ncdevmem: ok'));
    assert.ok(r.lines.includes('Running: ethtool -N eth0 delete 0'), 'its rule deleted');
    assert.equal(r.env.host.ethtool.ntupleRules('eth0').length, 0);
    assert.equal(r.atEnd.bindings, 0, 'the dma-buf was unbound before the environment closed');
    // every buffer the stall pinned went back to the pool once the socket closed
    assert.ok(r.wallS < 20, `${r.wallS} s wall`);
  });

  it('--sim-loss 0.5 --sim-bytes 1M: the peer backs off; the watchdog names its timeouts and the losses', async () => {
    const r = await run([...SERVER, '--sim-bytes', '1M', '--sim-loss', '0.5', '--json']);
    assert.equal(r.code, 1);
    const line = stallLine(r);
    assert.match(line, /^no progress for 30 s \(virtual\): \d+ of 1048576 bytes delivered; /);
    assert.match(line, /sender: [1-9]\d* segments retransmitted, [1-9]\d* timeouts \(backing off: RTO now \d+\.\d s, \w+\); wire lost [1-9]\d* of \d+ frames \(both directions\)$/);
    assert.doesNotMatch(line, /device memory exhausted/);
    const lost = Number(/wire lost (\d+) of (\d+)/.exec(line)![1]);
    const st = r.env.wireStats;
    assert.equal(lost <= st.aToB.lost + st.bToA.lost, true, 'the line reads the wire counters');
    const j = JSON.parse(r.out) as { exitCode: number; validated: boolean; bytes: number; tokensIssued: number; tokensReturned: number };
    assert.equal(j.exitCode, 1);
    assert.equal(j.validated, false);
    assert.equal(j.tokensIssued, j.tokensReturned);
    assert.equal(line.includes(`: ${j.bytes} of 1048576 bytes delivered`), true, 'the line counts what the loop received');
    assert.equal(r.atEnd.bindings, 0);
  });

  it('--stall-timeout 2: the same stall is found after 2 s of virtual time', async () => {
    const r = await run([...SERVER, '--sim-bytes', '1M', '--dmabuf-size', '128K', '--stall-timeout', '2']);
    assert.equal(r.code, 1);
    assert.match(stallLine(r), /^no progress for 2 s \(virtual\): \d+ of 1048576 bytes delivered; device memory exhausted: 32 of 32/);
  });

  it('a transfer that keeps moving is not a stall: 2% loss, 4M, --stall-timeout 3 completes and validates', async () => {
    const r = await run([...SERVER, '--sim-bytes', '4M', '--sim-loss', '0.02', '--stall-timeout', '3']);
    assert.equal(r.code, 0, r.lines.slice(-5).join('\n'));
    assert.ok(r.lines.includes('ncdevmem: ok'));
    assert.ok(!r.lines.some((l) => l.includes('stalled')));
    assert.ok(r.env.wireStats.aToB.lost > 0, 'the wire did lose frames');
    assert.match(r.lines.find((l) => l.startsWith('summary:'))!, /^summary: received 4194304 bytes/);
  });

  it('from the shell: exit 1, the stall line on stderr, seconds of wall time', () => {
    const t0 = process.hrtime.bigint();
    const p = spawnSync(process.execPath, [MAIN, 'ncdevmem', ...SERVER, '--sim-bytes', '1M', '--dmabuf-size', '128K'], { encoding: 'utf8', timeout: 60_000 });
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.equal(p.status, 1, p.stderr.slice(-500));
    const stalls = p.stderr.split('\n').filter((l) => l.startsWith('ncdevmem: stalled: '));
    assert.equal(stalls.length, 1);
    assert.match(stalls[0]!, /device memory exhausted: 32 of 32 device buffers in use/);
    assert.doesNotMatch(p.stderr, /nothing left to run/, 'the watchdog, not the empty event loop, ended it');
    assert.ok(wallS < 30, `${wallS} s wall`);
  });
});

describe('devmem ncdevmem client: a completion that does not come is diagnosed', () => {
  it('--sim-loss 0.5: "did not receive tx completion", then the stall line with the sender\'s counters', async () => {
    const r = await run(['-s', '10.0.0.2', '-p', '5201', '-f', 'eth0', '--sim-loss', '0.5'], 'hello\nworld 0.5\nthird line\n');
    assert.equal(r.code, 1);
    const i = r.lines.indexOf('ncdevmem: did not receive tx completion');
    assert.ok(i >= 0, r.lines.join('\n'));
    const line = stallLine(r);
    assert.equal(r.lines[i + 1], `ncdevmem: stalled: ${line}`, 'right after the tool\'s own message');
    assert.match(line, /^no progress for 0\.5 s \(virtual\): \d+ of \d+ bytes delivered; sender: \d+ segments retransmitted, \d+ timeouts/);
    assert.match(line, /wire lost [1-9]\d* of \d+ frames/);
    assert.ok(!r.lines.includes('ncdevmem: tx ok'));
    // the total is what was handed to sendmsg; the part acknowledged is payload (the SYN left out)
    const sent = r.lines.filter((l) => l.startsWith('sendmsg_ret=')).reduce((n, l) => n + Number(l.slice(12)), 0);
    const [acked, total] = /: (\d+) of (\d+) bytes delivered/.exec(line)!.slice(1).map(Number) as [number, number];
    assert.equal(total, sent);
    assert.ok(acked < total, `${acked} of ${total}`);
    const delivered = r.env.received.length;
    assert.ok(acked <= delivered, `acknowledged ${acked} ≤ received by the peer ${delivered}`);
  });

  it('without loss the client never prints a stall line', async () => {
    const r = await run(['-s', '10.0.0.2', '-p', '5201', '-f', 'eth0', '--sim-loss', '0'], 'a\nb\n');
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.ok(r.lines.includes('ncdevmem: tx ok'));
    assert.ok(!r.lines.some((l) => l.includes('stalled')));
  });
});

describe('devmem ncdevmem: the watchdog options are checked like every other', () => {
  const bad: [string[], RegExp][] = [
    [['--sim-loss', '1.5'], /^devmem: --sim-loss: expected a number in 0\.\.1, got '1\.5'$/],
    [['--sim-loss', '-0.1'], /^devmem: --sim-loss: expected a number in 0\.\.1, got '-0\.1'$/],
    [['--stall-timeout', '0'], /^devmem: --stall-timeout: expected a number in 0\.01\.\.3600, got '0'$/],
    [['--stall-timeout', 'x'], /^devmem: --stall-timeout: expected a number/],
    [['--dmabuf-size', '5000'], /^devmem: --dmabuf-size: expected a multiple of 4K, got '5000'$/],
    [['--dmabuf-size', '8G'], /^devmem: --dmabuf-size: expected a size in 4K\.\.4G, got '8G'$/],
    [['--dmabuf-size', '-4K'], /^devmem: --dmabuf-size: not a size: '-4K'$/],
    [['--sim-loss', '0.1', '--link', 'tap:x'], /^devmem: --sim-loss: only for the simulated peer, not with --link$/],
  ];
  for (const [extra, re] of bad) {
    it(`${extra.join(' ')}: one line, exit 2, nothing on stdout`, () => {
      const p = spawnSync(process.execPath, [MAIN, 'ncdevmem', ...SERVER, ...extra], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(p.status, 2, p.stderr);
      assert.equal(p.stdout, '');
      const lines = p.stderr.trim().split('\n');
      assert.equal(lines.length, 1, p.stderr);
      assert.match(lines[0]!, re);
    });
  }

  it('--help documents them', () => {
    const p = spawnSync(process.execPath, [MAIN, 'help', 'ncdevmem'], { encoding: 'utf8' });
    assert.equal(p.status, 0);
    for (const f of ['--stall-timeout S', '--dmabuf-size N', '--sim-loss P']) assert.ok(p.stdout.includes(f), f);
  });
});

describe('devmem ncdevmem --link: a real peer that stops sending', () => {
  it('--stall-timeout 1: 64K arrive, then nothing: exit 1, the receiving side\'s line in real time, no total', { timeout: 60_000 }, async () => {
    const srv = await ncdevmemOverVxlan(['-l', '-f', 'eth0', '-s', '10.9.0.2', '-p', '5201', '-v', '7', '--stall-timeout', '1'], 7, 3, 4);
    try {
      const h = srv.peer;
      const sock = h.socket(C.AF_INET, C.SOCK_STREAM);
      await sock.connect('10.9.0.2', 5201);
      const buf = new Uint8Array(64 * 1024);
      new NcdevmemPattern(7).generate(buf, 0, buf.length);
      await sock.send(buf);
      // and then the peer neither sends nor closes
      const code = await srv.exited;
      assert.equal(code, 1, srv.err);
      const lines = srv.err.split('\n');
      assert.ok(lines.includes('ncdevmem: stalled: no progress for 1 s (real time): 65536 bytes delivered'), lines.slice(-6).join('\n'));
      assert.ok(lines.includes('Running: ethtool -N eth0 delete 0'), 'the rule is deleted on the way out');
      assert.ok(!lines.includes('ncdevmem: ok'));
      sock.close();
    } finally {
      await srv.close();
    }
  });
});
