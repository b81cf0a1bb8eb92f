/**
 * Issue 8 acceptance: the packetdrill `zerocopy` and `timestamping` scripts run (none skipped) and
 * at least 80% of them pass, in every mode. Each script that passes today is named, so that a
 * regression of one of them fails here even while the share stays above 80%. Fast Open scripts are
 * outside the team's target (tcp/zerocopy/fastopen-client.pkt). Skipped, with the reason, in a
 * checkout without ../shared/packetdrill (as the conformance gate is).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScriptFile, type Mode } from '../../src/conformance/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = process.env.PACKETDRILL_DIR ? resolve(process.env.PACKETDRILL_DIR) : resolve(ROOT, '../shared/packetdrill');
const MODES: Mode[] = ['ipv4', 'ipv6', 'ipv4-mapped-ipv6'];
const PASSING = [
  'tcp/timestamping/client-only-last-byte.pkt', 'tcp/timestamping/server.pkt',
  'tcp/zerocopy/batch.pkt', 'tcp/zerocopy/client.pkt', 'tcp/zerocopy/closed.pkt', 'tcp/zerocopy/epoll_exclusive.pkt',
  'tcp/zerocopy/epoll_oneshot.pkt', 'tcp/zerocopy/maxfrags.pkt', 'tcp/zerocopy/small.pkt',
];

it('packetdrill zerocopy and timestamping scripts: none skipped, >= 80% pass in each mode', (t) => {
  if (!existsSync(join(DIR, 'tcp/zerocopy'))) {
    const why = `packetdrill scripts not found at ${DIR} (set PACKETDRILL_DIR)`;
    if (process.env.DEVMEM_REQUIRE_PACKETDRILL) assert.fail(why);
    t.skip(why);
    return;
  }
  const scripts = ['tcp/zerocopy', 'tcp/timestamping'].flatMap((d) =>
    readdirSync(join(DIR, d)).filter((f) => f.endsWith('.pkt')).sort().map((f) => `${d}/${f}`));
  assert.ok(scripts.length >= 10, `scripts found: ${scripts.length}`);
  for (const m of MODES) {
    const passed: string[] = [];
    for (const s of scripts) {
      const r = runScriptFile(join(DIR, s), m);
      assert.notEqual(r.result, 'skip', `${m} ${s} skipped: ${r.reason ?? ''}`);
      if (r.result === 'pass') passed.push(s);
    }
    t.diagnostic(`${m}: ${passed.length} of ${scripts.length} pass`);
    assert.ok(passed.length >= 0.8 * scripts.length, `${m}: ${passed.length} of ${scripts.length}`);
    for (const s of PASSING) assert.ok(passed.includes(s), `${m}: ${s} no longer passes`);
  }
});
