// `devmem bench --rows tx`: the transmit rows as a smoke run — devmem TX (device memory → wire)
// and MSG_ZEROCOPY at MTU 1500 and 65535, each received and validated byte for byte on the other
// host, with the copy counts the report states. Throughput itself is never asserted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { txTransfer } from '../../src/cli/bench/tx.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Row {
  name: string;
  kind: string;
  mode: string;
  mtu: number;
  validated: boolean;
  runs: number;
  bytesPerRun: number;
  copies: string;
  gbps: { median: number };
}

describe('devmem bench: transmit rows', () => {
  it('--rows tx --json: devmem-tx and zerocopy rows at MTU 1500 and 65535, validated', () => {
    const r = spawnSync(process.execPath, [MAIN, 'bench', '--rows', 'tx', '--size', '2M', '--runs', '1', '--json'], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, String(r.stderr));
    const lines = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as Row & Record<string, unknown>);
    const meta = lines.pop()!;
    assert.equal(meta.name, 'meta');
    assert.deepEqual(lines.map((x) => x.name), ['devmem-tx-mtu1500', 'devmem-tx-mtu65535', 'zerocopy-mtu1500', 'zerocopy-mtu65535']);
    for (const row of lines) {
      assert.equal(row.kind, 'sim');
      assert.equal(row.validated, true, row.name);
      assert.equal(row.runs, 1);
      assert.equal(row.bytesPerRun, 2 << 20);
      assert.ok(row.gbps.median > 0, row.name);
    }
    assert.match(lines[0]!.copies, /device memory → wire frame/);
  });
});

describe('devmem bench: transmit rows, stall watchdog', () => {
  it('a wire that loses everything: the run ends as "stalled: …" with the sender state, within virtual seconds', async () => {
    const r = await txTransfer({ mode: 'devmem-tx', mtu: 1500, size: 1 << 20, loss: 1, stallUs: 2_000_000 });
    assert.equal(r.validated, false);
    assert.match(r.problem, /^stalled: no byte received for 2 s: 0 of 1048576 bytes; sender SYN_SENT/);
  });

  it('a healthy run is not cut short by the watchdog', async () => {
    const r = await txTransfer({ mode: 'devmem-tx', mtu: 9000, size: 1 << 20, stallUs: 2_000_000 });
    assert.equal(r.validated, true, r.problem);
    assert.equal(r.dmaBytesRead, 1 << 20, 'the NIC read every payload byte from device memory once');
  });
});
