/**
 * The CI gate: runs the interpreter over the shared packetdrill scripts in each mode and fails
 * when fewer scripts pass than `conformance-baseline.json` records. Without the scripts the gate
 * fails under CI (`CI` set) and otherwise reports why it did not run.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite, type Mode } from '../../src/conformance/index.js';

/** the repository root (this file runs as dist/test/conformance/gate.test.js) */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = process.env.PACKETDRILL_DIR ? resolve(process.env.PACKETDRILL_DIR) : resolve(ROOT, '../shared/packetdrill');
const MODES: Mode[] = ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'];

interface Baseline {
  passes: Record<Mode, number>;
}

it('conformance: packetdrill passes do not fall below the committed baseline', (t) => {
  const base = JSON.parse(readFileSync(resolve(ROOT, 'conformance-baseline.json'), 'utf8')) as Baseline;
  for (const m of MODES) assert.equal(typeof base.passes[m], 'number', `baseline for ${m}`);
  if (!existsSync(DIR)) {
    if (process.env.CI) assert.fail(`packetdrill scripts not found at ${DIR}: the conformance gate cannot run (set PACKETDRILL_DIR)`);
    t.diagnostic(`skipped: packetdrill scripts not found at ${DIR} (set PACKETDRILL_DIR); only the parser/runner unit tests ran`);
    return;
  }
  const below: string[] = [];
  for (const m of MODES) {
    const r = runSuite(DIR, m);
    assert.ok(r.total > 0, `no scripts found under ${DIR}`);
    t.diagnostic(`${m}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped of ${r.total} (baseline ${base.passes[m]})`);
    if (r.passed < base.passes[m]) {
      const failing = r.scripts.filter((s) => s.result !== 'pass').slice(0, 5).map((s) => `${s.script}: ${s.reason}`);
      below.push(`${m}: ${r.passed} < ${base.passes[m]}; e.g. ${failing.join(' / ')}`);
    }
  }
  assert.deepEqual(below, [], 'passes fell below conformance-baseline.json');
});
