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
