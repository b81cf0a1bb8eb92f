// A bench row keeps one SimFixture (network, hosts, binding, listener) for all its runs: every run
// is a new connection that must validate as the first did, its counters are its own (not the
// fixture's totals), the device memory comes back whole between runs, and a failed run leaves
// the fixture broken so that the bench opens a fresh one instead of measuring on a wreck.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentLibFile, loadLib } from '../../src/cli/bench/lib.js';
import { SimFixture } from '../../src/cli/bench/sim.js';

const lib = await loadLib('current', currentLibFile());

describe('bench SimFixture', () => {
  for (const mode of ['devmem', 'copy'] as const) {
    it(`${mode}: three runs on one fixture validate, with per-run frame counts and nothing read by the host in devmem mode`, async () => {
      const fx = await SimFixture.open(lib, { mode, mtu: 1500, ipv6: false });
      try {
        const runs = [];
        for (let i = 0; i < 3; i++) runs.push(await fx.run({ size: 2 << 20, recv: 'recvmsgInto' }));
        for (const r of runs) {
          assert.equal(r.validated, true, r.problem);
          assert.equal(r.bytes, 2 << 20);
          // ~1448 bytes per frame plus handshake and FIN: a per-run figure, not a running total
          assert.ok(r.wireFrames > (2 << 20) / 1448 && r.wireFrames < (2 << 20) / 1448 + 50, `${r.wireFrames} frames`);
          assert.equal(r.retransSegs, 0);
          assert.ok(r.wallSeconds > 0);
        }
        if (mode === 'devmem') for (const r of runs) assert.equal(r.hostPayloadBytesRead, 0);
        assert.equal(fx.broken, false);
      } finally {
        fx.close();
      }
    });
  }

  it('a run that fails (a dma-buf too small: the watchdog ends it) breaks the fixture; a broken or closed fixture refuses to run', async () => {
    const fx = await SimFixture.open(lib, { mode: 'devmem', mtu: 1500, ipv6: false, dmabufSize: 128 << 10 });
    try {
      const r = await fx.run({ size: 1 << 20, recv: 'recvmsgInto', stallUs: 1_000_000 });
      assert.equal(r.validated, false);
      assert.match(r.problem, /^stalled: /);
      assert.equal(fx.broken, true);
      await assert.rejects(fx.run({ size: 1 << 20, recv: 'recvmsgInto' }), /broken or closed/);
    } finally {
      fx.close();
    }
    // a healthy fixture, closed, refuses as well; close is idempotent
    const ok = await SimFixture.open(lib, { mode: 'copy', mtu: 1500, ipv6: false });
    ok.close();
    ok.close();
    await assert.rejects(ok.run({ size: 1 << 20, recv: 'recvmsgInto' }), /broken or closed/);
  });
});

describe('bench round order', () => {
  const row = (name: string, kind: string, lib: string, mtu: number): { name: string; kind: string; mode: string; mtu: number; family: number; loss: number; lib: string } =>
    ({ name, kind, mode: kind === 'sim' ? 'devmem' : '-', mtu, family: 4, loss: 0, lib });
  // the layout of `--rows baselines,devmem --compare`
  const rows = [
    row('floor1500', 'floor', '-', 1500), row('floor65535', 'floor', '-', 65535), row('node', 'node', '-', 65536),
    row('cur1500', 'sim', 'current', 1500), row('base1500', 'sim', 'base', 1500),
    row('cur65535', 'sim', 'current', 65535), row('base65535', 'sim', 'base', 65535),
  ];
  it('rotates one row per round and swaps each current/base pair every other round: each follows a baseline row equally often', async () => {
    const { roundOrder } = await import('../../src/cli/bench.js');
    const names = (r: number): string[] => roundOrder(rows, r).map((x) => x.name);
    assert.deepEqual(names(0), ['floor1500', 'floor65535', 'node', 'cur1500', 'base1500', 'cur65535', 'base65535']);
    assert.deepEqual(names(1), ['floor65535', 'node', 'base1500', 'cur1500', 'base65535', 'cur65535', 'floor1500']);
    // every row runs once per round
    for (let r = 0; r < 7; r++) assert.deepEqual([...names(r)].sort(), rows.map((x) => x.name).sort());
    // in the order the runs happen (across rounds), how often each sim row comes right after a baseline row
    for (const rounds of [5, 14]) {
      const seq: { name: string; kind: string }[] = [];
      for (let r = 0; r < rounds; r++) seq.push(...roundOrder(rows, r));
      const after = new Map<string, number>();
      for (let i = 1; i < seq.length; i++) if (seq[i]!.kind === 'sim' && seq[i - 1]!.kind !== 'sim') after.set(seq[i]!.name, (after.get(seq[i]!.name) ?? 0) + 1);
      assert.equal(after.get('cur1500'), after.get('base1500'), `${rounds} rounds: ${JSON.stringify([...after])}`);
      assert.ok((after.get('cur1500') ?? 0) > 0);
    }
  });
});
