// The bench's simulated rows cannot hang: a run whose receiver stops getting bytes ends within
// seconds of wall time as a failed sample whose problem is "stalled: " + the demo's diagnosis
// (instead of the row's wall-clock timeout of a minute or more). A build whose Network has no
// `sleep` runs without a watchdog, as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentLibFile, loadLib, type BenchLib, type LibNetwork } from '../../src/cli/bench/lib.js';
import { simTransfer } from '../../src/cli/bench/sim.js';

const lib = await loadLib('current', currentLibFile());
const base = { mtu: 1500, ipv6: false, size: 1 << 20, recv: 'recvmsgInto' as const };

function wall<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  return f().then((r) => [r, Number(process.hrtime.bigint() - t0) / 1e9]);
}

describe('bench simulated rows: the stall watchdog', () => {
  it('devmem with a 128K dma-buf: the out-of-order queue pins every buffer; the sample fails with the diagnosis', async () => {
    const [r, s] = await wall(() => simTransfer(lib, { ...base, mode: 'devmem', dmabufSize: 128 << 10 }));
    assert.equal(r.validated, false);
    assert.ok(r.bytes > 0 && r.bytes < 1 << 20);
    assert.match(r.problem, new RegExp(`^stalled: no progress for 30 s \\(virtual\\): ${r.bytes} of 1048576 bytes delivered; `));
    assert.match(r.problem, /device memory exhausted: 32 of 32 device buffers in use, held by the out-of-order queue/);
    assert.match(r.problem, /rx-alloc-fail [1-9]\d*/);
    assert.ok(s < 10, `${s} s wall`);
  });

  it('copy mode over a wire that loses half the frames: the sender backs off; the sample names timeouts and losses', async () => {
    const [r, s] = await wall(() => simTransfer(lib, { ...base, mode: 'copy', loss: 0.5 }));
    assert.equal(r.validated, false);
    assert.match(r.problem, /^stalled: no progress for 30 s \(virtual\): \d+ of 1048576 bytes delivered; sender: [1-9]\d* segments retransmitted, [1-9]\d* timeouts \(backing off/);
    assert.match(r.problem, new RegExp(`wire lost ${r.lostFrames} of \\d+ frames`));
    assert.doesNotMatch(r.problem, /device memory/);
    assert.ok(s < 10, `${s} s wall`);
  });

  it('--stall-timeout equivalent: stallUs 1 s ends the same stall after 1 s of virtual time', async () => {
    const r = await simTransfer(lib, { ...base, mode: 'devmem', dmabufSize: 128 << 10, stallUs: 1_000_000 });
    assert.match(r.problem, /^stalled: no progress for 1 s \(virtual\)/);
  });

  it('a healthy run is untouched: validated, every byte, no problem (1% loss included)', async () => {
    for (const o of [{ mode: 'devmem' as const }, { mode: 'copy' as const, loss: 0.01 }]) {
      const r = await simTransfer(lib, { ...base, ...o, stallUs: 1_000_000 });
      assert.equal(r.problem, '');
      assert.equal(r.validated, true);
      assert.equal(r.bytes, 1 << 20);
    }
  });

  it('a build whose Network has no sleep() runs without a watchdog (and a healthy run still validates)', async () => {
    let made = 0;
    const Plain = function (this: unknown, opts: { seed: number }): LibNetwork {
      const n = new lib.Network(opts);
      made++;
      // hide the clock the watchdog needs
      Object.defineProperty(n, 'sleep', { value: undefined });
      return n;
    } as unknown as BenchLib['Network'];
    const old: BenchLib = { ...lib, label: 'base', Network: Plain };
    const r = await simTransfer(old, { ...base, mode: 'devmem' });
    assert.equal(made, 1);
    assert.equal(r.validated, true, r.problem);
  });
});
