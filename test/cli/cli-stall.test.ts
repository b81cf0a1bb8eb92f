// A run that stops making progress ends with a diagnosis from the stack's counters and exit 1,
// within seconds of wall time (the two cases from the issue, and the ways a run can stop).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap } from '../../src/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function demo(args: string[]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [MAIN, 'demo', '--quiet', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { ...r, wallS: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** the single diagnosis line on stderr */
function failureLine(r: { status: number | null; stderr: string }): string {
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^devmem demo: FAILED: /);
  return lines[0]!;
}

describe('devmem demo: stalls end with a diagnosis and exit 1', () => {
  it('--dmabuf-size 128K --size 1M: the out-of-order queue pins every device buffer; rx-alloc-fail named', () => {
    const r = demo(['--dmabuf-size', '128K', '--size', '1M']);
    const line = failureLine(r);
    assert.match(line, /no progress for 30 s \(virtual\): \d+ of 1048576 bytes delivered/);
    assert.match(line, /device memory exhausted: 32 of 32 device buffers in use, held by the out-of-order queue/);
    assert.match(line, /out-of-order queue \(nothing readable: a segment is missing\); rx-alloc-fail [1-9]\d*/);
    assert.doesNotMatch(line, /tokens not returned/);
    assert.match(r.stdout, /result +FAILED/);
    assert.ok(r.wallS < 20, `${r.wallS} s wall`);
  });

  it('--loss 0.5 --size 1M: the sender backs off; the watchdog ends the run with its RTO and timeouts', () => {
    const r = demo(['--loss', '0.5', '--size', '1M']);
    const line = failureLine(r);
    assert.match(line, /no progress for 30 s \(virtual\): \d+ of 1048576 bytes delivered/);
    assert.match(line, /sender: \d+ segments retransmitted, [1-9]\d* timeouts \(backing off: RTO now \d+\.\d s/);
    assert.match(line, /wire lost [1-9]\d* of \d+ frames/);
    assert.doesNotMatch(line, /device memory exhausted/);
    assert.ok(r.wallS < 20, `${r.wallS} s wall`);
  });

  it('--loss 0.5 --size 1M --stall-timeout 3600: the sender gives up retransmitting; its error ends the run at once', () => {
    const r = demo(['--loss', '0.5', '--size', '1M', '--stall-timeout', '3600', '--json']);
    const line = failureLine(r);
    assert.match(line, /sender failed with E(TIMEDOUT|HOSTUNREACH) after \d+ of 1048576 bytes; retransmissions given up after [1-9]\d* timeouts/);
    const j = JSON.parse(r.stdout) as { completed: boolean; failure: string; validated: boolean; virtualSeconds: number };
    assert.equal(j.completed, false);
    assert.equal(j.validated, false);
    assert.equal(`devmem demo: FAILED: ${j.failure}`, line);
    assert.doesNotMatch(j.failure, /no progress/, 'ended by the error, not the watchdog');
    assert.ok(j.virtualSeconds > 100, 'minutes of virtual backoff, seconds of wall time');
    assert.ok(r.wallS < 20, `${r.wallS} s wall`);
  });

  it('--loss 1: nothing gets through; the failure is reported, JSON says so, and the pcap is still closed and readable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'devmem-stall-'));
    try {
      const pcap = join(dir, 'x.pcap');
      const r = demo(['--loss', '1', '--size', '64K', '--json', '--pcap', pcap]);
      const line = failureLine(r);
      assert.match(line, /after 0 of 65536 bytes|0 of 65536 bytes delivered/);
      const j = JSON.parse(r.stdout) as { completed: boolean; bytes: number };
      assert.equal(j.completed, false);
      assert.equal(j.bytes, 0);
      // the capture holds what the receivers saw: nothing (every frame lost), but a valid file
      const f = readPcap(new Uint8Array(readFileSync(pcap)));
      assert.equal(f.records.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a slow transfer that keeps moving is not a stall (10 Mbit/s, 1 s stall timeout, 0.9 s of virtual transfer)', () => {
    const r = demo(['--rate', '0.01', '--size', '1M', '--stall-timeout', '1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { completed: boolean; validated: boolean; virtualSeconds: number };
    assert.equal(j.completed, true);
    assert.equal(j.validated, true);
    assert.ok(j.virtualSeconds > 0.8, `${j.virtualSeconds} s virtual`);
  });

  it('every wire fault flag reaches the wire, and the transfer still validates', () => {
    const r = demo(['--size', '2M', '--duplicate', '0.05', '--reorder', '0.05', '--corrupt', '0.01', '--delay', '20', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { validated: boolean; packets: Record<string, number> };
    assert.equal(j.validated, true);
    assert.ok(j.packets.wireDuplicated! > 0, 'duplicated');
    assert.ok(j.packets.wireReordered! > 0, 'reordered');
    assert.ok(j.packets.wireCorrupted! > 0, 'corrupted');
    assert.equal(j.packets.wireLost, 0);
  });
});
