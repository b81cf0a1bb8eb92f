import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TokenTable } from '../../src/tcp/token-table.js';

describe('devmem token table', () => {
  it('starts at 1 and hands out the lowest free token', () => {
    const t = new TokenTable();
    assert.equal(t.alloc(11), 1);
    assert.equal(t.alloc(13), 2);
    assert.equal(t.alloc(15), 3);
    assert.equal(t.erase(2), 13);
    assert.equal(t.erase(2), -1);
    assert.equal(t.alloc(17), 2);
    assert.equal(t.alloc(19), 4);
    assert.equal(t.erase(0), -1);
    assert.equal(t.erase(99), -1);
  });

  it('stops at the 31-bit limit', () => {
    const t = new TokenTable();
    t.limit = 2;
    assert.equal(t.alloc(1), 1);
    assert.equal(t.alloc(1), 2);
    assert.equal(t.alloc(1), -1);
  });

  it('property: matches a model of "lowest free index"', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(40)), { maxLength: 300 }), (ops) => {
        const t = new TokenTable();
        const live = new Map<number, number>();
        let val = 1;
        for (const op of ops) {
          if (op === -1) {
            let want = 1;
            while (live.has(want)) want++;
            const got = t.alloc(val);
            assert.equal(got, want);
            live.set(got, val);
            val += 2;
          } else {
            assert.equal(t.erase(op), live.get(op) ?? -1);
            live.delete(op);
          }
          assert.equal(t.size, live.size);
        }
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
