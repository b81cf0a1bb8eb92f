/**
 * `devmem ncdevmem -b` (Linux 7.3 rx-page-size) against the simulated peer: the equivalent of
 * devmem.py check_rx_large_niov (server with 16 KiB net_iovs, the pattern validated on the device
 * for payloads of 1 to 64 KiB), the tokens all returned, plus the refusals the kernel gives for a
 * size that is not a power of two ≥ the page size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { parseNcdevmemArgs } from '../../src/cli/ncdevmem/args.js';
import { runNcdevmem } from '../../src/cli/ncdevmem/index.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runNcdevmem(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('ncdevmem -b (rx-buf-size)', () => {
  it('parses -b as a byte count (clustered too); 0 and junk are usage errors', () => {
    assert.equal(parseNcdevmemArgs(['-f', 'eth0', '-b', '16384']).rxBufSize, 16384);
    assert.equal(parseNcdevmemArgs(['-f', 'eth0', '-b16384']).rxBufSize, 16384);
    assert.equal(parseNcdevmemArgs(['-f', 'eth0']).rxBufSize, 0);
    assert.throws(() => parseNcdevmemArgs(['-f', 'eth0', '-b', '0']), UsageError);
    assert.throws(() => parseNcdevmemArgs(['-f', 'eth0', '-b', 'big']), UsageError);
  });

  for (const bytes of [1024, 4096, 16 * 1024 + 5, 64 * 1024]) {
    it(`check_rx_large_niov: 16 KiB net_iovs, ${bytes} bytes validated on the device, every token back`, async () => {
      const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '-b', '16384', '--sim-bytes', String(bytes), '--json']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as Record<string, number | boolean>;
      assert.equal(j.bytes, bytes);
      assert.equal(j.validated, true);
      assert.equal(j.tokensIssued, j.tokensReturned);
      assert.ok((j.tokensIssued as number) > 0);
    });
  }

  it('a size the kernel refuses: bind fails with its extack, the run exits 1', async () => {
    const r = await run(['-l', '-f', 'eth0', '-s', '10.0.0.2', '-p', '5201', '-v', '7', '-b', '6000']);
    assert.equal(r.code, 1);
    assert.match(r.err, /YNL failed: Kernel error: 'rx_buf_size 6000 must be a power of 2 >= page size \(4096\)'/);
    assert.match(r.err, /ncdevmem: Failed to bind/);
  });
});
