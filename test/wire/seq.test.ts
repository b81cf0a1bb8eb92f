import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../src/wire/index.js';

const u32 = fc.nat(0xffffffff);
/** every 32-bit pattern in the int32 representation the stack holds sequence numbers in */
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const delta = fc.integer({ min: 1, max: 0x7fffffff });

describe('seq', () => {
  it('wraps around 2^32, results in the int32 representation (same bits as the wire uint32)', () => {
    assert.equal(seqAdd(0xffffffff, 1), 0);
    assert.equal(seqAdd(0, -1), -1);
    assert.equal(seqAdd(0, -1) >>> 0, 0xffffffff);
    assert.equal(seqAdd(0x7fffffff, 1), -0x80000000);
    assert.equal(seqSub(0, 0xffffffff), 1);
    assert.equal(seqSub(0xffffffff, 0), -1);
    assert.ok(seqLt(0xffffffff, 0));
    assert.ok(seqGt(0, 0xffffffff));
    assert.ok(seqLe(0xfffffff0, 0x10));
    assert.ok(seqGe(0x10, 0xfffffff0));
    assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
    assert.equal(seqMin(0xfffffff0, 0x10), 0xfffffff0);
    assert.ok(seqInRange(0, 0xfffffff0, 0x10));
    assert.ok(!seqInRange(0x10, 0xfffffff0, 0x10));
    assert.ok(seqInRange(0xfffffff0, 0xfffffff0, 0x10));
    assert.ok(!seqInRange(5, 5, 5));
  });

  it('a < a + d for 0 < d < 2^31 (property)', () => {
    fc.assert(fc.property(fc.oneof(u32, i32), delta, (a, d) => {
      const b = seqAdd(a, d);
      assert.ok(b >= -0x80000000 && b <= 0x7fffffff && Number.isInteger(b));
      assert.equal(seqSub(b, a), d);
      assert.equal(seqSub(a, b), -d);
      assert.ok(seqLt(a, b) && seqLe(a, b) && !seqGt(a, b) && !seqGe(a, b));
      assert.ok(seqGt(b, a) && seqGe(b, a) && !seqLt(b, a) && !seqLe(b, a));
      assert.equal(seqMax(a, b), b);
      assert.equal(seqMin(a, b), a);
      assert.equal(seqMax(b, a), b);
      assert.equal(seqMin(b, a), a);
      // the two representations of one number compare equal in sequence space
      assert.equal(seqSub(a | 0, a >>> 0), 0);
    }), { numRuns: 1000 });
  });

  it('equal values compare equal (property)', () => {
    fc.assert(fc.property(u32, (a) => {
      assert.ok(seqLe(a, a) && seqGe(a, a) && !seqLt(a, a) && !seqGt(a, a));
      assert.equal(seqSub(a, a), 0);
      assert.equal(seqAdd(a, 0), a | 0);
    }));
  });

  it('seqInRange matches seqLe(lo,x) && seqLt(x,hi) for windows < 2^31 (property)', () => {
    fc.assert(fc.property(u32, fc.nat(0x7fffffff), fc.integer({ min: -0x40000000, max: 0x7fffffff }), (lo, w, dx) => {
      const hi = seqAdd(lo, w);
      const x = seqAdd(lo, dx);
      assert.equal(seqInRange(x, lo, hi), seqLe(lo, x) && seqLt(x, hi));
      assert.equal(seqInRange(x, lo, hi), dx >= 0 && dx < w);
    }), { numRuns: 1000 });
  });
});
