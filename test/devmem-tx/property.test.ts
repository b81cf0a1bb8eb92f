/**
 * Property (issue 8 acceptance): random interleavings of devmem sends, ACK and data loss (so
 * retransmissions), receiver reads, socket close (graceful or RST) and unbind (the netlink socket
 * closes). Afterwards, and along the way:
 *  - every send that returned > 0 bytes got one notification id, and every id is completed
 *    exactly once (a second completion throws inside the stack, which fails the run);
 *  - a completion never comes before its bytes were acknowledged, unless the connection was
 *    torn down (its queue purged);
 *  - what the receiver got is a prefix of what was sent, byte for byte (read from device memory
 *    by the NIC at transmit time, retransmissions included);
 *  - once everything is closed: no live notification, every TX net_iov's reference count is 0,
 *    the binding is freed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { action, runCase, type CaseStats } from './property-case.js';

describe('devmem TX property: completions exactly once after their ACK, every net_iov back to 0', () => {
  it('random sends, loss, reads, close / RST and unbind', async () => {
    const all: CaseStats[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.constantFrom(0, 0.02, 0.1),
        fc.array(action, { minLength: 8, maxLength: 40 }),
        async (seed, loss, actions) => {
          all.push(await runCase(seed, loss, actions));
        },
      ),
      { numRuns: 30, seed: 42 },
    );
    // the runs, together, reached every part of the property (else it could not fail)
    const sum = (k: 'sends' | 'bytes' | 'completions' | 'retransSegs'): number => all.reduce((n, s) => n + s[k], 0);
    assert.ok(sum('sends') > 30, `sends: ${sum('sends')}`);
    assert.ok(sum('completions') >= sum('sends'), 'every send completed (ids may coalesce only within a send here)');
    assert.ok(sum('retransSegs') > 0, 'some runs retransmitted devmem segments');
    assert.ok(all.some((s) => s.rst), 'some run reset the connection');
    assert.ok(all.some((s) => s.unboundWithBytesInFlight), 'some run unbound with bytes in flight');
  });
});
